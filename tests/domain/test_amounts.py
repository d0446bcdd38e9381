"""RLC amounts: exact parsing into nRLC, formatting back, and errors that say what to type."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from veritask.errors import InvalidInput
from veritask.sdk import NRLC_PER_RLC, format_eth, format_rlc, parse_amount


@pytest.mark.parametrize(
    ("text", "nrlc"),
    [
        ("1.2", 1_200_000_000),
        ("1.2 RLC", 1_200_000_000),
        ("1.2rlc", 1_200_000_000),
        ("  3  ", 3 * NRLC_PER_RLC),
        ("0", 0),
        ("0.000000001", 1),
        ("0.000000001 RLC", 1),
        ("1200000000 nRLC", 1_200_000_000),
        ("1 nrlc", 1),
        ("87000000", 87_000_000 * NRLC_PER_RLC),
        ("1.500000000", 1_500_000_000),
        (".5", 500_000_000),
    ],
)
def test_parse_amount__accepted_forms__exact_nrlc(text: str, nrlc: int) -> None:
    assert parse_amount(text) == nrlc


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-1", "negative amount '-1': amounts are zero or more"),
        ("-0.5 RLC", "negative amount '-0.5 RLC'"),
        ("1.0000000001", "too many decimals in '1.0000000001': RLC has 9 decimals"),
        ("0.5 nRLC", "a fraction of an nRLC in '0.5 nRLC': nRLC amounts are whole numbers"),
        ("abc", "not an amount: 'abc'; write a number of RLC"),
        ("", "not an amount: ''"),
        ("1.2.3", "not an amount: '1.2.3'"),
        ("1 ETH", "unknown unit 'ETH' in '1 ETH': use RLC or nRLC"),
        ("RLC", "not an amount: 'RLC'"),
        ("nan", "not an amount: 'nan'"),
        ("inf RLC", "not an amount: 'inf RLC'"),
        ("1 2", "not an amount: '1 2'"),
        ("1e3", "not an amount: '1e3'"),
    ],
)
def test_parse_amount__bad_input__says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_amount(text)
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(
    ("nrlc", "text"),
    [
        (0, "0"),
        (1, "0.000000001"),
        (1_200_000_000, "1.2"),
        (10 * NRLC_PER_RLC, "10"),
        (-5, "-0.000000005"),
    ],
)
def test_format_rlc__no_trailing_zeros(nrlc: int, text: str) -> None:
    assert format_rlc(nrlc) == text


@given(st.integers(min_value=0, max_value=10**30))
def test_format_rlc__parses_back_to_the_same_nrlc(nrlc: int) -> None:
    assert parse_amount(format_rlc(nrlc)) == nrlc
    assert parse_amount(f"{nrlc} nRLC") == nrlc


@pytest.mark.parametrize(
    ("wei", "text"), [(0, "0"), (10**18, "1"), (1, "0.000000000000000001"), (25 * 10**17, "2.5")]
)
def test_format_eth__exact(wei: int, text: str) -> None:
    assert format_eth(wei) == text
