"""Escrow (contracts/hub/escrow.vy): deposits and withdrawals through the hub, and the four
internal primitives (lock, unlock, seize, reward) through contracts/mocks/escrow_harness.vy,
which is the escrow module alone with those primitives exposed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boa
import pytest

from tests.support import RLC, ZERO

HARNESS_PATH = str(Path(__file__).resolve().parents[2] / "contracts/mocks/escrow_harness.vy")
HALF = 2**128
REF = b"\x5e" * 32


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


def test_deposit__balance_reaching_2_128__reverts(protocol) -> None:
    # Only reachable with a minted supply above 2**128 nRLC (3.4e20 RLC).
    token, hub = protocol.token, protocol.hub
    whale = protocol.actors["deployer"]
    with boa.env.prank(whale.address):
        token.mint(whale.address, HALF)
        token.approve(hub.address, 2**256 - 1)
        hub.deposit(HALF - 1)
        assert hub.balance_of(whale.address) == HALF - 1
        assert hub.frozen_of(whale.address) == 0
        with boa.reverts("escrow: balance overflow"):
            hub.deposit(1)
    assert hub.balance_of(whale.address) == HALF - 1
    assert hub.frozen_of(whale.address) == 0


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


def test_harness__deployed__uses_the_session_token_and_its_deposits(protocol, harness) -> None:
    requester = protocol.actors["requester"]
    _fund_harness(protocol, harness, requester, 10 * RLC)

    assert harness.TOKEN() == protocol.token.address
    assert harness.balance_of(requester.address) == 10 * RLC
    assert protocol.token.balanceOf(harness.address) == 10 * RLC
    assert protocol.hub.balance_of(requester.address) == 0


def test_lock__within_balance__moves_balance_to_frozen_and_emits(protocol, harness) -> None:
    account = protocol.actors["requester"]
    _fund_harness(protocol, harness, account, 10 * RLC)

    harness.lock(account.address, 4 * RLC)
    logs = harness.get_logs()

    ev = _one(logs, "Lock")
    assert (ev.account, ev.amount) == (account.address, 4 * RLC)
    assert harness.balance_of(account.address) == 6 * RLC
    assert harness.frozen_of(account.address) == 4 * RLC
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


def test_lock__frozen_reaching_2_128__reverts(protocol, harness) -> None:
    # Needs 2**128 nRLC in one account: credited with reward, which moves no tokens.
    account = protocol.actors["requester"].address
    harness.reward(account, HALF - 1, REF)
    harness.lock(account, HALF - 1)
    harness.reward(account, 1, REF)
    assert (harness.balance_of(account), harness.frozen_of(account)) == (1, HALF - 1)

    with boa.reverts("escrow: frozen overflow"):
        harness.lock(account, 1)
    assert (harness.balance_of(account), harness.frozen_of(account)) == (1, HALF - 1)


def test_unlock__within_frozen__moves_frozen_to_balance_and_emits(protocol, harness) -> None:
    account = protocol.actors["requester"]
    _fund_harness(protocol, harness, account, 10 * RLC)
    harness.lock(account.address, 8 * RLC)

    harness.unlock(account.address, 5 * RLC)
    logs = harness.get_logs()

    ev = _one(logs, "Unlock")
    assert (ev.account, ev.amount) == (account.address, 5 * RLC)
    assert harness.balance_of(account.address) == 7 * RLC
    assert harness.frozen_of(account.address) == 3 * RLC
    assert protocol.token.balanceOf(harness.address) == 10 * RLC


def test_unlock__above_frozen__reverts(protocol, harness) -> None:
    account = protocol.actors["requester"]
    _fund_harness(protocol, harness, account, 10 * RLC)
    harness.lock(account.address, 2 * RLC)

    # 8 RLC free do not cover an unlock of 3 RLC: only frozen funds can be unlocked.
    with boa.reverts("escrow: insufficient frozen"):
        harness.unlock(account.address, 3 * RLC)
    assert harness.frozen_of(account.address) == 2 * RLC


def test_unlock__balance_reaching_2_128__reverts(protocol, harness) -> None:
    # Without this check the balance carried into the frozen half and 2**128 - 1 nRLC
    # vanished (balance 0, frozen unchanged).
    account = protocol.actors["requester"].address
    harness.reward(account, 1, REF)
    harness.lock(account, 1)
    harness.reward(account, HALF - 1, REF)

    with boa.reverts("escrow: balance overflow"):
        harness.unlock(account, 1)
    assert (harness.balance_of(account), harness.frozen_of(account)) == (HALF - 1, 1)


def test_seize__within_frozen__burns_frozen_into_the_pot_and_emits(protocol, harness) -> None:
    account = protocol.actors["requester"]
    _fund_harness(protocol, harness, account, 10 * RLC)
    harness.lock(account.address, 6 * RLC)

    harness.seize(account.address, 4 * RLC, REF)
    logs = harness.get_logs()

    ev = _one(logs, "Seize")
    assert (ev.account, ev.amount, bytes(ev.ref)) == (account.address, 4 * RLC, REF)
    assert harness.balance_of(account.address) == 4 * RLC
    assert harness.frozen_of(account.address) == 2 * RLC
    # The tokens stay in the contract, in nobody's account until a reward.
    assert protocol.token.balanceOf(harness.address) == 10 * RLC


def test_seize__above_frozen__reverts(protocol, harness) -> None:
    account = protocol.actors["requester"]
    _fund_harness(protocol, harness, account, 10 * RLC)
    harness.lock(account.address, 1 * RLC)

    # Plenty of free balance: seize only takes frozen funds.
    with boa.reverts("escrow: insufficient frozen"):
        harness.seize(account.address, 2 * RLC, REF)
    assert harness.balance_of(account.address) == 9 * RLC
    assert harness.frozen_of(account.address) == 1 * RLC


def test_reward__account__credits_balance_and_emits(protocol, harness) -> None:
    account = protocol.actors["app_owner"].address
    frozen_before = harness.frozen_of(account)

    harness.reward(account, 3 * RLC, REF)
    logs = harness.get_logs()

    ev = _one(logs, "Reward")
    assert (ev.account, ev.amount, bytes(ev.ref)) == (account, 3 * RLC, REF)
    assert harness.balance_of(account) == 3 * RLC
    assert harness.frozen_of(account) == frozen_before == 0


def test_reward__balance_reaching_2_128__reverts(protocol, harness) -> None:
    account = protocol.actors["app_owner"].address
    harness.reward(account, HALF - 1, REF)

    with boa.reverts("escrow: balance overflow"):
        harness.reward(account, 1, REF)
    assert harness.balance_of(account) == HALF - 1
    assert harness.frozen_of(account) == 0


def test_reward__frozen_account__leaves_frozen_untouched(protocol, harness) -> None:
    account = protocol.actors["requester"]
    _fund_harness(protocol, harness, account, 10 * RLC)
    harness.lock(account.address, 10 * RLC)

    harness.reward(account.address, 1, REF)

    assert harness.balance_of(account.address) == 1
    assert harness.frozen_of(account.address) == 10 * RLC


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
    # The task completes: the price goes to the pot and out as rewards, the stake returns.
    harness.seize(requester.address, 30 * RLC, REF)
    harness.reward(app_owner, 12 * RLC, REF)
    harness.reward(dataset_owner, 8 * RLC, REF)
    harness.reward(scheduler.address, 10 * RLC, REF)
    harness.unlock(scheduler.address, 10 * RLC)
    # Another deal is still running.
    harness.lock(requester.address, 5 * RLC)
    with boa.env.prank(app_owner):
        harness.withdraw(2 * RLC)

    accounts = [requester.address, scheduler.address, app_owner, dataset_owner]
    balances = {x: harness.balance_of(x) for x in accounts}
    frozen = {x: harness.frozen_of(x) for x in accounts}
    assert balances == {
        requester.address: 65 * RLC,
        scheduler.address: 60 * RLC,
        app_owner: 10 * RLC,
        dataset_owner: 8 * RLC,
    }
    assert frozen == {
        requester.address: 5 * RLC,
        scheduler.address: 0,
        app_owner: 0,
        dataset_owner: 0,
    }
    held = protocol.token.balanceOf(harness.address)
    assert held == 148 * RLC
    assert held == sum(balances.values()) + sum(frozen.values())
