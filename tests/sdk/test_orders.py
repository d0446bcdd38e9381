"""`Veritask.orders` and order files against anvil: the file format checked field by field,
signing by the owner only, status from the hub (hash, signature, consumed volume) and
cancellation; refusals write nothing and send nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak

from tests.devnet import Devnet, reverted, running_devnet
from veritask.domain.orders import AppOrder, RequestOrder, WorkerpoolOrder, order_digest
from veritask.domain.signing import compact_signature
from veritask.errors import InvalidInput
from veritask.sdk import (
    Profile,
    Veritask,
    load_order,
    order_from_json,
    order_to_json,
    parse_tag,
    save_order,
)

pytestmark = pytest.mark.anvil

OWNER: LocalAccount = Account.from_key(keccak(text="veritask sdk orders owner"))
OTHER: LocalAccount = Account.from_key(keccak(text="veritask sdk orders other"))


@pytest.fixture(scope="module")
def devnet() -> Iterator[Devnet]:
    with running_devnet() as node:
        node.fund(OWNER.address)
        node.fund(OTHER.address)
        yield node


@pytest.fixture(autouse=True)
def _fresh_chain(devnet: Devnet) -> Iterator[None]:
    with reverted(devnet):
        yield


def _client(devnet: Devnet, account: LocalAccount | None = OWNER) -> Veritask:
    return Veritask(Profile("test", rpc_url=devnet.url, hub=devnet.hub), account)


@pytest.fixture
def app_order(devnet: Devnet) -> AppOrder:
    app = _client(devnet).assets.deploy_app("hello", "docker.io/me/hello:1").address
    return AppOrder(app, 1_000_000, 3, salt=keccak(b"salt"))


def test_order_json__round_trip(app_order: AppOrder, tmp_path: Path) -> None:
    data = order_to_json(app_order)
    assert list(data)[:3] == ["kind", "app", "appprice"]
    assert data["tag"] == "0x" + "00" * 32
    assert data["sign"] == "0x"
    assert order_from_json(json.loads(json.dumps(data))) == app_order
    path = save_order(tmp_path / "o.json", app_order)
    assert load_order(path) == app_order


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "deal"}, "field 'kind': \"deal\" is not a kind"),
        ({"volume": "3"}, "field 'volume': expected a whole number, got \"3\""),
        ({"volume": True}, "field 'volume': expected a whole number, got true"),
        ({"volume": -1}, "field 'volume': -1 is out of range"),
        ({"app": "0x12"}, "not an Ethereum address in the order: field 'app'"),
        ({"salt": "0x12"}, "field 'salt': expected 0x and 64 hex digits"),
        ({"sign": 12}, "field 'sign': expected a string, got 12"),
        ({"color": "red"}, "field 'color': unknown in a app order"),
    ],
)
def test_order_from_json__bad_field__named(
    app_order: AppOrder, change: dict[str, Any], message: str
) -> None:
    data = {**order_to_json(app_order), **change}
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(")):
        order_from_json(data)


def test_order_from_json__missing_field__named(app_order: AppOrder) -> None:
    data = order_to_json(app_order)
    del data["appprice"]
    with pytest.raises(InvalidInput, match="the order: field 'appprice': missing"):
        order_from_json(data)


def test_load_order__not_json__refused(tmp_path: Path) -> None:
    path = tmp_path / "o.json"
    path.write_text("{oops")
    with pytest.raises(InvalidInput, match=f"{path}: not JSON"):
        load_order(path)


def test_save_order__existing_file__refused_and_kept(app_order: AppOrder, tmp_path: Path) -> None:
    path = tmp_path / "o.json"
    path.write_text("keep")
    with pytest.raises(InvalidInput, match="already exists"):
        save_order(path, app_order)
    assert path.read_text() == "keep"


@pytest.mark.parametrize(
    ("text", "value"),
    [("none", 0), ("TEE", 1), ("scone", 3), ("gramine", 5), ("tdx", 9), ("0x101", 0x101)],
)
def test_parse_tag__names_and_hex(text: str, value: int) -> None:
    assert parse_tag(text) == value.to_bytes(32, "big")


@pytest.mark.parametrize("text", ["sgx", "0x", "0x" + "1" * 65, "0xzz", "3"])
def test_parse_tag__unknown__refused(text: str) -> None:
    with pytest.raises(InvalidInput, match="unknown tag"):
        parse_tag(text)


def test_sign__owner__valid_and_hash_is_the_hubs(devnet: Devnet, app_order: AppOrder) -> None:
    orders = _client(devnet).orders
    signed = orders.sign(app_order)
    status = orders.status(signed)
    hub_hash = devnet.client.contracts.hub.functions.hash_app_order(signed.as_tuple()).call()
    assert status.order_hash == "0x" + bytes(hub_hash).hex()
    assert (status.signature, status.owner, status.recovered_signer) == (
        "valid",
        OWNER.address,
        OWNER.address,
    )
    assert (status.volume, status.consumed, status.remaining, status.matchable) == (3, 0, 3, True)


def test_status__compact_signature__valid(devnet: Devnet, app_order: AppOrder) -> None:
    orders = _client(devnet).orders
    signed = orders.sign(app_order)
    compact = signed.with_sign(compact_signature(signed.sign))
    assert orders.status(compact).signature == "valid"


def test_status__tampered__mismatch_not_matchable(devnet: Devnet, app_order: AppOrder) -> None:
    orders = _client(devnet).orders
    signed = orders.sign(app_order)
    tampered = order_from_json({**order_to_json(signed), "appprice": 1})
    status = orders.status(tampered)
    assert status.signature == "mismatch"
    assert not status.matchable
    assert status.reason.startswith("the order is signed by ")
    assert ", but the owner of app is " in status.reason


def test_status__unsigned_and_unregistered(devnet: Devnet) -> None:
    orders = _client(devnet, None).orders
    status = orders.status(WorkerpoolOrder("0x" + "12" * 20, 0, 1))
    assert (status.owner, status.signature, status.matchable) == (None, "unsigned", False)
    assert status.reason.startswith("its workerpool is not registered: no workerpool at ")


def test_sign__not_the_owner__refused_with_the_owners_address(
    devnet: Devnet, app_order: AppOrder
) -> None:
    with pytest.raises(
        InvalidInput, match=f"only the owner of app {app_order.app}, {OWNER.address}"
    ):
        _client(devnet, OTHER).orders.sign(app_order)


def test_sign__request_order__only_its_requester(devnet: Devnet, app_order: AppOrder) -> None:
    request = RequestOrder(app=app_order.app, appmaxprice=0, requester=OTHER.address, volume=1)
    with pytest.raises(InvalidInput, match=f"only its requester, {OTHER.address}"):
        _client(devnet).orders.sign(request)
    signed = _client(devnet, OTHER).orders.sign(request)
    assert _client(devnet, None).orders.status(signed).signature == "valid"


def test_cancel__owner__no_volume_left_then_refused(devnet: Devnet, app_order: AppOrder) -> None:
    orders = _client(devnet).orders
    signed = orders.sign(app_order)
    orders.cancel(signed)
    digest = order_digest(signed, devnet.client.domain)
    assert devnet.client.contracts.hub.functions.consumed(digest).call() == 3
    status = orders.status(signed)
    assert (status.remaining, status.matchable) == (0, False)
    before = devnet.balances(OWNER.address)
    with pytest.raises(InvalidInput, match="nothing to cancel"):
        orders.cancel(signed)
    assert devnet.balances(OWNER.address) == before


def test_cancel__not_the_owner__refused_nothing_sent(devnet: Devnet, app_order: AppOrder) -> None:
    before = devnet.balances(OTHER.address)
    with pytest.raises(InvalidInput, match="only the owner of app"):
        _client(devnet, OTHER).orders.cancel(app_order)
    assert devnet.balances(OTHER.address) == before
