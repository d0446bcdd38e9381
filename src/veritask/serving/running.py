"""Running the services' ASGI apps with uvicorn on a socket bound first (port 0 works, and
the URL is known and accepting before serving), in a background thread (the devnet, tests)
or in the foreground (`python -m veritask.<service>`)."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn
from starlette.types import ASGIApp

from veritask.errors import InvalidInput, ServiceError

__all__ = ["RunningServer", "bind_socket", "serve_app_in_thread", "serve_forever", "socket_url"]

_POLL_S = 0.01
_BACKLOG = 2048  # uvicorn's default


def bind_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (host, port) and listening; port 0 picks a free port.

    Listening at once means its URL can be handed out before the server runs: early
    connections wait in the backlog instead of being refused. The protocol is given as
    IPPROTO_TCP on purpose: asyncio turns Nagle's algorithm off only on sockets that say
    they are TCP, and with it on every response waits ~40 ms for the client's delayed ACK."""
    family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(_BACKLOG)
    except OSError as exc:
        sock.close()
        raise InvalidInput(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another port"
        ) from exc
    return sock


def socket_url(sock: socket.socket) -> str:
    """`http://host:port` of a bound socket (IPv6 hosts in brackets)."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _server(app: ASGIApp, log_level: str, graceful_s: float | None) -> uvicorn.Server:
    # log_config=None: never reconfigure the logging of the process that embeds us.
    config = uvicorn.Config(
        app,
        log_config=None,
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=None if graceful_s is None else int(graceful_s),
    )
    return uvicorn.Server(config)


class RunningServer:
    """An HTTP server in a background thread: `url`, `stop()`, usable as a context manager."""

    def __init__(
        self, server: uvicorn.Server, thread: threading.Thread, url: str, sock: socket.socket
    ) -> None:
        self.url = url
        self._server = server
        self._thread = thread
        self._socket = sock

    @property
    def running(self) -> bool:
        """Whether the serving thread is alive."""
        return self._thread.is_alive()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stops accepting, finishes open requests (forced after `timeout_s`), joins."""
        self._server.should_exit = True
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout_s)
        self._socket.close()

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def serve_app_in_thread(
    app: ASGIApp,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    name: str = "veritask-http",
    start_timeout_s: float = 10.0,
    log_level: str = "warning",
    graceful_s: float | None = None,
) -> RunningServer:
    """Serves `app` from a daemon thread and returns once it accepts connections;
    `graceful_s` bounds how long open requests (streams) may hold a stop."""
    sock = bind_socket(host, port)
    url = socket_url(sock)
    server = _server(app, log_level, graceful_s)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(start_timeout_s)
            sock.close()
            raise ServiceError(
                f"{name} did not start on {url} within {start_timeout_s:g} s: see its log",
                code="unavailable",
            )
        time.sleep(_POLL_S)
    return RunningServer(server, thread, url, sock)


def serve_forever(
    app: ASGIApp, sock: socket.socket, log_level: str = "info", graceful_s: float | None = None
) -> None:
    """Serves `app` on `sock` in this thread until SIGINT/SIGTERM."""
    try:
        _server(app, log_level, graceful_s).run(sockets=[sock])
    finally:
        sock.close()
