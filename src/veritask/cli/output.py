"""How commands print: rich tables for people, one JSON object on stdout with `--json`
(the SDK views' objects are in `fields`), and one `error: ...` line on stderr for expected
failures; and the lines for people of the views that several commands show."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from veritask.sdk import AccountView, DownloadedResult, format_eth, format_rlc

__all__ = [
    "JsonFlag",
    "account_table",
    "emit_json",
    "error_line",
    "print_table",
    "show",
    "show_result",
    "warning_line",
]

_PREVIEW_BYTES = 2_000  # the largest result file whose text `show_result` prints

JsonFlag = Annotated[
    bool, typer.Option("--json", help="Print one JSON object on stdout instead of tables.")
]


def emit_json(data: Mapping[str, Any]) -> None:
    typer.echo(json.dumps(data))


def show(text: str) -> None:
    """A line for people on stdout (not printed with --json)."""
    # The console is built per call: it must write to the current sys.stdout.
    Console(highlight=False, soft_wrap=True).print(text, markup=False)


def error_line(message: str) -> None:
    """One line on stderr, whatever newlines the message holds."""
    typer.echo(f"error: {' '.join(message.split())}", err=True)


def warning_line(message: str) -> None:
    typer.echo(f"warning: {message}", err=True)


def print_table(rows: Iterable[tuple[str, ...]], columns: tuple[str, ...]) -> None:
    table = Table(show_header=True, header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    Console(highlight=False).print(table)


def account_table(view: AccountView) -> None:
    rows = [
        ("free (in the hub)", format_rlc(view.free_nrlc), str(view.free_nrlc)),
        ("frozen (in deals)", format_rlc(view.frozen_nrlc), str(view.frozen_nrlc)),
        ("tokens (in the wallet)", format_rlc(view.token_nrlc), str(view.token_nrlc)),
    ]
    show(f"account {view.address}")
    print_table(rows, ("balance", "RLC", "nRLC"))
    show(f"gas: {format_eth(view.gas_wei)} ETH")


def show_result(result: DownloadedResult) -> None:
    """Where a downloaded result is, that it was verified, and its small text files'
    content (`result download`, `run --watch`)."""
    show(f"task 0x{result.task.task_id.hex()}: result /ipfs/{result.cid}")
    show(f"unpacked into {result.folder} ({len(result.files)} files)")
    show(f"digest 0x{result.digest.hex()} matches the task's on-chain result digest")
    for path in result.files:
        name = path.relative_to(result.folder)
        size = path.stat().st_size
        if name.name == "computed.json" or size > _PREVIEW_BYTES:
            show(f"  {name} ({size} bytes)")
            continue
        try:
            text = path.read_text(encoding="utf-8").rstrip("\n")
        except UnicodeDecodeError:
            show(f"  {name} ({size} bytes)")
            continue
        show(f"  {name}: {text}")
