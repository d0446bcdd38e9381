# pragma version ~=0.4.3
"""
@title tasks
@notice Owns tasks and contributions: the lifecycle after a match. A task starts with its
        first contribution (no initialize transaction). Replicated tasks go through commit
        (result hash + seal), consensus by PoCo's weight rule, reveal (digest), then
        finalize (paid) or, after the final deadline, claim (refunded). Trust-1 tasks may
        instead complete in one call, `contribute_and_finalize` (mandatory path for
        nothing, usual path for TEE): commit-reveal only protects replicated consensus.
        Errors are results: when the workers agree that the app failed or an input was
        unavailable, the digest they committed is that of a failure record, and the
        same finalize settles the task at once as FAILED (the requester pays the work,
        the scheduler keeps its stake) instead of waiting for the final deadline.
        No loop runs over unbounded data: a task has at most MAX_CONTRIBUTORS
        contributions, and callers pass the contributor list, which is checked against
        the task, instead of it being stored.
"""

from snekmate.utils import message_hash_utils
from . import escrow
from . import matching
from . import orders

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
# Bounded replication (PROTOCOL.md B3): trust up to 256 with fresh workers.
MAX_CONTRIBUTORS: constant(uint256) = 8
# Worker weights are capped (at score 771) so that a group of MAX_CONTRIBUTORS weighs at
# most 2**64 and the first group fits the task word.
MAX_WEIGHT: constant(uint256) = 2**8
# A failure record is abi_encode(FAILURE_MARK, kind, exit code, stderr digest), 128 bytes,
# and its keccak256 is the failure digest workers commit to (docs/spec.md, "Failures").
FAILURE_MARK: constant(bytes32) = 0xb03922bdb2bb27b6d43c4e2ed7117d4ec48d204f76093840d37e4562ce94c785
FAILURE_RECORD_SIZE: constant(uint256) = 128
FAILURE_KINDS: constant(uint256) = 6
CALLBACK_GAS: constant(uint256) = 200_000
CALLBACK_DATA_MAX: constant(uint256) = 1_024
RESULTS_MAX: constant(uint256) = 1_024
MAX_CLAIM: constant(uint256) = 128

_M8: constant(uint256) = 255
_M40: constant(uint256) = 2**40 - 1
_M64: constant(uint256) = 2**64 - 1
_M72: constant(uint256) = 2**72 - 1
_M176: constant(uint256) = 2**176 - 1

# @dev Task word, two layouts sharing status (8) | contributors (8) | _ (8) | round (8):
# - before consensus (UNSET, ACTIVE), bits 16.. hold the first group, so that a task
#   whose workers agree never writes a group slot: members (8, at 16) | weight (64, at
#   32) | group key (64, at 96) | sum of the other groups' weights (72, at 160);
# - from consensus on: winners (8, at 16) | reveal deadline (40, at 32) | the top 184
#   bits of the consensus result hash (at 72).
_tasks: HashMap[bytes32, uint256]
# @dev Contribution word: status (8) | weight (16) | round (8) | group: top 64 bits of the
# result hash (64) | top 160 bits of keccak256(result_hash ‖ result_seal) (160).
_contributions: HashMap[bytes32, HashMap[address, uint256]]
# @dev Group word per (task, group key) for the groups after the first: weight (176) |
# members (8) | contributions of rounds before this one are rejected (8).
_groups: HashMap[bytes32, HashMap[uint256, uint256]]
# @dev A bit per task index, per deal, for trust-1 deals only: set by the task's first
# contribution or by `contribute_and_finalize`, so that the one-call path needs no other
# read to know the task is untouched. A set bit with an empty task word means completed
# in one call.
_fast_completed: HashMap[bytes32, HashMap[uint256, uint256]]
# @dev The callback data of completed tasks of deals with a callback (EIP-1154 pull oracles).
_callback_data: HashMap[bytes32, Bytes[CALLBACK_DATA_MAX]]
# @dev The secret-management service's key (the TEE broker): when set, it alone authorizes
# contributions that name an enclave (it attests enclaves off chain). Fixed at deployment:
# PoCo lets the owner swap it at any time, which lets the owner forge enclave tasks.
TEE_BROKER: public(immutable(address))


