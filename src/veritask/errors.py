"""The one exception tree of Veritask: every exception class of the package is defined
here (`scripts/check_exceptions.py` fails the check otherwise).

VeritaskError
├── InvalidInput            bad input from a user or a peer, caught at the edge
├── ChainError              the node refused, reverted or did not answer
│   ├── ContractRevert      a transaction or call reverted with a reason
│   ├── TransactionPending  sent, but not mined in time: it may still land
│   └── ChainReset          the block a follower stopped at left the chain
├── ToolError               a local tool (compiler, anvil) is missing or failed
├── ServiceError            a Veritask service failed, refused or did not answer (clients)
│   ├── StorageError        the storage service or a blob store refused, failed or did not answer
│   ├── MarketError         the market refused or failed
│   │   ├── MarketRejected  HTTP 4xx: change the request (also an InvalidInput)
│   │   └── MarketUnavailable  no answer, or HTTP 5xx
│   └── SchedulerApiError   the scheduler refused or did not answer
│       └── TaskLogsRefused  a task's logs refused: 401/403/404 (also an InvalidInput)
├── Refusal                 a service refuses a request (servers): code + message
└── IntegrityError          downloaded data does not match what the chain says it must be

`ServiceError` and its subclasses are what clients raise; `Refusal` is what a service's
handlers raise, answered by `veritask.serving` as `{"error": code, "message": ...}` with the
HTTP status of `code` in its one table (`REFUSAL_STATUS`), and read back by clients into a
`ServiceError` whose `code` is the same string.
"""

from __future__ import annotations

__all__ = [
    "ChainError",
    "ChainReset",
    "ContractRevert",
    "IntegrityError",
    "InvalidInput",
    "MarketError",
    "MarketRejected",
    "MarketUnavailable",
    "Refusal",
    "SchedulerApiError",
    "ServiceError",
    "StorageError",
    "TaskLogsRefused",
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


class ChainReset(ChainError):
    """The block a service stopped at is no longer on the chain (reorganisation or a node
    reset): the service must rebuild its chain-derived state from an earlier block."""


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


class MarketError(ServiceError):
    """The market refused or failed; `code` is its machine-readable reason, `status` the
    HTTP status (0 when nothing answered)."""

    def __init__(self, message: str, code: str = "", status: int = 0) -> None:
        super().__init__(message, code)
        self.status = status


class MarketRejected(MarketError, InvalidInput):
    """The market refused the request (HTTP 4xx): the message says what to change."""


class MarketUnavailable(MarketError):
    """The market did not answer, or failed (HTTP 5xx)."""


class SchedulerApiError(ServiceError):
    """The scheduler refused a request or did not answer. `status` is the HTTP status (0
    when nothing answered) and `code` the scheduler's machine-readable error code."""

    def __init__(self, message: str, *, status: int = 0, code: str = "") -> None:
        super().__init__(message, code)
        self.status = status


class TaskLogsRefused(SchedulerApiError, InvalidInput):
    """The scheduler refused to show a task's logs (401 bad signature or clock, 403 not the
    requester, 404 unknown task): change the wallet, the task or the scheduler URL."""


class Refusal(VeritaskError):
    """A request a service refuses, raised by its handlers: `code` is a key of
    `veritask.serving.REFUSAL_STATUS` (which gives the HTTP status), `message` says what
    the caller should do. It never carries a traceback or a secret to the caller."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class IntegrityError(VeritaskError):
    """Data that arrived intact from a service does not match its on-chain commitment (a
    result whose digest is not the task's consensus digest): keep it, do not trust it."""
