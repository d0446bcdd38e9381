"""Order digests: the Python encoder, eth-account's standard encoder and the shared test
vectors agree; the type hashes are PoCo's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_typed_data
from eth_utils.crypto import keccak

from veritask.domain.orders import (
    AppOrder,
    DatasetOrder,
    Domain,
    Order,
    RequestOrder,
    WorkerpoolOrder,
    domain_separator,
    order_digest,
    struct_hash,
    typed_data,
)
from veritask.domain.signing import compact_signature, sign_order

VECTORS = json.loads((Path(__file__).parent / "order_vectors.json").read_text())
TYPES: dict[str, type[Order]] = {
    "AppOrder": AppOrder,
    "DatasetOrder": DatasetOrder,
    "WorkerpoolOrder": WorkerpoolOrder,
    "RequestOrder": RequestOrder,
}
DOMAIN = Domain(
    chain_id=VECTORS["domain"]["chainId"],
    verifying_contract=VECTORS["domain"]["verifyingContract"],
)


def _order(vector: dict[str, Any]) -> Order:
    values = {
        key: bytes.fromhex(value[2:]) if key in ("tag", "salt") else value
        for key, value in vector["message"].items()
    }
    return TYPES[vector["type"]](**values)


# First and last bytes of PoCo's hard-coded type hashes (poco-protocol.md §3.2).
@pytest.mark.parametrize(
    ("order_type", "prefix", "suffix"),
    [
        (AppOrder, "60815a0e", "d008"),
        (DatasetOrder, "6cfc932a", "d47c"),
        (WorkerpoolOrder, "aa3429fb", "22bb"),
        (RequestOrder, "f24e8530", "fae0"),
    ],
)
def test_typehash__each_order_type__equals_poco(
    order_type: type[Order], prefix: str, suffix: str
) -> None:
    typehash = order_type.typehash().hex()
    assert typehash.startswith(prefix)
    assert typehash.endswith(suffix)


def test_domain_separator__vector_domain__equals_vector() -> None:
    assert "0x" + domain_separator(DOMAIN).hex() == VECTORS["domain_separator"]


@pytest.mark.parametrize("vector", VECTORS["orders"], ids=lambda v: v["type"])
def test_digest__shared_vector__equals_vector_and_eth_account(vector: dict[str, Any]) -> None:
    order = _order(vector)
    assert "0x" + order.typehash().hex() == vector["typehash"]
    assert "0x" + struct_hash(order).hex() == vector["struct_hash"]
    digest = order_digest(order, DOMAIN)
    assert "0x" + digest.hex() == vector["digest"]
    standard = _hash_eip191_message(encode_typed_data(full_message=typed_data(order, DOMAIN)))
    assert digest == standard


def test_digest__sign_field__is_not_hashed() -> None:
    order = AppOrder(app="0x" + "11" * 20, appprice=1, volume=1)
    assert order_digest(order, DOMAIN) == order_digest(order.with_sign(b"\x01" * 65), DOMAIN)


def test_digest__other_chain__differs() -> None:
    order = AppOrder(app="0x" + "11" * 20, appprice=1, volume=1)
    other = Domain(chain_id=1, verifying_contract=DOMAIN.verifying_contract)
    assert order_digest(order, DOMAIN) != order_digest(order, other)


def test_sign_order__private_key__recovers_signer() -> None:
    account = Account.from_key(keccak(text="signer"))
    order = WorkerpoolOrder(workerpool="0x" + "33" * 20, workerpoolprice=5, volume=2)
    signed = sign_order(order, DOMAIN, account.key)
    assert len(signed.sign) == 65
    digest = order_digest(order, DOMAIN)
    assert Account._recover_hash(digest, signature=signed.sign) == account.address


def test_compact_signature__65_bytes__encodes_parity_in_top_bit() -> None:
    account = Account.from_key(keccak(text="signer"))
    order = AppOrder(app="0x" + "11" * 20, appprice=1, volume=1)
    full = sign_order(order, DOMAIN, account.key).sign
    compact = compact_signature(full)
    assert len(compact) == 64
    assert compact[:32] == full[:32]
    vs = int.from_bytes(compact[32:], "big")
    assert vs >> 255 == full[64] - 27
    assert vs & ((1 << 255) - 1) == int.from_bytes(full[32:64], "big")


def test_compact_signature__wrong_length__raises() -> None:
    with pytest.raises(ValueError, match="expected a 65-byte signature"):
        compact_signature(b"\x00" * 64)


def test_as_tuple__request_order__follows_abi_field_order() -> None:
    order = RequestOrder(
        app="0x" + "11" * 20, appmaxprice=1, requester="0x" + "44" * 20, volume=2, params="p"
    )
    names = [name for name, _ in RequestOrder.FIELDS] + ["sign"]
    assert order.as_tuple() == tuple(getattr(order, name) for name in names)
