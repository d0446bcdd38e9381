"""`veritask wallet create|import|show`: encrypted keystores in $VERITASK_WALLET_DIR.

A private key is printed only by `wallet show --show-private-key`, after a warning on
stderr; it is read from a hidden prompt or a file, never from the command line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from veritask.errors import InvalidInput
from veritask.sdk import Wallet, create_wallet, import_wallet, to_hex

from .output import JsonFlag, emit_json, show, warning_line
from .state import CliState, cli_state

__all__ = ["app"]

app = typer.Typer(
    help="Create, import and show wallets (encrypted keystores).", no_args_is_help=True
)


def _report(state: CliState, json_flag: bool, verb: str, wallet: Wallet) -> None:
    if state.as_json(json_flag):
        emit_json({"address": wallet.address, "keystore": str(wallet.path)})
        return
    show(f"{verb} wallet {wallet.address}")
    show(f"keystore {wallet.path}")
    show("keep its password: without it the key cannot be recovered from the keystore")


@app.command()
def create(ctx: typer.Context, json_output: JsonFlag = False) -> None:
    """Create a wallet with a new random key, encrypted with a password."""
    state = cli_state(ctx)
    password = state.password("New wallet password", confirm=True)
    wallet = create_wallet(state.wallet_dir(), password, kdf=state.keystore_kdf)
    _report(state, json_output, "created", wallet)


def _read_key_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise InvalidInput(f"cannot read the key file {path}: {reason or exc}") from exc


@app.command(name="import")
def import_(
    ctx: typer.Context,
    key_file: Annotated[
        Path | None,
        typer.Option(help="File holding the private key (64 hex digits); else a hidden prompt."),
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Import an existing private key into a new encrypted keystore."""
    state = cli_state(ctx)
    if key_file is not None:
        private_key = _read_key_file(key_file)
    else:
        private_key = typer.prompt("Private key (hex)", hide_input=True, err=True)
    password = state.password("New wallet password", confirm=True)
    wallet = import_wallet(state.wallet_dir(), private_key, password, kdf=state.keystore_kdf)
    _report(state, json_output, "imported", wallet)


@app.command(name="show")
def show_wallet(
    ctx: typer.Context,
    show_private_key: Annotated[
        bool,
        typer.Option(help="Also print the private key (asks for the password; prints a warning)."),
    ] = False,
    json_output: JsonFlag = False,
) -> None:
    """Show the wallet's address and keystore (--wallet, the profile's, or the only one)."""
    state = cli_state(ctx)
    wallet = state.find_wallet(state.profile())
    fields = {"address": wallet.address, "keystore": str(wallet.path)}
    if show_private_key:
        account = state.unlock(wallet)
        warning_line(
            f"printing the private key of {wallet.address}: anyone who sees it controls this "
            "wallet and its funds"
        )
        fields["private_key"] = to_hex(bytes(account.key))
    if state.as_json(json_output):
        emit_json(fields)
        return
    for name, value in fields.items():
        show(f"{name:<11} {value}")
