# pragma version ~=0.4.3
"""
@title matching
@notice Owns deals. `matchOrders` checks an app, a dataset (optional), a workerpool and a
        request order against each other (PoCo's rules), locks the requester's payment and
        the scheduler's stake, uses the orders' volume and records a compact deal: five
        packed slots hold what settlement needs; everything else a client wants (the
        asset addresses, tag, beneficiary, params) is in the `DealCreated` event.
"""

from . import assets
from . import categories
from . import escrow
from . import orders

uses: assets
uses: categories
uses: escrow
uses: orders


# The scheduler stakes 30 % of the workerpool price per task (PoCo constant).
SCHEDULER_STAKE_RATIO: constant(uint256) = 30
TAG_TEE: constant(uint256) = 1

# Packing bounds (checked at match time).
_PRICE_LIMIT: constant(uint256) = 2**96
_TRUST_LIMIT: constant(uint256) = 2**16
_INDEX_LIMIT: constant(uint256) = 2**40
_ADDRESS_MASK: constant(uint256) = 2**160 - 1
_M40: constant(uint256) = 2**40 - 1


# Each field is one storage slot, packed as the comments say (low bits first).
struct PackedDeal:
    app: uint256  # owner (160) | price (96)
    dataset: uint256  # owner (160) | price (96); zero when the deal has no dataset
    workerpool: uint256  # owner (160) | price (96)
    requester: uint256  # requester (160) | bot_first (40) | bot_size (40) | category (16)
    config: uint256  # callback (160) | start_time (40) | time_ref (24) | trust (16) |
    # worker_stake_ratio (7) | scheduler_reward_ratio (7) | TEE (1)


struct Deal:
    app_owner: address
    app_price: uint256
    dataset_owner: address
    dataset_price: uint256
    workerpool_owner: address
    workerpool_price: uint256
    requester: address
    bot_first: uint256
    bot_size: uint256
    callback: address
    start_time: uint256
    category: uint256
    time_ref: uint256
    trust: uint256
    worker_stake_ratio: uint256
    scheduler_reward_ratio: uint256
    tee: bool


# What a contribution needs of a deal: two of its slots.
struct ExecutionTerms:
    workerpool_owner: address
    workerpool_price: uint256
    start_time: uint256
    time_ref: uint256
    trust: uint256
    worker_stake_ratio: uint256
    tee: bool


# @dev The deals by id, packed as `PackedDeal` says; an empty entry is an unknown deal.
_deals: HashMap[bytes32, PackedDeal]


# @dev Emitted for every new deal, indexed by workerpool, so that a scheduler follows
# only its own deals (PoCo's event).
event SchedulerNotice:
    workerpool: indexed(address)
    deal_id: bytes32


# @dev Emitted when four orders make deal `deal_id`: their digests and the volume the
# deal takes from each.
event OrdersMatched:
    deal_id: bytes32
    app_hash: bytes32
    dataset_hash: bytes32
    workerpool_hash: bytes32
    request_hash: bytes32
    volume: uint256


# @dev Emitted with every new deal: what the deal does not store (its terms are in
# `deal()`, its volume in OrdersMatched).
event DealCreated:
    deal_id: indexed(bytes32)
    requester: indexed(address)
    app: address
    dataset: address
    workerpool: address
    beneficiary: address
    tag: bytes32
    params: String[orders.PARAMS_MAX]


@internal
@pure
def _allows(restriction: address, counterpart: address) -> bool:
    return restriction == empty(address) or restriction == counterpart


@internal
@pure
def _remaining(volume: uint256, consumed: uint256) -> uint256:
    if consumed >= volume:
        return 0
    # consumed < volume.
    return unsafe_sub(volume, consumed)


@internal
@pure
def _pack(owner: address, price: uint256) -> uint256:
    return convert(owner, uint256) | (price << 160)


