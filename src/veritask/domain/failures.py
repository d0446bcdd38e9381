"""Errors as results: the failure record a worker commits to when a task cannot produce a
result, mirroring the hub (`tasks.vy`, `FAILURE_MARK`) and docs/spec.md ("Failures").

A failure record is abi_encode(FAILURE_MARK, kind, exit code, stderr digest): 128 bytes.
Its keccak256 is the task's digest, committed, agreed on and revealed like any result's, so
replicated tasks agree on a failure exactly as on a result; `finalize` (or, at trust 1,
`contribute_and_finalize`) given the record as the result pointer settles the task at once
as FAILED: the requester pays the workerpool price, the app and dataset prices come back,
the scheduler keeps its stake. Every field is deterministic for a deterministic app, so
honest workers commit the same record: the stderr digest covers only the last
`STDERR_DIGEST_BYTES` of stderr, and only for an app that exited by itself."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import IntEnum

from eth_utils.crypto import keccak

__all__ = [
    "FAILURE_MARK",
    "FAILURE_RECORD_SIZE",
    "STDERR_DIGEST_BYTES",
    "FailureKind",
    "FailureRecord",
    "stderr_digest",
]

FAILURE_MARK = keccak(text="veritask: task failure")
FAILURE_RECORD_SIZE = 128
# The stderr digest covers this many trailing bytes, at most: every worker keeps at least
# this much of a log (worker.runtimes.logs), so all compute it over the same bytes.
STDERR_DIGEST_BYTES = 4096
_EXIT_CODE_LIMIT = 2**32


class FailureKind(IntEnum):
    """Why a task produced no result (the `kind` of `TaskFailed`)."""

    #: the app exited with a non-zero exit code
    APP_EXIT = 1
    #: the app ran past the category's time
    TIMEOUT = 2
    #: the app exceeded a limit (output size or entries, memory)
    LIMIT = 3
    #: an input (the dataset: exit code 0, input file n: exit code n) could not be fetched
    INPUT_UNAVAILABLE = 4
    #: the app could not be fetched or is not runnable (bad image, bad module, bad checksum)
    APP_UNAVAILABLE = 5
    #: the app exited 0 without a valid result (no or bad computed.json, missing output)
    BAD_RESULT = 6


def stderr_digest(stderr_tail: bytes) -> bytes:
    """sha256 of the last STDERR_DIGEST_BYTES of an app's stderr."""
    return hashlib.sha256(stderr_tail[-STDERR_DIGEST_BYTES:]).digest()


@dataclass(frozen=True)
class FailureRecord:
    """What a task's workers agree on when it failed: the kind, the exit code (the app's,
    or which input was unavailable) and the stderr digest (zero but for APP_EXIT)."""

    kind: FailureKind
    exit_code: int = 0
    stderr_digest: bytes = bytes(32)

    def __post_init__(self) -> None:
        if not 0 <= self.exit_code < _EXIT_CODE_LIMIT:
            raise ValueError(f"exit code {self.exit_code} is out of range")
        if len(self.stderr_digest) != 32:
            raise ValueError("a stderr digest is 32 bytes")

    def encode(self) -> bytes:
        """The 128-byte record: what `finalize` takes as the result pointer."""
        return (
            FAILURE_MARK
            + int(self.kind).to_bytes(32, "big")
            + self.exit_code.to_bytes(32, "big")
            + self.stderr_digest
        )

    def digest(self) -> bytes:
        """The task digest workers commit to: keccak256 of the record."""
        return keccak(self.encode())

    @classmethod
    def decode(cls, data: bytes) -> FailureRecord | None:
        """The record `data` holds, or None when it is not one (a result pointer)."""
        if len(data) != FAILURE_RECORD_SIZE or data[:32] != FAILURE_MARK:
            return None
        kind = int.from_bytes(data[32:64], "big")
        exit_code = int.from_bytes(data[64:96], "big")
        if kind not in FailureKind._value2member_map_ or exit_code >= _EXIT_CODE_LIMIT:
            return None
        return cls(FailureKind(kind), exit_code, data[96:128])

    def describe(self) -> str:
        """In words, for logs and the CLI."""
        match self.kind:
            case FailureKind.APP_EXIT:
                return f"the app exited with code {self.exit_code}"
            case FailureKind.TIMEOUT:
                return "the app ran past its time"
            case FailureKind.LIMIT:
                return "the app exceeded a limit"
            case FailureKind.INPUT_UNAVAILABLE:
                which = "the dataset" if self.exit_code == 0 else f"input file {self.exit_code}"
                return f"{which} could not be fetched"
            case FailureKind.APP_UNAVAILABLE:
                return "the app could not be fetched or run"
            case FailureKind.BAD_RESULT:
                return "the app wrote no valid result"
