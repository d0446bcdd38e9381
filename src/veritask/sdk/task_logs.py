"""Tasks as their workerpool's scheduler sees them, for requesters: the task's state and
failure, each replicate's status, exit code and app logs (`TaskLogsReader`), and
`SchedulerWatch`, which tells `Deals.watch` the tasks the scheduler gave up, so that a watch
ends as soon as an app fails instead of at the final deadline.

The scheduler is the profile's `scheduler_url`; every request is signed (EIP-191) by the
client's signer, who must be the deal's requester or beneficiary. The chain stays the source
of truth: the scheduler's word only explains why a task will not complete.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType

from veritask.domain.ids import task_id, to_hex
from veritask.domain.tasks import TaskStatus
from veritask.errors import InvalidInput, SchedulerApiError, TaskLogsRefused

from .client import Veritask
from .deals import Deals, DealView
from .scheduler_api import (
    ReplicateLog,
    ReplicateStatus,
    SchedulerClient,
    TaskLogs,
)

__all__ = [
    "GIVEN_UP",
    "SchedulerWatch",
    "TaskLogsReader",
    "failing_replicate",
    "tail",
]

GIVEN_UP = frozenset({"failed", "claimed"})  # the scheduler's states of a task it gave up
_REFUSALS = (401, 403, 404)
_FAILURE_STATUSES = frozenset(status.value for status in ReplicateStatus if status.failure)


def tail(text: str, lines: int = 10) -> str:
    """The last `lines` lines of `text`."""
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


def failing_replicate(logs: TaskLogs) -> ReplicateLog | None:
    """The replicate that tells why a task failed: the last one that failed through the
    app's fault, else the last failure, else the last replicate (None without any)."""
    failures = [r for r in logs.replicates if r.status in _FAILURE_STATUSES]
    app_faults = [r for r in failures if r.status.startswith("app_")]
    for candidates in (app_faults, failures, list(logs.replicates)):
        if candidates:
            return candidates[-1]
    return None


class TaskLogsReader:
    """Reads tasks' logs from the profile's scheduler, signed by the client's signer."""

    def __init__(self, client: Veritask, *, deals: Deals | None = None) -> None:
        self.client = client
        self.deals = deals or client.deals()
        self._scheduler: SchedulerClient | None = None

    @property
    def scheduler_url(self) -> str:
        url = self.client.profile.scheduler_url
        if not url:
            raise InvalidInput(
                f"profile {self.client.profile.name!r} has no scheduler_url: set "
                "scheduler_url in veritask.toml, VERITASK_SCHEDULER_URL or --scheduler-url "
                "(the scheduler of the workerpool that runs the task)"
            )
        return url

    def _client(self) -> SchedulerClient:
        if self._scheduler is None:
            self._scheduler = SchedulerClient(self.scheduler_url, timeout_s=self.client.timeout_s)
        return self._scheduler

    def close(self) -> None:
        if self._scheduler is not None:
            self._scheduler.close()
            self._scheduler = None

    def __enter__(self) -> TaskLogsReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def task(self, ref: str) -> TaskLogs:
        """The logs of task `ref`: `DEAL_ID:INDEX` or a task id (see `Deals.resolve`)."""
        deal_id, index = self.deals.resolve(ref)
        return self.logs(task_id(deal_id, index))

    def logs(self, task: bytes) -> TaskLogs:
        """The scheduler's view of task `task` (its id). `TaskLogsRefused` when the
        scheduler refuses (its reason in one line), `SchedulerApiError` when it fails or
        does not answer."""
        signer = self.client.session.require_signer("read a task's logs")
        task_hex = to_hex(task)
        try:
            return self._client().task_logs(task_hex, signer)
        except SchedulerApiError as exc:
            if exc.status not in _REFUSALS:
                raise
            # The client's message is "scheduler refused GET … (403): <the reason>".
            reason = str(exc).partition("): ")[2] or str(exc)
            if exc.status == 404:
                reason += (
                    ": the task is not of this scheduler's workerpool, or its deal is too new "
                    "for the scheduler (try again in a few seconds)"
                )
            raise TaskLogsRefused(
                f"the scheduler {self.scheduler_url} refused the logs of task {task_hex} to "
                f"{signer.address}: {reason}",
                status=exc.status,
                code=exc.code,
            ) from exc


class SchedulerWatch:
    """For `Deals.watch(given_up=...)`: asks the scheduler, at most every `poll_s` and about
    at most `max_tasks` tasks each time (the least recently asked first), for the tasks of
    the deal that are still open on chain, and names those it gave up (failed or claimed).

    `logs` keeps its latest answer per task index. A task it does not know yet (its deal is
    too new) is asked again later. A refusal (wrong wallet, clock) stops the questions; a
    scheduler that fails or does not answer is asked again at the next poll. Both are told
    once to `on_problem`, and the watch goes on with the chain alone."""

    def __init__(
        self,
        reader: TaskLogsReader,
        *,
        poll_s: float = 1.0,
        max_tasks: int = 16,
        clock: Callable[[], float] = time.monotonic,
        on_problem: Callable[[SchedulerApiError], None] | None = None,
    ) -> None:
        self.reader = reader
        self.poll_s = poll_s
        self.max_tasks = max_tasks
        self.clock = clock
        self.on_problem = on_problem
        self.logs: dict[int, TaskLogs] = {}
        self.problem: SchedulerApiError | None = None
        self.stopped = False
        self._asked_at: dict[int, float] = {}
        self._last_poll_at: float | None = None

    @property
    def given_up(self) -> frozenset[int]:
        return frozenset(index for index, logs in self.logs.items() if logs.status in GIVEN_UP)

    def failures(self, view: DealView) -> dict[int, TaskLogs]:
        """The tasks of `view` that the scheduler gave up and the chain has not completed."""
        gone = self.given_up
        return {
            task.index: self.logs[task.index]
            for task in view.tasks
            if task.index in gone and task.status != TaskStatus.COMPLETED
        }

    def __call__(self, view: DealView) -> frozenset[int]:
        now = self.clock()
        if self.stopped or (
            self._last_poll_at is not None and now - self._last_poll_at < self.poll_s
        ):
            return self.given_up
        self._last_poll_at = now
        gone = self.given_up
        open_tasks = [
            task
            for task in view.tasks
            if task.status < TaskStatus.COMPLETED and not task.claimable and task.index not in gone
        ]
        open_tasks.sort(key=lambda task: self._asked_at.get(task.index, -1.0))
        for task in open_tasks[: self.max_tasks]:
            self._asked_at[task.index] = now
            try:
                self.logs[task.index] = self.reader.logs(task.task_id)
            except SchedulerApiError as exc:
                if exc.status == 404:
                    continue
                self._report(exc)
                if isinstance(exc, TaskLogsRefused):
                    self.stopped = True
                break
        return self.given_up

    def _report(self, exc: SchedulerApiError) -> None:
        first = self.problem is None
        self.problem = exc
        if first and self.on_problem is not None:
            self.on_problem(exc)
