"""The guards of request bodies: `BodyLimitMiddleware` (size) and `BoundedJsonRoute` (JSON
parsed safely)."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

import pydantic_core
from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BodyLimitMiddleware", "BoundedJsonRoute"]


class BodyLimitMiddleware:
    """Refuses request bodies over `max_bytes`, by their Content-Length or as they stream
    in, before more is read: the app's read raises `HTTPException(413)`, which the app's
    own handler answers in its error shape (`app.add_middleware(BodyLimitMiddleware,
    max_bytes=...)`). Starlette's limiter answers a plain-text 413 instead."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = 0
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit():
                declared = int(value)
        received = 0

        async def limited() -> Message:
            nonlocal received
            if declared > self.max_bytes:
                raise HTTPException(413, f"the body is over {self.max_bytes} bytes")
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, f"the body is over {self.max_bytes} bytes")
            return message

        await self.app(scope, limited, send)


class _BoundedJsonRequest(Request):
    """A request whose JSON body is parsed by pydantic-core instead of the standard library.

    Why: importing eth-account (py_ecc) raises the process's recursion limit to 100 000, and
    the standard library's C decoder then recurses on every `[` or `{` until the thread's C
    stack overflows: one request of 100 000 nested brackets kills the process. pydantic-core
    refuses nesting past 200 levels, numbers past 4 300 digits, NaN and Infinity, lone
    surrogates (which no database encodes) and anything but UTF-8 (RFC 8259)."""

    async def json(self) -> Any:
        body = await self.body()
        try:
            return pydantic_core.from_json(body, allow_inf_nan=False)
        except ValueError as exc:
            # FastAPI turns JSONDecodeError into the route's validation error (HTTP 4xx).
            raise json.JSONDecodeError(f"{exc}: send UTF-8 JSON", "", 0) from None


class BoundedJsonRoute(APIRoute):
    """The route class of every service (`FastAPI(...).router.route_class`), so that a body
    is never given to the standard library's JSON decoder (see `_BoundedJsonRequest`)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def bounded(request: Request) -> Response:
            return await handler(_BoundedJsonRequest(request.scope, request.receive))

        return bounded
