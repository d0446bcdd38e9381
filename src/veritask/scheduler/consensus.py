"""How many more replicates a task wants now: PoCo's consensus rule applied to what is
known (contributions by result, their weights) and what is coming (assigned replicates that
may still contribute, counted as fresh workers joining the best group). Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from veritask.domain.tasks import MAX_CONTRIBUTORS, consensus_reached

__all__ = ["FRESH_WEIGHT", "replicates_wanted"]

FRESH_WEIGHT = 2  # a worker of score < 12


def _product(weights: Iterable[int]) -> int:
    result = 1
    for weight in weights:
        result *= weight
    return result


def replicates_wanted(
    trust: int, groups: Mapping[str, Sequence[int]], pending: int, *, capacity: int | None = None
) -> int:
    """The fewest new replicates k such that, if every pending and new worker agrees with
    the best group, consensus is reached; `groups` maps each result hash to its
    contributors' weights. Capped by the contributors the hub still accepts."""
    weights = {key: _product(members) for key, members in groups.items()}
    contributions = sum(len(members) for members in groups.values())
    room = MAX_CONTRIBUTORS - contributions - pending
    if capacity is not None:
        room = min(room, capacity)
    best = max(weights.values(), default=0)
    others = sum(weights.values()) - best
    for extra in range(max(room, 0) + 1):
        joining = pending + extra
        candidate = (
            best * FRESH_WEIGHT**joining if best else (FRESH_WEIGHT**joining if joining else 0)
        )
        if candidate and consensus_reached(candidate, candidate + others, trust):
            return extra
    return max(room, 0)
