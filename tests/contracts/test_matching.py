"""matchOrders: the deal, locks, consumed volumes and events of a match, every accepted
signature form, and one test per revert reason, each proving that a rejected match locked
and consumed nothing."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import boa
import pytest
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from tests.support import CONTRACTS, RLC, ZERO, Actor, Market, Protocol, build_market
from veritask.domain.ids import deal_id
from veritask.domain.orders import ZERO_BYTES32, DatasetOrder, Order
from veritask.domain.signing import compact_signature
from veritask.domain.tags import TAG_TEE, TAG_TEE_SCONE, tag_bytes

ROLES = ("app", "dataset", "workerpool", "request")
ORDER_FIELD = {
    "app": "app_order",
    "dataset": "dataset_order",
    "workerpool": "workerpool_order",
    "request": "request_order",
}
# An address that is registered nowhere.
UNREGISTERED = to_checksum_address("0x" + "ab" * 20)
# secp256k1 group order: (r, n - s) with the other parity is the malleable twin of (r, s).
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
ERC1271_WALLET = str(CONTRACTS / "mocks/erc1271_wallet.vy")


# --- helpers ---------------------------------------------------------------------------


def _orders(market: Market) -> tuple[Order, Order, Order, Order]:
    return (market.app_order, market.dataset_order, market.workerpool_order, market.request_order)


def _hashes(market: Market) -> list[bytes]:
    return [market.protocol.digest(order) for order in _orders(market)]


def _snapshot(market: Market) -> tuple[Any, ...]:
    """Everything a match may change: the free and frozen amounts of every account involved,
    the hub's token holdings and the consumed volume of the four orders."""
    p = market.protocol
    hub = p.hub
    accounts = sorted(
        {actor.address for actor in p.actors.values()}
        | {str(market.request_order.requester)}
        | {actor.address for actor in market.signers.values()}
    )
    return (
        tuple((a, hub.balance_of(a), hub.frozen_of(a)) for a in accounts),
        p.token.balanceOf(hub.address),
        tuple(hub.consumed(h) for h in _hashes(market)),
    )


def assert_match_reverts(
    market: Market,
    reason: str,
    sender: Actor | None = None,
    orders: tuple[Order, ...] | None = None,
) -> None:
    """matchOrders (with the market's orders signed, or `orders` exactly as given) reverts
    with exactly `reason`, and nothing was locked or consumed."""
    before = _snapshot(market)
    with boa.reverts(reason):
        if orders is None:
            market.match(sender)
        else:
            _submit(market, orders, sender)
    assert _snapshot(market) == before


def _submit(market: Market, orders: tuple[Order, ...], sender: Actor | None = None) -> bytes:
    """matchOrders with these orders exactly as they are (no signing); returns the deal id,
    keccak256(request hash, request volume used before), as matchOrders returns nothing."""
    caller = sender or market.signers["request"]
    hub = market.protocol.hub
    request_hash = market.protocol.digest(orders[3])
    used_before = hub.consumed(request_hash)
    with boa.env.prank(caller.address):
        hub.matchOrders(*(o.as_tuple() for o in orders))
    return deal_id(request_hash, used_before)


def _events(protocol: Protocol, name: str) -> list[Any]:
    return [log for log in protocol.hub.get_logs() if type(log).__name__ == name]


def _sign(market: Market, role: str) -> Order:
    order: Order = getattr(market, ORDER_FIELD[role])
    return market.protocol.sign(order, market.signers[role])


def _with_sign(market: Market, role: str, sign: bytes) -> Market:
    order: Order = getattr(market, ORDER_FIELD[role])
    return replace(market, **{ORDER_FIELD[role]: order.with_sign(sign)})


def _deposit_for(protocol: Protocol, account: str, amount: int) -> None:
    with boa.env.prank(protocol.actors["deployer"].address):
        protocol.token.approve(protocol.hub.address, amount)
        protocol.hub.deposit_for(account, amount)


def _hand_role_to(market: Market, role: str, owner: str, signer: Actor) -> Market:
    """The market with the asset of `role` (or the request) owned by `owner` instead, whose
    orders `signer` signs; `owner` is funded when it must lock."""
    p = market.protocol
    signers = {**market.signers, role: signer}
    if role == "app":
        app = p.apps.create_app(owner, "owned", "DOCKER", b"docker.io/o:1", keccak(text="o"), b"")
        return replace(
            market,
            app=app,
            app_order=replace(market.app_order, app=app),
            request_order=replace(market.request_order, app=app),
            signers=signers,
        )
    if role == "dataset":
        dataset = p.datasets.create_dataset(owner, "owned", b"/ipfs/owned", keccak(text="o"))
        return replace(
            market,
            dataset=dataset,
            dataset_order=replace(market.dataset_order, dataset=dataset),
            request_order=replace(market.request_order, dataset=dataset),
            signers=signers,
        )
    _deposit_for(p, owner, 1_000 * RLC)
    if role == "workerpool":
        workerpool = p.workerpools.create_workerpool(owner, "owned pool")
        return replace(
            market,
            workerpool=workerpool,
            workerpool_order=replace(market.workerpool_order, workerpool=workerpool),
            request_order=replace(market.request_order, workerpool=workerpool),
            signers=signers,
        )
    return replace(
        market,
        request_order=replace(market.request_order, requester=owner, beneficiary=owner),
        signers=signers,
    )


