"""How many replicates a task wants, by PoCo's rule (PROTOCOL.md A6)."""

from __future__ import annotations

import pytest

from veritask.domain.tasks import workers_needed
from veritask.scheduler.consensus import replicates_wanted


@pytest.mark.parametrize("trust", [0, 1, 2, 3, 4, 5, 8, 100])
def test_replicates_wanted__fresh_task__is_workers_needed(trust: int) -> None:
    assert replicates_wanted(trust, {}, 0) == workers_needed(trust)


def test_replicates_wanted__assigned_workers_pending__wants_no_more() -> None:
    assert replicates_wanted(3, {}, 2) == 0
    assert replicates_wanted(3, {"0xa": [2]}, 1) == 0


def test_replicates_wanted__two_results_disagree_at_trust_3__wants_two_more() -> None:
    # 2 agreeing + 1 other: 4 × 3 > (1 + 4 + 2) × 2 fails; 8 × 3 > (1 + 8 + 2) × 2 holds.
    assert replicates_wanted(3, {"0xa": [2], "0xb": [2]}, 0) == 2
    assert replicates_wanted(3, {"0xa": [2], "0xb": [2]}, 1) == 1


def test_replicates_wanted__bounded_by_the_hubs_contributor_limit() -> None:
    groups = {f"0x{i}": [2] for i in range(7)}
    assert replicates_wanted(100, groups, 0) == 1
    assert replicates_wanted(100, groups, 1) == 0
