"""Deals and their tasks as the hub and its events tell them (`Veritask.deals`): terms,
deadlines, per-task status, contributors and results, and claims after the final deadline.

Reads go to the node only; the hub keeps no list of contributors or results, so they come
from `TaskContribute`, `TaskFinalize` and `TaskFailed` logs, searched from a given block (0
by default, which suits a devnet; give a later block on a long chain).
A refused claim sends nothing.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from veritask.chain.records import Deal
from veritask.domain.failures import FailureRecord
from veritask.domain.ids import task_id, to_hex
from veritask.domain.tasks import SCHEDULER_STAKE_RATIO, ContributionStatus, TaskStatus
from veritask.errors import InvalidInput

from .receipts import TxSummary
from .session import ChainSession

__all__ = [
    "CONTRIBUTION_STATUSES",
    "MAX_CLAIM",
    "SETTLED_FAILURE",
    "TASK_STATUSES",
    "ClaimReport",
    "ContributionView",
    "DealView",
    "Deals",
    "TaskView",
    "format_duration",
    "format_time",
    "parse_deal_id",
    "parse_task_ref",
]

TASK_STATUSES = tuple(status.name for status in TaskStatus)
CONTRIBUTION_STATUSES = tuple(status.name for status in ContributionStatus)
MAX_CLAIM = 128  # the hub's bound on the tasks of one claim
# What a task that settled with a failure record cost (docs/spec.md, "Failures").
SETTLED_FAILURE = (
    "settled: the requester paid the workerpool price; app and dataset prices refunded"
)

_BYTES32 = re.compile(r"^0x[0-9a-fA-F]{64}$")
_ID_HINT = "expected 0x followed by 64 hexadecimal digits"


def parse_deal_id(text: str) -> bytes:
    """A deal id typed by someone: `0x` and 64 hex digits."""
    if not _BYTES32.match(text.strip()):
        raise InvalidInput(f"not a deal id: {text!r}; {_ID_HINT}")
    return bytes.fromhex(text.strip()[2:])


def parse_task_ref(text: str) -> tuple[bytes, int | None]:
    """`DEAL_ID:INDEX` as (deal id, index), or a task id as (task id, None)."""
    if ":" in text:
        deal_text, _, index_text = text.partition(":")
        deal = parse_deal_id(deal_text)
        if not index_text.strip().isdigit():
            raise InvalidInput(
                f"not a task index: {index_text!r} in {text!r}; write DEAL_ID:INDEX, such as 0x…:0"
            )
        return deal, int(index_text)
    if not _BYTES32.match(text.strip()):
        raise InvalidInput(f"not a task: {text!r}; write a task id or DEAL_ID:INDEX ({_ID_HINT})")
    return bytes.fromhex(text.strip()[2:]), None


def format_time(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def format_duration(seconds: int) -> str:
    """A duration for people: "2 h 13 min", "4 min 10 s", "9 s" (seconds dropped past 1 h)."""
    seconds = max(seconds, 0)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


@dataclass(frozen=True)
class ContributionView:
    worker: str
    status: ContributionStatus

    @property
    def status_name(self) -> str:
        return self.status.name


@dataclass(frozen=True)
class TaskView:
    """One task of a deal; `now` is the latest block's timestamp (chain time)."""

    deal_id: bytes
    index: int
    task_id: bytes
    status: TaskStatus
    contributors: tuple[ContributionView, ...]
    winners: int
    reveal_deadline: int  # 0 until consensus
    consensus: bytes  # the consensus result hash, low 72 bits cleared; zero before
    result_digest: bytes | None  # from TaskFinalize, when completed
    results: bytes | None  # the result pointer, when completed
    contribution_deadline: int
    final_deadline: int
    now: int
    # The failure record the task settled with (`TaskFailed`): FAILED, but paid for the
    # work, not claimed and refunded. None for every other task.
    failure: FailureRecord | None = None

    @property
    def status_name(self) -> str:
        return self.status.name

    @property
    def claimable(self) -> bool:
        return self.status < TaskStatus.COMPLETED and self.now >= self.final_deadline

    def next_step(self) -> str:
        """What happens next, in one sentence."""
        claim = f"veritask deal claim {to_hex(self.deal_id)}"
        if self.status == TaskStatus.COMPLETED:
            return "completed: the result is final"
        if self.status == TaskStatus.FAILED and self.failure is not None:
            return SETTLED_FAILURE
        if self.status == TaskStatus.FAILED:
            return "failed: claimed and refunded"
        if self.now >= self.final_deadline:
            return f"claimable now: run `{claim}`"
        later = (
            f"claimable after {format_time(self.final_deadline)} "
            f"(in {format_duration(self.final_deadline - self.now)})"
        )
        if self.status == TaskStatus.REVEALING:
            if self.now <= self.reveal_deadline:
                return f"reveal window open until {format_time(self.reveal_deadline)}"
            return f"reveal window closed: finalize or reopen it, or it is {later}"
        if self.now < self.contribution_deadline:
            waiting = (
                "waiting for a worker"
                if self.status == TaskStatus.UNSET
                else "waiting for consensus"
            )
            return f"{waiting} (contributions until {format_time(self.contribution_deadline)})"
        return f"contributions closed: {later}"


