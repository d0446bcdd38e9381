"""The checks of worker input that the wire models cannot express (database column
ranges, text PostgreSQL cannot store, what `finalize` will send); they raise `Refusal`."""

from __future__ import annotations

import re

from veritask.errors import Refusal
from veritask.sdk.scheduler_api import Registration, StatusReport

__all__ = ["check_registration", "clean_report"]

_INT32 = range(-(2**31), 2**31)  # Integer columns
_INT64 = range(-(2**63), 2**63)  # BigInteger columns
_RUNTIMES_CHARS = 64  # the column of the comma-separated runtimes
# `results` is the pointer the scheduler sends in `finalize` (a few hundred bytes of JSON);
# callback data is the app's `callback-data`, sent in the same transaction.
_MAX_RESULTS_CHARS = 4_096
_MAX_CALLBACK_BYTES = 65_536
_HEX_BYTES = re.compile(r"(0x)?([0-9a-fA-F]{2})*")


def check_registration(registration: Registration) -> None:
    """Refuses values the workers table cannot hold (bad_request)."""
    if "\x00" in registration.name:
        raise Refusal("bad_request", "name: remove the NUL character")
    if registration.cpus not in _INT32:
        raise Refusal("bad_request", f"cpus: {registration.cpus} is not a number of CPUs")
    if registration.memory_bytes not in _INT64:
        raise Refusal("bad_request", "memory_bytes: give the memory in bytes, below 2**63")
    runtimes = ",".join(registration.runtimes)
    if len(runtimes) > _RUNTIMES_CHARS or any("," in name for name in registration.runtimes):
        raise Refusal("bad_request", 'runtimes: list the runtimes you run ("oci", "wasm")')


def clean_report(report: StatusReport) -> StatusReport:
    """The report as the scheduler stores it: NUL characters of app logs (PostgreSQL text
    cannot hold them) shown as U+FFFD; bad_report when a value cannot be stored or sent."""
    if report.exit_code is not None and report.exit_code not in _INT32:
        raise Refusal("bad_report", f"exit_code: {report.exit_code} is not an exit code")
    if len(report.results) > _MAX_RESULTS_CHARS or "\x00" in report.results:
        raise Refusal(
            "bad_report",
            f"results: send the result pointer's compact JSON ({_MAX_RESULTS_CHARS} chars at most)",
        )
    callback = report.callback_data
    if not _HEX_BYTES.fullmatch(callback) or len(callback) > 2 + 2 * _MAX_CALLBACK_BYTES:
        raise Refusal(
            "bad_report",
            f"callback_data: send 0x and an even number of hex digits "
            f"({_MAX_CALLBACK_BYTES} bytes at most), or nothing",
        )
    texts = {"stdout": report.stdout, "stderr": report.stderr, "detail": report.detail}
    nul_free = {name: text.replace("\x00", "\ufffd") for name, text in texts.items()}
    if "\x00" in report.tx_hash:
        nul_free["tx_hash"] = report.tx_hash.replace("\x00", "\ufffd")
    return report.model_copy(update=nul_free)
