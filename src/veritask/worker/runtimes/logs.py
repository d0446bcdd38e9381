"""An app's stdout and stderr, bounded on the host: only the last `keep` bytes of each
stream are kept, in memory, with a count of everything written, so an app that writes
gigabytes costs the worker neither disk nor memory. The kept text says how much was cut.
Whatever `keep` says, the last STDERR_DIGEST_BYTES raw bytes are kept too: a failure
record's stderr digest covers them, so every worker digests the same bytes."""

from __future__ import annotations

import os
import threading

from veritask.domain.failures import STDERR_DIGEST_BYTES

__all__ = ["PipeTail", "StreamTail"]

_READ_CHUNK = 1 << 16


class StreamTail:
    """The tail of one output stream: `write` takes what the app writes (the wasmtime
    runtime calls it directly), `text` gives the last `keep` bytes, `last_bytes` the raw
    end of the stream."""

    def __init__(self, stream: str, keep: int) -> None:
        self.stream = stream
        self.keep = keep
        self._held = max(keep, STDERR_DIGEST_BYTES)
        self.total = 0
        self._kept = bytearray()
        self._lock = threading.Lock()

    def write(self, data: bytes) -> None:
        with self._lock:
            self.total += len(data)
            self._kept += data[-self._held :]
            if len(self._kept) > self._held:
                del self._kept[: len(self._kept) - self._held]

    def last_bytes(self, count: int = STDERR_DIGEST_BYTES) -> bytes:
        """The last `count` bytes written (at most max(keep, STDERR_DIGEST_BYTES)), raw."""
        with self._lock:
            return bytes(self._kept[-count:]) if count else b""

    def text(self) -> str:
        """The kept tail, decoded leniently (a cut may split a character); when bytes were
        cut, a first line says so."""
        with self._lock:
            kept = bytes(self._kept[-self.keep :]) if self.keep else b""
            total = self.total
        tail = kept.decode("utf-8", errors="replace")
        if total <= len(kept):
            return tail
        return (
            f"[veritask: {self.stream} was {total} bytes; only its last {len(kept)} are kept]\n"
            + tail
        )


class PipeTail(StreamTail):
    """A `StreamTail` fed from a pipe, for a child process: give `fd` to the child as its
    stream, call `started()` once it runs, and `finish()` after it ended."""

    def __init__(self, stream: str, keep: int) -> None:
        super().__init__(stream, keep)
        self._read_fd, self.fd = os.pipe()
        self._reader = threading.Thread(target=self._drain, name=f"app-{stream}", daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        with os.fdopen(self._read_fd, "rb", buffering=0) as pipe:
            while chunk := pipe.read(_READ_CHUNK):
                self.write(chunk)

    def started(self) -> None:
        """Closes the worker's copy of the write end: the pipe ends with the child."""
        os.close(self.fd)

    def finish(self, timeout_s: float = 10.0) -> None:
        """Waits until everything the child wrote is read (it may have left a grandchild
        holding the pipe: give up after `timeout_s`)."""
        self._reader.join(timeout_s)