def _with_volumes(market: Market, app: int, dataset: int, workerpool: int, request: int) -> Market:
    return replace(
        market,
        app_order=replace(market.app_order, volume=app),
        dataset_order=replace(market.dataset_order, volume=dataset),
        workerpool_order=replace(market.workerpool_order, volume=workerpool),
        request_order=replace(market.request_order, volume=request),
    )


def _salted(order: Order, salt: bytes) -> Order:
    return replace(order, salt=keccak(salt), sign=b"")


# --- happy paths -----------------------------------------------------------------------


def test_match__four_signed_orders__creates_deal_and_locks(protocol: Protocol) -> None:
    market = build_market(protocol, volume=1)
    hub = protocol.hub
    requester = protocol.actors["requester"]
    scheduler = protocol.actors["scheduler"]
    request_hash = protocol.digest(market.request_order)

    result = market.match()

    assert result == deal_id(request_hash, 0)
    deal = hub.deal(result)
    assert deal.requester == requester.address
    assert deal.app_price == 3 * RLC
    assert deal.bot_size == 1
    assert hub.frozen_of(requester.address) == 10 * RLC
    assert hub.frozen_of(scheduler.address) == 5 * RLC * 30 // 100
    assert hub.consumed(request_hash) == 1


def test_match__full_market__deal_view_has_every_field(protocol: Protocol) -> None:
    a = protocol.actors
    market = build_market(
        protocol,
        app_price=3 * RLC,
        dataset_price=2 * RLC,
        workerpool_price=7 * RLC,
        volume=4,
        trust=5,
        category=2,
    )
    callback = to_checksum_address("0x" + "cb" * 20)
    market.request_order = replace(market.request_order, callback=callback)

    result = market.match()

    assert protocol.hub.deal_exists(result)
    deal = protocol.hub.deal(result)
    assert deal.app_owner == a["app_owner"].address
    assert deal.app_price == 3 * RLC
    assert deal.dataset_owner == a["dataset_owner"].address
    assert deal.dataset_price == 2 * RLC
    assert deal.workerpool_owner == a["scheduler"].address
    assert deal.workerpool_price == 7 * RLC
    assert deal.requester == a["requester"].address
    assert deal.bot_first == 0
    assert deal.bot_size == 4
    assert deal.callback == callback
    assert deal.start_time == boa.env.evm.patch.timestamp
    assert deal.category == 2
    # Category 2 is PoCo's M: its reference time is stored with the deal.
    assert deal.time_ref == 3_600
    assert deal.trust == 5
    assert deal.worker_stake_ratio == 30
    assert deal.scheduler_reward_ratio == 1
    assert deal.tee is False


def test_match__changed_workerpool_policy__deal_snapshots_it(protocol: Protocol) -> None:
    market = build_market(protocol)
    with boa.env.prank(protocol.actors["scheduler"].address):
        protocol.workerpools.change_policy(market.workerpool, 45, 12)

    first = market.match()
    with boa.env.prank(protocol.actors["scheduler"].address):
        protocol.workerpools.change_policy(market.workerpool, 100, 100)

    deal = protocol.hub.deal(first)
    assert (deal.worker_stake_ratio, deal.scheduler_reward_ratio) == (45, 12)
    # The scheduler's own stake stays PoCo's 30 %, whatever the workers' policy.
    assert protocol.hub.frozen_of(protocol.actors["scheduler"].address) == 5 * RLC * 30 // 100


def test_deal__unknown_id__all_fields_zero(protocol: Protocol) -> None:
    unknown = keccak(b"no such deal")
    assert not protocol.hub.deal_exists(unknown)
    deal = protocol.hub.deal(unknown)
    assert deal.requester == ZERO
    assert deal.bot_size == 0
    assert deal.tee is False


def test_match__full_market__consumes_every_order_volume(protocol: Protocol) -> None:
    market = build_market(protocol, volume=3)
    hashes = _hashes(market)
    assert [protocol.hub.consumed(h) for h in hashes] == [0, 0, 0, 0]

    market.match()

    assert [protocol.hub.consumed(h) for h in hashes] == [3, 3, 3, 3]


def test_match__full_market__locks_payment_and_scheduler_stake(protocol: Protocol) -> None:
    app_price, dataset_price, workerpool_price, volume = 3 * RLC, 2 * RLC, 7 * RLC + 1, 3
    market = build_market(
        protocol,
        app_price=app_price,
        dataset_price=dataset_price,
        workerpool_price=workerpool_price,
        volume=volume,
    )
    hub = protocol.hub
    requester = protocol.actors["requester"].address
    scheduler = protocol.actors["scheduler"].address
    held = protocol.token.balanceOf(hub.address)

    market.match()

    payment = (app_price + dataset_price + workerpool_price) * volume
    stake = workerpool_price * 30 // 100 * volume
    assert hub.frozen_of(requester) == payment
    assert hub.balance_of(requester) == 1_000 * RLC - payment
    assert hub.frozen_of(scheduler) == stake
    assert hub.balance_of(scheduler) == 1_000 * RLC - stake
    # Locks move nothing out of the hub.
    assert protocol.token.balanceOf(hub.address) == held


