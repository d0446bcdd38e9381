"""`SchedulerWatch` without a chain or a scheduler: it asks about open tasks only, at most
every `poll_s`, the least recently asked first; it names the tasks the scheduler gave up;
a task the scheduler does not know yet is asked again, a refusal stops the questions, a
scheduler that does not answer is told once and asked again. And `failing_replicate`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from veritask.errors import SchedulerApiError, TaskLogsRefused
from veritask.sdk import TaskStatus
from veritask.sdk.deals import DealView, TaskView
from veritask.sdk.scheduler_api import ReplicateLog, TaskLogs
from veritask.sdk.task_logs import (
    SchedulerWatch,
    TaskLogsReader,
    failing_replicate,
    tail,
)


def _task(index: int, status: int = TaskStatus.ACTIVE, *, now: int = 0) -> TaskView:
    return TaskView(
        deal_id=b"\1" * 32,
        index=index,
        task_id=bytes([index]) * 32,
        status=status,
        contributors=(),
        winners=0,
        reveal_deadline=0,
        consensus=b"\0" * 32,
        result_digest=None,
        results=None,
        contribution_deadline=700,
        final_deadline=1_000,
        now=now,
    )


@dataclass
class _View:
    tasks: tuple[TaskView, ...]


def _view(*tasks: TaskView) -> DealView:
    return cast(DealView, _View(tasks))


def _logs(index: int, status: str, *replicates: ReplicateLog) -> TaskLogs:
    return TaskLogs(
        task_id="0x" + (bytes([index]) * 32).hex(),
        deal_id="0x" + "01" * 32,
        index=index,
        status=status,
        replicates=replicates,
    )


def _replicate(status: str, exit_code: int | None = None) -> ReplicateLog:
    return ReplicateLog(
        worker="0x" + "aa" * 20,
        status=status,
        exit_code=exit_code,
        stdout="",
        stderr="",
        detail="",
        updated_at=0.0,
    )


@dataclass
class _Reader:
    """Answers from `answers` by task index: a TaskLogs, or an error to raise."""

    answers: dict[int, Any]
    asked: list[int] = field(default_factory=list)

    def logs(self, task: bytes) -> TaskLogs:
        index = task[0]
        self.asked.append(index)
        answer = self.answers[index]
        if isinstance(answer, Exception):
            raise answer
        return cast(TaskLogs, answer)


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _watch(reader: _Reader, clock: _Clock, **kwargs: Any) -> SchedulerWatch:
    return SchedulerWatch(cast(TaskLogsReader, reader), clock=clock, **kwargs)


def test_scheduler_watch__failed_task__given_up_and_not_asked_again() -> None:
    reader = _Reader({0: _logs(0, "running"), 1: _logs(1, "failed")})
    clock = _Clock()
    watch = _watch(reader, clock)
    view = _view(_task(0), _task(1), _task(2, TaskStatus.COMPLETED), _task(3, now=1_000))

    reader.answers[2] = reader.answers[3] = AssertionError("a settled task is not asked")
    assert watch(view) == {1}
    assert reader.asked == [0, 1]
    assert watch.failures(view) == {1: reader.answers[1]}
    clock.now = 0.5
    assert watch(view) == {1}
    assert reader.asked == [0, 1]  # not before poll_s
    clock.now = 1.0
    watch(view)
    assert reader.asked == [0, 1, 0]  # the failed task is not asked again


def test_scheduler_watch__many_tasks__least_recently_asked_first() -> None:
    reader = _Reader({index: _logs(index, "pending") for index in range(5)})
    clock = _Clock()
    watch = _watch(reader, clock, max_tasks=2)
    view = _view(*(_task(index) for index in range(5)))
    for second in range(3):
        clock.now = float(second)
        watch(view)
    assert reader.asked == [0, 1, 2, 3, 4, 0]


def test_scheduler_watch__unknown_task__asked_again_without_a_problem() -> None:
    unknown = TaskLogsRefused("no task", status=404, code="unknown_task")
    reader = _Reader({0: unknown})
    clock = _Clock()
    problems: list[SchedulerApiError] = []
    watch = _watch(reader, clock, on_problem=problems.append)
    watch(_view(_task(0)))
    clock.now = 1.0
    reader.answers[0] = _logs(0, "failed")
    assert watch(_view(_task(0))) == {0}
    assert problems == []


def test_scheduler_watch__refused__told_once_and_stops_asking() -> None:
    refused = TaskLogsRefused("only the requester may read the logs", status=403)
    reader = _Reader({0: refused, 1: refused})
    clock = _Clock()
    problems: list[SchedulerApiError] = []
    watch = _watch(reader, clock, on_problem=problems.append)
    for second in range(3):
        clock.now = float(second)
        assert watch(_view(_task(0), _task(1))) == frozenset()
    assert reader.asked == [0]
    assert problems == [refused]


def test_scheduler_watch__scheduler_down__told_once_and_asked_again() -> None:
    down = SchedulerApiError("scheduler http://x did not answer")
    reader = _Reader({0: down})
    clock = _Clock()
    problems: list[SchedulerApiError] = []
    watch = _watch(reader, clock, on_problem=problems.append)
    for second in range(3):
        clock.now = float(second)
        watch(_view(_task(0)))
    assert reader.asked == [0, 0, 0]
    assert problems == [down]


def test_failing_replicate__app_fault_first_then_any_failure_then_last() -> None:
    app = _replicate("app_failed", 3)
    lost = _replicate("fetch_failed")
    assert failing_replicate(_logs(0, "failed", app, lost)) == app
    assert failing_replicate(_logs(0, "failed", lost, _replicate("computed"))) == lost
    done = _replicate("completed", 0)
    assert failing_replicate(_logs(0, "completed", done)) == done
    assert failing_replicate(_logs(0, "pending")) is None


def test_tail__last_lines() -> None:
    assert tail("a\nb\nc\n", 2) == "b\nc"
    assert tail("", 3) == ""
