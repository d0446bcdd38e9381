"""The typer options and arguments that several commands take, and the parsers of their
values. An option of one command only stays in that command's module; `--json` is
`output.JsonFlag`."""

from __future__ import annotations

from typing import Annotated

import typer

from veritask.errors import InvalidInput
from veritask.sdk import random_salt

__all__ = [
    "CallbackOption",
    "FromBlockOption",
    "MarketUrlOption",
    "TagOption",
    "TaskArgument",
    "parse_salt",
]

FromBlockOption = Annotated[
    int,
    typer.Option(
        "--from-block", min=0, help="Search the deal's events from this block (default 0)."
    ),
]
MarketUrlOption = Annotated[
    str | None,
    typer.Option(
        "--market-url",
        help="The market's URL (default: $VERITASK_MARKET_URL or the profile's market_url).",
    ),
]
TaskArgument = Annotated[
    str, typer.Argument(help="DEAL_ID:INDEX, or a task id (looked up in the deals' events).")
]
TagOption = Annotated[
    str, typer.Option(help="none, tee, scone, gramine, tdx, or 0x and up to 64 hex digits.")
]
CallbackOption = Annotated[str, typer.Option(help="A contract that receives the result.")]


def parse_salt(text: str | None) -> bytes:
    """An order's salt from `--salt`: 0x and 64 hex digits, or a random one when not given."""
    if text is None:
        return random_salt()
    digits = text.removeprefix("0x")
    try:
        salt = bytes.fromhex(digits) if text.startswith("0x") else b""
    except ValueError:
        salt = b""
    if len(salt) != 32:
        raise InvalidInput(f"bad --salt {text!r}: expected 0x followed by 64 hexadecimal digits")
    return salt