def test_match__full_market__emits_notice_matched_and_created_events(protocol: Protocol) -> None:
    market = build_market(protocol, volume=2, trust=3, category=1)
    callback = to_checksum_address("0x" + "cb" * 20)
    beneficiary = protocol.actors["stranger"].address
    market.request_order = replace(
        market.request_order,
        callback=callback,
        beneficiary=beneficiary,
        tag=tag_bytes(0x2),
        params='{"iexec_args": "a b c"}',
    )
    market.workerpool_order = replace(market.workerpool_order, tag=tag_bytes(0x6))
    market.app_order = replace(market.app_order, tag=tag_bytes(0x4))
    hashes = _hashes(market)

    result = market.match()
    names = [type(log).__name__ for log in protocol.hub.get_logs()]
    (notice,) = _events(protocol, "SchedulerNotice")
    (matched,) = _events(protocol, "OrdersMatched")
    (created,) = _events(protocol, "DealCreated")

    assert names == ["SchedulerNotice", "OrdersMatched", "DealCreated"]
    assert notice.workerpool == market.workerpool
    assert notice.deal_id == result
    assert matched.deal_id == result
    assert [
        matched.app_hash,
        matched.dataset_hash,
        matched.workerpool_hash,
        matched.request_hash,
    ] == hashes
    assert matched.volume == 2
    assert created.deal_id == result
    assert created.requester == protocol.actors["requester"].address
    assert created.app == market.app
    assert created.dataset == market.dataset
    assert created.workerpool == market.workerpool
    assert created.beneficiary == beneficiary
    assert created.tag == tag_bytes(0x6)
    assert created.params == '{"iexec_args": "a b c"}'
    # DealCreated carries only what the deal does not store: the callback, category,
    # trust and bag are read from the deal (the volume is in OrdersMatched above).
    assert set(created._fields) == {
        "address",
        "deal_id",
        "requester",
        "app",
        "dataset",
        "workerpool",
        "beneficiary",
        "tag",
        "params",
    }
    deal = protocol.hub.deal(result)
    assert deal.callback == callback
    assert deal.category == 1
    assert deal.trust == 3
    assert (deal.bot_first, deal.bot_size) == (0, 2)


def test_match__full_market__locks_once_per_payer_without_escrow_events(
    protocol: Protocol,
) -> None:
    # The escrow's Lock events are gone (the deal events carry the terms): the one lock
    # per payer is checked on the accounts instead, and the match logs only deal events.
    market = build_market(protocol, volume=2)
    hub = protocol.hub
    accounts = sorted(actor.address for actor in protocol.actors.values())
    before = {a: (hub.balance_of(a), hub.frozen_of(a)) for a in accounts}

    market.match()
    names = [type(log).__name__ for log in hub.get_logs()]

    assert names == ["SchedulerNotice", "OrdersMatched", "DealCreated"]
    locked = {
        a: hub.frozen_of(a) - before[a][1] for a in accounts if hub.frozen_of(a) != before[a][1]
    }
    assert locked == {
        protocol.actors["requester"].address: 10 * RLC * 2,
        protocol.actors["scheduler"].address: 5 * RLC * 30 // 100 * 2,
    }
    for account, amount in locked.items():
        assert hub.balance_of(account) == before[account][0] - amount


def test_match__no_dataset__deal_has_no_dataset(protocol: Protocol) -> None:
    market = build_market(protocol, volume=2).without_dataset()
    hub = protocol.hub
    requester = protocol.actors["requester"].address
    request_hash = protocol.digest(market.request_order)

    result = market.match()
    (matched,) = _events(protocol, "OrdersMatched")
    (created,) = _events(protocol, "DealCreated")

    assert result == deal_id(request_hash, 0)
    assert matched.dataset_hash == ZERO_BYTES32
    assert created.dataset == ZERO
    deal = hub.deal(result)
    assert deal.dataset_owner == ZERO
    assert deal.dataset_price == 0
    assert deal.app_price == 3 * RLC
    assert deal.bot_size == 2
    assert hub.frozen_of(requester) == (3 + 5) * RLC * 2
    assert hub.consumed(protocol.digest(DatasetOrder())) == 0
    assert hub.consumed(request_hash) == 2


def test_match__no_dataset_with_leftover_dataset_fields__ignores_them(protocol: Protocol) -> None:
    # With no dataset, the dataset order's price, volume, tag and signature are not read.
    market = build_market(protocol).without_dataset()
    market.dataset_order = DatasetOrder(
        datasetprice=50 * RLC, volume=0, tag=tag_bytes(0x80), sign=b"\x01" * 3
    )

    result = market.match()

    assert protocol.hub.deal(result).dataset_price == 0
    assert protocol.hub.frozen_of(protocol.actors["requester"].address) == 8 * RLC


