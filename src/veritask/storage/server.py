"""Serving the storage service: `serve_in_thread` runs it in-process on a loopback port
(the devnet, tests); the shared machinery is `veritask.serving`'s."""

from __future__ import annotations

from veritask.serving import (
    RunningServer,
    bind_socket,
    serve_app_in_thread,
    serve_forever,
    socket_url,
)

from .app import create_app
from .blobs import BlobStore
from .settings import StorageSettings

__all__ = [
    "RunningServer",
    "bind_socket",
    "serve_app_in_thread",
    "serve_forever",
    "serve_in_thread",
    "socket_url",
]


def serve_in_thread(
    settings: StorageSettings | None = None,
    *,
    store: BlobStore | None = None,
    start_timeout_s: float = 10.0,
) -> RunningServer:
    """The storage service on `settings.host:settings.port` (port 0: a free one)."""
    settings = settings or StorageSettings()
    app = create_app(settings, store=store)
    return serve_app_in_thread(
        app,
        host=settings.host,
        port=settings.port,
        name="veritask-storage",
        start_timeout_s=start_timeout_s,
    )