@dataclass(frozen=True)
class DealView:
    """A deal's terms (`hub.deal`), what its `DealCreated` event carries, and its tasks."""

    terms: Deal
    app: str
    dataset: str
    workerpool: str
    beneficiary: str
    tag: bytes
    params: str
    contribution_deadline: int
    final_deadline: int
    now: int
    tasks: tuple[TaskView, ...]

    @property
    def deal_id(self) -> bytes:
        return self.terms.deal_id

    @property
    def task_price_nrlc(self) -> int:
        return self.terms.task_price

    @property
    def settled(self) -> bool:
        """Whether nothing more can happen to the deal's tasks but a claim: each one is
        completed or failed, or past the final deadline."""
        return self.settled_besides(())

    def settled_besides(self, given_up: Collection[int]) -> bool:
        """`settled`, counting the tasks of indices `given_up` (tasks the workerpool's
        scheduler gave up off chain: they wait for their claim) as settled too."""
        return all(
            task.status >= TaskStatus.COMPLETED or task.claimable or task.index in given_up
            for task in self.tasks
        )


def _progress(view: DealView) -> tuple[tuple[int, int, int], ...]:
    """What `watch` compares between polls: each task's status, contributions and winners."""
    return tuple(
        (task.status, sum(c.status for c in task.contributors), task.winners) for task in view.tasks
    )


@dataclass(frozen=True)
class ClaimReport:
    deal_id: bytes
    indices: tuple[int, ...]
    refunded_nrlc: int  # to the requester, from frozen back to free
    requester: str
    tx: TxSummary
    left: int  # claimable tasks left for another claim (more than MAX_CLAIM)
    # To the requester too: the scheduler's stake of each claimed task nobody contributed to.
    compensated_nrlc: int = 0


