"""The scheduler's HTTP API (FastAPI): worker login, registration, heartbeat, work and
reports; a task's logs for its requester; `/health` and `/metrics`. Errors map from one
table (`refusals.ERROR_STATUS` → status + `{error, code, message}`) and never carry
tracebacks."""

import logging
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException

from veritask import __version__
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
from veritask.serving import BodyLimitMiddleware, BoundedJsonRoute

from .refusals import Refused

if TYPE_CHECKING:
    from .service import Scheduler

__all__ = ["create_app"]

log = logging.getLogger("veritask.scheduler.api")


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors()[:3]:
        where = ".".join(str(item) for item in error.get("loc", ()))
        reason = error.get("ctx", {}).get("error", "")  # why JSON could not be decoded
        parts.append(f"{where}: {error.get('msg', 'invalid')}" + (f" ({reason})" if reason else ""))
    return "; ".join(parts) + ": see /docs for this route"


def create_app(scheduler: "Scheduler") -> FastAPI:
    settings = scheduler.settings
    app = FastAPI(title="Veritask scheduler", version=__version__)
    app.router.route_class = BoundedJsonRoute
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    desk = scheduler.desk

    @app.exception_handler(Refused)
    async def _refused(_request: Request, exc: Refused) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return await _refused(request, Refused("bad_request", _validation_message(exc)))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 404:
            refusal = Refused("not_found", f"no route {request.url.path[:200]}: see /docs")
        elif exc.status_code == 405:
            refusal = Refused("method_not_allowed", f"{request.method} is not allowed here")
        elif exc.status_code == 413:
            refusal = Refused(
                "too_large",
                f"the body is over {settings.max_body_bytes} bytes: send logs' tails only",
            )
        else:
            refusal = Refused("bad_request", f"{exc.detail}: see /docs for this route")
        return await _refused(request, refusal)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        refusal = Refused("internal", "the scheduler failed: see its log; try again")
        return await _refused(request, refusal)

    def worker(authorization: Annotated[str, Header()] = "") -> str:
        if not authorization.startswith("Bearer "):
            raise Refused("bad_token", "send Authorization: Bearer <token> (log in first)")
        return desk.authenticate(authorization.removeprefix("Bearer ").strip())

    Worker = Annotated[str, Depends(worker)]

    @app.get("/health")
    def health() -> dict[str, Any]:
        return scheduler.health()

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(scheduler.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.post("/v1/workers/challenge")
    def challenge(body: ChallengeRequest) -> ChallengeResponse:
        return ChallengeResponse(challenge=desk.challenge(body.address), expires_in_s=60.0)

    @app.post("/v1/workers/login")
    def login(body: LoginRequest) -> LoginResponse:
        token = desk.login(body.address, body.challenge, body.signature)
        return LoginResponse(token=token, expires_in_s=settings.token_ttl_s)

    @app.post("/v1/workers/register")
    def register(body: Registration, address: Worker) -> RegistrationResponse:
        desk.register(address, body)
        return RegistrationResponse(
            workerpool=scheduler.workerpool,
            workerpool_owner=scheduler.account.address,
            hub=scheduler.hub.deployment.hub,
            chain_id=scheduler.hub.deployment.chain_id,
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
        scheduler.metrics.reports.labels(body.status.value).inc()
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
