"""Keeps the book true to the chain: follows the hub's and the registries' events from the
persisted cursor and applies each batch and the new cursor in one database transaction
(PROTOCOL.md B5), so a restart resumes exactly where it stopped.

- `OrdersMatched`: the deal is recorded; each matched order's volume goes down, and an
  order with none left is removed (`filled`).
- `OrderCancelled`: the order is removed (`cancelled`).
- registry `Transfer`: open orders of the asset signed by anyone but the new owner are
  removed (`owner_changed`).

An event applies to an order only if it is in a block after the one the order's facts were
read at (`checked_block`): those facts already include it. Deals are keyed by deal id, so a
batch applied twice changes nothing. On `ChainReset` (reorganisation or a node reset) every
open order is checked again against the chain head and the deals are read again from the
start block.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Protocol

from eth_utils.address import to_checksum_address
from sqlalchemy import Connection

from veritask.chain.follower import ChainEvent, EventBatch
from veritask.chain.order_facts import OrderReader
from veritask.domain.ids import to_hex
from veritask.errors import ChainReset, InvalidInput, Refusal, VeritaskError
from veritask.sdk.market_api import MarketDeal, MarketEvent, OrderStatus
from veritask.sdk.orders import order_from_json

from .live import Broadcaster
from .store import Store
from .validation import check_order

__all__ = ["EventFeed", "FollowerThread", "MarketFollower"]

log = logging.getLogger("veritask.market.follower")
_ZERO_HASH = "0x" + "00" * 32
# Why a re-checked order leaves the book.
_RECHECK_STATUS: dict[str, OrderStatus] = {"order_consumed": "filled"}


class EventFeed(Protocol):
    """What `veritask.chain.follower.EventFollower` offers."""

    def fetch(self, from_block: int, *, parent_hash: bytes | None = None) -> EventBatch: ...


class MarketFollower:
    """Applies chain events to the book; `run_once` reads and applies one batch."""

    def __init__(
        self,
        store: Store,
        feed: EventFeed,
        chain: OrderReader,
        broadcaster: Broadcaster,
        *,
        hub: str,
        registries: Mapping[str, str],
        start_block: int = 0,
    ) -> None:
        self.store = store
        self.feed = feed
        self.chain = chain
        self.broadcaster = broadcaster
        self.hub = str(to_checksum_address(hub))
        # registry address -> asset kind
        self.registries: dict[str, str] = {
            str(to_checksum_address(a)): kind for a, kind in registries.items()
        }
        self.start_block = start_block

    def run_once(self) -> EventBatch | None:
        """Reads the events after the cursor and applies them; None after a rebuild."""
        cursor = self.store.cursor()
        if cursor is None:
            raise RuntimeError("the market's cursor is not initialised")
        try:
            batch = self.feed.fetch(cursor.next_block, parent_hash=cursor.last_block_hash)
        except ChainReset as exc:
            log.warning("chain reset (%s): checking every open order again", exc)
            self.rebuild()
            return None
        if batch.empty_range:
            return batch
        changes: list[MarketEvent] = []
        with self.store.transaction() as connection:
            for event in batch.events:
                changes += self._apply(connection, event)
            self.store.save_cursor(connection, batch.next_block, batch.last_block_hash)
        self.broadcaster.publish(changes)
        return batch

    def run_until_idle(self, max_batches: int = 1_000) -> int:
        """Applies batches until the head is reached; returns how many were applied."""
        for count in range(max_batches):
            batch = self.run_once()
            if batch is not None and batch.empty_range:
                return count
        return max_batches

    def _apply(self, connection: Connection, event: ChainEvent) -> list[MarketEvent]:
        if event.address == self.hub and event.name == "OrdersMatched":
            return self._matched(connection, event)
        if event.address == self.hub and event.name == "OrderCancelled":
            return self._cancelled(connection, event)
        if event.name == "Transfer" and event.address in self.registries:
            return self._transferred(connection, event)
        return []

    def _matched(self, connection: Connection, event: ChainEvent) -> list[MarketEvent]:
        args = event.args
        volume = int(args["volume"])
        deal = MarketDeal(
            deal_id=to_hex(bytes(args["deal_id"])),
            app_hash=to_hex(bytes(args["app_hash"])),
            dataset_hash=to_hex(bytes(args["dataset_hash"])),
            workerpool_hash=to_hex(bytes(args["workerpool_hash"])),
            request_hash=to_hex(bytes(args["request_hash"])),
            volume=volume,
            block_number=event.block_number,
            log_index=event.log_index,
            tx_hash=to_hex(bytes(event.tx_hash)),
        )
        if not self.store.add_deal(connection, deal):
            return []
        hashes = [deal.app_hash, deal.dataset_hash, deal.workerpool_hash, deal.request_hash]
        facts = self.store.open_order_facts(connection, [h for h in hashes if h != _ZERO_HASH])
        changes: list[MarketEvent] = []
        for order_hash, (kind, order_volume, consumed, checked_block) in facts.items():
            if event.block_number <= checked_block:
                continue
            consumed += volume
            if consumed >= order_volume:
                change = self.store.set_status(
                    connection, order_hash, "filled", consumed=order_volume, remaining=0
                )
                if change is not None:
                    changes.append(change)
            else:
                self.store.set_consumed(connection, order_hash, consumed)
                changes.append(
                    MarketEvent(
                        event="updated",
                        order_hash=order_hash,
                        kind=kind,
                        status="open",
                        remaining=order_volume - consumed,
                    )
                )
        return changes

    def _cancelled(self, connection: Connection, event: ChainEvent) -> list[MarketEvent]:
        order_hash = to_hex(bytes(event.args["order_hash"]))
        facts = self.store.open_order_facts(connection, [order_hash])
        if order_hash not in facts or event.block_number <= facts[order_hash][3]:
            return []
        volume = facts[order_hash][1]
        change = self.store.set_status(
            connection, order_hash, "cancelled", consumed=volume, remaining=0
        )
        return [change] if change is not None else []

    def _transferred(self, connection: Connection, event: ChainEvent) -> list[MarketEvent]:
        kind = self.registries[event.address]
        asset = to_checksum_address(int(event.args["token_id"]).to_bytes(20, "big"))
        new_owner = to_checksum_address(str(event.args["receiver"]))
        changes: list[MarketEvent] = []
        for order_hash, signer, checked_block in self.store.open_hashes_of_asset(
            connection, kind, asset
        ):
            if event.block_number <= checked_block or signer == new_owner:
                continue
            change = self.store.set_status(connection, order_hash, "owner_changed")
            if change is not None:
                changes.append(change)
        return changes

    def rebuild(self) -> None:
        """Checks every open order against the chain head, forgets the deals and restarts
        the cursor at the start block (deals are read again; orders are not changed by the
        events up to the head, which their new facts include)."""
        head = self.chain.head()
        with self.store.transaction() as connection:
            records = self.store.open_orders(connection)
        verdicts: list[tuple[str, OrderStatus | None, int]] = []  # hash, removal status, consumed
        for record in records:
            try:
                order = order_from_json(record.order)
                checked = check_order(order, self.chain, head)
            except InvalidInput:
                verdicts.append((record.order_hash, "invalid", record.consumed))
                continue
            except Refusal as rejection:
                if rejection.code == "chain_unavailable":
                    raise
                removal = _RECHECK_STATUS.get(rejection.code, "invalid")
                verdicts.append((record.order_hash, removal, record.consumed))
                continue
            verdicts.append((record.order_hash, None, checked.consumed))
        changes: list[MarketEvent] = []
        with self.store.transaction() as connection:
            for order_hash, status, consumed in verdicts:
                if status is None:
                    self.store.recheck(connection, order_hash, consumed, head)
                    continue
                change = self.store.set_status(connection, order_hash, status, checked_block=head)
                if change is not None:
                    changes.append(change)
            self.store.forget_deals(connection)
            self.store.save_cursor(connection, self.start_block, None)
        self.broadcaster.publish(changes)


class FollowerThread:
    """Runs `MarketFollower.run_once` in a daemon thread until `stop`; a node that does
    not answer is retried after `interval_s`."""

    def __init__(self, follower: MarketFollower, interval_s: float) -> None:
        self.follower = follower
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="market-follower", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _loop(self) -> None:
        while not self._stop.is_set():
            caught_up = True
            try:
                batch = self.follower.run_once()
                caught_up = batch is not None and batch.empty_range
            except VeritaskError as exc:
                log.warning("following the chain failed, retrying: %s", exc)
            except Exception:
                log.exception("following the chain failed unexpectedly, retrying")
            if caught_up:
                self._stop.wait(self.interval_s)
