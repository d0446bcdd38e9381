"""The one vocabulary of refusals of every service: `REFUSAL_STATUS` (code → HTTP status),
the JSON envelope `{"error": code, "message": what to do}`, and `install_refusals(app)`,
which answers in it every error an app meets: a `Refusal`, a request that fails
validation, an unknown route or method, a body over the limit, and any unexpected
exception (500, logged, never with a traceback or an exception's text)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from veritask.errors import Refusal

__all__ = ["REFUSAL_STATUS", "install_refusals", "refusal_body", "validation_message"]

# One code means one situation and one status in every service; a service uses the codes
# it needs. The clients (`veritask.sdk`) read `error` back as `ServiceError.code`.
REFUSAL_STATUS: Final[Mapping[str, int]] = MappingProxyType(
    {
        # every service
        "bad_request": 400,  # malformed JSON, a missing, extra or invalid field or header
        "not_found": 404,  # no such route (storage: no blob with this CID)
        "method_not_allowed": 405,  # the route does not take this method
        "too_large": 413,  # the body is over the service's limit
        "internal": 500,  # a bug: see the service's log
        "unavailable": 503,  # a backend (disk, IPFS node) does not answer
        # signed requests (scheduler, storage)
        "bad_signature": 401,  # the signature does not recover to the address
        "stale_timestamp": 401,  # the signed timestamp is too far from the service's clock
        # scheduler
        "bad_address": 400,  # the challenge's address is not an address
        "bad_report": 400,  # a status report the scheduler cannot store or send on chain
        "bad_token": 401,  # missing, invalid or expired bearer token: log in again
        "bad_challenge": 401,  # unknown, used or expired login challenge
        "not_requester": 403,  # only the deal's requester or beneficiary reads task logs
        "unknown_task": 404,
        "unknown_replicate": 404,  # the worker holds no replicate of this task
        "not_registered": 409,  # register before asking for work
        "not_a_member": 403,  # the worker is not on the pool's allow-list: ask its owner
        "below_floor": 403,  # an open pool's floor (free balance, score) is not reached
        # storage
        "bad_cid": 400,  # the path holds no CIDv1 raw sha2-256 base32
        "missing_auth": 401,  # an X-Veritask-* upload header is missing
        "bad_auth": 401,  # an upload header is malformed
        "forbidden": 403,  # the address is not on the allow-list
        "quota_exceeded": 413,  # the signer's stored bytes would go over its quota
        "too_many_uploads": 429,  # the signer has no upload left in its window: wait
        "corrupted": 500,  # the stored bytes do not hash to their CID; never served
        "storage_full": 507,  # the shared cap or the free disk floor is reached
        # market
        "invalid_query": 400,  # a query parameter or path value is not valid
        "malformed_order": 422,  # the body is not a well-formed order
        "bad_order_signature": 422,  # the order's signature is not valid for its owner
        "unknown_asset": 422,  # the order's asset is not registered on this hub
        "insufficient_balance": 422,  # the requester's free balance cannot pay one task
        "insufficient_stake": 422,  # the workerpool owner cannot lock the scheduler stake
        "not_owner": 403,  # the order is signed by someone who does not own its asset
        "order_not_found": 404,  # no order with this hash is known
        "duplicate_order": 409,  # the order is already in the book
        "order_not_open": 409,  # the order is no longer in the book
        "order_consumed": 410,  # the order has no volume left: used by deals or cancelled
        "too_many_orders": 429,  # the signer has too many open orders
        "too_many_streams": 503,  # the market serves as many live streams as it can
        "chain_unavailable": 503,  # the market or scheduler cannot read the chain now
    }
)

_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
_PATH_CHARS = 200  # of a request path quoted back in a message


def refusal_body(code: str, message: str) -> dict[str, str]:
    """The JSON envelope of a refusal."""
    return {"error": code, "message": message}


def validation_message(exc: RequestValidationError) -> str:
    """What is wrong with a request, from its first three validation errors."""
    parts = []
    for error in exc.errors()[:3]:
        where = ".".join(str(item) for item in error.get("loc", ()) if item != "body")
        reason = error.get("ctx", {}).get("error", "")  # why JSON could not be decoded
        message = f"{where or 'body'}: {error.get('msg', 'invalid')}"
        parts.append(f"{message} ({reason})" if reason else message)
    return "; ".join(parts) + ": see /docs for this route"


def install_refusals(
    app: FastAPI,
    *,
    service: str,
    bad_body: str = "bad_request",
    bad_query: str = "bad_request",
    too_large_advice: str = "",
    translate: Mapping[type[Exception], Callable[[Exception], Refusal]] | None = None,
    on_refusal: Callable[[str], None] | None = None,
) -> None:
    """Answers every error of `app` (the `service` named in messages and logs) with the
    envelope and the status of its code. An invalid body is refused with `bad_body`, an
    invalid query, path or header with `bad_query`; `too_large_advice` follows the 413
    message; `translate` turns a service's own exceptions into refusals; `on_refusal`
    sees the code of every refusal (not of unexpected errors), for metrics."""
    log = logging.getLogger(f"veritask.{service}")

    def respond(request: Request, refusal: Refusal) -> JSONResponse:
        code = refusal.code
        if code not in REFUSAL_STATUS:  # a bug: the vocabulary is closed
            log.error("%s %s: unknown refusal code %r", request.method, request.url.path, code)
            return unexpected(request, refusal)
        status = REFUSAL_STATUS[code]
        if status >= 500:
            log.warning("%s %s: %s (%s)", request.method, request.url.path, code, refusal)
        if on_refusal is not None:
            on_refusal(code)
        return JSONResponse(refusal_body(code, refusal.message), status_code=status)

    def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        message = f"the {service} failed: see its log; try again"
        return JSONResponse(refusal_body("internal", message), status_code=500)

    async def refused(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Refusal)
        return respond(request, exc)

    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        in_body = any(error.get("loc", ("",))[0] == "body" for error in exc.errors())
        return respond(
            request, Refusal(bad_body if in_body else bad_query, validation_message(exc))
        )

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        path = request.url.path[:_PATH_CHARS]
        if exc.status_code == 404:
            refusal = Refusal("not_found", f"no route {path}: see /docs for the routes")
        elif exc.status_code == 405:
            refusal = Refusal("method_not_allowed", f"{request.method} is not allowed on {path}")
        elif exc.status_code == 413:
            advice = f": {too_large_advice}" if too_large_advice else ""
            refusal = Refusal("too_large", f"{exc.detail}{advice}")
        else:  # the body or a parameter could not be read
            code = bad_body if request.method in _WITH_BODY else bad_query
            refusal = Refusal(code, f"{exc.detail}: see /docs for this route")
        return respond(request, refusal)

    async def failed(request: Request, exc: Exception) -> JSONResponse:
        return unexpected(request, exc)

    for kind, to_refusal in (translate or {}).items():

        async def translated(
            request: Request,
            exc: Exception,
            to_refusal: Callable[[Exception], Refusal] = to_refusal,
        ) -> JSONResponse:
            return respond(request, to_refusal(exc))

        app.add_exception_handler(kind, translated)
    app.add_exception_handler(Refusal, refused)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, failed)
