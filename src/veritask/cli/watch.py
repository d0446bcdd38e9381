"""Live progress of a deal's tasks, shared by `veritask deal watch` and `veritask run
--watch`: a table redrawn in place on a terminal, one line per change otherwise, and one
JSON object per change with --json. It reads the chain, and with a `SchedulerWatch` also
the workerpool's scheduler, which tells at once that an app failed (with its exit code and
logs) where the chain would wait for the final deadline."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from veritask.errors import SchedulerApiError
from veritask.sdk import (
    GIVEN_UP,
    SETTLED_FAILURE,
    Deals,
    DealView,
    SchedulerWatch,
    TaskLogs,
    TaskLogsReader,
    TaskStatus,
    TaskView,
    Veritask,
    format_duration,
    format_time,
    to_hex,
)

from .exit_codes import ExitCode
from .fields import task_fields
from .logs import failure_fields, failure_lines
from .output import show, warning_line

__all__ = ["WatchEnd", "end_of_watch", "scheduler_watch", "watch_deal"]


@dataclass(frozen=True)
class WatchEnd:
    """How a watch ended: the deal's last view, and the tasks the scheduler gave up while
    the chain had not completed them (by index)."""

    view: DealView
    failures: dict[int, TaskLogs]


def _failed(logs: TaskLogs | None) -> bool:
    return logs is not None and logs.status in GIVEN_UP


def _summary(task: TaskView, logs: TaskLogs | None) -> str:
    if _failed(logs) and task.status != TaskStatus.COMPLETED:
        assert logs is not None
        return f"{task.status_name} on chain, {logs.status} on the scheduler"
    if task.failure is not None:  # settled on chain with a failure record
        return f"{task.status_name}: {task.failure.describe()} - {task.next_step()}"
    contributed = len(task.contributors)
    plural = "" if contributed == 1 else "s"
    return f"{task.status_name} ({contributed} contribution{plural}) - {task.next_step()}"


def _table(view: DealView, logs: dict[int, TaskLogs] | None) -> Table:
    table = Table(title=f"deal {to_hex(view.deal_id)}", header_style="bold")
    columns = ["index", "task id", "status", "contributions", "next"]
    if logs is not None:
        columns.insert(3, "scheduler")
    for column in columns:
        table.add_column(column, overflow="fold")
    for task in view.tasks:
        known = logs.get(task.index) if logs is not None else None
        row = [str(task.index), to_hex(task.task_id), task.status_name]
        if logs is not None:
            row.append(known.status if known is not None else "-")
        failed = known is not None and _failed(known) and task.status != TaskStatus.COMPLETED
        next_step = f"failed: {known.failure}" if failed and known else task.next_step()
        if task.failure is not None:
            next_step = f"{task.failure.describe()}; {task.next_step()}"
        row += [str(len(task.contributors)), next_step]
        table.add_row(*row)
    return table


_Key = tuple[int, int, str]


def _keys(view: DealView, logs: dict[int, TaskLogs]) -> dict[int, _Key]:
    return {
        task.index: (
            task.status,
            len(task.contributors),
            logs[task.index].status if _failed(logs.get(task.index)) else "",
        )
        for task in view.tasks
    }


def _scheduler_problem(exc: SchedulerApiError) -> None:
    """Told once when the scheduler cannot help a watch: it goes on with the chain alone."""
    warning_line(f"{' '.join(str(exc).split())} (watching the chain only)")


@contextmanager
def scheduler_watch(client: Veritask, deals: Deals) -> Iterator[SchedulerWatch | None]:
    """A `SchedulerWatch` of the profile's scheduler, asked by the client's signer; None
    when the profile names no scheduler or the client has no signer."""
    if not client.profile.scheduler_url or client.signer is None:
        yield None
        return
    with TaskLogsReader(client, deals=deals) as reader:
        yield SchedulerWatch(reader, on_problem=_scheduler_problem)


def watch_deal(
    deals: Deals,
    deal_id: bytes,
    *,
    as_json: bool,
    timeout_s: float | None,
    poll_s: float = 0.5,
    scheduler: SchedulerWatch | None = None,
) -> WatchEnd:
    """Follows the deal until it is settled (a task the scheduler gave up counts as
    settled) or `timeout_s` passed, printing progress."""
    console = Console(highlight=False, soft_wrap=True)
    updates = deals.watch(
        deal_id,
        poll_s=poll_s,
        timeout_s=timeout_s,
        given_up=scheduler,
    )
    logs: dict[int, TaskLogs] = scheduler.logs if scheduler is not None else {}
    last: DealView | None = None
    before: dict[int, _Key] = {}

    def changes(view: DealView) -> list[TaskView]:
        nonlocal before
        after = _keys(view, logs)
        moved = [task for task in view.tasks if before.get(task.index) != after[task.index]]
        before = after
        return moved

    def failed_now(task: TaskView) -> bool:
        return _failed(logs.get(task.index)) and task.status != TaskStatus.COMPLETED

    if as_json:
        for view in updates:
            for task in changes(view):
                event = {
                    "event": "task",
                    **task_fields(task),
                    **failure_fields(logs.get(task.index)),
                }
                typer.echo(json.dumps(event))
            last = view
    elif console.is_terminal:
        shown: set[int] = set()
        with Live(console=console, auto_refresh=False) as live:
            for view in updates:
                for task in view.tasks:
                    if failed_now(task) and task.index not in shown:
                        shown.add(task.index)
                        live.console.print(
                            "\n".join(_failure_block(task, logs[task.index])), markup=False
                        )
                live.update(_table(view, logs if scheduler is not None else None), refresh=True)
                last = view
    else:
        for view in updates:
            for task in changes(view):
                if failed_now(task):
                    for line in _failure_block(task, logs[task.index]):
                        show(line)
                else:
                    show(f"task {task.index} {to_hex(task.task_id)}: {_summary(task, None)}")
            last = view
    assert last is not None  # watch always yields the deal once
    failures = scheduler.failures(last) if scheduler is not None else {}
    return WatchEnd(last, failures)


def _failure_block(task: TaskView, logs: TaskLogs) -> list[str]:
    head = f"task {task.index} {to_hex(task.task_id)}: {_summary(task, logs)}"
    return [head, *failure_lines(logs)]


def _refund_hint(view: DealView) -> str:
    claim = f"veritask deal claim {to_hex(view.deal_id)}"
    if view.now >= view.final_deadline:
        return f"refund: run `{claim}` now to give the requester back the unfinished tasks' price"
    return (
        "refund: the requester gets the failed tasks' price back after the final deadline, "
        f"{format_time(view.final_deadline)} (in {format_duration(view.final_deadline - view.now)})"
        f": the workerpool's scheduler claims them then, or anyone runs `{claim}`"
    )


def end_of_watch(end: WatchEnd, *, as_json: bool, timeout_s: float | None) -> None:
    """Exits with `TASKS_UNFINISHED`, saying why (and, when the scheduler gave tasks up,
    how the requester is refunded), unless every task of the last view completed."""
    last = end.view
    done = sum(task.status == TaskStatus.COMPLETED for task in last.tasks)
    if done == len(last.tasks):
        return
    settled = last.settled_besides(end.failures)
    reason = "settled" if settled else f"still running after {timeout_s:g} s"
    settled_failures = sorted(task.index for task in last.tasks if task.failure is not None)
    count = len(end.failures) + len(settled_failures)
    failed = f", {count} failed" if count else ""
    if as_json:
        event: dict[str, Any] = {"event": "end", "completed": done, "settled": settled}
        if settled_failures:
            event["settled_failed"] = settled_failures
        if end.failures:
            event |= {
                "failed": sorted(end.failures),
                "final_deadline": last.final_deadline,
                "claim": f"veritask deal claim {to_hex(last.deal_id)}",
            }
        typer.echo(json.dumps(event))
    else:
        show(f"{done} of {len(last.tasks)} tasks completed{failed} ({reason})")
        if settled_failures:
            names = ", ".join(str(index) for index in settled_failures)
            show(
                f"failed task{'s' if len(settled_failures) > 1 else ''} {names}: {SETTLED_FAILURE}"
            )
        if end.failures:
            show(_refund_hint(last))
    raise typer.Exit(ExitCode.TASKS_UNFINISHED)