# @dev Emitted when `worker` commits `result_hash` to task `task_id`; the first one
# starts the task.
event TaskContribute:
    task_id: indexed(bytes32)
    worker: indexed(address)
    result_hash: bytes32


# @dev Emitted when the contributions to task `task_id` reach a consensus on
# `result_hash`: its reveal window opens.
event TaskConsensus:
    task_id: indexed(bytes32)
    result_hash: bytes32


# @dev Emitted when `worker`, a member of the consensus group, reveals `digest`.
event TaskReveal:
    task_id: indexed(bytes32)
    worker: indexed(address)
    digest: bytes32


# @dev Emitted when task `task_id` is reopened: its consensus group did not reveal in
# time and other workers may contribute.
event TaskReopen:
    task_id: indexed(bytes32)


# @dev Emitted when task `task_id` completes with `digest` and its result pointer
# `results`, everyone paid.
event TaskFinalize:
    task_id: indexed(bytes32)
    digest: bytes32
    results: Bytes[RESULTS_MAX]


# @dev Emitted when task `task_id` fails after the final deadline and is refunded.
event TaskClaimed:
    task_id: indexed(bytes32)


# @dev Emitted when the workers of task `task_id` agreed that it failed (`kind`: 1 the app
# exited with `exit_code`, 2 timed out, 3 exceeded a limit, 4 an input was unavailable,
# 5 the app was unavailable, 6 the app wrote no valid result; `stderr_digest`: sha256 of
# the end of its stderr, or zero) and it settled at once: FAILED, the work paid.
event TaskFailed:
    task_id: indexed(bytes32)
    kind: uint256
    exit_code: uint256
    stderr_digest: bytes32


# @dev Emitted when the `callback` of a completed task reverts or runs out of its gas;
# the task stays completed.
event CallbackFailed:
    task_id: indexed(bytes32)
    callback: indexed(address)


struct Task:
    status: uint256
    contributors: uint256
    winners: uint256
    round: uint256
    reveal_deadline: uint256
    consensus: bytes32  # the consensus result hash with its low 72 bits cleared, or zero


struct Contribution:
    status: uint256
    weight: uint256
    round: uint256


@deploy
def __init__(tee_broker: address):
    TEE_BROKER = tee_broker


@internal
@pure
def _task_id(deal_id: bytes32, index: uint256) -> bytes32:
    # abi_encode of two words is their packed concatenation, and cheaper than concat.
    return keccak256(abi_encode(deal_id, index))


@internal
@view
def _task_in_deal(deal_id: bytes32, index: uint256) -> bytes32:
    bot_first: uint256 = 0
    bot_size: uint256 = 0
    bot_first, bot_size = matching._bag(deal_id)
    assert index >= bot_first and index < bot_first + bot_size, "tasks: index out of the deal"
    return self._task_id(deal_id, index)


@internal
@view
def _fast_bit(deal_id: bytes32, index: uint256) -> bool:
    return (self._fast_completed[deal_id][index >> 8] >> (index & 255)) & 1 != 0


