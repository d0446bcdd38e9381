"""Orders on chain: the hub's EIP-712 digests and domain equal the Python encoder's and
eth-account's; presign and cancel are owner-only, recorded and logged; a cancelled order no
longer matches; a presignature replaces `sign` only while its signer owns the asset."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import boa
import pytest
from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_typed_data
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from tests.support import RLC, Actor, Market, Protocol, build_market
from veritask.domain.ids import deal_id
from veritask.domain.orders import (
    DOMAIN_NAME,
    DOMAIN_VERSION,
    ZERO_BYTES32,
    AppOrder,
    DatasetOrder,
    Order,
    RequestOrder,
    WorkerpoolOrder,
    domain_separator,
    order_digest,
    typed_data,
)
from veritask.domain.tags import TAG_TEE_SCONE, tag_bytes

KINDS = ("app", "dataset", "workerpool", "request")
ASSET_KINDS = ("app", "dataset", "workerpool")
UNREGISTERED = to_checksum_address("0x" + "ab" * 20)


@dataclass(frozen=True)
class Kind:
    """One order type as the tests drive it: where the market keeps it, who owns it."""

    name: str

    @property
    def field(self) -> str:
        return f"{self.name}_order"

    def order(self, market: Market) -> Order:
        order: Order = getattr(market, self.field)
        return order

    def owner(self, market: Market) -> Actor:
        return market.signers[self.name]

    def presign(self, protocol: Protocol) -> Any:
        return getattr(protocol.hub, f"presign_{self.field}")

    def cancel(self, protocol: Protocol) -> Any:
        return getattr(protocol.hub, f"cancel_{self.field}")

    def hash(self, protocol: Protocol) -> Any:
        return getattr(protocol.hub, f"hash_{self.field}")


def _kind(name: str) -> Kind:
    return Kind(name)


def _submit(market: Market, orders: tuple[Order, ...]) -> bytes:
    """matchOrders with these orders exactly as they are (an empty `sign` stays empty);
    returns the deal id, keccak256(request hash, request volume used before), as
    matchOrders returns nothing."""
    hub = market.protocol.hub
    request_hash = market.protocol.digest(orders[3])
    used_before = hub.consumed(request_hash)
    with boa.env.prank(market.signers["request"].address):
        hub.matchOrders(*(o.as_tuple() for o in orders))
    return deal_id(request_hash, used_before)


def _signed_except(market: Market, kind: Kind) -> tuple[Order, ...]:
    """The market's four orders, all signed by their owners but `kind`, left unsigned."""
    signed = list(market.signed())
    signed[KINDS.index(kind.name)] = kind.order(market)
    return tuple(signed)


def _state(market: Market) -> tuple[Any, ...]:
    p = market.protocol
    accounts = sorted(actor.address for actor in p.actors.values())
    orders = (market.app_order, market.dataset_order, market.workerpool_order)
    return (
        tuple((a, p.hub.balance_of(a), p.hub.frozen_of(a)) for a in accounts),
        tuple(p.hub.consumed(p.digest(o)) for o in (*orders, market.request_order)),
    )


def _rich_orders(protocol: Protocol) -> dict[str, Order]:
    """One order of each type with every hashed field set to a distinctive value."""
    a = protocol.actors
    app, dataset, pool = (to_checksum_address("0x" + b * 20) for b in ("11", "22", "33"))
    requester = a["requester"].address
    return {
        "app": AppOrder(
            app=app,
            appprice=3 * RLC + 1,
            volume=17,
            tag=tag_bytes(TAG_TEE_SCONE),
            datasetrestrict=dataset,
            workerpoolrestrict=pool,
            requesterrestrict=requester,
            salt=keccak(b"app salt"),
        ),
        "dataset": DatasetOrder(
            dataset=dataset,
            datasetprice=2**95,
            volume=2**48 - 1,
            tag=tag_bytes(0x8),
            apprestrict=app,
            workerpoolrestrict=pool,
            requesterrestrict=requester,
            salt=keccak(b"dataset salt"),
        ),
        "workerpool": WorkerpoolOrder(
            workerpool=pool,
            workerpoolprice=5 * RLC,
            volume=100,
            tag=tag_bytes(0xFF),
            category=3,
            trust=7,
            apprestrict=app,
            datasetrestrict=dataset,
            requesterrestrict=requester,
            salt=keccak(b"workerpool salt"),
        ),
        "request": RequestOrder(
            app=app,
            appmaxprice=4 * RLC,
            dataset=dataset,
            datasetmaxprice=2**95,
            workerpool=pool,
            workerpoolmaxprice=6 * RLC,
            requester=requester,
            volume=9,
            tag=tag_bytes(TAG_TEE_SCONE),
            category=3,
            trust=5,
            beneficiary=a["stranger"].address,
            callback=to_checksum_address("0x" + "cb" * 20),
            params='{"iexec_args": "--n 3", "iexec_input_files": ["https://x.y/z"]}',
            salt=keccak(b"request salt"),
        ),
    }