@pytest.mark.parametrize(
    ("volumes", "expected"),
    [
        ((2, 5, 6, 7), 2),
        ((5, 3, 6, 7), 3),
        ((5, 6, 4, 7), 4),
        ((5, 6, 7, 1), 1),
    ],
    ids=["app", "dataset", "workerpool", "request"],
)
def test_match__unequal_volumes__deal_volume_is_smallest(
    protocol: Protocol, volumes: tuple[int, int, int, int], expected: int
) -> None:
    market = _with_volumes(build_market(protocol), *volumes)
    hashes = _hashes(market)

    result = market.match()

    assert protocol.hub.deal(result).bot_size == expected
    assert [protocol.hub.consumed(h) for h in hashes] == [expected] * 4
    assert protocol.hub.frozen_of(protocol.actors["requester"].address) == 10 * RLC * expected


def test_match__no_dataset_unequal_volumes__smallest_of_three(protocol: Protocol) -> None:
    market = _with_volumes(build_market(protocol), 6, 0, 5, 9).without_dataset()

    result = market.match()

    assert protocol.hub.deal(result).bot_size == 5


def test_match__request_matched_twice__second_deal_continues_bag(protocol: Protocol) -> None:
    market = _with_volumes(build_market(protocol), 2, 10, 10, 5)
    request_hash = protocol.digest(market.request_order)
    requester = protocol.actors["requester"].address

    first = market.match()
    # A second app order (another salt) lets the rest of the request match.
    market.app_order = replace(_salted(market.app_order, b"second"), volume=10)
    second = market.match()
    (matched,) = _events(protocol, "OrdersMatched")

    assert first == deal_id(request_hash, 0)
    assert second == deal_id(request_hash, 2)
    assert first != second
    assert protocol.hub.deal(first).bot_first == 0
    assert protocol.hub.deal(first).bot_size == 2
    assert protocol.hub.deal(second).bot_first == 2
    assert protocol.hub.deal(second).bot_size == 3
    assert matched.deal_id == second
    assert matched.volume == 3
    assert protocol.hub.consumed(request_hash) == 5
    assert protocol.hub.frozen_of(requester) == 10 * RLC * 5


@pytest.mark.parametrize(("trust", "stored"), [(0, 1), (1, 1), (7, 7), (2**16 - 1, 2**16 - 1)])
def test_match__request_trust__deal_trust_is_at_least_one(
    protocol: Protocol, trust: int, stored: int
) -> None:
    market = build_market(protocol, trust=trust)

    result = market.match()

    # The trust is no longer in DealCreated: the deal view is its only record.
    assert protocol.hub.deal(result).trust == stored


def test_match__request_trust_below_workerpool__matches(protocol: Protocol) -> None:
    market = build_market(protocol, trust=4)
    market.request_order = replace(market.request_order, trust=2)

    result = market.match()

    assert protocol.hub.deal(result).trust == 2


def test_match__last_category__matches(protocol: Protocol) -> None:
    market = build_market(protocol, category=4)

    result = market.match()

    assert protocol.hub.deal(result).category == 4
    assert protocol.hub.deal(result).time_ref == 36_000


@pytest.mark.parametrize(
    ("category", "time_ref"), [(0, 300), (1, 1_200), (2, 3_600), (3, 10_800), (4, 36_000)]
)
def test_match__default_category__deal_stores_its_reference_time(
    protocol: Protocol, category: int, time_ref: int
) -> None:
    market = build_market(protocol, category=category)

    result = market.match()

    deal = protocol.hub.deal(result)
    assert (deal.category, deal.time_ref) == (category, time_ref)
    assert protocol.hub.category(category).work_clock_time_ref == time_ref


def test_match__every_packed_field_at_its_maximum__deal_view_reads_each_back(
    protocol: Protocol,
) -> None:
    # The last category id (16 bits, in the requester slot next to the 40-bit bag) with the
    # longest reference time (24 bits), the largest volume, trust, ratios and the TEE flag:
    # no field of the packed deal bleeds into another.
    owner = protocol.actors["deployer"].address
    protocol.hub_contract.eval("categories.category_count = 65535")
    with boa.env.prank(owner):
        last = protocol.hub.create_category("last", "", 2**24 - 1)
    assert last == 2**16 - 1
    volume = 2**40 - 1
    market = build_market(
        protocol,
        app_price=0,
        dataset_price=0,
        workerpool_price=0,
        volume=volume,
        trust=2**16 - 1,
        category=last,
    )
    with boa.env.prank(protocol.actors["scheduler"].address):
        protocol.workerpools.change_policy(market.workerpool, 100, 100)
    callback = to_checksum_address("0x" + "ff" * 20)
    market.app_order = replace(market.app_order, tag=tag_bytes(TAG_TEE))
    market.workerpool_order = replace(market.workerpool_order, tag=tag_bytes(TAG_TEE))
    market.request_order = replace(market.request_order, callback=callback)

    result = market.match()

    deal = protocol.hub.deal(result)
    assert deal.requester == protocol.actors["requester"].address
    assert (deal.bot_first, deal.bot_size) == (0, volume)
    assert deal.category == 2**16 - 1
    assert deal.callback == callback
    assert deal.start_time == boa.env.evm.patch.timestamp
    assert deal.time_ref == 2**24 - 1
    assert deal.trust == 2**16 - 1
    assert (deal.worker_stake_ratio, deal.scheduler_reward_ratio) == (100, 100)
    assert deal.tee is True
    assert (deal.app_price, deal.dataset_price, deal.workerpool_price) == (0, 0, 0)


