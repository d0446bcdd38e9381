# pragma version ~=0.4.3
"""
@title EscrowHarness
@notice Test-only contract: the escrow module on its own, with its internal primitives
        (lock, unlock, seize, reward, unlock_and_reward and the general settle)
        exposed as thin external wrappers so tests can drive them without orders, deals or tasks. Never
        deployed outside tests.
"""

from ethereum.ercs import IERC20
from ..hub import escrow

initializes: escrow

exports: (
    escrow.TOKEN,
    escrow.deposit,
    escrow.deposit_for,
    escrow.receiveApproval,
    escrow.withdraw,
    escrow.withdraw_to,
    escrow.balance_of,
    escrow.frozen_of,
    escrow.score_of,
    escrow.score_in,
)


@deploy
def __init__(token: IERC20):
    escrow.__init__(token)


@external
def lock(account: address, amount: uint256):
    escrow._lock(account, amount)


@external
def unlock(account: address, amount: uint256):
    escrow._unlock(account, amount)


@external
def seize(account: address, amount: uint256):
    escrow._seize(account, amount)


@external
def reward(account: address, amount: uint256):
    escrow._reward(account, amount)


@external
def settle(
    account: address,
    unlocked: uint256,
    seized: uint256,
    reward: uint256,
    score: uint256,
    scheduler: address,
):
    escrow._settle(account, unlocked, seized, reward, score, scheduler)


@external
def unlock_and_reward(account: address, unlocked: uint256, reward: uint256):
    escrow._unlock_and_reward(account, unlocked, reward)
