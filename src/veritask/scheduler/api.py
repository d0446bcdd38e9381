"""The scheduler's HTTP API (FastAPI): worker login, registration, heartbeat, work and
reports; a task's logs for its requester; `/health` and `/metrics`. Every refusal is
`{"error": code, "message": ...}` (`veritask.serving.install_refusals`), never a traceback."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from veritask import __version__
from veritask.errors import Refusal
from veritask.sdk.scheduler_api import (
    ADDRESS_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Assignment,
    ChallengeRequest,
    ChallengeResponse,
    HeartbeatResponse,
    LoginRequest,
    LoginResponse,
    Registration,
    RegistrationResponse,
    StatusAck,
    StatusReport,
    TaskLogs,
)
from veritask.serving import BodyLimitMiddleware, BoundedJsonRoute, install_refusals

from .desk import WorkerDesk
from .metrics import Metrics
from .settings import SchedulerSettings

__all__ = ["PoolIdentity", "create_app"]


@dataclass(frozen=True)
class PoolIdentity:
    """Who this scheduler is, as a registration answers it: the workerpool, its owner (the
    scheduler's key), the hub and the chain id."""

    workerpool: str
    owner: str
    hub: str
    chain_id: int


def create_app(
    settings: SchedulerSettings,
    *,
    desk: WorkerDesk,
    pool: PoolIdentity,
    health: Callable[[], dict[str, Any]],
    metrics: Metrics,
) -> FastAPI:
    """The scheduler's ASGI app over `desk` (logins, work, reports, logs); `health` answers
    /health and `metrics` feeds /metrics and counts reports. It knows nothing of the chain
    loop, which `service.Scheduler` composes beside it."""
    app = FastAPI(title="Veritask scheduler", version=__version__)
    app.router.route_class = BoundedJsonRoute
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)

    install_refusals(app, service="scheduler", too_large_advice="send the tails of logs only")

    def worker(authorization: Annotated[str, Header()] = "") -> str:
        if not authorization.startswith("Bearer "):
            raise Refusal("bad_token", "send Authorization: Bearer <token> (log in first)")
        return desk.authenticate(authorization.removeprefix("Bearer ").strip())

    Worker = Annotated[str, Depends(worker)]

    @app.get("/health")
    def health_route() -> dict[str, Any]:
        return health()

    @app.get("/metrics")
    def metrics_route() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.post("/v1/workers/challenge")
    def challenge(body: ChallengeRequest) -> ChallengeResponse:
        return ChallengeResponse(
            challenge=desk.challenge(body.address),
            expires_in_s=60.0,
            scheduler=pool.owner,
        )

    @app.post("/v1/workers/login")
    def login(body: LoginRequest, request: Request) -> LoginResponse:
        # The domain the worker signed must be the one it reached: this scheduler's.
        domain = request.headers.get("host", "")
        token = desk.login(body.address, body.challenge, body.signature, domain=domain)
        return LoginResponse(token=token, expires_in_s=settings.token_ttl_s)

    @app.post("/v1/workers/register")
    def register(body: Registration, address: Worker) -> RegistrationResponse:
        desk.register(address, body)
        return RegistrationResponse(
            workerpool=pool.workerpool,
            workerpool_owner=pool.owner,
            hub=pool.hub,
            chain_id=pool.chain_id,
            heartbeat_s=settings.heartbeat_s,
            lost_after_s=settings.lost_after_s,
        )

    @app.post("/v1/workers/heartbeat")
    def heartbeat(address: Worker) -> HeartbeatResponse:
        desk.heartbeat(address)
        return HeartbeatResponse()

    @app.get("/v1/work", response_model=None)
    async def work(address: Worker, wait_s: Annotated[float, Query(ge=0)] = 0.0) -> Any:
        assignment: Assignment | None = await desk.wait_for_work(address, wait_s)
        if assignment is None:
            return Response(status_code=204)
        return assignment

    @app.post("/v1/tasks/{task_id}/status")
    def status(task_id: str, body: StatusReport, address: Worker) -> StatusAck:
        desk.report(address, task_id, body)
        metrics.reports.labels(body.status.value).inc()
        return StatusAck()

    @app.get("/v1/tasks/{task_id}/logs")
    def logs(
        task_id: str,
        address: Annotated[str, Header(alias=ADDRESS_HEADER)],
        timestamp: Annotated[int, Header(alias=TIMESTAMP_HEADER)],
        signature: Annotated[str, Header(alias=SIGNATURE_HEADER)],
    ) -> TaskLogs:
        return desk.task_logs(task_id, address, timestamp, signature)

    return app
