"""The one exception tree of Veritask.

VeritaskError
├── InvalidInput        bad input from a user or a peer, caught at the edge
├── ChainError          the node refused, reverted or did not answer
│   ├── ContractRevert  a transaction or call reverted with a reason
│   └── TransactionPending  sent, but not mined in time: it may still land
├── ToolError           a local tool (compiler, anvil) is missing or failed
├── ServiceError        a Veritask service (storage, market, scheduler) failed or did not answer
│   └── StorageError    the storage service or a blob store refused, failed or did not answer
├── Refusal             a service refuses a request (servers): code + message
└── IntegrityError      downloaded data does not match what the chain says it must be
"""

from __future__ import annotations

__all__ = [
    "ChainError",
    "ContractRevert",
    "IntegrityError",
    "InvalidInput",
    "Refusal",
    "ServiceError",
    "StorageError",
    "ToolError",
    "TransactionPending",
    "VeritaskError",
]


class VeritaskError(Exception):
    """Root of every error Veritask raises on purpose."""


class InvalidInput(VeritaskError):
    """Input that cannot be used as given; the message says what to change."""


class ChainError(VeritaskError):
    """The chain could not do what was asked."""


class ContractRevert(ChainError):
    """A contract reverted; `reason` is its `"module: reason"` string."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransactionPending(ChainError):
    """A transaction was sent but no receipt came in time; it may still be mined, so
    whatever depends on it (a worker's commitment) must be kept. `tx_hash` is 0x hex."""

    def __init__(self, message: str, tx_hash: str) -> None:
        super().__init__(message)
        self.tx_hash = tx_hash


class ToolError(VeritaskError):
    """A local tool Veritask drives (vyper, anvil) is missing or failed."""


class ServiceError(VeritaskError):
    """A service failed or did not answer; `code` is its machine-readable error code when
    it gave one, else ""."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class StorageError(ServiceError):
    """Content storage failed; `code` is the storage service's machine-readable error code
    (`not_found`, `corrupted`, `unavailable`, ...) when there is one, else ""."""


class IntegrityError(VeritaskError):
    """Data that arrived intact from a service does not match its on-chain commitment (a
    result whose digest is not the task's consensus digest): keep it, do not trust it."""


class Refusal(VeritaskError):
    """A request a service refuses, raised by its handlers: `code` is a key of
    `veritask.serving.REFUSAL_STATUS` (which gives the HTTP status), `message` says what
    the caller should do. It never carries a traceback or a secret to the caller."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