@internal
@pure
def _weight(score: uint256) -> uint256:
    return min(max(score // 3, 3) - 1, MAX_WEIGHT)


@internal
@pure
def _log2(x: uint256) -> uint256:
    # x <= MAX_WEIGHT = 2**8: nine halvings at most.
    result: uint256 = 0
    v: uint256 = x
    for _: uint256 in range(9):
        if v <= 1:
            break
        v = v >> 1
        result += 1
    return result


@internal
@pure
def _consensus_key(result_hash: bytes32) -> uint256:
    return convert(result_hash, uint256) >> 72


@internal
@pure
def _group(result_hash: bytes32) -> uint256:
    return convert(result_hash, uint256) >> 192


@internal
@pure
def _commit(result_hash: bytes32, result_seal: bytes32) -> uint256:
    return convert(keccak256(abi_encode(result_hash, result_seal)), uint256) >> 96


@internal
@view
def _check_authorization(
    worker: address, task_id: bytes32, enclave: address, auth_sign: Bytes[65], owner: address
):
    digest: bytes32 = message_hash_utils._to_eth_signed_message_hash(
        keccak256(concat(convert(worker, bytes20), task_id, convert(enclave, bytes20)))
    )
    signer: address = orders._ecrecover(digest, auth_sign)
    authority: address = owner
    if enclave != empty(address) and TEE_BROKER != empty(address):
        authority = TEE_BROKER
    if signer == empty(address) or signer != authority:
        # A workerpool owned by a contract wallet authorizes through ERC-1271.
        assert authority.is_contract and self._wallet_signed(authority, digest, auth_sign), (
            "tasks: invalid authorization"
        )


@internal
@view
def _wallet_signed(wallet: address, digest: bytes32, signature: Bytes[65]) -> bool:
    success: bool = False
    response: Bytes[32] = b""
    success, response = raw_call(
        wallet,
        abi_encode(digest, signature, method_id=method_id("isValidSignature(bytes32,bytes)")),
        max_outsize=32,
        is_static_call=True,
        revert_on_failure=False,
    )
    return success and len(response) == 32 and convert(slice(response, 0, 4), bytes4) == 0x1626ba7e


@internal
@view
def _failure(digest: bytes32, results: Bytes[RESULTS_MAX]) -> bool:
    # Whether `results` is a failure record (then it must be the digest's preimage).
    if len(results) != FAILURE_RECORD_SIZE or extract32(results, 0) != FAILURE_MARK:
        return False
    assert keccak256(results) == digest, "tasks: failure record does not match the digest"
    kind: uint256 = extract32(results, 32, output_type=uint256)
    assert kind >= 1 and kind <= FAILURE_KINDS, "tasks: unknown failure kind"
    assert extract32(results, 64, output_type=uint256) < 2**32, "tasks: exit code out of range"
    return True


@internal
def _settle_failed(task_id: bytes32, results: Bytes[RESULTS_MAX]):
    log TaskFailed(
        task_id=task_id,
        kind=extract32(results, 32, output_type=uint256),
        exit_code=extract32(results, 64, output_type=uint256),
        stderr_digest=extract32(results, 96),
    )


@internal
@view
def _check_enclave(
    enclave: address, result_hash: bytes32, result_seal: bytes32, enclave_sign: Bytes[65]
):
    digest: bytes32 = message_hash_utils._to_eth_signed_message_hash(
        keccak256(abi_encode(result_hash, result_seal))
    )
    signer: address = orders._ecrecover(digest, enclave_sign)
    assert signer != empty(address) and signer == enclave, "tasks: invalid enclave signature"


@internal
@pure
def _check_callback_data(callback: address, digest: bytes32, data: Bytes[CALLBACK_DATA_MAX]):
    if callback == empty(address):
        assert len(data) == 0, "tasks: callback data without a callback"
    else:
        assert keccak256(data) == digest, "tasks: callback data does not match the digest"


@internal
def _run_callback(task_id: bytes32, callback: address, data: Bytes[CALLBACK_DATA_MAX]):
    if callback == empty(address):
        return
    self._callback_data[task_id] = data
    # The callee must get its whole allowance whatever gas the finalizer sent: a call
    # forwards at most 63/64 of the gas left (EIP-150), so require enough up front.
    assert msg.gas > CALLBACK_GAS * 64 // 63 + 10_000, "tasks: not enough gas for the callback"
    success: bool = raw_call(
        callback,
        abi_encode(task_id, data, method_id=method_id("receiveResult(bytes32,bytes)")),
        gas=CALLBACK_GAS,
        revert_on_failure=False,
    )
    if not success:
        log CallbackFailed(task_id=task_id, callback=callback)


@internal
def _pay_owners_and_scheduler(deal: matching.Deal, scheduler_reward: uint256, failed: bool):
    # The requester pays the task price and app and dataset owners get their prices; of a
    # failed task, the requester pays the work only and gets the app and dataset prices
    # back. The scheduler gets its task stake back and its reward.
    if failed:
        escrow._seize(deal.requester, deal.workerpool_price)
        if deal.app_price + deal.dataset_price != 0:
            escrow._unlock(deal.requester, deal.app_price + deal.dataset_price)
    else:
        escrow._seize(deal.requester, deal.app_price + deal.dataset_price + deal.workerpool_price)
        if deal.app_price != 0:
            escrow._reward(deal.app_owner, deal.app_price)
        if deal.dataset_price != 0:
            escrow._reward(deal.dataset_owner, deal.dataset_price)
    stake: uint256 = deal.workerpool_price * matching.SCHEDULER_STAKE_RATIO // 100
    escrow._unlock_and_reward(deal.workerpool_owner, stake, scheduler_reward)


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
    @param enclave The enclave key that signed the result (required for TEE deals), or zero.
    @param enclave_sign The enclave's EIP-191 signature of keccak256(result_hash ‖ result_seal).
    @param auth_sign The workerpool owner's (or, with an enclave, the TEE broker's) EIP-191
           signature of keccak256(worker ‖ task_id ‖ enclave).
    """
    task_id: bytes32 = self._task_in_deal(deal_id, index)
    terms: matching.ExecutionTerms = matching._execution_terms(deal_id)
    task: uint256 = self._tasks[task_id]
    status: uint256 = task & _M8
    if status == UNSET and terms.trust == 1:
        word: uint256 = self._fast_completed[deal_id][index >> 8]
        bit: uint256 = 1 << (index & 255)
        assert word & bit == 0, "tasks: task already completed"
        self._fast_completed[deal_id][index >> 8] = word | bit
    assert status == UNSET or status == ACTIVE, "tasks: task not active"
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
    # The score earned with this deal's scheduler only (security H2).
    weight: uint256 = self._weight(escrow._score_in(msg.sender, terms.workerpool_owner))

    round: uint256 = (task >> 24) & _M8
    group: uint256 = self._group(result_hash)
    winners: uint256 = 1
    consensus: bool = terms.trust == 1
    first_members: uint256 = (task >> 16) & _M8
    first_weight: uint256 = (task >> 32) & _M64
    first_group: uint256 = (task >> 96) & _M64
    others: uint256 = (task >> 160) & _M72
    if not consensus:
        # Weights are <= 2**8 and groups have <= 8 members: products fit 64 bits.
        group_weight: uint256 = weight
        if first_members == 0 or first_group == group:
            if first_members != 0:
                group_weight = first_weight * weight
            first_members += 1
            first_weight = group_weight
            first_group = group
            winners = first_members
        else:
            word: uint256 = self._groups[task_id][group]
            old_weight: uint256 = word & _M176
            if old_weight != 0:
                group_weight = old_weight * weight
            winners = ((word >> 176) & _M8) + 1
            self._groups[task_id][group] = (word >> 184 << 184) | group_weight | (winners << 176)
            others = others - old_weight + group_weight
        total: uint256 = first_weight + others
        consensus = group_weight * terms.trust > (total + 1) * (terms.trust - 1)

    self._contributions[task_id][msg.sender] = (
        CONTRIBUTED
        | (weight << 8)
        | (round << 24)
        | (group << 32)
        | (self._commit(result_hash, result_seal) << 96)
    )
    log TaskContribute(task_id=task_id, worker=msg.sender, result_hash=result_hash)

    if consensus:
        reveal_deadline: uint256 = block.timestamp + REVEAL_DEADLINE_RATIO * terms.time_ref
        self._tasks[task_id] = (
            REVEALING
            | ((contributors + 1) << 8)
            | (winners << 16)
            | (round << 24)
            | (reveal_deadline << 32)
            | (self._consensus_key(result_hash) << 72)
        )
        log TaskConsensus(task_id=task_id, result_hash=result_hash)
    else:
        self._tasks[task_id] = (
            ACTIVE
            | ((contributors + 1) << 8)
            | (first_members << 16)
            | (round << 24)
            | (first_weight << 32)
            | (first_group << 96)
            | (others << 160)
        )


@external
def reveal(deal_id: bytes32, index: uint256, digest: bytes32):
    """
    @notice Reveals the digest behind the caller's contribution, once the task reached
            consensus on it and before the reveal deadline.
    """
    task_id: bytes32 = self._task_id(deal_id, index)
    task: uint256 = self._tasks[task_id]
    assert task & _M8 == REVEALING, "tasks: task not revealing"
    assert block.timestamp <= (task >> 32) & _M40, "tasks: reveal deadline passed"
    contribution: uint256 = self._contributions[task_id][msg.sender]
    assert contribution & _M8 == CONTRIBUTED, "tasks: nothing to reveal"
    result_hash: bytes32 = keccak256(abi_encode(task_id, digest))
    result_seal: bytes32 = keccak256(concat(convert(msg.sender, bytes20), task_id, digest))
    assert contribution >> 96 == self._commit(result_hash, result_seal), (
        "tasks: reveal does not match the contribution"
    )
    assert self._consensus_key(result_hash) == task >> 72, "tasks: result is not the consensus"
    round: uint256 = (contribution >> 24) & _M8
    if round < (task >> 24) & _M8:
        # Contributed before a reopen: out if its group was rejected since.
        rejected: uint256 = (self._groups[task_id][self._group(result_hash)] >> 184) & _M8
        assert round >= rejected, "tasks: contribution rejected"
    self._contributions[task_id][msg.sender] = (contribution & ~_M8) | PROVED
    log TaskReveal(task_id=task_id, worker=msg.sender, digest=digest)


@internal
@view
def _check_contributors(task_id: bytes32, task: uint256, contributors: DynArray[address, MAX_CONTRIBUTORS]):
    assert len(contributors) == (task >> 8) & _M8, "tasks: wrong contributor count"
    previous: uint256 = 0
    for worker: address in contributors:
        assert convert(worker, uint256) > previous, "tasks: contributors not sorted"
        previous = convert(worker, uint256)
        assert self._contributions[task_id][worker] != 0, "tasks: not a contributor"


@external
def reopen(deal_id: bytes32, index: uint256, contributors: DynArray[address, MAX_CONTRIBUTORS]):
    """
    @notice Reopens a task whose consensus group did not reveal in time: the group's
            contributions are rejected and other workers may contribute. Anyone may call it.
    @param contributors Every contributor of the task, sorted by address.
    """
    task_id: bytes32 = self._task_in_deal(deal_id, index)
    task: uint256 = self._tasks[task_id]
    assert task & _M8 == REVEALING, "tasks: task not revealing"
    assert block.timestamp > (task >> 32) & _M40, "tasks: reveal window still open"
    deal: matching.Deal = matching._deal(deal_id)
    assert block.timestamp < deal.start_time + FINAL_DEADLINE_RATIO * deal.time_ref, (
        "tasks: final deadline passed"
    )
    round: uint256 = ((task >> 24) & _M8) + 1
    assert round <= _M8, "tasks: too many reopens"
    self._check_contributors(task_id, task, contributors)
    # The consensus group's key starts the stored consensus key; its contributions are
    # rejected from now on. The other groups are rebuilt from the valid contributions.
    rejected_group: uint256 = (task >> 72) >> 120
    self._groups[task_id][rejected_group] = round << 184
    keys: DynArray[uint256, MAX_CONTRIBUTORS] = []
    weights: DynArray[uint256, MAX_CONTRIBUTORS] = []
    members: DynArray[uint256, MAX_CONTRIBUTORS] = []
    for worker: address in contributors:
        contribution: uint256 = self._contributions[task_id][worker]
        assert contribution & _M8 != PROVED, "tasks: a winner revealed"
        group: uint256 = (contribution >> 32) & _M64
        if group == rejected_group:
            continue
        if (contribution >> 24) & _M8 < (self._groups[task_id][group] >> 184) & _M8:
            continue
        weight: uint256 = (contribution >> 8) & 65535
        found: bool = False
        for i: uint256 in range(len(keys), bound=MAX_CONTRIBUTORS):
            if keys[i] == group:
                weights[i] = weights[i] * weight
                members[i] += 1
                found = True
                break
        if not found:
            keys.append(group)
            weights.append(weight)
            members.append(1)
    new_task: uint256 = ACTIVE | (task & (_M8 << 8)) | (round << 24)
    others: uint256 = 0
    for i: uint256 in range(len(keys), bound=MAX_CONTRIBUTORS):
        if i == 0:
            new_task |= (members[0] << 16) | (weights[0] << 32) | (keys[0] << 96)
        else:
            rejected: uint256 = self._groups[task_id][keys[i]] >> 184
            self._groups[task_id][keys[i]] = (rejected << 184) | (members[i] << 176) | weights[i]
            others += weights[i]
    if len(keys) != 0:
        # The first group now lives in the task word, not in a group slot.
        rejected_first: uint256 = self._groups[task_id][keys[0]] >> 184
        self._groups[task_id][keys[0]] = rejected_first << 184
    self._tasks[task_id] = new_task | (others << 160)
    log TaskReopen(task_id=task_id)


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
    @notice Completes a task and pays everyone. Before the reveal deadline, once every
            winner revealed, the scheduler may call it, or the last winner, revealing in
            the same call (it saves that winner a transaction); after the deadline the
            scheduler or any winner that revealed may, so nobody waits for a vanished
            scheduler and no stranger gives the result pointer (security M2). When the
            digest is a failure record's, the task settles as FAILED (`TaskFailed`).
    @param digest The revealed result digest.
    @param results The result pointer, e.g. {"storage": "ipfs", "location": "/ipfs/<cid>"},
           or the failure record whose keccak256 is the digest.
    @param results_callback The callback data (its keccak256 is the digest) or empty.
    @param contributors Every contributor of the task, sorted by address (from the
           TaskContribute events); checked against the task, not stored.
    """
    task_id: bytes32 = self._task_in_deal(deal_id, index)
    task: uint256 = self._tasks[task_id]
    assert task & _M8 == REVEALING, "tasks: task not revealing"
    deal: matching.Deal = matching._deal(deal_id)
    assert block.timestamp < deal.start_time + FINAL_DEADLINE_RATIO * deal.time_ref, (
        "tasks: final deadline passed"
    )
    assert self._consensus_key(keccak256(abi_encode(task_id, digest))) == task >> 72, (
        "tasks: digest is not the consensus"
    )
    failed: bool = self._failure(digest, results)
    if failed:
        assert len(results_callback) == 0, "tasks: callback data for a failure"
    else:
        self._check_callback_data(deal.callback, digest, results_callback)
    self._check_contributors(task_id, task, contributors)

    # A winner that has not revealed yet may reveal here, in the same call.
    own_reveal: bool = False
    own: uint256 = self._contributions[task_id][msg.sender]
    if own & _M8 == CONTRIBUTED and block.timestamp <= (task >> 32) & _M40:
        own_hash: bytes32 = keccak256(abi_encode(task_id, digest))
        own_seal: bytes32 = keccak256(concat(convert(msg.sender, bytes20), task_id, digest))
        own_round: uint256 = (own >> 24) & _M8
        own_reveal = own >> 96 == self._commit(own_hash, own_seal) and (
            own_round == (task >> 24) & _M8
            or own_round >= (self._groups[task_id][self._group(own_hash)] >> 184) & _M8
        )
        if own_reveal:
            self._contributions[task_id][msg.sender] = (own & ~_M8) | PROVED
            log TaskReveal(task_id=task_id, worker=msg.sender, digest=digest)

    stake: uint256 = deal.workerpool_price * deal.worker_stake_ratio // 100
    scheduler: address = deal.workerpool_owner
    replicated: bool = len(contributors) > 1
    winners: DynArray[address, MAX_CONTRIBUTORS] = []
    weights: DynArray[uint256, MAX_CONTRIBUTORS] = []
    total_weight: uint256 = 0
    pot: uint256 = deal.workerpool_price
    for worker: address in contributors:
        contribution: uint256 = self._contributions[task_id][worker]
        if contribution & _M8 == PROVED:
            winners.append(worker)
            weight: uint256 = self._log2((contribution >> 8) & 65535)
            weights.append(weight)
            total_weight += weight
        else:
            # A non-winner loses its stake to the pot and a third of its score with this
            # scheduler (a score earned with another one is not this task's to cut).
            score_here: uint256 = escrow._score_in(worker, scheduler)
            if score_here != 0:
                escrow._settle(worker, 0, stake, 0, score_here * 2 // 3, scheduler)
            else:
                escrow._seize(worker, stake)
            pot += stake
    assert len(winners) != 0, "tasks: nobody revealed"
    if block.timestamp <= (task >> 32) & _M40:
        assert msg.sender == scheduler or own_reveal, "tasks: reveal window still open"
        assert len(winners) == (task >> 16) & _M8, "tasks: winners still revealing"
    else:
        assert msg.sender == scheduler or own & _M8 == PROVED, (
            "tasks: only the scheduler or a winner may finalize"
        )

    workers_pot: uint256 = pot * (100 - deal.scheduler_reward_ratio) // 100
    paid: uint256 = 0
    for i: uint256 in range(len(winners), bound=MAX_CONTRIBUTORS):
        share: uint256 = workers_pot * weights[i] // total_weight
        if replicated:
            # +1 with this scheduler; a score earned with another one starts over here.
            score: uint256 = escrow._score_in(winners[i], scheduler) + 1
            escrow._settle(winners[i], stake, 0, share, score, scheduler)
        else:
            escrow._unlock_and_reward(winners[i], stake, share)
        paid += share
    self._pay_owners_and_scheduler(deal, pot - paid, failed)

    if failed:
        self._tasks[task_id] = (task & ~_M8) | FAILED
        self._settle_failed(task_id, results)
        return
    self._tasks[task_id] = (task & ~_M8) | COMPLETED
    log TaskFinalize(task_id=task_id, digest=digest, results=results)
    self._run_callback(task_id, deal.callback, results_callback)


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
    @notice The one-call path of trust-1 tasks (PoCo's TEE fast path, open to every
            trust-1 deal): an authorized worker contributes and completes the task, no
            stake. TEE deals need the enclave's signature of keccak256(result_hash ‖
            result_seal), as in `contribute`. A failure record as `results` (its
            keccak256 the digest) settles the task at once as FAILED, as in `finalize`.
    """
    task_id: bytes32 = self._task_in_deal(deal_id, index)
    deal: matching.Deal = matching._deal(deal_id)
    assert deal.trust == 1, "tasks: one-call path needs trust 1"
    word: uint256 = self._fast_completed[deal_id][index >> 8]
    bit: uint256 = 1 << (index & 255)
    assert word & bit == 0, "tasks: task already started"
    assert block.timestamp < deal.start_time + CONTRIBUTION_DEADLINE_RATIO * deal.time_ref, (
        "tasks: contribution deadline passed"
    )
    assert not deal.tee or enclave != empty(address), "tasks: enclave required"
    self._check_authorization(msg.sender, task_id, enclave, auth_sign, deal.workerpool_owner)
    if enclave != empty(address):
        result_hash: bytes32 = keccak256(abi_encode(task_id, digest))
        result_seal: bytes32 = keccak256(concat(convert(msg.sender, bytes20), task_id, digest))
        self._check_enclave(enclave, result_hash, result_seal, enclave_sign)
    failed: bool = self._failure(digest, results)
    if failed:
        assert len(results_callback) == 0, "tasks: callback data for a failure"
    else:
        self._check_callback_data(deal.callback, digest, results_callback)

    self._fast_completed[deal_id][index >> 8] = word | bit
    worker_reward: uint256 = deal.workerpool_price * (100 - deal.scheduler_reward_ratio) // 100
    escrow._reward(msg.sender, worker_reward)
    self._pay_owners_and_scheduler(deal, deal.workerpool_price - worker_reward, failed)
    if failed:
        # One contributor, status FAILED: the word tells it from a one-call completion.
        self._tasks[task_id] = FAILED | (1 << 8)
        self._settle_failed(task_id, results)
        return
    log TaskFinalize(task_id=task_id, digest=digest, results=results)
    self._run_callback(task_id, deal.callback, results_callback)


@external
def claim(
    deal_id: bytes32,
    indices: DynArray[uint256, MAX_CLAIM],
    contributors: DynArray[address, MAX_CLAIM],
):
    """
    @notice After the deal's final deadline, fails the given tasks, started or not, and
            refunds them: the requester gets each task's price back and contributors get
            their stakes back. The scheduler gets its stake back for a task its workers
            contributed to; for a task nobody contributed to, its stake goes to the
            requester (the pool took the deal and did nothing). Anyone may call it.
    @param contributors For each task in `indices` order, its contributors sorted by
           address (none for a task nobody contributed to).
    """
    deal: matching.Deal = matching._deal(deal_id)
    assert deal.bot_size != 0, "tasks: unknown deal"
    assert block.timestamp >= deal.start_time + FINAL_DEADLINE_RATIO * deal.time_ref, (
        "tasks: final deadline not reached"
    )
    stake: uint256 = deal.workerpool_price * deal.worker_stake_ratio // 100
    cursor: uint256 = 0
    untouched: uint256 = 0
    for index: uint256 in indices:
        task_id: bytes32 = self._task_in_deal(deal_id, index)
        task: uint256 = self._tasks[task_id]
        assert task & _M8 < COMPLETED and (task != 0 or not self._fast_bit(deal_id, index)), (
            "tasks: task already final"
        )
        previous: uint256 = 0
        for _: uint256 in range((task >> 8) & _M8, bound=MAX_CONTRIBUTORS):
            assert cursor < len(contributors), "tasks: wrong contributor count"
            worker: address = contributors[cursor]
            cursor += 1
            assert convert(worker, uint256) > previous, "tasks: contributors not sorted"
            previous = convert(worker, uint256)
            assert self._contributions[task_id][worker] != 0, "tasks: not a contributor"
            escrow._unlock(worker, stake)
        if task == 0:
            untouched += 1
        if task & _M8 == REVEALING:
            self._tasks[task_id] = (task & ~_M8) | FAILED
        else:
            # Before consensus the word holds groups, which a failed task no longer needs.
            self._tasks[task_id] = FAILED | (task & ((_M8 << 8) | (_M8 << 24)))
        log TaskClaimed(task_id=task_id)
    assert cursor == len(contributors), "tasks: wrong contributor count"
    count: uint256 = len(indices)
    escrow._unlock(deal.requester, (deal.app_price + deal.dataset_price + deal.workerpool_price) * count)
    scheduler_stake: uint256 = deal.workerpool_price * matching.SCHEDULER_STAKE_RATIO // 100
    if untouched != 0:
        escrow._seize(deal.workerpool_owner, scheduler_stake * untouched)
        escrow._reward(deal.requester, scheduler_stake * untouched)
    if count != untouched:
        escrow._unlock(deal.workerpool_owner, scheduler_stake * (count - untouched))


@external
@view
def task(deal_id: bytes32, index: uint256) -> Task:
    """
    @notice The state of task `index` of `deal_id`; all zero before its first contribution.
    """
    word: uint256 = self._tasks[self._task_id(deal_id, index)]
    if word == 0 and self._fast_bit(deal_id, index):
        return Task(
            status=COMPLETED, contributors=1, winners=1, round=0, reveal_deadline=0,
            consensus=empty(bytes32),
        )
    if word & _M8 == ACTIVE:
        # Before consensus the rest of the word holds the groups, not these fields.
        return Task(
            status=ACTIVE,
            contributors=(word >> 8) & _M8,
            winners=0,
            round=(word >> 24) & _M8,
            reveal_deadline=0,
            consensus=empty(bytes32),
        )
    return Task(
        status=word & _M8,
        contributors=(word >> 8) & _M8,
        winners=(word >> 16) & _M8,
        round=(word >> 24) & _M8,
        reveal_deadline=(word >> 32) & _M40,
        consensus=convert((word >> 72) << 72, bytes32),
    )


@external
@view
def contribution(task_id: bytes32, worker: address) -> Contribution:
    """
    @notice A worker's contribution to a task (status 0 when none).
    """
    word: uint256 = self._contributions[task_id][worker]
    return Contribution(status=word & _M8, weight=(word >> 8) & 65535, round=(word >> 24) & _M8)


@external
@view
def result_for(task_id: bytes32) -> Bytes[CALLBACK_DATA_MAX]:
    """
    @notice The callback data of a completed task of a deal with a callback (pull oracle);
            empty for a task without one.
    """
    return self._callback_data[task_id]