def test_match__tee_tags_on_app_and_workerpool__deal_is_tee(protocol: Protocol) -> None:
    market = build_market(protocol)
    market.app_order = replace(market.app_order, tag=tag_bytes(TAG_TEE_SCONE))
    market.workerpool_order = replace(market.workerpool_order, tag=tag_bytes(TAG_TEE_SCONE))
    market.request_order = replace(market.request_order, tag=tag_bytes(TAG_TEE))

    result = market.match()
    (created,) = _events(protocol, "DealCreated")

    assert protocol.hub.deal(result).tee is True
    assert created.tag == tag_bytes(TAG_TEE_SCONE)


def test_match__non_tee_tags_offered__deal_is_not_tee(protocol: Protocol) -> None:
    market = build_market(protocol)
    market.dataset_order = replace(market.dataset_order, tag=tag_bytes(0x2))
    market.request_order = replace(market.request_order, tag=tag_bytes(0x8))
    # The workerpool offers more than asked, TEE included: still not a TEE deal.
    market.workerpool_order = replace(market.workerpool_order, tag=tag_bytes(0xFF))

    result = market.match()
    (created,) = _events(protocol, "DealCreated")

    assert protocol.hub.deal(result).tee is False
    assert created.tag == tag_bytes(0xA)


def test_match__every_restriction_names_the_counterpart__matches(protocol: Protocol) -> None:
    market = build_market(protocol)
    requester = protocol.actors["requester"].address
    market.app_order = replace(
        market.app_order,
        datasetrestrict=market.dataset,
        workerpoolrestrict=market.workerpool,
        requesterrestrict=requester,
    )
    market.dataset_order = replace(
        market.dataset_order,
        apprestrict=market.app,
        workerpoolrestrict=market.workerpool,
        requesterrestrict=requester,
    )
    market.workerpool_order = replace(
        market.workerpool_order,
        apprestrict=market.app,
        datasetrestrict=market.dataset,
        requesterrestrict=requester,
    )
    assert market.request_order.workerpool == market.workerpool

    result = market.match()

    assert protocol.hub.deal_exists(result)


def test_match__request_names_no_workerpool__any_workerpool_matches(protocol: Protocol) -> None:
    market = build_market(protocol)
    market.request_order = replace(market.request_order, workerpool=ZERO)

    result = market.match()

    assert protocol.hub.deal(result).workerpool_owner == protocol.actors["scheduler"].address


def test_match__sent_by_a_stranger__requester_pays(protocol: Protocol) -> None:
    market = build_market(protocol)

    result = market.match(sender=protocol.actors["stranger"])

    assert protocol.hub.deal(result).requester == protocol.actors["requester"].address
    assert protocol.hub.frozen_of(protocol.actors["requester"].address) == 10 * RLC
    assert protocol.hub.frozen_of(protocol.actors["stranger"].address) == 0


def test_match__zero_prices__locks_nothing(protocol: Protocol) -> None:
    market = build_market(protocol, app_price=0, dataset_price=0, workerpool_price=0, volume=3)

    result = market.match()

    assert protocol.hub.deal(result).bot_size == 3
    assert protocol.hub.frozen_of(protocol.actors["requester"].address) == 0
    assert protocol.hub.frozen_of(protocol.actors["scheduler"].address) == 0


def test_match__largest_volume__matches(protocol: Protocol) -> None:
    # Bag indices are 40-bit.
    volume = 2**40 - 1
    market = build_market(protocol, app_price=0, dataset_price=0, workerpool_price=0, volume=volume)

    result = market.match()

    assert protocol.hub.deal(result).bot_size == volume


# --- signatures ------------------------------------------------------------------------


def test_match__65_byte_signatures__matches(protocol: Protocol) -> None:
    market = build_market(protocol)
    for role in ROLES:
        market = replace(market, **{ORDER_FIELD[role]: _sign(market, role)})
    assert all(len(order.sign) == 65 for order in _orders(market))

    assert protocol.hub.deal_exists(market.match())


def test_match__compact_signatures__matches(protocol: Protocol) -> None:
    market = build_market(protocol)
    for role in ROLES:
        market = _with_sign(market, role, compact_signature(_sign(market, role).sign))
    assert all(len(order.sign) == 64 for order in _orders(market))

    assert protocol.hub.deal_exists(market.match())


