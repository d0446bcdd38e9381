# pragma version ~=0.4.3
"""
@title tasks
@notice Owns tasks, contributions and worker scores: the lifecycle after a match.
        A task starts lazily with its first contribution; workers commit (result hash +
        seal), reveal (digest), and the task is finalized (paid) or, after the final
        deadline, claimed (refunded). Consensus follows PoCo's weight rule. Nothing here
        loops over unbounded data: a task has at most MAX_CONTRIBUTORS contributions and
        callers pass the contributor list, which is checked, instead of it being stored.
"""

from snekmate.auth import ownable
from . import categories
from . import escrow
from . import matching
from . import orders

uses: ownable
uses: categories
uses: escrow
uses: matching

UNSET: constant(uint256) = 0
ACTIVE: constant(uint256) = 1
REVEALING: constant(uint256) = 2
COMPLETED: constant(uint256) = 3
FAILED: constant(uint256) = 4

CONTRIBUTED: constant(uint256) = 1
PROVED: constant(uint256) = 2

CONTRIBUTION_DEADLINE_RATIO: constant(uint256) = 7
REVEAL_DEADLINE_RATIO: constant(uint256) = 2
FINAL_DEADLINE_RATIO: constant(uint256) = 10
# Bounded replication (PROTOCOL.md B3): no loop here runs over more than this.
MAX_CONTRIBUTORS: constant(uint256) = 16
# Weights are capped so that a product of MAX_CONTRIBUTORS weights fits 232 bits; the cap
# needs a score of 49 000, far beyond any real worker.
MAX_WEIGHT: constant(uint256) = 2**14
# The pseudo-account whose frozen amount collects seized scheduler stakes (PoCo's).
KITTY: constant(address) = 0x99c2268479b93fDe36232351229815DF80837e23
KITTY_RATIO: constant(uint256) = 10
KITTY_MIN: constant(uint256) = 10**9
CALLBACK_GAS: constant(uint256) = 200_000
CALLBACK_DATA_MAX: constant(uint256) = 1_024
RESULTS_MAX: constant(uint256) = 4_096
MAX_CLAIM: constant(uint256) = 256

_M8: constant(uint256) = 255
_M40: constant(uint256) = 2**40 - 1
_M232: constant(uint256) = 2**232 - 1

# Task word: status (8) | contributors (8) | revealed (8) | winners (8) | round (8) |
# reveal_deadline (40) | top 176 bits of the consensus result hash.
_tasks: HashMap[bytes32, uint256]
# Contribution word: status (8) | reward weight (8) | round (8) | top 216 bits of
# keccak256(result_hash ‖ result_seal).
_contributions: HashMap[bytes32, HashMap[address, uint256]]
# Group word per (task, result hash): weight (232) | members (8) | rejected before round (8).
_groups: HashMap[bytes32, HashMap[bytes32, uint256]]
# Sum of the group weights of a task (the rule's total is 1 + this).
_totals: HashMap[bytes32, uint256]
scores: public(HashMap[address, uint256])
# The callback data of completed tasks of deals with a callback (EIP-1154 pull oracles).
_callback_data: HashMap[bytes32, Bytes[CALLBACK_DATA_MAX]]
tee_broker: public(address)


event TeeBrokerChanged:
    broker: indexed(address)


event TaskContribute:
    task_id: indexed(bytes32)
    worker: indexed(address)
    result_hash: bytes32


event TaskConsensus:
    task_id: indexed(bytes32)
    result_hash: bytes32


event TaskReveal:
    task_id: indexed(bytes32)
    worker: indexed(address)
    digest: bytes32


event TaskReopen:
    task_id: indexed(bytes32)


event TaskFinalize:
    task_id: indexed(bytes32)
    digest: bytes32
    results: Bytes[RESULTS_MAX]


event TaskClaimed:
    task_id: indexed(bytes32)


event CallbackFailed:
    task_id: indexed(bytes32)
    callback: indexed(address)


struct Task:
    status: uint256
    contributors: uint256
    revealed: uint256
    winners: uint256
    round: uint256
    reveal_deadline: uint256
    consensus: bytes32  # top 176 bits of the consensus result hash, zero before consensus


struct Contribution:
    status: uint256
    reward_weight: uint256
    round: uint256


