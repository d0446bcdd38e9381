"""Escrow (contracts/hub/escrow.vy): deposits and withdrawals through the hub, and the
internal primitives (lock, unlock, seize, reward, unlock_and_reward and the general settle)
through
contracts/mocks/escrow_harness.vy, which is the escrow module alone with those primitives
exposed.

An account is one word: balance (low 80 bits) | frozen (next 80 bits) | worker score (16
bits) | the low 80 bits of the scheduler the score was earned with (top 80 bits). The
primitives emit no events (the callers' deal and task events carry the moves): their tests
check state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boa
import pytest

from tests.support import RLC, ZERO

HARNESS_PATH = str(Path(__file__).resolve().parents[2] / "contracts/mocks/escrow_harness.vy")
LIMIT = 2**80  # bound of the balance and of the frozen amount
SCORE_MAX = 2**16 - 1  # the score saturates there
SCHEDULER = "0x00000000000000000000aBcdEf0123456789aBcd"  # the scores' scheduler here
ALL_ONES = "0xFFfFfFffFFfffFFfFFfFFFFFffFFFffffFfFFFfF"


def _events(logs: list[Any], name: str) -> list[Any]:
    return [ev for ev in logs if type(ev).__name__ == name]


def _one(logs: list[Any], name: str) -> Any:
    found = _events(logs, name)
    assert len(found) == 1, [type(ev).__name__ for ev in logs]
    return found[0]


def _give(protocol, actor, amount: int) -> None:
    with boa.env.prank(protocol.actors["deployer"].address):
        protocol.token.transfer(actor.address, amount)


def _approve(protocol, actor, spender: str, amount: int) -> None:
    with boa.env.prank(actor.address):
        protocol.token.approve(spender, amount)


# --- hub: deposit ---------------------------------------------------------------------------


def test_token__hub__is_the_session_token(protocol) -> None:
    assert protocol.hub.TOKEN() == protocol.token.address


def test_balance_of__unknown_account__zero(protocol) -> None:
    stranger = protocol.actors["stranger"].address
    assert protocol.hub.balance_of(stranger) == 0
    assert protocol.hub.frozen_of(stranger) == 0
    assert protocol.hub.score_of(stranger) == 0


def test_deposit__approved_amount__credits_balance_and_emits(protocol) -> None:
    token, hub = protocol.token, protocol.hub
    requester = protocol.actors["requester"]
    _give(protocol, requester, 100 * RLC)
    _approve(protocol, requester, hub.address, 60 * RLC)

    with boa.env.prank(requester.address):
        hub.deposit(40 * RLC)
    logs = hub.get_logs()

    deposit = _one(logs, "Deposit")
    assert deposit.address == hub.address
    assert (deposit.owner, deposit.account, deposit.amount) == (
        requester.address,
        requester.address,
        40 * RLC,
    )
    transfer = _one(logs, "Transfer")
    assert transfer.address == token.address
    assert (transfer.sender, transfer.receiver, transfer.value) == (
        requester.address,
        hub.address,
        40 * RLC,
    )
    assert hub.balance_of(requester.address) == 40 * RLC
    assert hub.frozen_of(requester.address) == 0
    assert token.balanceOf(requester.address) == 60 * RLC
    assert token.balanceOf(hub.address) == 40 * RLC
    assert token.allowance(requester.address, hub.address) == 20 * RLC


def test_deposit__twice__accumulates(protocol) -> None:
    hub = protocol.hub
    requester = protocol.actors["requester"]
    protocol.fund(requester, 3 * RLC)
    protocol.fund(requester, 4 * RLC)

    assert hub.balance_of(requester.address) == 7 * RLC
    assert protocol.token.balanceOf(hub.address) == 7 * RLC


def test_deposit__zero_amount__reverts(protocol) -> None:
    requester = protocol.actors["requester"]
    with boa.env.prank(requester.address), boa.reverts("escrow: zero amount"):
        protocol.hub.deposit(0)


def test_deposit__without_approval__reverts(protocol) -> None:
    requester = protocol.actors["requester"]
    _give(protocol, requester, 10 * RLC)
    with boa.env.prank(requester.address), boa.reverts("erc20: insufficient allowance"):
        protocol.hub.deposit(1 * RLC)
    assert protocol.hub.balance_of(requester.address) == 0


def test_deposit__above_wallet_balance__reverts(protocol) -> None:
    requester = protocol.actors["requester"]
    _give(protocol, requester, 1 * RLC)
    _approve(protocol, requester, protocol.hub.address, 5 * RLC)
    with (
        boa.env.prank(requester.address),
        boa.reverts("erc20: transfer amount exceeds balance"),
    ):
        protocol.hub.deposit(2 * RLC)
    assert protocol.hub.balance_of(requester.address) == 0


def test_deposit__balance_reaching_2_80__reverts(protocol) -> None:
    # Only reachable with a minted supply above 2**80 nRLC (1.2e15 RLC).
    token, hub = protocol.token, protocol.hub
    whale = protocol.actors["deployer"]
    with boa.env.prank(whale.address):
        token.mint(whale.address, LIMIT)
        token.approve(hub.address, 2**256 - 1)
        hub.deposit(LIMIT - 1)
        assert hub.balance_of(whale.address) == LIMIT - 1
        assert hub.frozen_of(whale.address) == 0
        with boa.reverts("escrow: balance overflow"):
            hub.deposit(1)
    assert hub.balance_of(whale.address) == LIMIT - 1
    assert hub.frozen_of(whale.address) == 0
    assert hub.score_of(whale.address) == 0


# --- hub: deposit_for -----------------------------------------------------------------------


def test_deposit_for__other_account__credits_it_from_callers_tokens(protocol) -> None:
    token, hub = protocol.token, protocol.hub
    payer = protocol.actors["requester"]
    beneficiary = protocol.actors["scheduler"].address
    _give(protocol, payer, 10 * RLC)
    _approve(protocol, payer, hub.address, 10 * RLC)

    with boa.env.prank(payer.address):
        hub.deposit_for(beneficiary, 6 * RLC)
    logs = hub.get_logs()

    deposit = _one(logs, "Deposit")
    assert (deposit.owner, deposit.account, deposit.amount) == (
        payer.address,
        beneficiary,
        6 * RLC,
    )
    transfer = _one(logs, "Transfer")
    assert (transfer.sender, transfer.receiver, transfer.value) == (
        payer.address,
        hub.address,
        6 * RLC,
    )
    assert hub.balance_of(beneficiary) == 6 * RLC
    assert hub.balance_of(payer.address) == 0
    assert token.balanceOf(payer.address) == 4 * RLC
    assert token.balanceOf(hub.address) == 6 * RLC


def test_deposit_for__zero_account__reverts(protocol) -> None:
    payer = protocol.actors["requester"]
    _give(protocol, payer, 1 * RLC)
    _approve(protocol, payer, protocol.hub.address, 1 * RLC)
    with boa.env.prank(payer.address), boa.reverts("escrow: zero address account"):
        protocol.hub.deposit_for(ZERO, 1 * RLC)


def test_deposit_for__zero_amount__reverts(protocol) -> None:
    with (
        boa.env.prank(protocol.actors["requester"].address),
        boa.reverts("escrow: zero amount"),
    ):
        protocol.hub.deposit_for(protocol.actors["scheduler"].address, 0)


def test_deposit_for__without_approval__reverts(protocol) -> None:
    payer = protocol.actors["requester"]
    _give(protocol, payer, 1 * RLC)
    with boa.env.prank(payer.address), boa.reverts("erc20: insufficient allowance"):
        protocol.hub.deposit_for(protocol.actors["scheduler"].address, 1 * RLC)


# --- hub: receiveApproval -------------------------------------------------------------------


def test_receive_approval__called_by_token__deposits_for_sender(protocol) -> None:
    # What approveAndCall does, with the approval made beforehand.
    token, hub = protocol.token, protocol.hub
    requester = protocol.actors["requester"]
    _give(protocol, requester, 5 * RLC)
    _approve(protocol, requester, hub.address, 5 * RLC)

    with boa.env.prank(token.address):
        hub.receiveApproval(requester.address, 5 * RLC, token.address, b"")
    logs = hub.get_logs()

    deposit = _one(logs, "Deposit")
    assert (deposit.owner, deposit.account, deposit.amount) == (
        requester.address,
        requester.address,
        5 * RLC,
    )
    assert hub.balance_of(requester.address) == 5 * RLC
    assert token.balanceOf(hub.address) == 5 * RLC


def test_receive_approval__called_directly_by_non_token__reverts(protocol) -> None:
    requester = protocol.actors["requester"]
    _give(protocol, requester, 5 * RLC)
    _approve(protocol, requester, protocol.hub.address, 5 * RLC)
    with (
        boa.env.prank(protocol.actors["stranger"].address),
        boa.reverts("escrow: caller is not the token"),
    ):
        protocol.hub.receiveApproval(requester.address, 5 * RLC, protocol.token.address, b"")
    assert protocol.hub.balance_of(requester.address) == 0


def test_receive_approval__wrong_token_argument__reverts(protocol) -> None:
    token = protocol.token
    requester = protocol.actors["requester"]
    _give(protocol, requester, 5 * RLC)
    _approve(protocol, requester, protocol.hub.address, 5 * RLC)
    with boa.env.prank(token.address), boa.reverts("escrow: wrong token"):
        protocol.hub.receiveApproval(requester.address, 5 * RLC, protocol.apps.address, b"")


def test_receive_approval__zero_amount__reverts(protocol) -> None:
    token = protocol.token
    with boa.env.prank(token.address), boa.reverts("escrow: zero amount"):
        protocol.hub.receiveApproval(protocol.actors["requester"].address, 0, token.address, b"")


# --- hub: withdraw / withdraw_to ------------------------------------------------------------


def test_withdraw__part_of_balance__returns_tokens_and_emits(protocol) -> None:
    token, hub = protocol.token, protocol.hub
    requester = protocol.actors["requester"]
    protocol.fund(requester, 10 * RLC)

    with boa.env.prank(requester.address):
        hub.withdraw(3 * RLC)
    logs = hub.get_logs()

    withdraw = _one(logs, "Withdraw")
    assert withdraw.address == hub.address
    assert (withdraw.account, withdraw.recipient, withdraw.amount) == (
        requester.address,
        requester.address,
        3 * RLC,
    )
    transfer = _one(logs, "Transfer")
    assert (transfer.sender, transfer.receiver, transfer.value) == (
        hub.address,
        requester.address,
        3 * RLC,
    )
    assert hub.balance_of(requester.address) == 7 * RLC
    assert token.balanceOf(requester.address) == 3 * RLC
    assert token.balanceOf(hub.address) == 7 * RLC


def test_withdraw__whole_balance__empties_account(protocol) -> None:
    requester = protocol.actors["requester"]
    protocol.fund(requester, 10 * RLC)
    with boa.env.prank(requester.address):
        protocol.hub.withdraw(10 * RLC)
    assert protocol.hub.balance_of(requester.address) == 0
    assert protocol.token.balanceOf(protocol.hub.address) == 0
    assert protocol.token.balanceOf(requester.address) == 10 * RLC


def test_withdraw__zero_amount__reverts(protocol) -> None:
    requester = protocol.actors["requester"]
    protocol.fund(requester, 1 * RLC)
    with boa.env.prank(requester.address), boa.reverts("escrow: zero amount"):
        protocol.hub.withdraw(0)


def test_withdraw__above_balance__reverts(protocol) -> None:
    requester = protocol.actors["requester"]
    protocol.fund(requester, 1 * RLC)
    with boa.env.prank(requester.address), boa.reverts("escrow: insufficient balance"):
        protocol.hub.withdraw(1 * RLC + 1)
    assert protocol.hub.balance_of(requester.address) == 1 * RLC


def test_withdraw__other_accounts_funds__reverts(protocol) -> None:
    protocol.fund(protocol.actors["requester"], 10 * RLC)
    with (
        boa.env.prank(protocol.actors["stranger"].address),
        boa.reverts("escrow: insufficient balance"),
    ):
        protocol.hub.withdraw(1)


def test_withdraw_to__recipient__sends_tokens_there(protocol) -> None:
    token, hub = protocol.token, protocol.hub
    requester = protocol.actors["requester"]
    recipient = protocol.actors["stranger"].address
    protocol.fund(requester, 10 * RLC)

    with boa.env.prank(requester.address):
        hub.withdraw_to(recipient, 4 * RLC)
    logs = hub.get_logs()

    withdraw = _one(logs, "Withdraw")
    assert (withdraw.account, withdraw.recipient, withdraw.amount) == (
        requester.address,
        recipient,
        4 * RLC,
    )
    transfer = _one(logs, "Transfer")
    assert (transfer.sender, transfer.receiver, transfer.value) == (
        hub.address,
        recipient,
        4 * RLC,
    )
    assert hub.balance_of(requester.address) == 6 * RLC
    assert hub.balance_of(recipient) == 0
    assert token.balanceOf(recipient) == 4 * RLC
    assert token.balanceOf(requester.address) == 0


def test_withdraw_to__zero_recipient__reverts(protocol) -> None:
    requester = protocol.actors["requester"]
    protocol.fund(requester, 1 * RLC)
    with boa.env.prank(requester.address), boa.reverts("escrow: zero address recipient"):
        protocol.hub.withdraw_to(ZERO, 1 * RLC)


def test_withdraw_to__zero_amount__reverts(protocol) -> None:
    requester = protocol.actors["requester"]
    protocol.fund(requester, 1 * RLC)
    with boa.env.prank(requester.address), boa.reverts("escrow: zero amount"):
        protocol.hub.withdraw_to(protocol.actors["stranger"].address, 0)


def test_withdraw_to__above_balance__reverts(protocol) -> None:
    requester = protocol.actors["requester"]
    protocol.fund(requester, 1 * RLC)
    with boa.env.prank(requester.address), boa.reverts("escrow: insufficient balance"):
        protocol.hub.withdraw_to(protocol.actors["stranger"].address, 2 * RLC)


# --- harness: the escrow module with its primitives exposed ---------------------------------


@pytest.fixture(scope="module")
def harness_deployer() -> Any:
    return boa.load_partial(HARNESS_PATH)


@pytest.fixture
def harness(protocol, harness_deployer) -> Any:
    return harness_deployer.deploy(protocol.token.address)


def _fund_harness(protocol, harness, actor, amount: int) -> None:
    _give(protocol, actor, amount)
    with boa.env.prank(actor.address):
        protocol.token.approve(harness.address, amount)
        harness.deposit(amount)


def _state(harness, account: str) -> tuple[int, int, int]:
    """(balance, frozen, score) of `account`, read through the three views."""
    return harness.balance_of(account), harness.frozen_of(account), harness.score_of(account)


def _word(harness, account: str) -> int:
    """The raw storage word of `account`."""
    return harness.eval(f"escrow._accounts[{account}]")


def _packed(balance: int, frozen: int, score: int, scheduler: str = SCHEDULER) -> int:
    return balance | (frozen << 80) | (score << 160) | ((int(scheduler, 16) % 2**80) << 176)


def _scored(harness, account: str, score: int, scheduler: str = SCHEDULER) -> None:
    """Sets the score of `account` and nothing else (a settle that moves no value)."""
    harness.settle(account, 0, 0, 0, score, scheduler)


def _max_account(harness, account: str) -> None:
    """Every field at its maximum: balance and frozen 2**80 - 1, score 2**16 - 1, scheduler
    bits all ones."""
    harness.reward(account, LIMIT - 1)
    harness.lock(account, LIMIT - 1)
    harness.reward(account, LIMIT - 1)
    _scored(harness, account, SCORE_MAX, ALL_ONES)
    assert _state(harness, account) == (LIMIT - 1, LIMIT - 1, SCORE_MAX)
    assert _word(harness, account) == 2**256 - 1


def test_harness__deployed__uses_the_session_token_and_its_deposits(protocol, harness) -> None:
    requester = protocol.actors["requester"]
    _fund_harness(protocol, harness, requester, 10 * RLC)

    assert harness.TOKEN() == protocol.token.address
    assert _state(harness, requester.address) == (10 * RLC, 0, 0)
    assert protocol.token.balanceOf(harness.address) == 10 * RLC
    assert protocol.hub.balance_of(requester.address) == 0


def test_account__word_layout__balance_frozen_score_then_scheduler_on_top(
    protocol, harness
) -> None:
    account = protocol.actors["requester"].address
    harness.reward(account, 7)
    harness.lock(account, 4)
    _scored(harness, account, 9)

    assert _state(harness, account) == (3, 4, 9)
    assert _word(harness, account) == 3 + (4 << 80) + (9 << 160) + (
        (int(SCHEDULER, 16) % 2**80) << 176
    )


# --- scores count with the scheduler they were earned with (security H2) -------------------


def test_score_in__earned_with_that_scheduler__counts(protocol, harness) -> None:
    worker = protocol.actors["stranger"].address
    _scored(harness, worker, 303)

    assert harness.score_in(worker, SCHEDULER) == 303
    assert harness.score_of(worker) == 303


def test_score_in__another_scheduler__is_fresh(protocol, harness) -> None:
    # Farmed in one's own pool (self-dealt tasks), a score weighs nothing elsewhere.
    worker = protocol.actors["stranger"].address
    _scored(harness, worker, 303)

    assert harness.score_in(worker, protocol.actors["scheduler"].address) == 0
    # The word keeps the low 80 bits of the scheduler: an address differing there is
    # another scheduler (grinding a key whose address shares them takes 2**80 tries).
    assert harness.score_in(worker, SCHEDULER[:-1] + "e") == 0
    assert harness.score_in(worker, "0x" + "1" * 20 + SCHEDULER[22:]) == 303


def test_settle__with_another_scheduler__moves_the_score_there(protocol, harness) -> None:
    worker = protocol.actors["stranger"].address
    _scored(harness, worker, 40)
    other = protocol.actors["scheduler"].address

    harness.settle(worker, 0, 0, 0, 1, other)

    assert harness.score_in(worker, other) == 1
    assert harness.score_in(worker, SCHEDULER) == 0


# --- lock: balance -> frozen ---------------------------------------------------------------


def test_lock__within_balance__moves_balance_to_frozen_and_emits_nothing(protocol, harness) -> None:
    account = protocol.actors["requester"]
    _fund_harness(protocol, harness, account, 10 * RLC)
    _scored(harness, account.address, 5)

    harness.lock(account.address, 4 * RLC)

    # The move is the caller's to log (DealCreated, Contribute...): no escrow event.
    assert harness.get_logs() == []
    assert _state(harness, account.address) == (6 * RLC, 4 * RLC, 5)
    assert protocol.token.balanceOf(harness.address) == 10 * RLC


def test_lock__whole_balance_twice__accumulates_frozen(protocol, harness) -> None:
    account = protocol.actors["requester"]
    _fund_harness(protocol, harness, account, 10 * RLC)

    harness.lock(account.address, 3 * RLC)
    harness.lock(account.address, 7 * RLC)

    assert harness.balance_of(account.address) == 0
    assert harness.frozen_of(account.address) == 10 * RLC


def test_lock__above_balance__reverts(protocol, harness) -> None:
    account = protocol.actors["requester"]
    _fund_harness(protocol, harness, account, 10 * RLC)
    harness.lock(account.address, 6 * RLC)

    # 4 RLC free and 6 RLC frozen: frozen funds cannot be locked again.
    with boa.reverts("escrow: insufficient balance"):
        harness.lock(account.address, 5 * RLC)
    assert harness.balance_of(account.address) == 4 * RLC
    assert harness.frozen_of(account.address) == 6 * RLC


def test_lock__frozen_reaching_2_80__reverts(protocol, harness) -> None:
    # Needs 2**80 nRLC in one account: credited with reward, which moves no tokens.
    account = protocol.actors["requester"].address
    harness.reward(account, LIMIT - 1)
    harness.lock(account, LIMIT - 1)
    harness.reward(account, 1)
    assert _state(harness, account) == (1, LIMIT - 1, 0)

    # Without the check the frozen amount would carry into the score.
    with boa.reverts("escrow: frozen overflow"):
        harness.lock(account, 1)
    assert _state(harness, account) == (1, LIMIT - 1, 0)


# --- unlock: frozen -> balance -------------------------------------------------------------


def test_unlock__within_frozen__moves_frozen_to_balance_and_emits_nothing(
    protocol, harness
) -> None:
    account = protocol.actors["requester"]
    _fund_harness(protocol, harness, account, 10 * RLC)
    harness.lock(account.address, 8 * RLC)
    _scored(harness, account.address, 3)

    harness.unlock(account.address, 5 * RLC)

    assert harness.get_logs() == []
    assert _state(harness, account.address) == (7 * RLC, 3 * RLC, 3)
    assert protocol.token.balanceOf(harness.address) == 10 * RLC


def test_unlock__above_frozen__reverts(protocol, harness) -> None:
    account = protocol.actors["requester"]
    _fund_harness(protocol, harness, account, 10 * RLC)
    harness.lock(account.address, 2 * RLC)

    # 8 RLC free do not cover an unlock of 3 RLC: only frozen funds can be unlocked.
    with boa.reverts("escrow: insufficient frozen"):
        harness.unlock(account.address, 3 * RLC)
    assert harness.frozen_of(account.address) == 2 * RLC
    assert harness.balance_of(account.address) == 8 * RLC


def test_unlock__balance_reaching_2_80__reverts(protocol, harness) -> None:
    # Without this check the balance would carry into the frozen field and 2**80 - 1 nRLC
    # would vanish (balance 0, frozen unchanged).
    account = protocol.actors["requester"].address
    harness.reward(account, 1)
    harness.lock(account, 1)
    harness.reward(account, LIMIT - 1)

    with boa.reverts("escrow: balance overflow"):
        harness.unlock(account, 1)
    assert _state(harness, account) == (LIMIT - 1, 1, 0)


# --- seize: frozen -> the pot --------------------------------------------------------------


def test_seize__within_frozen__burns_frozen_into_the_pot_and_emits_nothing(
    protocol, harness
) -> None:
    account = protocol.actors["requester"]
    _fund_harness(protocol, harness, account, 10 * RLC)
    harness.lock(account.address, 6 * RLC)
    _scored(harness, account.address, 8)

    harness.seize(account.address, 4 * RLC)

    assert harness.get_logs() == []
    assert _state(harness, account.address) == (4 * RLC, 2 * RLC, 8)
    # The tokens stay in the contract, in nobody's account until a reward.
    assert protocol.token.balanceOf(harness.address) == 10 * RLC


def test_seize__above_frozen__reverts(protocol, harness) -> None:
    account = protocol.actors["requester"]
    _fund_harness(protocol, harness, account, 10 * RLC)
    harness.lock(account.address, 1 * RLC)

    # Plenty of free balance: seize only takes frozen funds.
    with boa.reverts("escrow: insufficient frozen"):
        harness.seize(account.address, 2 * RLC)
    assert harness.balance_of(account.address) == 9 * RLC
    assert harness.frozen_of(account.address) == 1 * RLC


# --- reward: the pot -> balance ------------------------------------------------------------


def test_reward__account__credits_balance_and_emits_nothing(protocol, harness) -> None:
    account = protocol.actors["app_owner"].address

    harness.reward(account, 3 * RLC)

    assert harness.get_logs() == []
    assert _state(harness, account) == (3 * RLC, 0, 0)


def test_reward__balance_reaching_2_80__reverts(protocol, harness) -> None:
    account = protocol.actors["app_owner"].address
    harness.reward(account, LIMIT - 1)

    with boa.reverts("escrow: balance overflow"):
        harness.reward(account, 1)
    assert _state(harness, account) == (LIMIT - 1, 0, 0)


def test_reward__frozen_and_scored_account__leaves_frozen_and_score_untouched(
    protocol, harness
) -> None:
    account = protocol.actors["requester"]
    _fund_harness(protocol, harness, account, 10 * RLC)
    harness.lock(account.address, 10 * RLC)
    _scored(harness, account.address, 4)

    harness.reward(account.address, 1)

    assert _state(harness, account.address) == (1, 10 * RLC, 4)


# --- settle: the general move, one write ---------------------------------------------------


def test_settle__unlock_seize_reward_and_score__one_move(protocol, harness) -> None:
    worker = protocol.actors["scheduler"]
    _fund_harness(protocol, harness, worker, 10 * RLC)
    harness.lock(worker.address, 6 * RLC)
    _scored(harness, worker.address, 2)

    # frozen -= unlocked + seized; balance += unlocked + reward; score := score.
    harness.settle(worker.address, 3 * RLC, 1 * RLC, 5 * RLC, 7, SCHEDULER)

    assert harness.get_logs() == []
    assert _state(harness, worker.address) == (4 * RLC + 3 * RLC + 5 * RLC, 2 * RLC, 7)
    assert protocol.token.balanceOf(harness.address) == 10 * RLC


def test_settle__lower_score__replaces_the_score(protocol, harness) -> None:
    # A losing worker's score drops (tasks.vy sets it to 2/3 of the old one).
    worker = protocol.actors["scheduler"].address
    harness.reward(worker, 2)
    harness.lock(worker, 2)
    _scored(harness, worker, 30)

    harness.settle(worker, 0, 2, 0, 20, SCHEDULER)

    assert _state(harness, worker) == (0, 0, 20)


def test_settle__zero_moves__only_sets_the_score(protocol, harness) -> None:
    worker = protocol.actors["scheduler"].address
    harness.reward(worker, 9)
    harness.lock(worker, 4)

    harness.settle(worker, 0, 0, 0, 11, SCHEDULER)

    assert _state(harness, worker) == (5, 4, 11)


@pytest.mark.parametrize("score", [SCORE_MAX, SCORE_MAX + 1, 2**200, 2**256 - 1])
def test_settle__score_at_or_above_2_16__saturates(protocol, harness, score: int) -> None:
    worker = protocol.actors["scheduler"].address
    harness.reward(worker, 9)
    harness.lock(worker, 4)

    harness.settle(worker, 1, 0, 0, score, SCHEDULER)

    # The score neither wraps nor spills into the other fields of the word.
    assert _state(harness, worker) == (6, 3, SCORE_MAX)
    assert _word(harness, worker) == _packed(6, 3, SCORE_MAX)


def test_settle__unlocked_plus_seized_above_frozen__reverts(protocol, harness) -> None:
    worker = protocol.actors["scheduler"].address
    harness.reward(worker, 10)
    harness.lock(worker, 5)
    _scored(harness, worker, 1)

    # Each part alone is covered, not their sum; free balance does not count.
    with boa.reverts("escrow: insufficient frozen"):
        harness.settle(worker, 3, 3, 0, 2, SCHEDULER)
    assert _state(harness, worker) == (5, 5, 1)


def test_settle__balance_reaching_2_80__reverts(protocol, harness) -> None:
    worker = protocol.actors["scheduler"].address
    harness.reward(worker, 1)
    harness.lock(worker, 1)
    harness.reward(worker, LIMIT - 2)

    with boa.reverts("escrow: balance overflow"):
        harness.settle(worker, 1, 0, 1, 0, SCHEDULER)
    with boa.reverts("escrow: balance overflow"):
        harness.settle(worker, 0, 0, 2, 0, SCHEDULER)
    assert _state(harness, worker) == (LIMIT - 2, 1, 0)

    # Exactly at the bound minus one is fine.
    harness.settle(worker, 1, 0, 0, 3, SCHEDULER)
    assert _state(harness, worker) == (LIMIT - 1, 0, 3)


# --- unlock_and_reward: a stake back plus a payment, score untouched ------------------------


def test_unlock_and_reward__stake_and_pay__one_move_keeping_the_score(protocol, harness) -> None:
    scheduler = protocol.actors["scheduler"]
    _fund_harness(protocol, harness, scheduler, 10 * RLC)
    harness.lock(scheduler.address, 4 * RLC)
    _scored(harness, scheduler.address, 13)

    harness.unlock_and_reward(scheduler.address, 3 * RLC, 2 * RLC)

    assert harness.get_logs() == []
    assert _state(harness, scheduler.address) == (6 * RLC + 3 * RLC + 2 * RLC, 1 * RLC, 13)


def test_unlock_and_reward__above_frozen__reverts(protocol, harness) -> None:
    scheduler = protocol.actors["scheduler"].address
    harness.reward(scheduler, 10)
    harness.lock(scheduler, 2)

    with boa.reverts("escrow: insufficient frozen"):
        harness.unlock_and_reward(scheduler, 3, 0)
    assert _state(harness, scheduler) == (8, 2, 0)


def test_unlock_and_reward__balance_reaching_2_80__reverts(protocol, harness) -> None:
    scheduler = protocol.actors["scheduler"].address
    harness.reward(scheduler, 1)
    harness.lock(scheduler, 1)
    harness.reward(scheduler, LIMIT - 2)

    # Without the check the balance would carry into the frozen field.
    with boa.reverts("escrow: balance overflow"):
        harness.unlock_and_reward(scheduler, 1, 1)
    assert _state(harness, scheduler) == (LIMIT - 2, 1, 0)
    harness.unlock_and_reward(scheduler, 1, 0)
    assert _state(harness, scheduler) == (LIMIT - 1, 0, 0)


def test_unlock_and_reward__max_frozen_and_score__no_borrow_from_the_score(
    protocol, harness
) -> None:
    account = protocol.actors["scheduler"].address
    _max_account(harness, account)
    harness.seize(account, LIMIT - 1)
    harness.lock(account, LIMIT - 1)
    assert _state(harness, account) == (0, LIMIT - 1, SCORE_MAX)

    harness.unlock_and_reward(account, LIMIT - 1, 0)

    assert _word(harness, account) == _packed(LIMIT - 1, 0, SCORE_MAX, ALL_ONES)


# --- the fields of a word never bleed into each other --------------------------------------


def test_fields__all_at_maximum__each_credit_reverts_without_touching_the_others(
    protocol, harness
) -> None:
    account = protocol.actors["requester"].address
    _max_account(harness, account)

    with boa.reverts("escrow: balance overflow"):
        harness.reward(account, 1)
    with boa.reverts("escrow: balance overflow"):
        harness.unlock(account, 1)
    with boa.reverts("escrow: frozen overflow"):
        harness.lock(account, 1)
    with boa.reverts("escrow: balance overflow"):
        harness.unlock_and_reward(account, 0, 1)
    # A score above the maximum saturates; the amounts stay as they are.
    harness.settle(account, 0, 0, 0, SCORE_MAX + 1, ALL_ONES)
    assert _word(harness, account) == 2**256 - 1


def test_fields__emptying_balance_and_frozen__keeps_the_score(protocol, harness) -> None:
    account = protocol.actors["requester"].address
    _max_account(harness, account)

    # Debits of the low fields never borrow from the fields above them.
    harness.seize(account, LIMIT - 1)
    assert _state(harness, account) == (LIMIT - 1, 0, SCORE_MAX)
    harness.lock(account, LIMIT - 1)
    assert _state(harness, account) == (0, LIMIT - 1, SCORE_MAX)
    harness.unlock(account, LIMIT - 1)
    assert _state(harness, account) == (LIMIT - 1, 0, SCORE_MAX)
    harness.lock(account, 1)
    harness.settle(account, 0, 1, 0, SCORE_MAX, SCHEDULER)
    assert _word(harness, account) == _packed(LIMIT - 2, 0, SCORE_MAX)


def test_fields__zero_score__balance_and_frozen_at_maximum_stay_below_the_score(
    protocol, harness
) -> None:
    account = protocol.actors["requester"].address
    _max_account(harness, account)

    harness.settle(account, 0, 0, 0, 0, ZERO)

    assert _state(harness, account) == (LIMIT - 1, LIMIT - 1, 0)
    assert _word(harness, account) == 2**160 - 1


def test_withdraw__max_frozen_and_score__takes_only_the_balance(protocol, harness) -> None:
    account = protocol.actors["requester"]
    harness.reward(account.address, LIMIT - 1)
    harness.lock(account.address, LIMIT - 1)
    _fund_harness(protocol, harness, account, 10 * RLC)
    _scored(harness, account.address, SCORE_MAX)

    with boa.env.prank(account.address):
        harness.withdraw(10 * RLC)

    assert _state(harness, account.address) == (0, LIMIT - 1, SCORE_MAX)
    assert protocol.token.balanceOf(account.address) == 10 * RLC


def test_withdraw__frozen_funds__reverts(protocol, harness) -> None:
    account = protocol.actors["requester"]
    _fund_harness(protocol, harness, account, 10 * RLC)
    harness.lock(account.address, 7 * RLC)

    with boa.env.prank(account.address), boa.reverts("escrow: insufficient balance"):
        harness.withdraw(4 * RLC)
    with boa.env.prank(account.address):
        harness.withdraw(3 * RLC)
    assert harness.balance_of(account.address) == 0
    assert harness.frozen_of(account.address) == 7 * RLC
    assert protocol.token.balanceOf(account.address) == 3 * RLC


def test_deposit__scored_account__keeps_the_score(protocol, harness) -> None:
    account = protocol.actors["requester"]
    _scored(harness, account.address, 12)

    _fund_harness(protocol, harness, account, 10 * RLC)

    assert _state(harness, account.address) == (10 * RLC, 0, 12)


def test_primitives__balanced_sequence__tokens_held_equal_balances_plus_frozen(
    protocol, harness
) -> None:
    a = protocol.actors
    requester, scheduler = a["requester"], a["scheduler"]
    app_owner, dataset_owner = a["app_owner"].address, a["dataset_owner"].address
    _fund_harness(protocol, harness, requester, 100 * RLC)
    _fund_harness(protocol, harness, scheduler, 50 * RLC)

    # A deal: the requester locks its price, the scheduler its stake.
    harness.lock(requester.address, 30 * RLC)
    harness.lock(scheduler.address, 10 * RLC)
    # The task completes: the price goes to the pot and out as rewards; the scheduler's
    # stake returns with its reward in one settle.
    harness.seize(requester.address, 30 * RLC)
    harness.reward(app_owner, 12 * RLC)
    harness.reward(dataset_owner, 8 * RLC)
    harness.settle(scheduler.address, 10 * RLC, 0, 10 * RLC, 1, SCHEDULER)
    # Another deal is still running.
    harness.lock(requester.address, 5 * RLC)
    # A third deal fails with nobody contributing: the scheduler's stake goes to the
    # requester.
    harness.lock(scheduler.address, 6 * RLC)
    harness.seize(scheduler.address, 6 * RLC)
    harness.reward(requester.address, 6 * RLC)
    with boa.env.prank(app_owner):
        harness.withdraw(2 * RLC)

    accounts = [requester.address, scheduler.address, app_owner, dataset_owner]
    balances = {x: harness.balance_of(x) for x in accounts}
    frozen = {x: harness.frozen_of(x) for x in accounts}
    assert balances == {
        requester.address: 71 * RLC,
        scheduler.address: 54 * RLC,
        app_owner: 10 * RLC,
        dataset_owner: 8 * RLC,
    }
    assert frozen == {
        requester.address: 5 * RLC,
        scheduler.address: 0,
        app_owner: 0,
        dataset_owner: 0,
    }
    assert harness.score_of(scheduler.address) == 1
    held = protocol.token.balanceOf(harness.address)
    assert held == 148 * RLC
    assert held == sum(balances.values()) + sum(frozen.values())
