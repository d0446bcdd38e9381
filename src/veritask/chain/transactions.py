"""Sends transactions signed locally under one gas policy, and turns reverts into
`ContractRevert`, a node that refuses or does not answer into `ChainError`, and a receipt
that does not come in time into `TransactionPending` (the transaction may still be mined)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract.contract import ContractConstructor, ContractFunction
from web3.exceptions import ContractLogicError, TimeExhausted, Web3Exception
from web3.types import TxParams, TxReceipt, Wei

from veritask.domain.amounts import format_eth
from veritask.domain.ids import to_hex
from veritask.errors import ChainError, ContractRevert, InvalidInput, TransactionPending

__all__ = ["DEFAULT_GAS_POLICY", "GasPolicy", "revert_reason", "send", "send_raw"]

_RECEIPT_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class GasPolicy:
    """How much gas a transaction gets, and whether its sender's coin is checked first.

    `margin` is headroom over the node's estimate: estimates are exact on anvil, but a
    state change between estimate and inclusion (another transaction) may cost a little
    more. With `check_funds`, a sender that cannot pay for the gas is refused with
    `InvalidInput` before anything is sent (what a person at the CLI needs); services
    leave it off and let the node refuse.
    """

    margin: float = 1.2
    check_funds: bool = False

    def limit(self, estimate: int) -> int:
        return int(estimate * self.margin)


DEFAULT_GAS_POLICY = GasPolicy()


def revert_reason(exc: ContractLogicError) -> str:
    message = str(exc.message or exc)
    return message.removeprefix("execution reverted: ").removeprefix("execution reverted")


def send(
    w3: Web3,
    account: LocalAccount,
    call: ContractFunction | ContractConstructor,
    *,
    value: int = 0,
    gas: int | None = None,
    policy: GasPolicy = DEFAULT_GAS_POLICY,
) -> TxReceipt:
    """Signs and sends `call` from `account`, waits for it, and returns its receipt.

    A call that would revert raises `ContractRevert` with the contract's reason before
    anything is sent; so does a sender short of gas money when `policy.check_funds`.
    """
    params: TxParams = {"from": account.address, "value": Wei(value)}
    try:
        if gas is None:
            estimate = int(call.estimate_gas(params))
            if policy.check_funds:
                _check_funds(w3, account.address, policy.limit(estimate * w3.eth.gas_price))
            gas = policy.limit(estimate)
        params["gas"] = gas
        tx = call.build_transaction(params)
    except ContractLogicError as exc:
        raise ContractRevert(revert_reason(exc)) from exc
    return send_raw(w3, account, dict(tx))


def _check_funds(w3: Web3, sender: str, cost_wei: int) -> None:
    held = int(w3.eth.get_balance(Web3.to_checksum_address(sender)))
    if held < cost_wei:
        raise InvalidInput(
            f"not enough ETH for gas: {sender} holds {format_eth(held)} ETH and "
            f"this transaction needs about {format_eth(cost_wei)} ETH; send it some ETH first"
        )


def send_raw(w3: Web3, account: LocalAccount, tx: dict[str, Any]) -> TxReceipt:
    tx.setdefault("chainId", w3.eth.chain_id)
    tx.setdefault("nonce", w3.eth.get_transaction_count(account.address, "pending"))
    if "gasPrice" not in tx and "maxFeePerGas" not in tx:
        tx["gasPrice"] = w3.eth.gas_price
    signed = account.sign_transaction(tx)
    try:
        tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    except (OSError, Web3Exception) as exc:  # not sent: nothing can land
        raise ChainError(f"sending the transaction failed: {exc}") from exc
    try:
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=_RECEIPT_TIMEOUT_S)
    except (TimeExhausted, OSError) as exc:
        raise TransactionPending(
            f"transaction 0x{tx_hash.hex()} was sent but not mined within "
            f"{_RECEIPT_TIMEOUT_S:g} s ({type(exc).__name__}): it may still land",
            to_hex(tx_hash),
        ) from exc
    if receipt["status"] != 1:
        raise ChainError(f"transaction {tx_hash.hex()} failed in block {receipt['blockNumber']}")
    return receipt
