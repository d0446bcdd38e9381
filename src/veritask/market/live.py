"""Live updates: changes of the book fanned out to server-sent-event subscribers.

Publishers are request threads and the follower thread; each subscriber is an asyncio
queue on the server's event loop, fed with `call_soon_threadsafe`. A subscriber that
falls `QUEUE_MAX` changes behind is dropped (its stream ends) rather than holding memory.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from veritask.sdk.market_api import MarketEvent

__all__ = ["QUEUE_MAX", "Broadcaster", "Subscription"]

QUEUE_MAX = 10_000


@dataclass(eq=False)
class Subscription:
    loop: asyncio.AbstractEventLoop
    # None marks the end of the stream (the server stops, or the subscriber fell behind).
    queue: asyncio.Queue[MarketEvent | None] = field(
        default_factory=lambda: asyncio.Queue(maxsize=QUEUE_MAX + 1)
    )
    dropped: bool = False

    def _put(self, change: MarketEvent | None) -> None:
        if self.dropped:
            return
        if change is not None and self.queue.qsize() >= QUEUE_MAX:
            self.dropped = True
            change = None
        self.queue.put_nowait(change)


class Broadcaster:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: set[Subscription] = set()
        self._closed = False

    def subscribe(self, loop: asyncio.AbstractEventLoop) -> Subscription:
        subscription = Subscription(loop)
        with self._lock:
            if self._closed:
                subscription._put(None)
            else:
                self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscribers.discard(subscription)

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def publish(self, changes: Sequence[MarketEvent]) -> None:
        if not changes:
            return
        with self._lock:
            subscribers = list(self._subscribers)
        for subscription in subscribers:
            for change in changes:
                self._send(subscription, change)

    def close(self) -> None:
        """Ends every stream (the server is stopping)."""
        with self._lock:
            self._closed = True
            subscribers = list(self._subscribers)
            self._subscribers.clear()
        for subscription in subscribers:
            self._send(subscription, None)

    def _send(self, subscription: Subscription, change: MarketEvent | None) -> None:
        try:
            subscription.loop.call_soon_threadsafe(subscription._put, change)
        except RuntimeError:  # its event loop is closed: the stream is gone
            self.unsubscribe(subscription)
