"""Who may upload: the EIP-191 signature of `upload_message(cid, timestamp)` by the address
in the headers, a timestamp within the clock window, and the optional allow-list.
Each check raises StorageError with the code the service answers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_keys.exceptions import BadSignature
from eth_utils.exceptions import ValidationError

from veritask.domain.cid import (
    ADDRESS_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    upload_message,
)
from veritask.domain.ids import from_hex
from veritask.errors import StorageError

__all__ = ["UploadClaim", "check_allowed", "check_fresh", "check_signature", "read_claim"]

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_SIGNATURE = re.compile(r"^0x[0-9a-fA-F]{130}$")
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")


@dataclass(frozen=True)
class UploadClaim:
    """What an upload's headers claim: a lower-case address, unix seconds, 65 bytes."""

    address: str
    timestamp: int
    signature: bytes


def read_claim(headers: Mapping[str, str]) -> UploadClaim:
    """The claim in the headers; `missing_auth` or `bad_auth` when absent or malformed."""
    values = {
        name: headers.get(name) for name in (ADDRESS_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER)
    }
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise StorageError(
            f"upload needs the headers {', '.join(missing)}: sign with the Veritask SDK "
            "(`StorageClient.upload`) or see docs/storage.md",
            code="missing_auth",
        )
    address, timestamp, signature = (str(value).strip() for value in values.values())
    if not _ADDRESS.match(address):
        raise StorageError(f"{ADDRESS_HEADER} must be a 0x address", code="bad_auth")
    if not _TIMESTAMP.match(timestamp):
        raise StorageError(f"{TIMESTAMP_HEADER} must be unix seconds", code="bad_auth")
    if not _SIGNATURE.match(signature):
        raise StorageError(f"{SIGNATURE_HEADER} must be 65 bytes in 0x hex", code="bad_auth")
    return UploadClaim(address.lower(), int(timestamp), from_hex(signature))


def check_fresh(claim: UploadClaim, now_s: float, max_skew_s: int) -> None:
    """`stale_timestamp` when the claim is more than `max_skew_s` from the service's clock."""
    if abs(now_s - claim.timestamp) > max_skew_s:
        raise StorageError(
            f"{TIMESTAMP_HEADER} {claim.timestamp} is more than {max_skew_s} s from the "
            f"storage's clock ({int(now_s)}): sign again now, and check this machine's clock",
            code="stale_timestamp",
        )


def check_allowed(claim: UploadClaim, allowed: tuple[str, ...]) -> None:
    """`forbidden` when an allow-list exists and the address is not on it."""
    if allowed and claim.address not in allowed:
        raise StorageError(
            f"{claim.address} may not upload to this storage: ask its operator to add it to "
            "VERITASK_STORAGE_ALLOWED_UPLOADERS",
            code="forbidden",
        )


def check_signature(claim: UploadClaim, cid: str) -> None:
    """`bad_signature` unless the claim's address signed `upload_message(cid, timestamp)`."""
    message = encode_defunct(text=upload_message(cid, claim.timestamp))
    try:
        signer = str(Account.recover_message(message, signature=claim.signature))
    except (BadSignature, ValidationError, ValueError) as exc:
        raise StorageError(
            f"{SIGNATURE_HEADER} is not a valid signature: sign upload_message(cid, timestamp)",
            code="bad_signature",
        ) from exc
    if signer.lower() != claim.address:
        raise StorageError(
            f"the signature is not by {claim.address} over this body's CID {cid} and "
            f"timestamp {claim.timestamp}: sign the exact bytes you send",
            code="bad_signature",
        )