@internal
@pure
def _task_id(deal_id: bytes32, index: uint256) -> bytes32:
    return keccak256(concat(deal_id, convert(index, bytes32)))


@internal
@view
def _task_in_deal(deal_id: bytes32, index: uint256) -> bytes32:
    bot_first: uint256 = 0
    bot_size: uint256 = 0
    bot_first, bot_size = matching._bag(deal_id)
    assert index >= bot_first and index < bot_first + bot_size, "tasks: index out of the deal"
    return self._task_id(deal_id, index)


@internal
@pure
def _weight(score: uint256) -> uint256:
    return min(max(score // 3, 3) - 1, MAX_WEIGHT)


@internal
@pure
def _log2(x: uint256) -> uint256:
    result: uint256 = 0
    v: uint256 = x
    for _: uint256 in range(16):
        if v <= 1:
            break
        v = v >> 1
        result += 1
    return result


@internal
@view
def _check_authorization(
    worker: address,
    task_id: bytes32,
    enclave: address,
    auth_sign: Bytes[65],
    workerpool_owner: address,
):
    digest: bytes32 = keccak256(concat(
        b"\x19Ethereum Signed Message:\n32",
        keccak256(concat(convert(worker, bytes20), task_id, convert(enclave, bytes20))),
    ))
    signer: address = empty(address)
    if len(auth_sign) == 65:
        signer = orders._ecrecover(digest, auth_sign)
    assert signer != empty(address) and (
        signer == workerpool_owner or (enclave != empty(address) and signer == self.tee_broker)
    ), "tasks: invalid authorization"


@internal
@view
def _check_enclave(enclave: address, result_hash: bytes32, result_seal: bytes32, enclave_sign: Bytes[65]):
    digest: bytes32 = keccak256(concat(
        b"\x19Ethereum Signed Message:\n32", keccak256(concat(result_hash, result_seal))
    ))
    signer: address = empty(address)
    if len(enclave_sign) == 65:
        signer = orders._ecrecover(digest, enclave_sign)
    assert signer == enclave, "tasks: invalid enclave signature"


@external
def contribute(
    deal_id: bytes32,
    index: uint256,
    result_hash: bytes32,
    result_seal: bytes32,
    enclave: address,
    enclave_sign: Bytes[65],
    auth_sign: Bytes[65],
):
    """
    @notice Commits a worker's result for task `index` of `deal_id`: `result_hash` is
            keccak256(task_id ‖ digest), `result_seal` keccak256(worker ‖ task_id ‖ digest).
            The first contribution starts the task. Locks the worker's stake.
    @param enclave The enclave key that signed the result (TEE deals), or zero.
    @param enclave_sign The enclave's EIP-191 signature of keccak256(result_hash ‖ result_seal).
    @param auth_sign The workerpool owner's (or, with an enclave, the TEE broker's) EIP-191
           signature of keccak256(worker ‖ task_id ‖ enclave).
    """
    task_id: bytes32 = self._task_in_deal(deal_id, index)
    terms: matching.ExecutionTerms = matching._execution_terms(deal_id)
    task: uint256 = self._tasks[task_id]
    status: uint256 = task & _M8
    assert status <= ACTIVE, "tasks: task not active"
    assert block.timestamp < terms.start_time + CONTRIBUTION_DEADLINE_RATIO * terms.time_ref, (
        "tasks: contribution deadline passed"
    )
    assert self._contributions[task_id][msg.sender] == 0, "tasks: already contributed"
    contributors: uint256 = (task >> 8) & _M8
    assert contributors < MAX_CONTRIBUTORS, "tasks: too many contributors"
    assert result_hash != empty(bytes32) and result_seal != empty(bytes32), "tasks: empty result"
    assert not terms.tee or enclave != empty(address), "tasks: enclave required"
    self._check_authorization(msg.sender, task_id, enclave, auth_sign, terms.workerpool_owner)
    if enclave != empty(address):
        self._check_enclave(enclave, result_hash, result_seal, enclave_sign)

    stake: uint256 = terms.workerpool_price * terms.worker_stake_ratio // 100
    assert escrow._balance(msg.sender) >= stake, "tasks: worker balance too low for the stake"
    escrow._lock(msg.sender, stake)

    round: uint256 = (task >> 32) & _M8
    reward_weight: uint256 = 1
    consensus: bool = terms.trust == 1
    if not consensus:
        weight: uint256 = self._weight(self.scores[msg.sender])
        reward_weight = self._log2(weight)
        group: uint256 = self._groups[task_id][result_hash]
        group_weight: uint256 = group & _M232
        new_weight: uint256 = weight
        if group_weight != 0:
            new_weight = group_weight * weight
        # members < MAX_CONTRIBUTORS: the count field cannot overflow.
        self._groups[task_id][result_hash] = (group & ~_M232) + new_weight + (1 << 232)
        total: uint256 = self._totals[task_id] - group_weight + new_weight
        self._totals[task_id] = total
        consensus = new_weight * terms.trust > (total + 1) * (terms.trust - 1)

    self._contributions[task_id][msg.sender] = (
        CONTRIBUTED
        | (reward_weight << 8)
        | (round << 16)
        | ((convert(keccak256(concat(result_hash, result_seal)), uint256) >> 40) << 40)
    )
    log TaskContribute(task_id=task_id, worker=msg.sender, result_hash=result_hash)

    task = (task & ~(_M8 | (_M8 << 8))) | ACTIVE | ((contributors + 1) << 8)
    if consensus:
        winners: uint256 = 1
        if terms.trust != 1:
            winners = (self._groups[task_id][result_hash] >> 232) & _M8
        reveal_deadline: uint256 = block.timestamp + REVEAL_DEADLINE_RATIO * terms.time_ref
        task = (
            REVEALING
            | ((contributors + 1) << 8)
            | (winners << 24)
            | (round << 32)
            | (reveal_deadline << 40)
            | ((convert(result_hash, uint256) >> 80) << 80)
        )
        log TaskConsensus(task_id=task_id, result_hash=result_hash)
    self._tasks[task_id] = task


@external
def reveal(deal_id: bytes32, index: uint256, digest: bytes32):
    """
    @notice Reveals the digest behind the caller's contribution, once the task reached
            consensus on it and before the reveal deadline.
    """
    task_id: bytes32 = self._task_id(deal_id, index)
    task: uint256 = self._tasks[task_id]
    assert task & _M8 == REVEALING, "tasks: task not revealing"
    assert block.timestamp <= (task >> 40) & _M40, "tasks: reveal deadline passed"
    contribution: uint256 = self._contributions[task_id][msg.sender]
    assert contribution & _M8 == CONTRIBUTED, "tasks: nothing to reveal"
    result_hash: bytes32 = keccak256(concat(task_id, digest))
    result_seal: bytes32 = keccak256(concat(convert(msg.sender, bytes20), task_id, digest))
    commit: uint256 = convert(keccak256(concat(result_hash, result_seal)), uint256) >> 40
    assert contribution >> 40 == commit, "tasks: reveal does not match the contribution"
    assert convert(result_hash, uint256) >> 80 == task >> 80, "tasks: result is not the consensus"
    round: uint256 = (contribution >> 16) & _M8
    if round < (task >> 32) & _M8:
        # The contribution predates a reopen: it is out if its group was rejected since.
        assert round >= self._groups[task_id][result_hash] >> 240, "tasks: contribution rejected"
    self._contributions[task_id][msg.sender] = (contribution & ~_M8) | PROVED
    # revealed < winners <= MAX_CONTRIBUTORS: no overflow into the next field.
    self._tasks[task_id] = task + (1 << 16)
    log TaskReveal(task_id=task_id, worker=msg.sender, digest=digest)


@external
def reopen(deal_id: bytes32, index: uint256, consensus_hash: bytes32):
    """
    @notice Reopens a task whose consensus group did not reveal in time: the group's
            contributions are rejected and other workers may contribute again. Anyone may
            call it.
    @param consensus_hash The result hash the task reached consensus on (TaskConsensus).
    """
    task_id: bytes32 = self._task_id(deal_id, index)
    task: uint256 = self._tasks[task_id]
    assert task & _M8 == REVEALING, "tasks: task not revealing"
    assert block.timestamp > (task >> 40) & _M40, "tasks: reveal window still open"
    assert (task >> 16) & _M8 == 0, "tasks: a winner revealed"
    assert convert(consensus_hash, uint256) >> 80 == task >> 80, "tasks: not the consensus hash"
    terms: matching.ExecutionTerms = matching._execution_terms(deal_id)
    assert block.timestamp < terms.start_time + FINAL_DEADLINE_RATIO * terms.time_ref, (
        "tasks: final deadline passed"
    )
    round: uint256 = ((task >> 32) & _M8) + 1
    assert round <= _M8, "tasks: too many reopens"
    group_weight: uint256 = self._groups[task_id][consensus_hash] & _M232
    if group_weight != 0:
        self._totals[task_id] -= group_weight
    # Weight and members reset; contributions before `round` in this group are rejected.
    self._groups[task_id][consensus_hash] = round << 240
    self._tasks[task_id] = ACTIVE | (task & (_M8 << 8)) | (round << 32)
    log TaskReopen(task_id=task_id)


@internal
def _run_callback(task_id: bytes32, callback: address, data: Bytes[CALLBACK_DATA_MAX]):
    if callback == empty(address):
        return
    self._callback_data[task_id] = data
    # The callee must get its whole allowance whatever gas the finalizer sends: after the
    # call, 1/64 of the gas at the call remains (EIP-150), so require enough up front.
    assert msg.gas > CALLBACK_GAS + CALLBACK_GAS // 63 + 5_000, "tasks: not enough gas for the callback"
    success: bool = raw_call(
        callback,
        abi_encode(task_id, data, method_id=method_id("receiveResult(bytes32,bytes)")),
        gas=CALLBACK_GAS,
        revert_on_failure=False,
    )
    if not success:
        log CallbackFailed(task_id=task_id, callback=callback)


@internal
@pure
def _check_callback_data(callback: address, digest: bytes32, data: Bytes[CALLBACK_DATA_MAX]):
    if callback == empty(address):
        assert len(data) == 0, "tasks: callback data without a callback"
    else:
        assert keccak256(data) == digest, "tasks: callback data does not match the digest"


@internal
def _pay_scheduler(terms: matching.Deal, task_id: bytes32, reward: uint256):
    # The scheduler gets its task stake back, the reward and a share of the kitty.
    kitty: uint256 = escrow._frozen(KITTY)
    share: uint256 = min(kitty, max(kitty * KITTY_RATIO // 100, KITTY_MIN))
    if share != 0:
        escrow._seize(KITTY, share, task_id)
    stake: uint256 = terms.workerpool_price * matching.SCHEDULER_STAKE_RATIO // 100
    escrow._unlock_and_reward(terms.workerpool_owner, stake, reward + share)


@internal
def _pay_owners(terms: matching.Deal, task_id: bytes32):
    escrow._seize(terms.requester, terms.app_price + terms.dataset_price + terms.workerpool_price, task_id)
    if terms.app_price != 0:
        escrow._reward(terms.app_owner, terms.app_price, task_id)
    if terms.dataset_price != 0:
        escrow._reward(terms.dataset_owner, terms.dataset_price, task_id)


@external
def finalize(
    deal_id: bytes32,
    index: uint256,
    digest: bytes32,
    results: Bytes[RESULTS_MAX],
    results_callback: Bytes[CALLBACK_DATA_MAX],
    contributors: DynArray[address, MAX_CONTRIBUTORS],
):
    """
    @notice Completes a task and pays everyone. The scheduler may call it once every
            winner revealed; anyone may once the reveal window is over with at least one
            reveal (no one has to wait for a vanished scheduler).
    @param digest The revealed result digest.
    @param results The result pointer, e.g. {"storage": "ipfs", "location": "/ipfs/<cid>"}.
    @param results_callback The callback data (its keccak256 is the digest) or empty.
    @param contributors Every contributor of the task, sorted by address (from the
           TaskContribute events); checked against the task, not stored.
    """
    task_id: bytes32 = self._task_in_deal(deal_id, index)
    task: uint256 = self._tasks[task_id]
    assert task & _M8 == REVEALING, "tasks: task not revealing"
    terms: matching.Deal = matching._deal(deal_id)
    time_ref: uint256 = categories._time_ref(terms.category)
    assert block.timestamp < terms.start_time + FINAL_DEADLINE_RATIO * time_ref, (
        "tasks: final deadline passed"
    )
    revealed: uint256 = (task >> 16) & _M8
    assert revealed != 0, "tasks: nobody revealed"
    if block.timestamp <= (task >> 40) & _M40:
        assert msg.sender == terms.workerpool_owner, "tasks: reveal window still open"
        assert revealed == (task >> 24) & _M8, "tasks: winners still revealing"
    assert convert(keccak256(concat(task_id, digest)), uint256) >> 80 == task >> 80, (
        "tasks: digest is not the consensus"
    )
    self._check_callback_data(terms.callback, digest, results_callback)

    count: uint256 = (task >> 8) & _M8
    assert len(contributors) == count, "tasks: wrong contributor count"
    stake: uint256 = terms.workerpool_price * terms.worker_stake_ratio // 100
    replicated: bool = count > 1
    winners: DynArray[address, MAX_CONTRIBUTORS] = []
    weights: DynArray[uint256, MAX_CONTRIBUTORS] = []
    total_weight: uint256 = 0
    pot: uint256 = terms.workerpool_price
    previous: uint256 = 0
    for worker: address in contributors:
        assert convert(worker, uint256) > previous, "tasks: contributors not sorted"
        previous = convert(worker, uint256)
        contribution: uint256 = self._contributions[task_id][worker]
        assert contribution != 0, "tasks: not a contributor"
        if contribution & _M8 == PROVED:
            winners.append(worker)
            weight: uint256 = (contribution >> 8) & _M8
            weights.append(weight)
            total_weight += weight
            if replicated:
                self.scores[worker] += 1
        else:
            escrow._seize(worker, stake, task_id)
            pot += stake
            self.scores[worker] = self.scores[worker] * 2 // 3

    workers_pot: uint256 = pot * (100 - terms.scheduler_reward_ratio) // 100
    paid: uint256 = 0
    for i: uint256 in range(len(winners), bound=MAX_CONTRIBUTORS):
        share: uint256 = workers_pot * weights[i] // total_weight
        escrow._unlock_and_reward(winners[i], stake, share)
        paid += share
    self._pay_owners(terms, task_id)
    self._pay_scheduler(terms, task_id, pot - paid)

    self._tasks[task_id] = (task & ~_M8) | COMPLETED
    log TaskFinalize(task_id=task_id, digest=digest, results=results)
    self._run_callback(task_id, terms.callback, results_callback)


@external
def contribute_and_finalize(
    deal_id: bytes32,
    index: uint256,
    digest: bytes32,
    results: Bytes[RESULTS_MAX],
    results_callback: Bytes[CALLBACK_DATA_MAX],
    enclave: address,
    enclave_sign: Bytes[65],
    auth_sign: Bytes[65],
):
    """
    @notice The TEE fast path (trust 1): an attested worker contributes and completes the
            task in one call; no worker stake. The enclave signs
            keccak256(result_hash ‖ result_seal) as in `contribute`.
    """
    task_id: bytes32 = self._task_in_deal(deal_id, index)
    terms: matching.Deal = matching._deal(deal_id)
    assert terms.tee, "tasks: fast path needs a TEE deal"
    assert terms.trust == 1, "tasks: fast path needs trust 1"
    assert self._tasks[task_id] == 0, "tasks: task already started"
    time_ref: uint256 = categories._time_ref(terms.category)
    assert block.timestamp < terms.start_time + CONTRIBUTION_DEADLINE_RATIO * time_ref, (
        "tasks: contribution deadline passed"
    )
    assert enclave != empty(address), "tasks: enclave required"
    self._check_authorization(msg.sender, task_id, enclave, auth_sign, terms.workerpool_owner)
    result_hash: bytes32 = keccak256(concat(task_id, digest))
    result_seal: bytes32 = keccak256(concat(convert(msg.sender, bytes20), task_id, digest))
    self._check_enclave(enclave, result_hash, result_seal, enclave_sign)
    self._check_callback_data(terms.callback, digest, results_callback)

    worker_reward: uint256 = terms.workerpool_price * (100 - terms.scheduler_reward_ratio) // 100
    escrow._reward(msg.sender, worker_reward, task_id)
    self._pay_owners(terms, task_id)
    self._pay_scheduler(terms, task_id, terms.workerpool_price - worker_reward)

    self._tasks[task_id] = (
        COMPLETED | (1 << 8) | (1 << 16) | (1 << 24) | ((convert(result_hash, uint256) >> 80) << 80)
    )
    log TaskContribute(task_id=task_id, worker=msg.sender, result_hash=result_hash)
    log TaskFinalize(task_id=task_id, digest=digest, results=results)
    self._run_callback(task_id, terms.callback, results_callback)


@external
def claim(
    deal_id: bytes32,
    indices: DynArray[uint256, MAX_CLAIM],
    contributors: DynArray[address, MAX_CLAIM],
):
    """
    @notice After the deal's final deadline, fails the given tasks (started or not) and
            refunds them: the requester gets the task price back, the scheduler's stake
            goes to the kitty, contributors get their stakes back. Anyone may call it.
    @param contributors For each task in `indices` order, its contributors sorted by
           address (none for a task nobody contributed to).
    """
    terms: matching.Deal = matching._deal(deal_id)
    time_ref: uint256 = categories._time_ref(terms.category)
    assert terms.bot_size != 0, "tasks: unknown deal"
    assert block.timestamp >= terms.start_time + FINAL_DEADLINE_RATIO * time_ref, (
        "tasks: final deadline not reached"
    )
    stake: uint256 = terms.workerpool_price * terms.worker_stake_ratio // 100
    cursor: uint256 = 0
    for index: uint256 in indices:
        task_id: bytes32 = self._task_in_deal(deal_id, index)
        task: uint256 = self._tasks[task_id]
        assert task & _M8 < COMPLETED, "tasks: task already final"
        previous: uint256 = 0
        for _: uint256 in range((task >> 8) & _M8, bound=MAX_CONTRIBUTORS):
            assert cursor < len(contributors), "tasks: wrong contributor count"
            worker: address = contributors[cursor]
            cursor += 1
            assert convert(worker, uint256) > previous, "tasks: contributors not sorted"
            previous = convert(worker, uint256)
            assert self._contributions[task_id][worker] != 0, "tasks: not a contributor"
            escrow._unlock(worker, stake)
        self._tasks[task_id] = (task & ~_M8) | FAILED
        log TaskClaimed(task_id=task_id)
    assert cursor == len(contributors), "tasks: wrong contributor count"
    count: uint256 = len(indices)
    price: uint256 = terms.app_price + terms.dataset_price + terms.workerpool_price
    escrow._unlock(terms.requester, price * count)
    scheduler_stake: uint256 = terms.workerpool_price * matching.SCHEDULER_STAKE_RATIO // 100
    escrow._seize(terms.workerpool_owner, scheduler_stake * count, deal_id)
    escrow._freeze(KITTY, scheduler_stake * count)


@external
def set_tee_broker(broker: address):
    """
    @notice Sets the key of the secret-management service that authorizes enclave
            contributions (the TEE broker); only the hub owner may.
    """
    ownable._check_owner()
    self.tee_broker = broker
    log TeeBrokerChanged(broker=broker)


@external
@view
def task(task_id: bytes32) -> Task:
    """
    @notice A task's state; all zero for a task nobody contributed to yet.
    """
    word: uint256 = self._tasks[task_id]
    return Task(
        status=word & _M8,
        contributors=(word >> 8) & _M8,
        revealed=(word >> 16) & _M8,
        winners=(word >> 24) & _M8,
        round=(word >> 32) & _M8,
        reveal_deadline=(word >> 40) & _M40,
        consensus=convert((word >> 80) << 80, bytes32),
    )


@external
@view
def contribution(task_id: bytes32, worker: address) -> Contribution:
    """
    @notice A worker's contribution to a task (status 0 when none).
    """
    word: uint256 = self._contributions[task_id][worker]
    return Contribution(status=word & _M8, reward_weight=(word >> 8) & _M8, round=(word >> 16) & _M8)


@external
@view
def result_for(task_id: bytes32) -> Bytes[CALLBACK_DATA_MAX]:
    """
    @notice The callback data of a completed task of a deal with a callback (pull oracle).
    """
    assert self._tasks[task_id] & _M8 == COMPLETED, "tasks: task not completed"
    return self._callback_data[task_id]


@external
@view
def kitty() -> uint256:
    """
    @notice The seized scheduler stakes waiting to be paid out to schedulers, in nRLC.
    """
    return escrow._frozen(KITTY)
