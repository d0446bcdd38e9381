"""`veritask result download`: a completed task's result, fetched from the profile's
storage, unpacked, and checked against the task's on-chain result digest."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from veritask.sdk import Results

from .fields import result_fields
from .options import FromBlockOption, TaskArgument
from .output import JsonFlag, emit_json, show_result
from .state import cli_state

__all__ = ["app"]

app = typer.Typer(help="Download task results.", no_args_is_help=True)


@app.command()
def download(
    ctx: typer.Context,
    task: TaskArgument,
    out: Annotated[
        Path | None,
        typer.Option(help="A new or empty folder for the result (default: ./result-<task id>)."),
    ] = None,
    from_block: FromBlockOption = 0,
    json_output: JsonFlag = False,
) -> None:
    """Download a completed task's result, unpack it and check it against the task's
    on-chain digest (exit code 7 when it does not match)."""
    state = cli_state(ctx)
    client = state.client(state.profile())
    results = Results(client, deals=client.deals(from_block=from_block))
    target = results.completed_task(task)
    folder = out or Path.cwd() / f"result-0x{target.task_id.hex()}"
    result = results.download_task(target, folder)
    if state.as_json(json_output):
        emit_json(result_fields(result))
        return
    show_result(result)
