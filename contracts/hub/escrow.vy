# pragma version ~=0.4.3
"""
@title escrow
@notice Owns the accounts: every account has a free balance and a frozen amount, both in
        nRLC, packed in one slot. Value moves only through deposit and withdraw (tokens in
        and out) and four internal primitives: lock (balance -> frozen), unlock (frozen ->
        balance), seize (frozen -> the hub's pot) and reward (pot -> balance). Invariant
        at the end of every transaction: tokens held by the hub == sum of balances + sum
        of frozen. It must not know about orders, deals or tasks.
"""

from ethereum.ercs import IERC20

# An account is one slot: the low 128 bits are the free balance, the high 128 bits the
# frozen amount. 2**128 nRLC is 3.4e20 RLC, far above any supply, and deposits check it.
_HALF: constant(uint256) = 2**128
_LOW_MASK: constant(uint256) = 2**128 - 1

TOKEN: public(immutable(IERC20))

_accounts: HashMap[address, uint256]


event Deposit:
    owner: indexed(address)
    account: indexed(address)
    amount: uint256


event Withdraw:
    account: indexed(address)
    recipient: indexed(address)
    amount: uint256


event Lock:
    account: indexed(address)
    amount: uint256


event Unlock:
    account: indexed(address)
    amount: uint256


event Reward:
    account: indexed(address)
    amount: uint256
    ref: bytes32


event Seize:
    account: indexed(address)
    amount: uint256
    ref: bytes32


@deploy
def __init__(token: IERC20):
    TOKEN = token


@internal
def _credit(account: address, amount: uint256):
    packed: uint256 = self._accounts[account]
    balance: uint256 = packed & _LOW_MASK
    assert balance + amount < _HALF, "escrow: balance overflow"
    # balance + amount < 2**128, so adding to the packed word cannot carry into frozen.
    self._accounts[account] = unsafe_add(packed, amount)


@internal
def _pull(owner: address, account: address, amount: uint256):
    assert amount != 0, "escrow: zero amount"
    assert account != empty(address), "escrow: zero address account"
    self._credit(account, amount)
    assert extcall TOKEN.transferFrom(owner, self, amount), "escrow: token transfer failed"
    log Deposit(owner=owner, account=account, amount=amount)


@external
def deposit(amount: uint256):
    """
    @notice Moves `amount` nRLC from the caller's tokens (approved to the hub) to the
            caller's free balance.
    """
    self._pull(msg.sender, msg.sender, amount)


@external
def deposit_for(account: address, amount: uint256):
    """
    @notice Moves `amount` nRLC from the caller's tokens to `account`'s free balance.
    """
    self._pull(msg.sender, account, amount)


@external
def receiveApproval(sender: address, amount: uint256, token: address, extra_data: Bytes[1_024]):
    """
    @notice The token's `approveAndCall` hook: deposits `amount` for `sender` in the same
            transaction as the approval.
    """
    assert msg.sender == TOKEN.address, "escrow: caller is not the token"
    assert token == TOKEN.address, "escrow: wrong token"
    self._pull(sender, sender, amount)


@external
def withdraw(amount: uint256):
    """
    @notice Sends `amount` nRLC of the caller's free balance back to the caller's wallet.
    """
    self._withdraw(msg.sender, amount)


@external
def withdraw_to(recipient: address, amount: uint256):
    """
    @notice Sends `amount` nRLC of the caller's free balance to `recipient`'s wallet.
    """
    assert recipient != empty(address), "escrow: zero address recipient"
    self._withdraw(recipient, amount)


@internal
def _withdraw(recipient: address, amount: uint256):
    assert amount != 0, "escrow: zero amount"
    packed: uint256 = self._accounts[msg.sender]
    assert packed & _LOW_MASK >= amount, "escrow: insufficient balance"
    # amount <= balance, the low half: no borrow from frozen.
    self._accounts[msg.sender] = unsafe_sub(packed, amount)
    assert extcall TOKEN.transfer(recipient, amount), "escrow: token transfer failed"
    log Withdraw(account=msg.sender, recipient=recipient, amount=amount)


@external
@view
def balance_of(account: address) -> uint256:
    """
    @notice The free balance of `account`, in nRLC.
    """
    return self._accounts[account] & _LOW_MASK


@external
@view
def frozen_of(account: address) -> uint256:
    """
    @notice The frozen (locked) amount of `account`, in nRLC.
    """
    return self._accounts[account] >> 128


@internal
@view
def _balance(account: address) -> uint256:
    return self._accounts[account] & _LOW_MASK


@internal
def _lock(account: address, amount: uint256):
    packed: uint256 = self._accounts[account]
    assert packed & _LOW_MASK >= amount, "escrow: insufficient balance"
    assert (packed >> 128) + amount < _HALF, "escrow: frozen overflow"
    # amount <= balance (no borrow) and frozen + amount < 2**128 (no wrap at the top).
    self._accounts[account] = unsafe_add(unsafe_sub(packed, amount), amount << 128)
    log Lock(account=account, amount=amount)


@internal
def _unlock(account: address, amount: uint256):
    packed: uint256 = self._accounts[account]
    assert packed >> 128 >= amount, "escrow: insufficient frozen"
    assert (packed & _LOW_MASK) + amount < _HALF, "escrow: balance overflow"
    # amount <= frozen (no borrow) and balance + amount < 2**128 (no carry into frozen).
    self._accounts[account] = unsafe_add(unsafe_sub(packed, amount << 128), amount)
    log Unlock(account=account, amount=amount)


@internal
def _seize(account: address, amount: uint256, ref: bytes32):
    packed: uint256 = self._accounts[account]
    assert packed >> 128 >= amount, "escrow: insufficient frozen"
    self._accounts[account] = unsafe_sub(packed, amount << 128)
    log Seize(account=account, amount=amount, ref=ref)


@internal
def _reward(account: address, amount: uint256, ref: bytes32):
    self._credit(account, amount)
    log Reward(account=account, amount=amount, ref=ref)


@internal
@view
def _frozen(account: address) -> uint256:
    return self._accounts[account] >> 128


@internal
def _unlock_and_reward(account: address, unlocked: uint256, reward: uint256):
    # One write for the common settlement of a worker or scheduler: stake back + pay.
    packed: uint256 = self._accounts[account]
    assert packed >> 128 >= unlocked, "escrow: insufficient frozen"
    assert (packed & _LOW_MASK) + unlocked + reward < _HALF, "escrow: balance overflow"
    self._accounts[account] = unsafe_add(unsafe_sub(packed, unlocked << 128), unlocked + reward)


@internal
def _freeze(account: address, amount: uint256):
    # Credits the frozen half from the pot (the kitty receives seized stakes this way).
    packed: uint256 = self._accounts[account]
    assert (packed >> 128) + amount < _HALF, "escrow: frozen overflow"
    self._accounts[account] = unsafe_add(packed, amount << 128)
