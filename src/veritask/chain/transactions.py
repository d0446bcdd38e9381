"""Sends transactions signed locally and turns reverts into `ContractRevert`, a node that
refuses or does not answer into `ChainError`, and a receipt that does not come in time into
`TransactionPending` (the transaction may still be mined)."""

from __future__ import annotations

from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract.contract import ContractConstructor, ContractFunction
from web3.exceptions import ContractLogicError, TimeExhausted, Web3Exception
from web3.types import TxParams, TxReceipt, Wei

from veritask.errors import ChainError, ContractRevert, TransactionPending

__all__ = ["send", "send_raw"]

# Headroom over the node's estimate: estimates are exact on anvil, but a state change
# between estimate and inclusion (another transaction) may cost a little more.
_GAS_MARGIN = 1.2
_RECEIPT_TIMEOUT_S = 60.0


def _revert_reason(exc: ContractLogicError) -> str:
    message = str(exc.message or exc)
    return message.removeprefix("execution reverted: ").removeprefix("execution reverted")


def send(
    w3: Web3,
    account: LocalAccount,
    call: ContractFunction | ContractConstructor,
    *,
    value: int = 0,
    gas: int | None = None,
) -> TxReceipt:
    """Signs and sends `call` from `account`, waits for it, and returns its receipt.

    A call that would revert raises `ContractRevert` with the contract's reason before
    anything is sent.
    """
    params: TxParams = {"from": account.address, "value": Wei(value)}
    try:
        if gas is None:
            gas = int(call.estimate_gas(params) * _GAS_MARGIN)
        params["gas"] = gas
        tx = call.build_transaction(params)
    except ContractLogicError as exc:
        raise ContractRevert(_revert_reason(exc)) from exc
    return send_raw(w3, account, dict(tx))


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
            "0x" + tx_hash.hex(),
        ) from exc
    if receipt["status"] != 1:
        raise ChainError(f"transaction {tx_hash.hex()} failed in block {receipt['blockNumber']}")
    return receipt
