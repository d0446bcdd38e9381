"""The one table from the storage service's error codes to HTTP statuses, and the JSON
shape of every refusal: `{"error": "<code>", "message": "<what to do>"}`. No traceback or
exception text of a foreign library ever reaches a response."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from veritask.errors import InvalidInput, StorageError

__all__ = ["ERROR_STATUS", "install_error_handlers", "refusal"]

logger = logging.getLogger("veritask.storage")

ERROR_STATUS: dict[str, int] = {
    "bad_cid": 400,  # the path holds no CIDv1 raw sha2-256 base32
    "bad_request": 400,  # a malformed request otherwise
    "missing_auth": 401,  # an X-Veritask-* upload header is missing
    "bad_auth": 401,  # an upload header is malformed
    "stale_timestamp": 401,  # the signed timestamp is more than max_clock_skew_s away
    "bad_signature": 401,  # the signature is not by the address over this body
    "forbidden": 403,  # the address is not on the allow-list
    "not_found": 404,  # no blob with this CID, or no such route
    "method_not_allowed": 405,
    "too_large": 413,  # the body is over max_upload_bytes (or the backend's limit)
    "corrupted": 500,  # the stored bytes do not hash to their CID; never served
    "internal": 500,  # a bug: see the service's log
    "unavailable": 503,  # the backend (disk, IPFS node) does not answer
}


def refusal(code: str, message: str) -> JSONResponse:
    """The JSON response for error `code` (must be in ERROR_STATUS)."""
    return JSONResponse({"error": code, "message": message}, status_code=ERROR_STATUS[code])


def install_error_handlers(app: FastAPI) -> None:
    """Maps StorageError, InvalidInput, HTTP and unexpected errors through ERROR_STATUS."""

    async def storage_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StorageError)
        code = exc.code if exc.code in ERROR_STATUS else "internal"
        if ERROR_STATUS[code] >= 500:
            logger.warning("%s %s: %s (%s)", request.method, request.url.path, code, exc)
        return refusal(code, str(exc))

    async def invalid_input(request: Request, exc: Exception) -> JSONResponse:
        return refusal("bad_request", str(exc))

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            return refusal("not_found", f"no route {request.url.path}: see /docs")
        if exc.status_code == 405:
            return refusal("method_not_allowed", f"{request.method} is not allowed here")
        return refusal("bad_request", str(exc.detail))

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        return refusal("bad_request", "malformed request: see /docs for this route")

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("%s %s failed", request.method, request.url.path)
        return refusal("internal", "internal error: see the storage service's log")

    app.add_exception_handler(StorageError, storage_error)
    app.add_exception_handler(InvalidInput, invalid_input)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, unexpected)