@external
def matchOrders(
    app_order: orders.AppOrder,
    dataset_order: orders.DatasetOrder,
    workerpool_order: orders.WorkerpoolOrder,
    request_order: orders.RequestOrder,
):
    """
    @notice Matches four orders into a deal of `volume` tasks, the smallest remaining
            volume of the orders. Pass an all-zero dataset order when the request names
            no dataset. The requester locks (app + dataset + workerpool price) x volume
            and the workerpool owner locks 30 % of the workerpool price x volume.
            The deal id, keccak256(request hash ‖ request volume used before the
            match), is in the SchedulerNotice, OrdersMatched and DealCreated events.
    """
    has_dataset: bool = request_order.dataset != empty(address)

    assert request_order.category == workerpool_order.category, "matching: category mismatch"
    assert request_order.category < categories.category_count, "matching: unknown category"
    assert request_order.trust <= workerpool_order.trust, "matching: trust above workerpool trust"
    assert request_order.trust < _TRUST_LIMIT, "matching: trust too large"

    dataset_price: uint256 = 0
    if has_dataset:
        dataset_price = dataset_order.datasetprice
    assert request_order.appmaxprice >= app_order.appprice, "matching: app price above max"
    assert request_order.datasetmaxprice >= dataset_price, "matching: dataset price above max"
    assert request_order.workerpoolmaxprice >= workerpool_order.workerpoolprice, (
        "matching: workerpool price above max"
    )
    assert app_order.appprice < _PRICE_LIMIT, "matching: price too large"
    assert dataset_price < _PRICE_LIMIT, "matching: price too large"
    assert workerpool_order.workerpoolprice < _PRICE_LIMIT, "matching: price too large"

    tag: uint256 = convert(app_order.tag, uint256) | convert(request_order.tag, uint256)
    if has_dataset:
        tag |= convert(dataset_order.tag, uint256)
    assert tag & ~convert(workerpool_order.tag, uint256) == 0, (
        "matching: tag not offered by workerpool"
    )
    assert tag & TAG_TEE == convert(app_order.tag, uint256) & TAG_TEE, (
        "matching: TEE tag not declared by app"
    )

    assert request_order.app == app_order.app, "matching: app mismatch"
    assert request_order.dataset == dataset_order.dataset, "matching: dataset mismatch"

    app: address = app_order.app
    dataset: address = dataset_order.dataset
    workerpool: address = workerpool_order.workerpool
    requester: address = request_order.requester
    assert self._allows(request_order.workerpool, workerpool), (
        "matching: workerpool restricted by request"
    )
    assert self._allows(app_order.datasetrestrict, dataset), "matching: dataset restricted by app"
    assert self._allows(app_order.workerpoolrestrict, workerpool), (
        "matching: workerpool restricted by app"
    )
    assert self._allows(app_order.requesterrestrict, requester), (
        "matching: requester restricted by app"
    )
    if has_dataset:
        assert self._allows(dataset_order.apprestrict, app), "matching: app restricted by dataset"
        assert self._allows(dataset_order.workerpoolrestrict, workerpool), (
            "matching: workerpool restricted by dataset"
        )
        assert self._allows(dataset_order.requesterrestrict, requester), (
            "matching: requester restricted by dataset"
        )
    assert self._allows(workerpool_order.apprestrict, app), "matching: app restricted by workerpool"
    assert self._allows(workerpool_order.datasetrestrict, dataset), (
        "matching: dataset restricted by workerpool"
    )
    assert self._allows(workerpool_order.requesterrestrict, requester), (
        "matching: requester restricted by workerpool"
    )

    app_owner: address = assets._app_owner(app)
    assert app_owner != empty(address), "matching: app not registered"
    dataset_owner: address = empty(address)
    if has_dataset:
        dataset_owner = assets._dataset_owner(dataset)
        assert dataset_owner != empty(address), "matching: dataset not registered"
    workerpool_owner: address = empty(address)
    worker_stake_ratio: uint256 = 0
    scheduler_reward_ratio: uint256 = 0
    workerpool_owner, worker_stake_ratio, scheduler_reward_ratio = assets._workerpool_terms(workerpool)
    assert workerpool_owner != empty(address), "matching: workerpool not registered"

    app_hash: bytes32 = orders._app_order_hash(app_order)
    assert orders._is_signed_by(app_owner, app_hash, app_order.sign), (
        "matching: invalid app order signature"
    )
    dataset_hash: bytes32 = empty(bytes32)
    if has_dataset:
        dataset_hash = orders._dataset_order_hash(dataset_order)
        assert orders._is_signed_by(dataset_owner, dataset_hash, dataset_order.sign), (
            "matching: invalid dataset order signature"
        )
    workerpool_hash: bytes32 = orders._workerpool_order_hash(workerpool_order)
    assert orders._is_signed_by(workerpool_owner, workerpool_hash, workerpool_order.sign), (
        "matching: invalid workerpool order signature"
    )
    request_hash: bytes32 = orders._request_order_hash(request_order)
    assert orders._is_signed_by(requester, request_hash, request_order.sign), (
        "matching: invalid request order signature"
    )

    request_used: uint256 = orders.consumed[request_hash]
    volume: uint256 = self._remaining(request_order.volume, request_used)
    assert volume != 0, "matching: request order consumed"
    app_used: uint256 = orders.consumed[app_hash]
    app_left: uint256 = self._remaining(app_order.volume, app_used)
    assert app_left != 0, "matching: app order consumed"
    volume = min(volume, app_left)
    dataset_used: uint256 = 0
    if has_dataset:
        dataset_used = orders.consumed[dataset_hash]
        dataset_left: uint256 = self._remaining(dataset_order.volume, dataset_used)
        assert dataset_left != 0, "matching: dataset order consumed"
        volume = min(volume, dataset_left)
    workerpool_used: uint256 = orders.consumed[workerpool_hash]
    workerpool_left: uint256 = self._remaining(workerpool_order.volume, workerpool_used)
    assert workerpool_left != 0, "matching: workerpool order consumed"
    volume = min(volume, workerpool_left)
    assert request_used + volume < _INDEX_LIMIT, "matching: volume too large"

    # Each price < 2**96 and volume < 2**40: the products cannot overflow.
    payment: uint256 = unsafe_mul(
        app_order.appprice + dataset_price + workerpool_order.workerpoolprice, volume
    )
    stake: uint256 = unsafe_mul(
        workerpool_order.workerpoolprice * SCHEDULER_STAKE_RATIO // 100, volume
    )
    assert escrow._balance(requester) >= payment, "matching: requester balance too low"
    escrow._lock(requester, payment)
    assert escrow._balance(workerpool_owner) >= stake, "matching: scheduler balance too low"
    escrow._lock(workerpool_owner, stake)

    orders.consumed[request_hash] = request_used + volume
    orders.consumed[app_hash] = app_used + volume
    if has_dataset:
        orders.consumed[dataset_hash] = dataset_used + volume
    orders.consumed[workerpool_hash] = workerpool_used + volume

    deal_id: bytes32 = keccak256(concat(request_hash, convert(request_used, bytes32)))
    trust: uint256 = max(request_order.trust, 1)
    self._deals[deal_id].app = self._pack(app_owner, app_order.appprice)
    if has_dataset:
        self._deals[deal_id].dataset = self._pack(dataset_owner, dataset_price)
    self._deals[deal_id].workerpool = self._pack(workerpool_owner, workerpool_order.workerpoolprice)
    self._deals[deal_id].requester = (
        convert(requester, uint256)
        | (request_used << 160)
        | (volume << 200)
        | (request_order.category << 240)
    )
    # The reference time is stored (categories never change) so that tasks need not read
    # the category; both ratios are <= 100 (registry bound), the time ref < 2**24.
    self._deals[deal_id].config = (
        convert(request_order.callback, uint256)
        | (block.timestamp << 160)
        | (categories._time_ref(request_order.category) << 200)
        | (trust << 224)
        | (worker_stake_ratio << 240)
        | (scheduler_reward_ratio << 247)
        | ((tag & TAG_TEE) << 254)
    )

    log SchedulerNotice(workerpool=workerpool, deal_id=deal_id)
    log OrdersMatched(
        deal_id=deal_id,
        app_hash=app_hash,
        dataset_hash=dataset_hash,
        workerpool_hash=workerpool_hash,
        request_hash=request_hash,
        volume=volume,
    )
    log DealCreated(
        deal_id=deal_id,
        requester=requester,
        app=app,
        dataset=dataset,
        workerpool=workerpool,
        beneficiary=request_order.beneficiary,
        tag=convert(tag, bytes32),
        params=request_order.params,
    )


