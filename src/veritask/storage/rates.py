"""`UploadRate`: how often each signer may upload, as one token bucket per address (in
memory: a restart refills every bucket). It only counts; `limits.py` refuses."""

from __future__ import annotations

import threading

__all__ = ["UploadRate"]

_PRUNE_AT = 10_000  # buckets kept before the full ones (signers idle for a window) are dropped
_EPSILON = 1e-9  # float slack: 10 s x 3 per 30 s is one whole upload


class UploadRate:
    """Each address may upload `max_uploads` at once, then regains one upload every
    `window_s / max_uploads` seconds, up to `max_uploads`: at most `max_uploads` per
    `window_s` on average. Times are the service's clock in seconds; a clock that goes
    back refills nothing."""

    def __init__(self, max_uploads: int, window_s: float) -> None:
        self.max_uploads = max_uploads
        self.window_s = window_s
        self._buckets: dict[str, tuple[float, float]] = {}  # address -> (uploads left, at_s)
        self._prune_at = _PRUNE_AT
        self._lock = threading.Lock()

    def wait_s(self, address: str, now_s: float) -> float:
        """Seconds until `address` may upload once (0: now); takes nothing."""
        with self._lock:
            return self._wait_s(self._left(address, now_s))

    def take(self, address: str, now_s: float) -> float:
        """Takes one upload of `address` when it has one left and answers 0; else takes
        nothing and answers the seconds until it has one."""
        with self._lock:
            left = self._left(address, now_s)
            if left < 1 - _EPSILON:
                return self._wait_s(left)
            self._buckets[address] = (max(left - 1, 0.0), now_s)
            if len(self._buckets) > self._prune_at:
                self._prune(now_s)
            return 0.0

    def _left(self, address: str, now_s: float) -> float:
        if address not in self._buckets:
            return float(self.max_uploads)
        left, at_s = self._buckets[address]
        regained = max(now_s - at_s, 0.0) * self.max_uploads / self.window_s
        return min(left + regained, float(self.max_uploads))

    def _wait_s(self, left: float) -> float:
        if left >= 1 - _EPSILON:
            return 0.0
        return (1 - left) * self.window_s / self.max_uploads

    def _prune(self, now_s: float) -> None:
        # A full bucket is the same as no bucket; a flood of keys keeps its buckets only
        # while each key is held back, and the next prune waits for twice as many.
        full = [
            address
            for address in self._buckets
            if self._left(address, now_s) >= self.max_uploads - _EPSILON
        ]
        for address in full:
            del self._buckets[address]
        self._prune_at = max(_PRUNE_AT, 2 * len(self._buckets))