def _transfer_asset(protocol: Protocol, kind: str, asset: str, owner: Actor, to: str) -> None:
    registry = {"app": protocol.apps, "dataset": protocol.datasets}.get(kind, protocol.workerpools)
    with boa.env.prank(owner.address):
        registry.transferFrom(owner.address, to, int(asset, 16))


# --- digests and domain ----------------------------------------------------------------


@pytest.mark.parametrize("name", KINDS)
def test_hash_order__rich_order__equals_python_and_eth_account_digest(
    protocol: Protocol, name: str
) -> None:
    kind = _kind(name)
    order = _rich_orders(protocol)[name]
    standard = _hash_eip191_message(
        encode_typed_data(full_message=typed_data(order, protocol.domain))
    )

    on_chain = bytes(kind.hash(protocol)(order.as_tuple()))

    assert on_chain == order_digest(order, protocol.domain)
    assert on_chain == standard


@pytest.mark.parametrize("name", KINDS)
def test_hash_order__default_fields__equals_python_digest(protocol: Protocol, name: str) -> None:
    kind = _kind(name)
    order = kind.order(build_market(protocol))

    assert bytes(kind.hash(protocol)(order.as_tuple())) == protocol.digest(order)


@pytest.mark.parametrize("name", KINDS)
def test_hash_order__signed_by_owner__signature_recovers_owner(
    protocol: Protocol, name: str
) -> None:
    kind = _kind(name)
    market = build_market(protocol)
    owner = kind.owner(market)
    signed = protocol.sign(kind.order(market), owner)

    on_chain = bytes(kind.hash(protocol)(signed.as_tuple()))

    assert Account._recover_hash(on_chain, signature=signed.sign) == owner.address


@pytest.mark.parametrize("name", KINDS)
def test_hash_order__sign_field__is_not_hashed(protocol: Protocol, name: str) -> None:
    kind = _kind(name)
    order = _rich_orders(protocol)[name]
    hash_order = kind.hash(protocol)

    assert hash_order(order.as_tuple()) == hash_order(order.with_sign(b"\x07" * 200).as_tuple())


@pytest.mark.parametrize("name", KINDS)
def test_hash_order__salt_changed__digest_differs(protocol: Protocol, name: str) -> None:
    kind = _kind(name)
    order = _rich_orders(protocol)[name]
    hash_order = kind.hash(protocol)

    assert hash_order(order.as_tuple()) != hash_order(replace(order, salt=ZERO_BYTES32).as_tuple())


def test_hash_request_order__non_ascii_params__equals_python_digest(protocol: Protocol) -> None:
    order = replace(_rich_orders(protocol)["request"], params='{"iexec_args": "héllo ✓ 日本"}')

    assert bytes(protocol.hub.hash_request_order(order.as_tuple())) == protocol.digest(order)


def test_hash_request_order__longest_params__equals_python_digest(protocol: Protocol) -> None:
    order = replace(_rich_orders(protocol)["request"], params="p" * 4_096)

    assert bytes(protocol.hub.hash_request_order(order.as_tuple())) == protocol.digest(order)


def test_domain_separator__deployed_hub__equals_python(protocol: Protocol) -> None:
    assert bytes(protocol.hub.domain_separator()) == domain_separator(protocol.domain)