class Deals:
    """The deal and task operations of a `Veritask` client."""

    def __init__(self, session: ChainSession, *, from_block: int = 0) -> None:
        self.session = session
        self.from_block = from_block

    def _profile_name(self) -> str:
        return self.session.profile.name

    def _terms(self, deal_id: bytes) -> Deal:
        hub = self.session.hub
        terms = hub.deal(deal_id) if hub.deal_exists(deal_id) else None
        if terms is None:
            raise InvalidInput(
                f"no deal {to_hex(deal_id)} on this chain (profile {self._profile_name()})"
            )
        return terms

    def _now(self) -> int:
        return self.session.now()

    def _tasks(self, terms: Deal, indices: Iterable[int], now: int) -> tuple[TaskView, ...]:
        hub = self.session.hub
        indices = list(indices)
        ids = [task_id(terms.deal_id, index) for index in indices]
        deadlines = terms.deadlines
        # Every read at one block: a task finalized between two reads would otherwise
        # show COMPLETED without its result.
        block = hub.head()
        span = {"from_block": self.from_block, "to_block": block}
        workers: dict[bytes, list[str]] = {}
        for contributed in hub.contributions_logged(ids, **span):
            found = workers.setdefault(contributed.task_id, [])
            if contributed.worker not in found:
                found.append(contributed.worker)
        results = {final.task_id: final for final in hub.finalizations_logged(ids, **span)}
        failures = {failed.task_id: failed.record for failed in hub.failures_logged(ids, **span)}
        views = []
        for index, task in zip(indices, ids, strict=True):
            state = hub.task(terms.deal_id, index, block)
            contributions = tuple(
                ContributionView(worker, hub.contribution(task, worker, block).status)
                for worker in sorted(workers.get(task, []), key=lambda a: int(a, 16))
            )
            final = results.get(task) if state.status == TaskStatus.COMPLETED else None
            views.append(
                TaskView(
                    deal_id=terms.deal_id,
                    index=index,
                    task_id=task,
                    status=state.status,
                    contributors=contributions,
                    winners=state.winners,
                    reveal_deadline=state.reveal_deadline,
                    consensus=state.consensus,
                    result_digest=final.digest if final else None,
                    results=final.results if final else None,
                    contribution_deadline=deadlines.contribution,
                    final_deadline=deadlines.final,
                    now=now,
                    failure=failures.get(task) if state.status == TaskStatus.FAILED else None,
                )
            )
        return tuple(views)

    def _check_index(self, terms: Deal, index: int) -> None:
        last = terms.bot_first + terms.bot_size - 1
        if not terms.bot_first <= index <= last:
            raise InvalidInput(
                f"deal {to_hex(terms.deal_id)} has tasks {terms.bot_first} to {last}: "
                f"{index} is not one of them"
            )

    def deal(self, deal_id: bytes) -> DealView:
        """A deal, its `DealCreated` event and every task of its bag."""
        terms = self._terms(deal_id)
        created = self.session.hub.deals_created(deal_id=deal_id, from_block=self.from_block)
        if not created:
            raise InvalidInput(
                f"deal {to_hex(deal_id)} exists, but its DealCreated event is not after block "
                f"{self.from_block}: search from an earlier block"
            )
        event = created[0]
        now = self._now()
        return DealView(
            terms=terms,
            app=event.app,
            dataset=event.dataset,
            workerpool=event.workerpool,
            beneficiary=event.beneficiary,
            tag=event.tag,
            params=event.params,
            contribution_deadline=terms.deadlines.contribution,
            final_deadline=terms.deadlines.final,
            now=now,
            tasks=self._tasks(terms, terms.indices, now),
        )

    def watch(
        self,
        deal_id: bytes,
        *,
        poll_s: float = 0.5,
        timeout_s: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        given_up: Callable[[DealView], Collection[int]] | None = None,
    ) -> Iterator[DealView]:
        """The deal now, then again each time one of its tasks moves (a contribution, a
        consensus, a reveal, a result, a failure), until the deal is `settled` or
        `timeout_s` passed. The caller tells a timeout from the end by `settled`.

        `given_up`, asked after every read of the chain, names the tasks (by index) that an
        off-chain party gave up, such as the workerpool's scheduler when the app failed
        (`veritask.sdk.task_logs.SchedulerWatch`): they count as settled, and a change of
        that set is a move. This method itself only reads the chain."""

        def dropped(view: DealView) -> frozenset[int]:
            return frozenset(given_up(view)) if given_up is not None else frozenset()

        view = self.deal(deal_id)
        gone = dropped(view)
        yield view
        bag = view.terms.indices
        started = clock()
        while not view.settled_besides(gone):
            if timeout_s is not None and clock() - started >= timeout_s:
                return
            sleep(poll_s)
            now = self._now()
            latest = replace(view, now=now, tasks=self._tasks(view.terms, bag, now))
            latest_gone = dropped(latest)
            moved = (
                _progress(latest) != _progress(view)
                or latest_gone != gone
                or latest.settled_besides(latest_gone)
            )
            view, gone = latest, latest_gone
            if moved:
                yield view

    def resolve(self, ref: str) -> tuple[bytes, int]:
        """(deal id, index) of `DEAL_ID:INDEX`, or of a task id found among the deals
        created since `from_block`."""
        first, index = parse_task_ref(ref)
        if index is not None:
            self._check_index(self._terms(first), index)
            return first, index
        hub = self.session.hub
        for created in hub.deals_created(from_block=self.from_block):
            terms = hub.deal(created.deal_id)
            for candidate in terms.indices:
                if task_id(created.deal_id, candidate) == first:
                    return created.deal_id, candidate
        raise InvalidInput(
            f"no task {to_hex(first)} in the deals of this chain since block {self.from_block} "
            f"(profile {self._profile_name()}): give it as DEAL_ID:INDEX"
        )

    def task(self, ref: str) -> TaskView:
        """Task `DEAL_ID:INDEX`, or a task id (see `resolve`)."""
        deal_id, index = self.resolve(ref)
        terms = self._terms(deal_id)
        return self._tasks(terms, [index], self._now())[0]

    def check_claimable(self, deal_id: bytes) -> Deal:
        """The deal's terms if its final deadline has passed (chain time), else an
        `InvalidInput` saying when it will have."""
        terms = self._terms(deal_id)
        final_deadline = terms.deadlines.final
        now = self._now()
        if now < final_deadline:
            raise InvalidInput(
                f"final deadline not reached: claimable in {format_duration(final_deadline - now)}"
                f", at {format_time(final_deadline)}"
            )
        return terms

    def claim(self, deal_id: bytes, indices: Sequence[int] | None = None) -> ClaimReport:
        """Fails and refunds, in one transaction, the unfinished tasks `indices` of a deal
        past its final deadline (default: every unfinished task, at most MAX_CLAIM)."""
        terms = self.check_claimable(deal_id)
        sender = self.session.require_signer("claim")
        for index in indices or ():
            self._check_index(terms, index)
        now = self._now()
        wanted = sorted(set(indices)) if indices else terms.indices
        tasks = self._tasks(terms, wanted, now)
        final = [t for t in tasks if t.status >= TaskStatus.COMPLETED]
        if indices and final:
            names = ", ".join(f"{t.index} ({t.status_name})" for t in final)
            raise InvalidInput(f"nothing to claim for task {names}: it is already final")
        open_tasks = [t for t in tasks if t.status < TaskStatus.COMPLETED]
        if not open_tasks:
            raise InvalidInput(
                f"nothing to claim: every task of deal {to_hex(deal_id)} is already final "
                "(completed or claimed)"
            )
        batch = open_tasks[:MAX_CLAIM]
        contributors = [c.worker for t in batch for c in t.contributors]
        receipt = self.session.hub.claim(sender, deal_id, [t.index for t in batch], contributors)
        count = len(batch)
        untouched = sum(t.status == TaskStatus.UNSET for t in batch)
        return ClaimReport(
            deal_id=deal_id,
            indices=tuple(t.index for t in batch),
            refunded_nrlc=count * terms.task_price,
            requester=terms.requester,
            tx=TxSummary.of(receipt),
            left=len(open_tasks) - count,
            compensated_nrlc=untouched * terms.workerpool_price * SCHEDULER_STAKE_RATIO // 100,
        )
