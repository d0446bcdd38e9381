"""RLC and ETH amounts: parses what people type into exact integers in nRLC and formats nRLC back.

Exact decimal arithmetic only (`Decimal`, never `float`): 1 RLC = 10**9 nRLC, and an
amount with more than nine decimals of RLC is refused rather than rounded.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from veritask.errors import InvalidInput

__all__ = [
    "NRLC_PER_RLC",
    "RLC_DECIMALS",
    "WEI_PER_ETH",
    "format_eth",
    "format_rlc",
    "parse_amount",
]

RLC_DECIMALS = 9
NRLC_PER_RLC = 10**RLC_DECIMALS
WEI_PER_ETH = 10**18

# A number, then optionally a unit: "1.2", "1.2 RLC", "1200000000 nRLC", "1.2rlc".
_AMOUNT = re.compile(r"^\s*(?P<number>[^\sA-Za-z]*)\s*(?P<unit>[A-Za-z]*)\s*$")
_EXAMPLES = 'for example "1.2", "1.2 RLC" or "1200000000 nRLC"'


def parse_amount(text: str) -> int:
    """The amount `text` names, in nRLC. A bare number is in RLC.

    Raises `InvalidInput` for garbage, a negative amount, a unit other than RLC or nRLC,
    more than nine decimals of RLC, or a fraction of an nRLC.
    """
    match = _AMOUNT.match(text)
    if match is None or not match["number"]:
        raise InvalidInput(f"not an amount: {text!r}; write a number of RLC, {_EXAMPLES}")
    unit = match["unit"].lower() or "rlc"
    if unit not in ("rlc", "nrlc"):
        raise InvalidInput(f"unknown unit {match['unit']!r} in {text!r}: use RLC or nRLC")
    try:
        number = Decimal(match["number"])
    except InvalidOperation:
        raise InvalidInput(f"not an amount: {text!r}; {_EXAMPLES}") from None
    if not number.is_finite():
        raise InvalidInput(f"not an amount: {text!r}; {_EXAMPLES}")
    if number < 0:
        raise InvalidInput(f"negative amount {text!r}: amounts are zero or more")
    nrlc = number * NRLC_PER_RLC if unit == "rlc" else number
    if nrlc != nrlc.to_integral_value():
        if unit == "rlc":
            raise InvalidInput(
                f"too many decimals in {text!r}: RLC has {RLC_DECIMALS} decimals "
                "(1 nRLC = 0.000000001 RLC)"
            )
        raise InvalidInput(f"a fraction of an nRLC in {text!r}: nRLC amounts are whole numbers")
    return int(nrlc)


def format_rlc(nrlc: int) -> str:
    """`nrlc` as a number of RLC with no trailing zeros: 1_200_000_000 -> "1.2"."""
    whole, fraction = divmod(abs(nrlc), NRLC_PER_RLC)
    sign = "-" if nrlc < 0 else ""
    if fraction == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{fraction:0{RLC_DECIMALS}d}".rstrip("0")


def format_eth(wei: int) -> str:
    """`wei` as a number of ETH (the chain's native coin) with no trailing zeros."""
    whole, fraction = divmod(wei, WEI_PER_ETH)
    return f"{whole}.{fraction:018d}".rstrip("0").rstrip(".")