def test_eip712_domain__deployed_hub__is_iexec_odb_5(protocol: Protocol) -> None:
    fields, name, version, chain_id, verifying_contract, salt, extensions = (
        protocol.hub.eip712Domain()
    )

    assert fields == b"\x0f"  # name, version, chainId, verifyingContract
    assert name == DOMAIN_NAME == "iExecODB"
    assert version == DOMAIN_VERSION == "5.0.0"
    assert chain_id == boa.env.evm.patch.chain_id
    assert verifying_contract == protocol.hub.address
    assert salt == ZERO_BYTES32
    assert list(extensions) == []


# --- presign ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", KINDS)
def test_presign__by_owner__records_signer_and_emits_event(protocol: Protocol, name: str) -> None:
    kind = _kind(name)
    market = build_market(protocol)
    order = kind.order(market)
    owner = kind.owner(market)
    order_hash = protocol.digest(order)
    assert protocol.hub.presigned(order_hash) == "0x" + "00" * 20

    with boa.env.prank(owner.address):
        kind.presign(protocol)(order.as_tuple())
    logs = protocol.hub.get_logs()

    assert [type(log).__name__ for log in logs] == ["OrderPresigned"]
    assert logs[0].order_hash == order_hash
    assert logs[0].signer == owner.address
    assert protocol.hub.presigned(order_hash) == owner.address
    assert protocol.hub.consumed(order_hash) == 0


@pytest.mark.parametrize("name", KINDS)
def test_presign__not_owner__reverts(protocol: Protocol, name: str) -> None:
    kind = _kind(name)
    market = build_market(protocol)
    order = kind.order(market)

    with (
        boa.env.prank(protocol.actors["stranger"].address),
        boa.reverts("orders: caller is not the owner"),
    ):
        kind.presign(protocol)(order.as_tuple())

    assert protocol.hub.presigned(protocol.digest(order)) == "0x" + "00" * 20


@pytest.mark.parametrize("name", ASSET_KINDS)
def test_presign__unregistered_asset__reverts(protocol: Protocol, name: str) -> None:
    kind = _kind(name)
    order = replace(kind.order(build_market(protocol)), **{name: UNREGISTERED})

    with (
        boa.env.prank(protocol.actors["stranger"].address),
        boa.reverts("orders: caller is not the owner"),
    ):
        kind.presign(protocol)(order.as_tuple())


@pytest.mark.parametrize("name", ASSET_KINDS)
def test_presign__previous_owner_after_transfer__reverts(protocol: Protocol, name: str) -> None:
    kind = _kind(name)
    market = build_market(protocol)
    owner = kind.owner(market)
    _transfer_asset(
        protocol, name, getattr(market, name), owner, protocol.actors["stranger"].address
    )

    with boa.env.prank(owner.address), boa.reverts("orders: caller is not the owner"):
        kind.presign(protocol)(kind.order(market).as_tuple())


# --- cancel ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", KINDS)
def test_cancel__by_owner__consumes_whole_volume_and_emits_event(
    protocol: Protocol, name: str
) -> None:
    kind = _kind(name)
    market = build_market(protocol, volume=7)
    order = kind.order(market)
    owner = kind.owner(market)
    order_hash = protocol.digest(order)

    with boa.env.prank(owner.address):
        kind.cancel(protocol)(order.as_tuple())
    logs = protocol.hub.get_logs()

    assert [type(log).__name__ for log in logs] == ["OrderCancelled"]
    assert logs[0].order_hash == order_hash
    assert logs[0].owner == owner.address
    assert protocol.hub.consumed(order_hash) == 7


@pytest.mark.parametrize("name", KINDS)
def test_cancel__not_owner__reverts(protocol: Protocol, name: str) -> None:
    kind = _kind(name)
    market = build_market(protocol, volume=7)
    order = kind.order(market)

    with (
        boa.env.prank(protocol.actors["stranger"].address),
        boa.reverts("orders: caller is not the owner"),
    ):
        kind.cancel(protocol)(order.as_tuple())

    assert protocol.hub.consumed(protocol.digest(order)) == 0


