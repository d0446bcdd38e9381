# pragma version ~=0.4.3
"""
@title escrow
@notice Owns the accounts. An account is one storage slot holding a free balance and a
        frozen amount, both in nRLC, and the account's worker score (its reputation) with
        the scheduler it was earned with, so that paying a worker, returning its stake and
        scoring it is a single write. A score counts only in the deals of the scheduler
        (workerpool owner) it was earned with: reputation farmed in self-dealt tasks of
        one's own pool weighs nothing in another owner's pool (security H2).
        Value moves only through deposit and withdraw (tokens in and out) and internal
        primitives: lock (balance -> frozen), unlock (frozen -> balance), seize (frozen ->
        the hub's pot) and reward (pot -> balance). Invariant at
        the end of every transaction: tokens held by the hub == sum of balances + sum of
        frozen. It must not know about orders, deals or tasks; the events of the moves
        are the callers' (deal and task events), which keeps settlement cheap.
"""

from ethereum.ercs import IERC20

# Account word: balance (low 80 bits) | frozen (next 80 bits) | score (16 bits) | the low
# 80 bits of the scheduler the score was earned with (top 80 bits).
# 2**80 nRLC is 1.2e15 RLC, far above any supply (RLC has 8.7e7); every credit checks the
# bound. 80 bits of an address cannot be matched by grinding keys (2**80 tries).
_LIMIT: constant(uint256) = 2**80
_MASK: constant(uint256) = 2**80 - 1
_FROZEN_SHIFT: constant(uint256) = 80
_SCORE_SHIFT: constant(uint256) = 160
_SCORE_MAX: constant(uint256) = 2**16 - 1
_POOL_SHIFT: constant(uint256) = 176

# @dev The token (RLC) every balance, price and stake is counted in, fixed at deployment.
TOKEN: public(immutable(IERC20))

# @dev The account word of each address (layout above): free balance, frozen amount,
# worker score and the scheduler it counts with, in one slot.
_accounts: HashMap[address, uint256]


# @dev Emitted when `owner`'s tokens are credited to `account`'s free balance (`amount`
# in nRLC).
event Deposit:
    owner: indexed(address)
    account: indexed(address)
    amount: uint256


# @dev Emitted when `account` sends `amount` nRLC of its free balance to `recipient`'s
# wallet.
event Withdraw:
    account: indexed(address)
    recipient: indexed(address)
    amount: uint256


@deploy
def __init__(token: IERC20):
    TOKEN = token


@internal
def _pull(owner: address, account: address, amount: uint256):
    assert amount != 0, "escrow: zero amount"
    assert account != empty(address), "escrow: zero address account"
    self._reward(account, amount)
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
    self._debit(msg.sender, amount)
    assert extcall TOKEN.transfer(recipient, amount), "escrow: token transfer failed"
    log Withdraw(account=msg.sender, recipient=recipient, amount=amount)


@external
@view
def balance_of(account: address) -> uint256:
    """
    @notice The free balance of `account`, in nRLC.
    """
    return self._accounts[account] & _MASK


@external
@view
def frozen_of(account: address) -> uint256:
    """
    @notice The frozen (locked) amount of `account`, in nRLC.
    """
    return (self._accounts[account] >> _FROZEN_SHIFT) & _MASK


@external
@view
def score_of(account: address) -> uint256:
    """
    @notice The worker score (reputation) of `account`, with the scheduler it was last
            earned with (see `score_in`).
    """
    return (self._accounts[account] >> _SCORE_SHIFT) & _SCORE_MAX


@external
@view
def score_in(account: address, scheduler: address) -> uint256:
    """
    @notice The worker score of `account` in the deals of `scheduler` (a workerpool
            owner): its score if it was earned with that scheduler, else 0 (fresh).
    """
    return self._score_in(account, scheduler)


@internal
@view
def _balance(account: address) -> uint256:
    return self._accounts[account] & _MASK


@internal
@view
def _frozen(account: address) -> uint256:
    return (self._accounts[account] >> _FROZEN_SHIFT) & _MASK


@internal
@view
def _score_in(account: address, scheduler: address) -> uint256:
    word: uint256 = self._accounts[account]
    if word >> _POOL_SHIFT != convert(scheduler, uint256) & _MASK:
        return 0
    return (word >> _SCORE_SHIFT) & _SCORE_MAX


@internal
@pure
def _pack(balance: uint256, frozen: uint256, rest: uint256) -> uint256:
    # `rest` is the score and scheduler part of a word (bits 160 and up), kept as it is.
    assert balance < _LIMIT, "escrow: balance overflow"
    assert frozen < _LIMIT, "escrow: frozen overflow"
    # Each field is checked against its width: the fields cannot overlap.
    return balance | (frozen << _FROZEN_SHIFT) | (rest >> _SCORE_SHIFT << _SCORE_SHIFT)


@internal
def _settle(
    account: address,
    unlocked: uint256,
    seized: uint256,
    reward: uint256,
    score: uint256,
    scheduler: address,
):
    # The general move, one read and one write: frozen -= unlocked + seized,
    # balance += unlocked + reward, score := score, earned with `scheduler`.
    word: uint256 = self._accounts[account]
    frozen: uint256 = (word >> _FROZEN_SHIFT) & _MASK
    assert frozen >= unlocked + seized, "escrow: insufficient frozen"
    rest: uint256 = (min(score, _SCORE_MAX) << _SCORE_SHIFT) | (
        (convert(scheduler, uint256) & _MASK) << _POOL_SHIFT
    )
    self._accounts[account] = self._pack(
        (word & _MASK) + unlocked + reward, frozen - unlocked - seized, rest
    )


@internal
def _lock(account: address, amount: uint256):
    word: uint256 = self._accounts[account]
    assert word & _MASK >= amount, "escrow: insufficient balance"
    self._accounts[account] = self._pack(
        (word & _MASK) - amount, ((word >> _FROZEN_SHIFT) & _MASK) + amount, word
    )


@internal
def _debit(account: address, amount: uint256):
    word: uint256 = self._accounts[account]
    assert word & _MASK >= amount, "escrow: insufficient balance"
    # amount <= balance, the low field: no borrow from frozen.
    self._accounts[account] = unsafe_sub(word, amount)


@internal
def _unlock(account: address, amount: uint256):
    self._unlock_and_reward(account, amount, 0)


@internal
def _unlock_and_reward(account: address, unlocked: uint256, reward: uint256):
    # The hot path of settlement (a stake back plus a payment), without touching the score.
    word: uint256 = self._accounts[account]
    assert (word >> _FROZEN_SHIFT) & _MASK >= unlocked, "escrow: insufficient frozen"
    assert (word & _MASK) + unlocked + reward < _LIMIT, "escrow: balance overflow"
    # Frozen keeps >= 0 and the balance stays below its bound: no field borrows or carries.
    self._accounts[account] = unsafe_add(unsafe_sub(word, unlocked << _FROZEN_SHIFT), unlocked + reward)


@internal
def _seize(account: address, amount: uint256):
    word: uint256 = self._accounts[account]
    assert (word >> _FROZEN_SHIFT) & _MASK >= amount, "escrow: insufficient frozen"
    # amount <= frozen: no borrow from the score.
    self._accounts[account] = unsafe_sub(word, amount << _FROZEN_SHIFT)


@internal
def _reward(account: address, amount: uint256):
    word: uint256 = self._accounts[account]
    assert (word & _MASK) + amount < _LIMIT, "escrow: balance overflow"
    # The new balance fits its field: adding to the word cannot carry into frozen.
    self._accounts[account] = unsafe_add(word, amount)
