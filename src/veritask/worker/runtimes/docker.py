"""The Docker runtime: the same sandbox flags as podman, through a Docker engine.

Used only where a Docker engine answers on its socket; otherwise `check()` refuses and
the worker uses podman. Docker runs runc by default and needs no storage flags.
"""

from __future__ import annotations

import os
import shutil
import socket

from veritask.errors import ToolError
from veritask.worker.runtimes.containers import ContainerRuntime

__all__ = ["DEFAULT_DOCKER_SOCKET", "DockerRuntime"]

DEFAULT_DOCKER_SOCKET = "/var/run/docker.sock"
PING_TIMEOUT_S = 2.0


class DockerRuntime(ContainerRuntime):
    """Docker CLI against the engine at `socket_path` (DOCKER_HOST unix:// if set)."""

    name = "docker"
    binary = "docker"

    def __init__(self, *, socket_path: str | None = None) -> None:
        super().__init__()
        host = os.environ.get("DOCKER_HOST", "")
        default = host.removeprefix("unix://") if host.startswith("unix://") else None
        self.socket_path = socket_path or default or DEFAULT_DOCKER_SOCKET

    def global_args(self) -> list[str]:
        return ["--host", f"unix://{self.socket_path}"]

    def check(self) -> None:
        if not self._engine_answers():
            raise ToolError(
                f"no Docker engine: {self.socket_path} does not answer /_ping; use podman "
                "(runtime 'podman') or start dockerd"
            )
        if shutil.which(self.binary) is None:
            raise ToolError("docker CLI not found: install docker-ce-cli, or use podman")

    def _engine_answers(self) -> bool:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.settimeout(PING_TIMEOUT_S)
                conn.connect(self.socket_path)
                conn.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
                reply = conn.recv(64)
        except OSError:
            return False
        return reply.startswith(b"HTTP/1.") and b" 200 " in reply