def test_match__presigned_orders_without_signature__matches(protocol: Protocol) -> None:
    market = build_market(protocol)
    hub = protocol.hub
    presign = {
        "app": hub.presign_app_order,
        "dataset": hub.presign_dataset_order,
        "workerpool": hub.presign_workerpool_order,
        "request": hub.presign_request_order,
    }
    for role in ROLES:
        with boa.env.prank(market.signers[role].address):
            presign[role](getattr(market, ORDER_FIELD[role]).as_tuple())

    result = _submit(market, _orders(market))

    assert all(order.sign == b"" for order in _orders(market))
    assert protocol.hub.deal_exists(result)


@pytest.mark.parametrize("role", ROLES)
def test_match__erc1271_wallet_signer__matches(protocol: Protocol, role: str) -> None:
    wallet_owner = protocol.actors["stranger"]
    wallet = boa.load(ERC1271_WALLET, wallet_owner.address)
    market = _hand_role_to(build_market(protocol), role, wallet.address, wallet_owner)

    result = market.match()

    deal = protocol.hub.deal(result)
    owner_field = {
        "app": deal.app_owner,
        "dataset": deal.dataset_owner,
        "workerpool": deal.workerpool_owner,
        "request": deal.requester,
    }
    assert owner_field[role] == wallet.address


@pytest.mark.parametrize("role", ROLES)
def test_match__erc1271_wallet_refuses__reverts(protocol: Protocol, role: str) -> None:
    wallet = boa.load(ERC1271_WALLET, protocol.actors["stranger"].address)
    # Signed by a key that is not the wallet's owner: the wallet answers 0xffffffff.
    market = _hand_role_to(
        build_market(protocol), role, wallet.address, protocol.actors["deployer"]
    )
    assert_match_reverts(market, f"matching: invalid {role} order signature")


def test_match__erc1271_wallet_reverts__reverts_with_hub_reason(protocol: Protocol) -> None:
    wallet = boa.load(ERC1271_WALLET, protocol.actors["stranger"].address)
    market = _hand_role_to(
        build_market(protocol), "app", wallet.address, protocol.actors["stranger"]
    )
    # The wallet reverts on a signature that is not 65 bytes; the hub treats it as a refusal.
    market = _with_sign(market, "app", b"\x01" * 100)

    assert_match_reverts(market, "matching: invalid app order signature")


