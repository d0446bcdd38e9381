"""Checks Ethereum addresses typed by people and returns them in checksum form."""

from __future__ import annotations

from eth_utils.address import is_checksum_address, is_hex_address, to_checksum_address

from veritask.errors import InvalidInput

__all__ = ["checksum_address"]


def checksum_address(text: str, *, source: str = "") -> str:
    """`text` as an EIP-55 checksum address; `source` names where it came from in errors
    (such as "--hub").

    All-lowercase and all-uppercase hex are accepted; mixed case must carry a valid
    checksum, since a wrong one usually means a typo.
    """
    where = f" in {source}" if source else ""
    value = text.strip()
    if not is_hex_address(value):
        raise InvalidInput(
            f"not an Ethereum address{where}: {text!r}; "
            "expected 0x followed by 40 hexadecimal digits"
        )
    digits = value[2:]
    mixed_case = digits != digits.lower() and digits != digits.upper()
    if mixed_case and not is_checksum_address(value):
        raise InvalidInput(
            f"bad checksum in address {text!r}{where}: check it for a typo, "
            "or write it in lowercase"
        )
    return str(to_checksum_address(value))
