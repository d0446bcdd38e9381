"""`veritask category list|show|create`: the hub's categories, which fix the reference time
C of deadlines; only the hub owner creates one."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from veritask.sdk import CategoryView

from .output import JsonFlag, emit_json, print_table, show
from .state import cli_state, unlocked_client

__all__ = ["app"]

app = typer.Typer(help="List, show and create categories.", no_args_is_help=True)


def _row(view: CategoryView) -> tuple[str, str, str, str]:
    return (str(view.category_id), view.name, f"{view.time_ref_s} s", view.description)


@app.command(name="list")
def list_categories(ctx: typer.Context, json_output: JsonFlag = False) -> None:
    """Every category: id, name, reference time C, description."""
    state = cli_state(ctx)
    views = state.client(state.profile()).categories.list()
    if state.as_json(json_output):
        emit_json({"categories": [asdict(view) for view in views]})
        return
    print_table([_row(view) for view in views], ("id", "name", "C", "description"))


@app.command(name="show")
def show_category(
    ctx: typer.Context,
    category_id: Annotated[int, typer.Argument(metavar="ID", help="The category id.")],
    json_output: JsonFlag = False,
) -> None:
    """One category."""
    state = cli_state(ctx)
    view = state.client(state.profile()).categories.show(category_id)
    if state.as_json(json_output):
        emit_json(asdict(view))
        return
    rows = [
        ("id", str(view.category_id)),
        ("name", view.name),
        ("reference time C", f"{view.time_ref_s} s"),
        ("description", view.description),
    ]
    print_table(rows, ("category", "value"))


@app.command()
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The category's name.")],
    time_ref: Annotated[int, typer.Option("--time-ref", help="The reference time C, in seconds.")],
    description: Annotated[str, typer.Option(help="A JSON description.")] = "{}",
    json_output: JsonFlag = False,
) -> None:
    """Create a category (only the hub owner may)."""
    state = cli_state(ctx)
    created = unlocked_client(state).categories.create(name, time_ref, description)
    view, tx = created.category, created.tx
    if state.as_json(json_output):
        emit_json({**asdict(view), "tx_hash": tx.tx_hash, "block_number": tx.block_number})
        return
    headline = f"created category {view.category_id} {view.name} (C = {view.time_ref_s} s)"
    show(f"{headline}: tx {tx.tx_hash}")
