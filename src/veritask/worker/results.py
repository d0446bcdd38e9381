"""The result of a run: its digest and callback data (from computed.json), or the failure
record a run that produced none commits to (errors are results, docs/spec.md "Failures").
The archive of /iexec_out and the result pointer are `veritask.domain.result_archive`'s."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from veritask.domain.digest import computed_digest, read_computed
from veritask.domain.failures import FailureKind, FailureRecord, stderr_digest
from veritask.errors import InvalidInput

from .runtimes.base import Outcome, Status

__all__ = ["RunResult", "read_result", "run_failure"]


@dataclass(frozen=True)
class RunResult:
    digest: bytes
    callback_data: bytes  # empty unless computed.json names callback-data


def read_result(out_dir: Path) -> RunResult:
    """The digest and callback data named by `out_dir/computed.json`; InvalidInput when the
    app wrote none, or wrote one that points nowhere."""
    digest = computed_digest(out_dir)
    callback = read_computed(out_dir).get("callback-data") or ""
    try:
        data = bytes.fromhex(str(callback).removeprefix("0x")) if callback else b""
    except ValueError as exc:
        raise InvalidInput(f"computed.json: callback-data {callback!r} is not hex") from exc
    return RunResult(digest, data)


def run_failure(outcome: Outcome) -> FailureRecord | None:
    """The failure record of a run that did not complete, or None when the fault may be
    this worker's (a sandbox error, an exit without a code): then another worker tries.
    Only APP_EXIT carries the exit code and the stderr digest; the other kinds depend on
    timing (how far the app got before it was stopped), so they carry zeros."""
    match outcome.status:
        case Status.FAILED:
            code = outcome.exit_code
            if code is None or code <= 0:
                return None
            return FailureRecord(FailureKind.APP_EXIT, code, stderr_digest(outcome.stderr_tail))
        case Status.TIMEOUT:
            return FailureRecord(FailureKind.TIMEOUT)
        case Status.OUT_OF_MEMORY | Status.OUTPUT_LIMIT:
            return FailureRecord(FailureKind.LIMIT)
        case _:
            return None
