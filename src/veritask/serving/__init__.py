"""The service kit shared by every service (which must not import each other; it knows
none of them): one vocabulary of refusals and its handlers (`refusals`), the guards of
request bodies (`bodies`), running an ASGI app on a socket bound first (`running`), and
SQL engines with Alembic migrations (`database`)."""

from .bodies import BodyLimitMiddleware, BoundedJsonRoute
from .database import make_engine, migrate
from .refusals import REFUSAL_STATUS, install_refusals, refusal_body, validation_message
from .running import RunningServer, bind_socket, serve_app_in_thread, serve_forever, socket_url

__all__ = [
    "REFUSAL_STATUS",
    "BodyLimitMiddleware",
    "BoundedJsonRoute",
    "RunningServer",
    "bind_socket",
    "install_refusals",
    "make_engine",
    "migrate",
    "refusal_body",
    "serve_app_in_thread",
    "serve_forever",
    "socket_url",
    "validation_message",
]
