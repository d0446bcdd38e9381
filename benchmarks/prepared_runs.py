"""What the devnet benchmarks share: a requester's run prepared through the SDK, so that
only the one `matchOrders` of `submit` is timed."""

from __future__ import annotations

from typing import cast

from veritask.devnet.stack import Stack
from veritask.domain.orders import AppOrder
from veritask.domain.signing import sign_order
from veritask.sdk import RunPlan, RunRequest, Runs, Veritask, random_salt

__all__ = ["prepared_run"]


def prepared_run(stack: Stack, app: str, tasks: int) -> tuple[Runs, RunPlan]:
    """The requester's run of `tasks` trust-1 tasks through the SDK, prepared (orders
    checked on chain, nothing sent), so that only `submit` (the one matchOrders) is timed.
    The offers are passed as order files are (`veritask run --app-order --workerpool-order`):
    the app developer's free order, built here with `veritask.domain`, and the stack's
    workerpool order. No market: it would run in this process, beside the scheduler."""
    developer = stack.accounts["app developer"]
    app_order = AppOrder(app, 0, tasks, salt=random_salt())
    signed = cast(AppOrder, sign_order(app_order, stack.protocol.domain, developer.key))
    profile = stack.profile("benchmark")
    runs = Veritask(profile, stack.accounts["requester"]).runs
    request = RunRequest(
        app=app,
        volume=tasks,
        trust=1,
        app_order=signed,
        workerpool_order=stack.workerpool_order,
    )
    return runs, runs.prepare(request)
