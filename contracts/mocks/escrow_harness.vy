# pragma version ~=0.4.3
"""
@title EscrowHarness
@notice Test-only contract: the escrow module on its own, with its four internal
        primitives (lock, unlock, seize, reward) exposed as thin external wrappers so
        tests can drive them without orders or deals. Never deployed outside tests.
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
def seize(account: address, amount: uint256, ref: bytes32):
    escrow._seize(account, amount, ref)


@external
def reward(account: address, amount: uint256, ref: bytes32):
    escrow._reward(account, amount, ref)