@internal
@view
def _deal(deal_id: bytes32) -> Deal:
    packed: PackedDeal = self._deals[deal_id]
    return Deal(
        app_owner=convert(packed.app & _ADDRESS_MASK, address),
        app_price=packed.app >> 160,
        dataset_owner=convert(packed.dataset & _ADDRESS_MASK, address),
        dataset_price=packed.dataset >> 160,
        workerpool_owner=convert(packed.workerpool & _ADDRESS_MASK, address),
        workerpool_price=packed.workerpool >> 160,
        requester=convert(packed.requester & _ADDRESS_MASK, address),
        bot_first=(packed.requester >> 160) & _M40,
        bot_size=(packed.requester >> 200) & _M40,
        callback=convert(packed.config & _ADDRESS_MASK, address),
        start_time=(packed.config >> 160) & _M40,
        category=packed.requester >> 240,
        time_ref=(packed.config >> 200) & (2**24 - 1),
        trust=(packed.config >> 224) & (2**16 - 1),
        worker_stake_ratio=(packed.config >> 240) & 127,
        scheduler_reward_ratio=(packed.config >> 247) & 127,
        tee=packed.config >> 254 != 0,
    )


@internal
@view
def _execution_terms(deal_id: bytes32) -> ExecutionTerms:
    workerpool: uint256 = self._deals[deal_id].workerpool
    config: uint256 = self._deals[deal_id].config
    return ExecutionTerms(
        workerpool_owner=convert(workerpool & _ADDRESS_MASK, address),
        workerpool_price=workerpool >> 160,
        start_time=(config >> 160) & _M40,
        time_ref=(config >> 200) & (2**24 - 1),
        trust=(config >> 224) & (2**16 - 1),
        worker_stake_ratio=(config >> 240) & 127,
        tee=config >> 254 != 0,
    )


@internal
@view
def _bag(deal_id: bytes32) -> (uint256, uint256):
    word: uint256 = self._deals[deal_id].requester
    return (word >> 160) & _M40, (word >> 200) & _M40


@external
@view
def deal(deal_id: bytes32) -> Deal:
    """
    @notice The settlement terms of a deal; every field is zero for an unknown deal id.
            The asset addresses, tag, beneficiary and params are in its `DealCreated`
            event.
    """
    return self._deal(deal_id)


@external
@view
def deal_exists(deal_id: bytes32) -> bool:
    """
    @notice Whether `deal_id` names a matched deal.
    """
    return self._deals[deal_id].requester != 0
