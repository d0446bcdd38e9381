"""Reads contract events block range by block range, for services that follow the chain
from a block they persisted (market, scheduler, explorer).

The follower keeps no state: a service asks for the events after its cursor, applies them
and stores the new cursor in the same database transaction, so a crash between the two
cannot skip or double-apply a batch (PROTOCOL.md B5). Each batch also carries the hash of
its last block; passing it back on the next call detects a reorganisation or a node that
was reset under the service (a devnet restarted from scratch) instead of silently mixing
two chains.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from eth_utils.abi import event_abi_to_log_topic
from web3 import Web3
from web3.contract.contract import ContractEvent
from web3.exceptions import Web3Exception

from veritask.errors import ChainError, ChainReset

__all__ = ["ChainEvent", "EventBatch", "EventFollower", "EventSource", "LogDecoder"]


@dataclass(frozen=True)
class EventSource:
    """One contract to follow: its address and ABI (only its events are used)."""

    address: str
    abi: Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class ChainEvent:
    """A decoded event. `(block_number, log_index)` orders events and identifies one, which
    is what idempotent handlers key on together with the ids in `args`."""

    name: str
    args: Mapping[str, Any]
    address: str
    block_number: int
    log_index: int
    tx_hash: bytes

    @property
    def position(self) -> tuple[int, int]:
        return (self.block_number, self.log_index)


@dataclass(frozen=True)
class EventBatch:
    """The events of blocks [from_block, next_block), in chain order; `last_block_hash` is
    the hash of block next_block - 1 (None when the batch is empty and nothing was read)."""

    events: tuple[ChainEvent, ...]
    from_block: int
    next_block: int
    last_block_hash: bytes | None

    @property
    def empty_range(self) -> bool:
        return self.next_block == self.from_block


class LogDecoder:
    """Decodes the logs of `sources` (by emitting address and event topic) into
    `ChainEvent`s; logs of other contracts or events decode to None."""

    def __init__(self, w3: Web3, sources: Sequence[EventSource]) -> None:
        self.addresses = [Web3.to_checksum_address(source.address) for source in sources]
        self._decoders: dict[tuple[str, bytes], ContractEvent] = {}
        for source, address in zip(sources, self.addresses, strict=True):
            contract = w3.eth.contract(address=address, abi=list(source.abi))
            for entry in source.abi:
                if entry.get("type") != "event" or entry.get("anonymous"):
                    continue
                topic = bytes(event_abi_to_log_topic(dict(entry)))  # type: ignore[arg-type]
                self._decoders[(address, topic)] = contract.events[str(entry["name"])]()

    def decode(self, log: Any) -> ChainEvent | None:
        """The decoded event, or None for a log it has no ABI entry for."""
        if not log.get("topics"):
            return None
        address = Web3.to_checksum_address(log["address"])
        decoder = self._decoders.get((address, bytes(log["topics"][0])))
        if decoder is None:
            return None
        decoded = decoder.process_log(log)
        return ChainEvent(
            name=str(decoded["event"]),
            args=dict(decoded["args"]),
            address=address,
            block_number=int(log["blockNumber"]),
            log_index=int(log["logIndex"]),
            tx_hash=bytes(log["transactionHash"]),
        )


class EventFollower:
    """Fetches and decodes the events of `sources` up to the head minus `confirmations`,
    at most `max_blocks` blocks per batch (node limits on eth_getLogs ranges)."""

    def __init__(
        self,
        w3: Web3,
        sources: Sequence[EventSource],
        *,
        confirmations: int = 0,
        max_blocks: int = 2_000,
    ) -> None:
        if confirmations < 0 or max_blocks < 1:
            raise ValueError("confirmations must be >= 0 and max_blocks >= 1")
        self._w3 = w3
        self._confirmations = confirmations
        self._max_blocks = max_blocks
        self._decoder = LogDecoder(w3, sources)
        self._addresses = self._decoder.addresses

    def head(self) -> int:
        """The last block this follower may read (head minus confirmations)."""
        with _node_errors(self._w3):
            return int(self._w3.eth.block_number) - self._confirmations

    def fetch(self, from_block: int, *, parent_hash: bytes | None = None) -> EventBatch:
        """The events from `from_block` on. `parent_hash` is the `last_block_hash` of the
        previous batch: when block from_block - 1 no longer has that hash, `ChainReset`."""
        if from_block < 0:
            raise ValueError("from_block must be >= 0")
        last = min(self.head(), from_block + self._max_blocks - 1)
        with _node_errors(self._w3):
            if parent_hash is not None and from_block > 0:
                self._check_parent(from_block - 1, parent_hash)
            if last < from_block:
                return EventBatch((), from_block, from_block, parent_hash)
            logs = self._w3.eth.get_logs(
                {"fromBlock": from_block, "toBlock": last, "address": self._addresses}
            )
            last_hash = bytes(self._w3.eth.get_block(last)["hash"])
        decoded = (self._decoder.decode(log) for log in logs)
        events = sorted((e for e in decoded if e is not None), key=lambda e: e.position)
        return EventBatch(tuple(events), from_block, last + 1, last_hash)

    def _check_parent(self, number: int, expected: bytes) -> None:
        try:
            block = self._w3.eth.get_block(number)
        except Web3Exception as exc:
            raise ChainReset(f"block {number} is gone from the chain ({exc})") from exc
        if bytes(block["hash"]) != expected:
            raise ChainReset(
                f"block {number} changed (hash {bytes(block['hash']).hex()} instead of "
                f"{expected.hex()}): the chain was reorganised or reset"
            )


@contextmanager
def _node_errors(w3: Web3) -> Iterator[None]:
    """Turns transport failures into `ChainError` naming the node."""
    try:
        yield
    except ChainError:
        raise
    except (OSError, Web3Exception) as exc:
        endpoint = getattr(w3.provider, "endpoint_uri", "the node")
        raise ChainError(f"{endpoint} did not answer: {exc}") from exc