@pytest.mark.parametrize("name", KINDS)
def test_cancel__partly_matched_order__consumes_the_rest(protocol: Protocol, name: str) -> None:
    kind = _kind(name)
    market = build_market(protocol, volume=5)
    # Another order of the market limits the first deal to 2 tasks.
    limiter = "request" if name != "request" else "app"
    limiting = _kind(limiter)
    market = replace(market, **{limiting.field: replace(limiting.order(market), volume=2)})
    market.match()
    order = kind.order(market)
    order_hash = protocol.digest(order)
    assert protocol.hub.consumed(order_hash) == 2

    with boa.env.prank(kind.owner(market).address):
        kind.cancel(protocol)(order.as_tuple())

    assert protocol.hub.consumed(order_hash) == 5


@pytest.mark.parametrize("name", KINDS)
def test_match__cancelled_order__reverts(protocol: Protocol, name: str) -> None:
    kind = _kind(name)
    market = build_market(protocol)
    with boa.env.prank(kind.owner(market).address):
        kind.cancel(protocol)(kind.order(market).as_tuple())
    before = _state(market)

    with boa.reverts(f"matching: {name} order consumed"):
        market.match()

    assert _state(market) == before


# --- presigned orders in a match -------------------------------------------------------


@pytest.mark.parametrize("name", KINDS)
def test_match__presigned_order_with_empty_sign__matches(protocol: Protocol, name: str) -> None:
    kind = _kind(name)
    market = build_market(protocol)
    with boa.env.prank(kind.owner(market).address):
        kind.presign(protocol)(kind.order(market).as_tuple())
    orders = _signed_except(market, kind)
    assert orders[KINDS.index(name)].sign == b""

    result = _submit(market, orders)

    assert protocol.hub.deal_exists(result)
    assert protocol.hub.consumed(protocol.digest(kind.order(market))) == 1


@pytest.mark.parametrize("name", KINDS)
def test_match__unsigned_order_not_presigned__reverts(protocol: Protocol, name: str) -> None:
    kind = _kind(name)
    market = build_market(protocol)
    before = _state(market)

    with boa.reverts(f"matching: invalid {name} order signature"):
        _submit(market, _signed_except(market, kind))

    assert _state(market) == before


@pytest.mark.parametrize("name", ASSET_KINDS)
def test_match__presigned_then_asset_transferred__reverts(protocol: Protocol, name: str) -> None:
    kind = _kind(name)
    market = build_market(protocol)
    owner = kind.owner(market)
    with boa.env.prank(owner.address):
        kind.presign(protocol)(kind.order(market).as_tuple())
    new_owner = protocol.actors["stranger"].address
    _transfer_asset(protocol, name, getattr(market, name), owner, new_owner)
    before = _state(market)

    with boa.reverts(f"matching: invalid {name} order signature"):
        _submit(market, _signed_except(market, kind))

    assert _state(market) == before


@pytest.mark.parametrize("name", ASSET_KINDS)
def test_match__new_owner_presigns_after_transfer__matches(protocol: Protocol, name: str) -> None:
    kind = _kind(name)
    market = build_market(protocol)
    stranger = protocol.actors["stranger"]
    _transfer_asset(protocol, name, getattr(market, name), kind.owner(market), stranger.address)
    if name == "workerpool":
        protocol.fund(stranger, 100 * RLC)  # the new owner locks the scheduler stake
    with boa.env.prank(stranger.address):
        kind.presign(protocol)(kind.order(market).as_tuple())

    result = _submit(market, _signed_except(market, kind))

    owners = {
        "app": protocol.hub.deal(result).app_owner,
        "dataset": protocol.hub.deal(result).dataset_owner,
        "workerpool": protocol.hub.deal(result).workerpool_owner,
    }
    assert owners[name] == stranger.address


def test_match__presigned_order_with_wrong_signature__still_matches(protocol: Protocol) -> None:
    # A presignature is enough: a bad `sign` next to it does not spoil the order.
    market = build_market(protocol)
    kind = _kind("app")
    with boa.env.prank(kind.owner(market).address):
        kind.presign(protocol)(kind.order(market).as_tuple())
    bad = protocol.sign(kind.order(market), protocol.actors["stranger"])
    orders = (bad, *market.signed()[1:])

    assert protocol.hub.deal_exists(_submit(market, orders))
