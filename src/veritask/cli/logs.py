"""How a task's view from its workerpool's scheduler prints: its state, its failure, and
each replicate's status, exit code and the tails of the app's stdout and stderr. Shared by
`veritask task logs` and the watches (`deal watch`, `run --watch`)."""

from __future__ import annotations

from typing import Any

from veritask.sdk import ReplicateLog, TaskLogs, failing_replicate, tail

from .output import print_table, show

__all__ = ["failure_fields", "failure_lines", "logs_fields", "show_logs"]

WATCH_TAIL_LINES = 10  # of stdout and stderr, under a failed task in a watch


def _indented(text: str, lines: int | None) -> list[str]:
    body = tail(text, lines) if lines is not None else text.rstrip("\n")
    return [f"    {line}" for line in body.splitlines()] or ["    (empty)"]


def _replicate_lines(replicate: ReplicateLog, lines: int | None) -> list[str]:
    exit_code = "none" if replicate.exit_code is None else str(replicate.exit_code)
    out = [f"  exit code: {exit_code}"]
    if replicate.detail:
        out.append(f"  detail: {replicate.detail}")
    last = f" (last {lines} lines)" if lines is not None else ""
    out += [f"  stderr{last}:", *_indented(replicate.stderr, lines)]
    out += [f"  stdout{last}:", *_indented(replicate.stdout, lines)]
    return out


def failure_lines(logs: TaskLogs, *, lines: int = WATCH_TAIL_LINES) -> list[str]:
    """What a watch prints under a task the scheduler gave up: why, the app's exit code,
    and the tails of its stderr and stdout."""
    out = [f"  failure: {logs.failure or logs.status}"]
    replicate = failing_replicate(logs)
    if replicate is not None:
        out += _replicate_lines(replicate, lines)
    return out


def failure_fields(logs: TaskLogs | None) -> dict[str, Any]:
    """A watched task's scheduler view, in its JSON object (None when the scheduler was
    not asked or did not know the task)."""
    replicate = failing_replicate(logs) if logs is not None else None
    return {
        "scheduler_status": logs.status if logs is not None else None,
        "failure": (logs.failure or None) if logs is not None else None,
        "exit_code": replicate.exit_code if replicate is not None else None,
        "stderr": tail(replicate.stderr, WATCH_TAIL_LINES) if replicate is not None else None,
        "stdout": tail(replicate.stdout, WATCH_TAIL_LINES) if replicate is not None else None,
    }


def logs_fields(logs: TaskLogs, scheduler_url: str) -> dict[str, Any]:
    return {"scheduler_url": scheduler_url, **logs.model_dump(mode="json")}


def show_logs(logs: TaskLogs, scheduler_url: str) -> None:
    """`veritask task logs`: the task's state on the scheduler, then each replicate."""
    rows = [
        ("task id", logs.task_id),
        ("deal", logs.deal_id),
        ("index", str(logs.index)),
        ("scheduler", scheduler_url),
        ("status", logs.status),
    ]
    if logs.failure:
        rows.append(("failure", logs.failure))
    if logs.results:
        rows.append(("result", logs.results))
    print_table(rows, ("", "value"))
    if not logs.replicates:
        show("no replicate yet: no worker has taken the task")
    for number, replicate in enumerate(logs.replicates):
        show(f"replicate {number}: worker {replicate.worker}, {replicate.status}")
        for line in _replicate_lines(replicate, None):
            show(line)
