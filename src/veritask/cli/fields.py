"""The JSON objects of the SDK's views, as commands print them with --json: an account
(`account`), a task (`deal show|watch`, `task show`, `run --watch`) and a downloaded result
(`result download`, `run --watch`). The lines for people are in `output`."""

from __future__ import annotations

from typing import Any

from veritask.sdk import (
    AccountView,
    DownloadedResult,
    FailureRecord,
    TaskView,
    format_eth,
    format_rlc,
    to_hex,
)

__all__ = [
    "account_fields",
    "failure_record_fields",
    "result_fields",
    "results_text",
    "task_fields",
]


def account_fields(view: AccountView) -> dict[str, Any]:
    return {
        "address": view.address,
        "free_nrlc": view.free_nrlc,
        "frozen_nrlc": view.frozen_nrlc,
        "token_nrlc": view.token_nrlc,
        "gas_wei": view.gas_wei,
        "free_rlc": format_rlc(view.free_nrlc),
        "frozen_rlc": format_rlc(view.frozen_nrlc),
        "token_rlc": format_rlc(view.token_nrlc),
        "gas_eth": format_eth(view.gas_wei),
    }


def results_text(results: bytes | None) -> str:
    """A task's on-chain results: UTF-8 text, else hex; "" when it has none."""
    if results is None:
        return ""
    try:
        return results.decode("utf-8")
    except UnicodeDecodeError:
        return to_hex(results)


def task_fields(task: TaskView) -> dict[str, Any]:
    return {
        "deal_id": to_hex(task.deal_id),
        "index": task.index,
        "task_id": to_hex(task.task_id),
        "status": task.status_name,
        "contributors": [{"worker": c.worker, "status": c.status_name} for c in task.contributors],
        "winners": task.winners,
        "consensus": to_hex(task.consensus) if any(task.consensus) else None,
        "reveal_deadline": task.reveal_deadline or None,
        "result_digest": to_hex(task.result_digest) if task.result_digest else None,
        "results": results_text(task.results) or None,
        "contribution_deadline": task.contribution_deadline,
        "final_deadline": task.final_deadline,
        "claimable": task.claimable,
        "settled_failure": failure_record_fields(task.failure) if task.failure else None,
        "next": task.next_step(),
    }


def failure_record_fields(record: FailureRecord) -> dict[str, Any]:
    """A failure record a task settled with (`TaskFailed`)."""
    return {
        "kind": record.kind.name.lower(),
        "description": record.describe(),
        "exit_code": record.exit_code,
        "stderr_digest": to_hex(record.stderr_digest),
    }


def result_fields(result: DownloadedResult) -> dict[str, Any]:
    return {
        "task_id": to_hex(result.task.task_id),
        "location": f"/ipfs/{result.cid}",
        "folder": str(result.folder),
        "files": [str(path.relative_to(result.folder)) for path in result.files],
        "digest": to_hex(result.digest),
        "verified": True,
    }
