"""Runs a local anvil node on 127.0.0.1 for devnets, tests and benchmarks.

The node listens on a free loopback port and is stopped when the `Anvil` context exits,
when `stop()` is called, or at interpreter exit, so no process is left behind.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from veritask.errors import ToolError

__all__ = ["DEFAULT_MNEMONIC", "Anvil", "find_anvil"]

# anvil's well-known development mnemonic; its keys fund local devnets only.
DEFAULT_MNEMONIC = "test test test test test test test test test test test junk"


def find_anvil() -> Path:
    """The anvil binary: $VERITASK_ANVIL, the project's npm install, or the PATH."""
    explicit = os.environ.get("VERITASK_ANVIL")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ToolError(
                f"VERITASK_ANVIL points to {path}, which does not exist: point it to an anvil "
                "binary, or unset it to use the project's npm install (`npm install`)"
            )
        return path
    for base in (Path.cwd(), *Path.cwd().parents, *Path(__file__).resolve().parents):
        for candidate in sorted(base.glob("node_modules/@foundry-rs/anvil-*/bin/anvil")):
            if candidate.is_file():
                return candidate
    found = shutil.which("anvil")
    if found:
        return Path(found)
    raise ToolError(
        "anvil not found: run ./scripts/test or `npm install` in the project "
        "(it installs @foundry-rs/anvil), or set VERITASK_ANVIL"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Anvil:
    """A local anvil node. Use as a context manager, or call `start()` and `stop()`."""

    def __init__(
        self,
        *,
        port: int | None = None,
        block_time_s: float | None = None,
        chain_id: int = 31337,
        accounts: int = 10,
        mnemonic: str = DEFAULT_MNEMONIC,
        startup_timeout_s: float = 15.0,
    ) -> None:
        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.chain_id = chain_id
        self._args = [
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--chain-id",
            str(chain_id),
            "--accounts",
            str(accounts),
            "--mnemonic",
            mnemonic,
            "--silent",
        ]
        if block_time_s is not None:
            self._args += ["--block-time", str(block_time_s)]
        self._startup_timeout_s = startup_timeout_s
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> Anvil:
        if self._process is not None:
            return self
        binary = find_anvil()
        try:
            self._process = subprocess.Popen(
                [str(binary), *self._args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        except OSError as exc:
            raise ToolError(
                f"cannot run anvil at {binary}: {exc.strerror or exc}; set VERITASK_ANVIL to "
                "an executable anvil binary, or run `npm install` in the project"
            ) from exc
        atexit.register(self.stop)
        deadline = time.monotonic() + self._startup_timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                stderr = self._process.stderr.read().decode() if self._process.stderr else ""
                self._process = None
                raise ToolError(f"anvil exited at start on port {self.port}: {stderr.strip()}")
            if self._answers():
                return self
            time.sleep(0.02)
        self.stop()
        raise ToolError(f"anvil did not answer on {self.url} within {self._startup_timeout_s} s")

    def _answers(self) -> bool:
        request = urllib.request.Request(
            self.url,
            data=b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}',
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=0.5) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        if process.stderr:
            process.stderr.close()
        atexit.unregister(self.stop)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def __enter__(self) -> Anvil:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
