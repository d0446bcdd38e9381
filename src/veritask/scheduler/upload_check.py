"""The check of an uploader's result pointer before the scheduler accepts it and finalizes
with it (security M2): the pointer is the canonical `/ipfs/<cid>` one, the pool's storage
holds the archive (downloaded within size and time bounds, its bytes hashed to the CID),
the archive unpacks to a result whose digest is the one the winners committed to, and the
callback data is what the hub will take. No database here, and no state: the driver calls
it outside the state lock.

The reasons of refusals are shown in the requester's task logs: they never name the
storage's address nor a folder of the scheduler. The archive is unpacked in the system's
temporary folder (TMPDIR), one check at a time.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from enum import StrEnum

from eth_utils.crypto import keccak

from veritask.domain.cid import parse_cid
from veritask.domain.ids import same_address
from veritask.domain.orders import ZERO_ADDRESS
from veritask.domain.result_archive import MAX_ARCHIVE_FILES, result_pointer, unpack_and_digest
from veritask.domain.tasks import result_hash
from veritask.errors import InvalidInput, StorageError
from veritask.sdk.storage import StorageClient

__all__ = ["UploadCheck", "UploadChecker", "UploadClaim", "UploadVerdict"]

_MAX_REASON_CHARS = 1_000
_POINTER = re.compile(r'\{"storage":"ipfs","location":"/ipfs/([a-z2-7]{1,100})"\}')
# Storage refusals that say the content is not there to be had: another winner may upload
# it (the same archive has the same CID, so an upload of it also repairs a corrupted blob).
_CONTENT_MISSING = {
    "not_found": "the pool's storage holds no content {cid}: upload to the pool's storage",
    "corrupted": "the pool's storage cannot serve {cid} intact",
    "bad_cid": "{cid} is not a content id",
}


class UploadCheck(StrEnum):
    ACCEPTED = "accepted"  # the pointer may be finalized
    REFUSED = "refused"  # the pointer names no result of this task: ask another winner
    UNCHECKED = "unchecked"  # the pool's storage did not answer: check again later


@dataclass(frozen=True)
class UploadClaim:
    """What an uploader reported for a task, with what it is checked against."""

    task_id: bytes
    consensus_hash: bytes  # the winners' result hash, keccak256(task_id ‖ digest)
    callback: str  # the deal's callback address (zero: none)
    uploader: str
    results: str
    callback_data: str  # 0x hex or empty


@dataclass(frozen=True)
class UploadVerdict:
    outcome: UploadCheck
    # Why it was refused (kept in the task's logs) or not checked (logged only).
    reason: str = ""

    @classmethod
    def refused(cls, reason: str) -> UploadVerdict:
        text = reason.replace("\x00", "\ufffd")  # PostgreSQL text holds no NUL
        if len(text) > _MAX_REASON_CHARS:
            text = text[: _MAX_REASON_CHARS - 1] + "…"
        return cls(UploadCheck.REFUSED, text)


class UploadChecker:
    """Checks uploads against the pool's storage (`storage`, whose `timeout_s` bounds each
    network wait; `total_timeout_s` bounds a whole download)."""

    def __init__(
        self,
        storage: StorageClient,
        *,
        max_bytes: int,
        max_unpacked_bytes: int,
        total_timeout_s: float,
        max_files: int = MAX_ARCHIVE_FILES,
    ) -> None:
        self.storage = storage
        self.max_bytes = max_bytes
        self.max_unpacked_bytes = max_unpacked_bytes
        self.total_timeout_s = total_timeout_s
        self.max_files = max_files

    def check(self, claim: UploadClaim) -> UploadVerdict:
        cid = _canonical_cid(claim.results)
        if cid is None:
            return UploadVerdict.refused(
                'the result pointer is not {"storage":"ipfs","location":"/ipfs/<CID>"} '
                "(compact JSON, a CIDv1 raw sha2-256 in base32)"
            )
        problem = self._callback_problem(claim)
        if problem:
            return UploadVerdict.refused(problem)
        try:
            archive = self.storage.download(
                cid, self.max_bytes, total_timeout_s=self.total_timeout_s
            )
        except StorageError as exc:
            return self._storage_failed(cid, exc)
        with tempfile.TemporaryDirectory(prefix="veritask-upload-check-") as scratch:
            try:
                _, digest = unpack_and_digest(
                    archive,
                    f"{scratch}/result",
                    max_bytes=self.max_unpacked_bytes,
                    max_files=self.max_files,
                )
            except InvalidInput as exc:
                shown = str(exc).replace(f"{scratch}/result", "the archive")
                return UploadVerdict.refused(f"{cid} is not a result archive: {shown}")
        if result_hash(claim.task_id, digest) != claim.consensus_hash:
            return UploadVerdict.refused(
                f"{cid} holds a result of digest 0x{digest.hex()}, not the one the winners revealed"
            )
        return UploadVerdict(UploadCheck.ACCEPTED)

    def _callback_problem(self, claim: UploadClaim) -> str:
        """What the hub would refuse of the callback data (every `finalize` after it too)."""
        data = bytes.fromhex(claim.callback_data.removeprefix("0x"))  # checked at the desk
        if same_address(claim.callback, ZERO_ADDRESS):
            return "callback data for a deal without a callback" if data else ""
        if result_hash(claim.task_id, keccak(data)) != claim.consensus_hash:
            return "the callback data's keccak256 is not the digest the winners revealed"
        return ""

    def _storage_failed(self, cid: str, exc: StorageError) -> UploadVerdict:
        if exc.code in _CONTENT_MISSING:
            return UploadVerdict.refused(_CONTENT_MISSING[exc.code].format(cid=cid))
        if exc.code == "too_large":
            return UploadVerdict.refused(f"{cid} is over {self.max_bytes} bytes")
        # The storage does not answer (or answers a 5xx): nobody's upload can be checked now.
        # This reason goes to the operator's log only (never to task logs): it may name the
        # storage's address.
        return UploadVerdict(UploadCheck.UNCHECKED, f"not checked, checked again later: {exc}")


def _canonical_cid(results: str) -> str | None:
    """The CID of a pointer spelled exactly as `result_pointer` spells it, else None: one
    result has one pointer, and nothing else rides in it. Read without a JSON parser, so
    4 KiB of nested brackets cost nothing."""
    found = _POINTER.fullmatch(results)
    if found is None:
        return None
    try:
        parse_cid(found[1])
    except InvalidInput:
        return None
    return found[1] if results == result_pointer(found[1]) else None