@pytest.mark.parametrize("role", ROLES)
def test_match__high_s_signature__reverts(protocol: Protocol, role: str) -> None:
    market = build_market(protocol)
    sign = _sign(market, role).sign
    s = int.from_bytes(sign[32:64], "big")
    flipped_v = 55 - sign[64]  # 27 <-> 28
    twin = sign[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([flipped_v])
    market = _with_sign(market, role, twin)

    assert_match_reverts(market, f"matching: invalid {role} order signature")


@pytest.mark.parametrize("length", [0, 1, 63, 66, 130])
def test_match__signature_of_wrong_length__reverts(protocol: Protocol, length: int) -> None:
    market = build_market(protocol)
    app_order, *others = market.signed()
    orders = (app_order.with_sign((app_order.sign * 3)[:length]), *others)

    assert_match_reverts(market, "matching: invalid app order signature", orders=orders)


def test_match__signature_of_another_order__reverts(protocol: Protocol) -> None:
    market = build_market(protocol)
    signed = _sign(market, "app")
    # The owner's signature, but the order was changed after signing.
    market.app_order = replace(signed, appprice=signed.appprice - 1)

    assert_match_reverts(market, "matching: invalid app order signature")


@pytest.mark.parametrize("role", ROLES)
def test_match__compact_signature_by_wrong_key__reverts(protocol: Protocol, role: str) -> None:
    market = build_market(protocol)
    wrong = protocol.sign(getattr(market, ORDER_FIELD[role]), protocol.actors["stranger"])
    market = _with_sign(market, role, compact_signature(wrong.sign))

    assert_match_reverts(market, f"matching: invalid {role} order signature")


def test_match__unsigned_order_not_presigned__reverts(protocol: Protocol) -> None:
    market = build_market(protocol)
    # The requester presigns its own request, which says nothing about the app order.
    with boa.env.prank(protocol.actors["requester"].address):
        protocol.hub.presign_request_order(market.request_order.as_tuple())
    _, *others = market.signed()
    orders = (market.app_order, *others)
    assert market.app_order.sign == b""

    assert_match_reverts(market, "matching: invalid app order signature", orders=orders)


# --- one test per revert reason --------------------------------------------------------


def test_match__category_mismatch__reverts(protocol: Protocol) -> None:
    market = build_market(protocol)
    market.request_order = replace(market.request_order, category=1)

    assert_match_reverts(market, "matching: category mismatch")


def test_match__unknown_category__reverts(protocol: Protocol) -> None:
    count = protocol.hub.category_count()
    market = build_market(protocol, category=count)

    assert_match_reverts(market, "matching: unknown category")


def test_match__trust_above_workerpool_trust__reverts(protocol: Protocol) -> None:
    market = build_market(protocol, trust=3)
    market.request_order = replace(market.request_order, trust=4)

    assert_match_reverts(market, "matching: trust above workerpool trust")


def test_match__trust_too_large__reverts(protocol: Protocol) -> None:
    market = build_market(protocol, trust=2**16)

    assert_match_reverts(market, "matching: trust too large")


@pytest.mark.parametrize(
    ("field", "price_field", "reason"),
    [
        ("appmaxprice", "appprice", "matching: app price above max"),
        ("datasetmaxprice", "datasetprice", "matching: dataset price above max"),
        ("workerpoolmaxprice", "workerpoolprice", "matching: workerpool price above max"),
    ],
    ids=["app", "dataset", "workerpool"],
)
def test_match__price_above_request_max__reverts(
    protocol: Protocol, field: str, price_field: str, reason: str
) -> None:
    market = build_market(protocol)
    ask = {
        "appprice": market.app_order.appprice,
        "datasetprice": market.dataset_order.datasetprice,
        "workerpoolprice": market.workerpool_order.workerpoolprice,
    }[price_field]
    market.request_order = replace(market.request_order, **{field: ask - 1})

    assert_match_reverts(market, reason)


@pytest.mark.parametrize("role", ["app", "dataset", "workerpool"])
def test_match__price_too_large__reverts(protocol: Protocol, role: str) -> None:
    huge = 2**96
    kwargs = {"app_price": 0, "dataset_price": 0, "workerpool_price": 0, f"{role}_price": huge}
    market = build_market(protocol, **kwargs)

    assert_match_reverts(market, "matching: price too large")


@pytest.mark.parametrize("role", ["app", "dataset", "request"])
def test_match__tag_not_offered_by_workerpool__reverts(protocol: Protocol, role: str) -> None:
    market = build_market(protocol)
    market.workerpool_order = replace(market.workerpool_order, tag=tag_bytes(0x4))
    order = getattr(market, ORDER_FIELD[role])
    market = replace(market, **{ORDER_FIELD[role]: replace(order, tag=tag_bytes(0x6))})

    assert_match_reverts(market, "matching: tag not offered by workerpool")


@pytest.mark.parametrize("role", ["dataset", "request"])
def test_match__tee_tag_not_declared_by_app__reverts(protocol: Protocol, role: str) -> None:
    market = build_market(protocol)
    market.workerpool_order = replace(market.workerpool_order, tag=tag_bytes(TAG_TEE_SCONE))
    order = getattr(market, ORDER_FIELD[role])
    market = replace(market, **{ORDER_FIELD[role]: replace(order, tag=tag_bytes(TAG_TEE))})

    assert_match_reverts(market, "matching: TEE tag not declared by app")


def test_match__app_mismatch__reverts(protocol: Protocol) -> None:
    market = build_market(protocol)
    market.request_order = replace(market.request_order, app=UNREGISTERED)

    assert_match_reverts(market, "matching: app mismatch")


def test_match__dataset_mismatch__reverts(protocol: Protocol) -> None:
    market = build_market(protocol)
    market.request_order = replace(market.request_order, dataset=UNREGISTERED)

    assert_match_reverts(market, "matching: dataset mismatch")


def test_match__dataset_order_without_requested_dataset__reverts(protocol: Protocol) -> None:
    market = build_market(protocol)
    market.request_order = replace(market.request_order, dataset=ZERO, datasetmaxprice=0)

    assert_match_reverts(market, "matching: dataset mismatch")


RESTRICTIONS = [
    ("request", "workerpool", "matching: workerpool restricted by request"),
    ("app", "datasetrestrict", "matching: dataset restricted by app"),
    ("app", "workerpoolrestrict", "matching: workerpool restricted by app"),
    ("app", "requesterrestrict", "matching: requester restricted by app"),
    ("dataset", "apprestrict", "matching: app restricted by dataset"),
    ("dataset", "workerpoolrestrict", "matching: workerpool restricted by dataset"),
    ("dataset", "requesterrestrict", "matching: requester restricted by dataset"),
    ("workerpool", "apprestrict", "matching: app restricted by workerpool"),
    ("workerpool", "datasetrestrict", "matching: dataset restricted by workerpool"),
    ("workerpool", "requesterrestrict", "matching: requester restricted by workerpool"),
]


@pytest.mark.parametrize(
    ("role", "field", "reason"), RESTRICTIONS, ids=[f"{r}.{f}" for r, f, _ in RESTRICTIONS]
)
def test_match__restricted_to_someone_else__reverts(
    protocol: Protocol, role: str, field: str, reason: str
) -> None:
    market = build_market(protocol)
    order = getattr(market, ORDER_FIELD[role])
    other = protocol.actors["stranger"].address
    market = replace(market, **{ORDER_FIELD[role]: replace(order, **{field: other})})

    assert_match_reverts(market, reason)


@pytest.mark.parametrize(
    ("role", "reason"),
    [
        ("app", "matching: dataset restricted by app"),
        ("workerpool", "matching: dataset restricted by workerpool"),
    ],
)
def test_match__no_dataset_but_dataset_restriction__reverts(
    protocol: Protocol, role: str, reason: str
) -> None:
    market = build_market(protocol)
    if role == "app":
        market.app_order = replace(market.app_order, datasetrestrict=market.dataset)
    else:
        market.workerpool_order = replace(market.workerpool_order, datasetrestrict=market.dataset)

    assert_match_reverts(market.without_dataset(), reason)


def _unregister(market: Market, role: str) -> Market:
    if role == "app":
        return replace(
            market,
            app_order=replace(market.app_order, app=UNREGISTERED),
            request_order=replace(market.request_order, app=UNREGISTERED),
        )
    if role == "dataset":
        return replace(
            market,
            dataset_order=replace(market.dataset_order, dataset=UNREGISTERED),
            request_order=replace(market.request_order, dataset=UNREGISTERED),
        )
    return replace(
        market,
        workerpool_order=replace(market.workerpool_order, workerpool=UNREGISTERED),
        request_order=replace(market.request_order, workerpool=UNREGISTERED),
    )


@pytest.mark.parametrize("role", ["app", "dataset", "workerpool"])
def test_match__asset_not_registered__reverts(protocol: Protocol, role: str) -> None:
    market = _unregister(build_market(protocol), role)

    assert_match_reverts(market, f"matching: {role} not registered")


@pytest.mark.parametrize("role", ROLES)
def test_match__signature_by_wrong_key__reverts(protocol: Protocol, role: str) -> None:
    market = build_market(protocol)
    order = getattr(market, ORDER_FIELD[role])
    market = replace(
        market, **{ORDER_FIELD[role]: protocol.sign(order, protocol.actors["stranger"])}
    )

    assert_match_reverts(market, f"matching: invalid {role} order signature")


@pytest.mark.parametrize("role", ROLES)
def test_match__order_used_up_by_earlier_deal__reverts(protocol: Protocol, role: str) -> None:
    market = build_market(protocol, volume=1)
    market.match()
    # Fresh orders (other salts) for every role but the used-up one.
    for other in ROLES:
        if other != role:
            field = ORDER_FIELD[other]
            market = replace(market, **{field: _salted(getattr(market, field), b"again")})

    assert_match_reverts(market, f"matching: {role} order consumed")


def test_match__volume_too_large__reverts(protocol: Protocol) -> None:
    market = build_market(protocol, app_price=0, dataset_price=0, workerpool_price=0, volume=2**40)

    assert_match_reverts(market, "matching: volume too large")


def test_match__second_deal_past_index_limit__reverts(protocol: Protocol) -> None:
    market = build_market(protocol, app_price=0, dataset_price=0, workerpool_price=0)
    market = _with_volumes(market, 2**40 - 1, 2**60, 2**60, 2**60)
    market.match()
    market.app_order = replace(_salted(market.app_order, b"more"), volume=5)

    assert_match_reverts(market, "matching: volume too large")


def test_match__requester_balance_too_low__reverts(protocol: Protocol) -> None:
    market = build_market(protocol, volume=2)
    requester = protocol.actors["requester"]
    # Payment is 20 RLC; leave one nRLC less.
    with boa.env.prank(requester.address):
        protocol.hub.withdraw(1_000 * RLC - 20 * RLC + 1)

    assert_match_reverts(market, "matching: requester balance too low")


def test_match__requester_balance_exactly_payment__matches(protocol: Protocol) -> None:
    market = build_market(protocol, volume=2)
    requester = protocol.actors["requester"].address
    with boa.env.prank(requester):
        protocol.hub.withdraw(1_000 * RLC - 20 * RLC)

    market.match()

    assert protocol.hub.balance_of(requester) == 0
    assert protocol.hub.frozen_of(requester) == 20 * RLC


def test_match__scheduler_balance_too_low__reverts(protocol: Protocol) -> None:
    market = build_market(protocol, volume=2)
    scheduler = protocol.actors["scheduler"]
    # Stake is 2 x 1.5 RLC; leave one nRLC less.
    with boa.env.prank(scheduler.address):
        protocol.hub.withdraw(1_000 * RLC - 3 * RLC + 1)

    assert_match_reverts(market, "matching: scheduler balance too low")


def test_match__every_revert_reason__has_a_test() -> None:
    """Every reason matching.vy can revert with is asserted by a test of this file."""
    reasons = set(re.findall(r'"(matching: [^"]+)"', (CONTRACTS / "hub/matching.vy").read_text()))
    assert len(reasons) > 30
    tested = set(re.findall(r'"(matching: [^"{]+)"', Path(__file__).read_text()))
    for role in ROLES:
        tested |= {f"matching: invalid {role} order signature", f"matching: {role} order consumed"}
        tested.add(f"matching: {role} not registered")
    assert sorted(reasons - tested) == []
