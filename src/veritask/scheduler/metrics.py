"""The scheduler's Prometheus metrics, in a registry of its own (no process-wide
singleton): counters its parts increment, and gauges of tasks and workers read from the
database when scraped (`refresh`)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from .store import TaskRow, WorkerRow

__all__ = ["Metrics"]


class Metrics:
    """Prometheus metrics of one scheduler, in its own registry."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.registry = CollectorRegistry()
        self.assignments = Counter(
            "veritask_scheduler_assignments", "replicates assigned", registry=self.registry
        )
        self.reports = Counter(
            "veritask_scheduler_reports", "worker reports", ["status"], registry=self.registry
        )
        self.transactions = Counter(
            "veritask_scheduler_transactions",
            "transactions sent",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.upload_checks = Counter(
            "veritask_scheduler_upload_checks",
            "uploads checked, by outcome (accepted, refused, unchecked)",
            ["outcome"],
            registry=self.registry,
        )
        tasks = Gauge(
            "veritask_scheduler_tasks", "tasks by state", ["state"], registry=self.registry
        )
        workers = Gauge("veritask_scheduler_workers", "workers alive", registry=self.registry)
        self.head = Gauge("veritask_scheduler_block", "last block followed", registry=self.registry)

        def counts() -> None:
            with sessions() as session:
                rows = session.execute(
                    select(TaskRow.state, func.count()).group_by(TaskRow.state)
                ).all()
                alive = session.execute(
                    select(func.count()).select_from(WorkerRow).where(WorkerRow.lost.is_(False))
                ).scalar_one()
            for state, count in rows:
                tasks.labels(state).set(count)
            workers.set(alive)

        self.refresh = counts
