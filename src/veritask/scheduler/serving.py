"""Serving an ASGI app with uvicorn on a socket bound first (port 0 works, the URL is known
before serving), in a background thread or in the foreground."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn
from starlette.types import ASGIApp

from veritask.errors import InvalidInput, VeritaskError

__all__ = ["RunningServer", "bind_socket", "serve_app_in_thread", "serve_forever"]


def bind_socket(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise InvalidInput(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _server(app: ASGIApp, log_level: str) -> uvicorn.Server:
    config = uvicorn.Config(app, log_config=None, log_level=log_level, access_log=False)
    return uvicorn.Server(config)


class RunningServer:
    def __init__(self, server: uvicorn.Server, thread: threading.Thread, url: str) -> None:
        self.url = url
        self._server = server
        self._thread = thread

    def stop(self, timeout_s: float = 5.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout_s)


def serve_app_in_thread(
    app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0, start_timeout_s: float = 10.0
) -> RunningServer:
    sock = bind_socket(host, port)
    url = _url(sock)
    server = _server(app, "warning")
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="scheduler-http", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(start_timeout_s)
            sock.close()
            raise VeritaskError(f"the scheduler's HTTP server did not start on {url}")
        time.sleep(0.01)
    return RunningServer(server, thread, url)


def serve_forever(app: ASGIApp, sock: socket.socket, log_level: str = "info") -> None:
    _server(app, log_level).run(sockets=[sock])
