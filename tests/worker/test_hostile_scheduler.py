"""A hostile or broken scheduler cannot make the worker touch a path of its choice (audit
M4): an assignment's ids are validated where it enters the worker (a task id must be the
keccak of its deal id and index), and the worker's own files are named only by well-formed
task ids. The scheduler here is a real HTTP server on loopback that answers what an
attacker would."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from veritask.domain.ids import task_id, to_hex
from veritask.errors import InvalidInput, SchedulerApiError
from veritask.sdk.scheduler_api import Assignment, SchedulerClient, WorkKind
from veritask.serving import serve_app_in_thread
from veritask.worker.journal import Journal

DEAL = bytes.fromhex("ab" * 32)
GOOD_TASK = to_hex(task_id(DEAL, 0))


def _assignment(**fields: Any) -> dict[str, Any]:
    return {"kind": "abort", "task_id": GOOD_TASK, "deal_id": to_hex(DEAL), "index": 0} | fields


@pytest.fixture
def hostile(tmp_path: Path) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A scheduler answering GET /v1/work with whatever the test queues."""
    answers: list[dict[str, Any]] = []
    app = FastAPI()

    @app.get("/v1/work")
    def work() -> dict[str, Any]:
        return answers.pop(0)

    server = serve_app_in_thread(app, name="hostile-scheduler")
    try:
        yield server.url, answers
    finally:
        server.stop()


@pytest.mark.parametrize(
    "task",
    [
        "/tmp/victim",  # an absolute path: shutil.rmtree(work_dir / "tasks" / task) is it
        "../../victim",
        "0x" + "00" * 32,  # well formed, but not this deal's task 0
        "0x" + "zz" * 32,
    ],
)
def test_ask_for_work__task_id_not_of_the_deal__refused_naming_the_field(
    hostile: tuple[str, list[dict[str, Any]]], task: str
) -> None:
    url, answers = hostile
    answers.append(_assignment(task_id=task))
    with SchedulerClient(url) as client, pytest.raises(SchedulerApiError) as refused:
        client.ask_for_work()
    assert "invalid assignment" in str(refused.value)
    assert "task_id" in str(refused.value)


def test_ask_for_work__well_formed_assignment__accepted(
    hostile: tuple[str, list[dict[str, Any]]],
) -> None:
    url, answers = hostile
    answers.append(_assignment())
    with SchedulerClient(url) as client:
        work = client.ask_for_work()
    assert work is not None
    assert (work.kind, work.task_id) == (WorkKind.ABORT, GOOD_TASK)


def test_journal__path_like_task_id__refused_and_nothing_touched(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep").write_text("mine")
    journal = Journal(tmp_path / "worker")
    for task in (str(victim), "../victim", "../../victim.json"):
        with pytest.raises(InvalidInput, match="not a task id"):
            journal.drop(task)
        with pytest.raises(InvalidInput, match="not a task id"):
            journal.archive_path(task)
    assert (victim / "keep").read_text() == "mine"


def test_assignment__index_out_of_range__refused() -> None:
    with pytest.raises(ValueError, match="index"):
        Assignment.model_validate(_assignment(index=-1))
