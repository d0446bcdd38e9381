"""`veritask result download`: a completed task's result, fetched from the profile's
storage, unpacked, and checked against the task's on-chain result digest."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from veritask.sdk.results import DownloadedResult, Results

from .deal import FromBlockOption
from .output import JsonFlag, emit_json, show
from .state import cli_state

__all__ = ["app", "result_fields", "show_result"]

app = typer.Typer(help="Download task results.", no_args_is_help=True)

_PREVIEW_BYTES = 2_000


@app.command()
def download(
    ctx: typer.Context,
    task: Annotated[
        str, typer.Argument(help="DEAL_ID:INDEX, or a task id (looked up in the deals' events).")
    ],
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


def result_fields(result: DownloadedResult) -> dict[str, Any]:
    return {
        "task_id": "0x" + result.task.task_id.hex(),
        "location": f"/ipfs/{result.cid}",
        "folder": str(result.folder),
        "files": [str(path.relative_to(result.folder)) for path in result.files],
        "digest": "0x" + result.digest.hex(),
        "verified": True,
    }


def show_result(result: DownloadedResult) -> None:
    """Where the result is, that it was verified, and its small text files' content."""
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
