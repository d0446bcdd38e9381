from __future__ import annotations

import pytest
from eth_utils.crypto import keccak

from veritask.domain.ids import deal_id, task_id, task_ids
from veritask.domain.tags import TAG_TDX, TAG_TEE, tag_bytes, tag_int, tag_mismatch


def test_deal_id__request_hash_and_consumed__is_keccak_of_packed() -> None:
    request_hash = bytes(range(32))
    expected = keccak(request_hash + (7).to_bytes(32, "big"))
    assert deal_id(request_hash, 7) == expected


def test_task_ids__bag_of_three__indices_from_bot_first() -> None:
    deal = keccak(b"deal")
    ids = task_ids(deal, 5, 3)
    assert ids == [keccak(deal + i.to_bytes(32, "big")) for i in (5, 6, 7)]
    assert ids[0] == task_id(deal, 5)


def test_tag_bytes__int__round_trips() -> None:
    assert tag_bytes(TAG_TDX) == b"\x00" * 31 + b"\x09"
    assert tag_int(tag_bytes(TAG_TDX)) == TAG_TDX


@pytest.mark.parametrize(
    ("app", "dataset", "request_tag", "workerpool", "reason"),
    [
        (0, 0, 0, 0, None),
        (TAG_TDX, 0, 0, TAG_TDX, None),
        (TAG_TDX, 0, TAG_TEE, TAG_TDX | 0x10, None),
        (0, 0, 0x10, 0, "matching: tag not offered by workerpool"),
        (0, 0x20, 0, 0x10, "matching: tag not offered by workerpool"),
        (0, 0, TAG_TEE, TAG_TEE, "matching: TEE tag not declared by app"),
        (0, TAG_TEE, 0, TAG_TEE, "matching: TEE tag not declared by app"),
    ],
)
def test_tag_mismatch__cases__gives_hub_reason(
    app: int, dataset: int, request_tag: int, workerpool: int, reason: str | None
) -> None:
    assert tag_mismatch(app, dataset, request_tag, workerpool) == reason
