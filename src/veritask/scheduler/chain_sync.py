"""Follows the hub's events from the persisted cursor and applies those of this pool's
deals and tasks; the cursor moves in the same database transaction as their effects, so a
crash or a restart neither skips nor repeats a batch (PROTOCOL.md B5).

Chain reads a batch needs (deal terms, asset fields, contribution weights, block times) are
made before the write transaction, one per new deal or per contribution, never per task.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from eth_utils.address import to_checksum_address
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from veritask.chain.follower import ChainEvent, EventBatch
from veritask.chain.hub import Hub
from veritask.chain.records import TaskFailure
from veritask.domain.ids import from_hex, task_id, to_hex
from veritask.domain.tasks import reveal_deadline

from . import transitions
from .store import CursorRow, DealRow, TaskRow

__all__ = ["ChainSync", "app_kind"]

log = logging.getLogger("veritask.scheduler.chain")


def app_kind(app_type: str, multiaddr: str) -> str:
    """ "wasm" for WASM/WASI apps (or a multiaddr ending in .wasm), else "oci"."""
    if app_type.upper() in ("WASM", "WASI") or multiaddr.lower().endswith(".wasm"):
        return "wasm"
    return "oci"


def _text(value: bytes) -> str:
    return bytes(value).rstrip(b"\0").decode("utf-8", errors="replace")


class ChainSync:
    """`run_once()` applies the next batch of events; returns how many were this pool's."""

    def __init__(
        self,
        hub: Hub,
        workerpool: str,
        sessions: sessionmaker[Session],
        lock: threading.Condition,
        *,
        from_block: int = 0,
        confirmations: int = 0,
        max_blocks: int = 2_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.hub = hub
        self.workerpool = to_checksum_address(workerpool)
        self._sessions = sessions
        self._lock = lock
        self._from_block = from_block
        self._clock = clock
        self.follower = hub.follower(confirmations=confirmations, max_blocks=max_blocks)
        self.head_block = 0

    def cursor(self) -> tuple[int, bytes | None]:
        with self._sessions() as session:
            row = session.get(CursorRow, 1)
            if row is None:
                return self._from_block, None
            parent = from_hex(row.last_block_hash) if row.last_block_hash else None
            return row.next_block, parent

    def run_once(self) -> int:
        next_block, parent = self.cursor()
        batch = self.follower.fetch(next_block, parent_hash=parent)
        self.head_block = batch.next_block - 1
        if batch.empty_range:
            return 0
        deals = self._read_new_deals(batch)
        ours = self._known_tasks(batch, deals)
        weights, block_times = self._read_task_facts(batch, ours)
        applied = 0
        now = self._clock()
        with self._lock, self._sessions.begin() as session:
            for facts in deals:
                if transitions.add_deal(session, facts, now):
                    log.info("deal %s: %d task(s)", to_hex(facts.deal_id), facts.bot_size)
                applied += 1
            session.flush()
            for event in batch.events:
                task_hex = _task_hex(event)
                if task_hex is None or task_hex not in ours:
                    continue
                applied += 1
                self._apply(session, event, task_hex, weights, block_times, ours[task_hex], now)
            cursor = session.get(CursorRow, 1)
            last_hash = to_hex(batch.last_block_hash) if batch.last_block_hash else None
            if cursor is None:
                session.add(CursorRow(id=1, next_block=batch.next_block, last_block_hash=last_hash))
            else:
                cursor.next_block = batch.next_block
                cursor.last_block_hash = last_hash
            if applied:
                self._lock.notify_all()
        return applied

    def _apply(
        self,
        session: Session,
        event: ChainEvent,
        task_hex: str,
        weights: dict[tuple[str, str], int],
        block_times: dict[int, int],
        time_ref: int,
        now: float,
    ) -> None:
        args = event.args
        if event.name == "TaskContribute":
            worker = str(args["worker"]).lower()
            transitions.apply_contribution(
                session,
                task_hex,
                worker,
                bytes(args["result_hash"]),
                weights.get((task_hex, worker), 2),
                now,
            )
        elif event.name == "TaskConsensus":
            deadline = reveal_deadline(block_times[event.block_number], time_ref)
            transitions.apply_consensus(
                session, task_hex, bytes(args["result_hash"]), deadline, now
            )
        elif event.name == "TaskReveal":
            transitions.apply_reveal(
                session, task_hex, str(args["worker"]), bytes(args["digest"]), now
            )
        elif event.name == "TaskReopen":
            transitions.apply_reopen(session, task_hex, now)
        elif event.name == "TaskFinalize":
            transitions.apply_finalize(
                session, task_hex, bytes(args["digest"]), bytes(args["results"]), now
            )
        elif event.name == "TaskFailed":
            failure = TaskFailure.of(args, event.block_number)
            transitions.apply_failed(session, task_hex, failure.record, now)
        elif event.name == "TaskClaimed":
            transitions.apply_claimed(session, task_hex, now)

    def _read_new_deals(self, batch: EventBatch) -> list[transitions.DealFacts]:
        created = {bytes(e.args["deal_id"]): e for e in batch.events if e.name == "DealCreated"}
        facts: list[transitions.DealFacts] = []
        for event in batch.events:
            if event.name != "SchedulerNotice":
                continue
            if to_checksum_address(event.args["workerpool"]) != self.workerpool:
                continue
            deal_id = bytes(event.args["deal_id"])
            with self._sessions() as session:
                if session.get(DealRow, to_hex(deal_id)) is not None:
                    continue
            creation = created.get(deal_id)
            if creation is None:  # the follower returns whole blocks: never split from it
                log.warning("deal 0x%s: no DealCreated event in its block", deal_id.hex())
                continue
            facts.append(self._deal_facts(deal_id, creation))
        return facts

    def _deal_facts(self, deal_id: bytes, creation: ChainEvent) -> transitions.DealFacts:
        terms = self.hub.deal(deal_id)
        app = str(creation.args["app"])
        app_fields = self.hub.app(app)
        dataset = str(creation.args["dataset"])
        dataset_multiaddr, dataset_checksum = "", bytes(32)
        if int(dataset, 16) != 0:
            dataset_fields = self.hub.dataset(dataset)
            dataset_multiaddr = _text(dataset_fields.multiaddr)
            dataset_checksum = dataset_fields.checksum
        multiaddr = _text(app_fields.multiaddr)
        return transitions.DealFacts(
            deal_id=deal_id,
            requester=terms.requester,
            beneficiary=str(creation.args["beneficiary"]),
            app=app,
            app_kind=app_kind(app_fields.app_type, multiaddr),
            app_multiaddr=multiaddr,
            app_checksum=app_fields.checksum,
            dataset=dataset,
            dataset_multiaddr=dataset_multiaddr,
            dataset_checksum=dataset_checksum,
            params=str(creation.args["params"]),
            tag=bytes(creation.args["tag"]),
            callback=terms.callback,
            trust=terms.trust,
            tee=terms.tee,
            category=terms.category,
            time_ref=terms.time_ref,
            start_time=terms.start_time,
            bot_first=terms.bot_first,
            bot_size=terms.bot_size,
            block_number=creation.block_number,
        )

    def _known_tasks(self, batch: EventBatch, deals: list[transitions.DealFacts]) -> dict[str, int]:
        """task id → the deal's reference time, for the batch's tasks of this pool."""

        ids = {h for e in batch.events if (h := _task_hex(e)) is not None}
        if not ids:
            return {}
        known: dict[str, int] = {}
        for facts in deals:
            for index in range(facts.bot_first, facts.bot_first + facts.bot_size):
                task_hex = to_hex(task_id(facts.deal_id, index))
                if task_hex in ids:
                    known[task_hex] = facts.time_ref
        chunk = sorted(ids - known.keys())
        with self._sessions() as session:
            for start in range(0, len(chunk), 500):
                rows = session.execute(
                    select(TaskRow.task_id, DealRow.time_ref)
                    .join(DealRow, DealRow.deal_id == TaskRow.deal_id)
                    .where(TaskRow.task_id.in_(chunk[start : start + 500]))
                ).all()
                known.update({row[0]: int(row[1]) for row in rows})
        return known

    def _read_task_facts(
        self, batch: EventBatch, ours: dict[str, int]
    ) -> tuple[dict[tuple[str, str], int], dict[int, int]]:
        weights: dict[tuple[str, str], int] = {}
        block_times: dict[int, int] = {}
        for event in batch.events:
            task_hex = _task_hex(event)
            if task_hex is None or task_hex not in ours:
                continue
            if event.name == "TaskContribute":
                worker = str(event.args["worker"])
                contribution = self.hub.contribution(from_hex(task_hex), worker)
                weights[(task_hex, worker.lower())] = contribution.weight
            elif event.name == "TaskConsensus" and event.block_number not in block_times:
                block_times[event.block_number] = self.hub.node.block_time(event.block_number)
        return weights, block_times


def _task_hex(event: ChainEvent) -> str | None:
    if event.name.startswith("Task") and "task_id" in event.args:
        return to_hex(bytes(event.args["task_id"]))
    return None
