"""Live progress of a deal's tasks, shared by `veritask deal watch` and `veritask run
--watch`: a table redrawn in place on a terminal, one line per change otherwise, and one
JSON object per change with --json. It only reads the chain."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from veritask.sdk.deals import COMPLETED, Deals, DealView, TaskView

from .deal import task_fields
from .exit_codes import ExitCode
from .output import show

__all__ = ["end_of_watch", "watch_deal"]


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


def _summary(task: TaskView) -> str:
    contributed = len(task.contributors)
    plural = "" if contributed == 1 else "s"
    return f"{task.status_name} ({contributed} contribution{plural}) - {task.next_step()}"


def _table(view: DealView) -> Table:
    table = Table(title=f"deal {_hex(view.deal_id)}", header_style="bold")
    for column in ("index", "task id", "status", "contributions", "next"):
        table.add_column(column, overflow="fold")
    for task in view.tasks:
        table.add_row(
            str(task.index),
            _hex(task.task_id),
            task.status_name,
            str(len(task.contributors)),
            task.next_step(),
        )
    return table


def _changes(before: DealView | None, after: DealView) -> list[TaskView]:
    if before is None:
        return list(after.tasks)
    old = {task.index: (task.status, len(task.contributors)) for task in before.tasks}
    return [t for t in after.tasks if old.get(t.index) != (t.status, len(t.contributors))]


def watch_deal(
    deals: Deals, deal_id: bytes, *, as_json: bool, timeout_s: float | None, poll_s: float = 0.5
) -> DealView:
    """Follows the deal until it is settled or `timeout_s` passed, printing progress; the
    last view."""
    console = Console(highlight=False, soft_wrap=True)
    updates = deals.watch(deal_id, poll_s=poll_s, timeout_s=timeout_s)
    last: DealView | None = None
    if as_json:
        for view in updates:
            for task in _changes(last, view):
                typer.echo(json.dumps({"event": "task", **task_fields(task)}))
            last = view
    elif console.is_terminal:
        with Live(console=console, auto_refresh=False) as live:
            for view in updates:
                live.update(_table(view), refresh=True)
                last = view
    else:
        for view in updates:
            for task in _changes(last, view):
                show(f"task {task.index} {_hex(task.task_id)}: {_summary(task)}")
            last = view
    assert last is not None  # watch always yields the deal once
    return last


def end_of_watch(last: DealView, *, as_json: bool, timeout_s: float | None) -> None:
    """Exits with `TASKS_UNFINISHED`, saying why, unless every task of `last` completed."""
    done = sum(task.status == COMPLETED for task in last.tasks)
    if done == len(last.tasks):
        return
    reason = "settled" if last.settled else f"still running after {timeout_s:g} s"
    message = f"{done} of {len(last.tasks)} tasks completed ({reason})"
    if as_json:
        typer.echo(json.dumps({"event": "end", "completed": done, "settled": last.settled}))
    else:
        show(message)
    raise typer.Exit(ExitCode.TASKS_UNFINISHED)
