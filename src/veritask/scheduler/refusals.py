"""The one table from the scheduler API's refusal codes to HTTP statuses, the `Refused`
exception that carries them, and the checks of worker input that the wire models cannot
express (database column ranges, text PostgreSQL cannot store, what `finalize` will send).
Every refusal is answered as `{"error": code, "code": code, "message": what to do}`."""

from __future__ import annotations

import re

from veritask.sdk.scheduler_api import Registration, StatusReport

__all__ = ["ERROR_STATUS", "Refused", "check_registration", "clean_report"]

ERROR_STATUS: dict[str, int] = {
    "bad_request": 400,  # malformed JSON, a missing, extra or invalid field, header or query
    "bad_address": 400,  # the challenge's address is not an address
    "bad_report": 400,  # a status report the scheduler cannot store or send on chain
    "bad_token": 401,  # missing, invalid or expired bearer token: log in again
    "bad_challenge": 401,  # unknown, used or expired login challenge
    "bad_signature": 401,  # the signature does not recover to the address
    "stale_request": 401,  # a signed request's timestamp is too far from the clock
    "not_requester": 403,  # only the deal's requester or beneficiary reads task logs
    "not_found": 404,  # no such route
    "unknown_task": 404,
    "unknown_replicate": 404,  # the worker holds no replicate of this task
    "method_not_allowed": 405,
    "not_registered": 409,  # register before asking for work
    "too_large": 413,  # the body is over the scheduler's limit
    "internal": 500,  # a bug: see the scheduler's log
}

_INT32 = range(-(2**31), 2**31)  # Integer columns
_INT64 = range(-(2**63), 2**63)  # BigInteger columns
_RUNTIMES_CHARS = 64  # the column of the comma-separated runtimes
# `results` is the pointer the scheduler sends in `finalize` (a few hundred bytes of JSON);
# callback data is the app's `callback-data`, sent in the same transaction.
_MAX_RESULTS_CHARS = 4_096
_MAX_CALLBACK_BYTES = 65_536
_HEX_BYTES = re.compile(r"(0x)?([0-9a-fA-F]{2})*")


class Refused(Exception):
    """A request the API refuses; `code` is a key of ERROR_STATUS."""

    def __init__(self, code: str, message: str) -> None:
        if code not in ERROR_STATUS:
            raise ValueError(f"unknown refusal code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def status(self) -> int:
        return ERROR_STATUS[self.code]

    def body(self) -> dict[str, str]:
        # "code" is what SchedulerClient reads; "error" is the shape of every service.
        return {"error": self.code, "code": self.code, "message": self.message}


def check_registration(registration: Registration) -> None:
    """Refuses values the workers table cannot hold (bad_request)."""
    if "\x00" in registration.name:
        raise Refused("bad_request", "name: remove the NUL character")
    if registration.cpus not in _INT32:
        raise Refused("bad_request", f"cpus: {registration.cpus} is not a number of CPUs")
    if registration.memory_bytes not in _INT64:
        raise Refused("bad_request", "memory_bytes: give the memory in bytes, below 2**63")
    runtimes = ",".join(registration.runtimes)
    if len(runtimes) > _RUNTIMES_CHARS or any("," in name for name in registration.runtimes):
        raise Refused("bad_request", 'runtimes: list the runtimes you run ("oci", "wasm")')


def clean_report(report: StatusReport) -> StatusReport:
    """The report as the scheduler stores it: NUL characters of app logs (PostgreSQL text
    cannot hold them) shown as U+FFFD; bad_report when a value cannot be stored or sent."""
    if report.exit_code is not None and report.exit_code not in _INT32:
        raise Refused("bad_report", f"exit_code: {report.exit_code} is not an exit code")
    if len(report.results) > _MAX_RESULTS_CHARS or "\x00" in report.results:
        raise Refused(
            "bad_report",
            f"results: send the result pointer's compact JSON ({_MAX_RESULTS_CHARS} chars at most)",
        )
    callback = report.callback_data
    if not _HEX_BYTES.fullmatch(callback) or len(callback) > 2 + 2 * _MAX_CALLBACK_BYTES:
        raise Refused(
            "bad_report",
            f"callback_data: send 0x and an even number of hex digits "
            f"({_MAX_CALLBACK_BYTES} bytes at most), or nothing",
        )
    texts = {"stdout": report.stdout, "stderr": report.stderr, "detail": report.detail}
    nul_free = {name: text.replace("\x00", "\ufffd") for name, text in texts.items()}
    if "\x00" in report.tx_hash:
        nul_free["tx_hash"] = report.tx_hash.replace("\x00", "\ufffd")
    return report.model_copy(update=nul_free)
