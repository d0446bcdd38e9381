"""`veritask account show|deposit|withdraw`: the money of an address in the hub (free,
frozen) and in its wallet (RLC tokens), in RLC and nRLC."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from veritask.sdk import TxSummary, Veritask, format_rlc, parse_amount

from .fields import account_fields
from .output import JsonFlag, account_table, emit_json, show
from .state import CliState, cli_state, unlocked_client

__all__ = ["app"]

app = typer.Typer(help="Show, deposit and withdraw RLC in the hub.", no_args_is_help=True)

AmountArgument = Annotated[
    str, typer.Argument(help='An amount: "1.2" or "1.2 RLC" (RLC), or "1200000000 nRLC".')
]
UnitArgument = Annotated[str | None, typer.Argument(help="RLC or nRLC, if not in AMOUNT.")]


def _amount_text(amount: str, unit: str | None) -> str:
    return f"{amount} {unit}" if unit else amount


@app.command(name="show")
def show_account(
    ctx: typer.Context,
    address: Annotated[
        str | None, typer.Argument(help="Any address (default: the wallet's).")
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Show free and frozen balances in the hub, and the token balance, of an address."""
    state = cli_state(ctx)
    profile = state.profile()
    target = address if address is not None else state.find_wallet(profile).address
    view = state.client(profile).account(target)
    if state.as_json(json_output):
        emit_json(account_fields(view))
        return
    account_table(view)


def _report(
    state: CliState, json_flag: bool, client: Veritask, action: str, amount: int, tx: TxSummary
) -> None:
    assert client.signer is not None
    view = client.account(client.signer.address)
    if state.as_json(json_flag):
        result: dict[str, Any] = {
            "action": action,
            "amount_nrlc": amount,
            "amount_rlc": format_rlc(amount),
            "tx_hash": tx.tx_hash,
            "block_number": tx.block_number,
            "gas_used": tx.gas_used,
            "account": account_fields(view),
        }
        emit_json(result)
        return
    show(f"{action} {format_rlc(amount)} RLC: tx {tx.tx_hash}")
    show(f"block {tx.block_number}, gas {tx.gas_used:,}")
    account_table(view)


@app.command()
def deposit(
    ctx: typer.Context,
    amount: AmountArgument,
    unit: UnitArgument = None,
    json_output: JsonFlag = False,
) -> None:
    """Deposit RLC tokens from the wallet into its hub account (one transaction)."""
    state = cli_state(ctx)
    amount_nrlc = parse_amount(_amount_text(amount, unit))
    client = unlocked_client(state)
    tx = client.deposit(amount_nrlc)
    _report(state, json_output, client, "deposited", amount_nrlc, tx)


@app.command()
def withdraw(
    ctx: typer.Context,
    amount: AmountArgument,
    unit: UnitArgument = None,
    json_output: JsonFlag = False,
) -> None:
    """Withdraw free RLC from the hub account back to the wallet."""
    state = cli_state(ctx)
    amount_nrlc = parse_amount(_amount_text(amount, unit))
    client = unlocked_client(state)
    tx = client.withdraw(amount_nrlc)
    _report(state, json_output, client, "withdrew", amount_nrlc, tx)
