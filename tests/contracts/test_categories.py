"""Categories (contracts/hub/categories.vy, exported by the hub): the five PoCo defaults and
their creation by the hub owner."""

from __future__ import annotations

from typing import Any

import boa
import pytest

# Deals store the reference time in 24 bits.
MAX_REFERENCE_TIME = 2**24 - 1
MAX_CATEGORIES = 2**16
DEFAULTS = [("XS", 300), ("S", 1_200), ("M", 3_600), ("L", 10_800), ("XL", 36_000)]


def _one(logs: list[Any], name: str) -> Any:
    found = [ev for ev in logs if type(ev).__name__ == name]
    assert len(found) == 1, [type(ev).__name__ for ev in logs]
    return found[0]


def _owner(protocol) -> str:
    return protocol.actors["deployer"].address


def test_deploy__defaults__five_poco_categories(protocol) -> None:
    hub = protocol.hub

    assert hub.category_count() == 5
    for category_id, (name, reference_time) in enumerate(DEFAULTS):
        category = hub.category(category_id)
        assert (category.name, category.description, category.work_clock_time_ref) == (
            name,
            "{}",
            reference_time,
        )


def test_category__unknown_id__is_empty(protocol) -> None:
    category = protocol.hub.category(5)
    assert (category.name, category.description, category.work_clock_time_ref) == ("", "", 0)


def test_create_category__by_owner__stores_and_emits_with_next_id(protocol) -> None:
    hub = protocol.hub

    with boa.env.prank(_owner(protocol)):
        category_id = hub.create_category("GPU", '{"gpu": true}', 7_200)
    logs = hub.get_logs()

    ev = _one(logs, "CategoryCreated")
    assert (ev.category_id, ev.name, ev.description, ev.work_clock_time_ref) == (
        5,
        "GPU",
        '{"gpu": true}',
        7_200,
    )
    assert category_id == 5
    assert hub.category_count() == 6
    category = hub.category(5)
    assert (category.name, category.description, category.work_clock_time_ref) == (
        "GPU",
        '{"gpu": true}',
        7_200,
    )
    assert hub.category(4).name == "XL"


def test_create_category__twice__gives_consecutive_ids(protocol) -> None:
    hub = protocol.hub
    with boa.env.prank(_owner(protocol)):
        first = hub.create_category("A", "", 1)
        second = hub.create_category("A", "", 1)

    assert (first, second) == (5, 6)
    assert hub.category_count() == 7
    assert hub.category(6).work_clock_time_ref == 1


@pytest.mark.parametrize("reference_time", [1, MAX_REFERENCE_TIME])
def test_create_category__reference_time_bounds__accepted(protocol, reference_time: int) -> None:
    hub = protocol.hub
    with boa.env.prank(_owner(protocol)):
        category_id = hub.create_category("edge", "", reference_time)
    assert hub.category(category_id).work_clock_time_ref == reference_time


def test_create_category__longest_name_and_description__stored_verbatim(protocol) -> None:
    hub = protocol.hub
    name, description = "n" * 64, "d" * 1_024
    with boa.env.prank(_owner(protocol)):
        category_id = hub.create_category(name, description, 60)
    category = hub.category(category_id)
    assert (category.name, category.description) == (name, description)


def test_create_category__by_non_owner__reverts(protocol) -> None:
    with (
        boa.env.prank(protocol.actors["stranger"].address),
        boa.reverts("ownable: caller is not the owner"),
    ):
        protocol.hub.create_category("GPU", "", 7_200)
    assert protocol.hub.category_count() == 5


def test_create_category__after_hub_ownership_transfer__new_owner_only(protocol) -> None:
    hub = protocol.hub
    new_owner = protocol.actors["stranger"].address
    with boa.env.prank(_owner(protocol)):
        hub.transfer_ownership(new_owner)

    with boa.env.prank(_owner(protocol)), boa.reverts("ownable: caller is not the owner"):
        hub.create_category("GPU", "", 7_200)
    with boa.env.prank(new_owner):
        assert hub.create_category("GPU", "", 7_200) == 5


def test_create_category__empty_name__reverts(protocol) -> None:
    with boa.env.prank(_owner(protocol)), boa.reverts("categories: empty name"):
        protocol.hub.create_category("", "{}", 7_200)


def test_create_category__zero_reference_time__reverts(protocol) -> None:
    with boa.env.prank(_owner(protocol)), boa.reverts("categories: zero reference time"):
        protocol.hub.create_category("GPU", "{}", 0)


@pytest.mark.parametrize("reference_time", [MAX_REFERENCE_TIME + 1, 10**9])
def test_create_category__reference_time_of_2_24_or_more__reverts(
    protocol, reference_time: int
) -> None:
    # 10**9 was the bound of the first design; it no longer fits a deal.
    with boa.env.prank(_owner(protocol)), boa.reverts("categories: reference time too long"):
        protocol.hub.create_category("GPU", "{}", reference_time)
    assert protocol.hub.category_count() == 5


def test_create_category__id_space_full__reverts(protocol) -> None:
    # 65,531 real creations would take minutes: the counter is moved to the edge instead.
    hub = protocol.hub
    protocol.hub_contract.eval(f"categories.category_count = {MAX_CATEGORIES - 1}")
    with boa.env.prank(_owner(protocol)):
        last = hub.create_category("last", "", 60)
        assert last == MAX_CATEGORIES - 1
        assert hub.category_count() == MAX_CATEGORIES
        with boa.reverts("categories: too many categories"):
            hub.create_category("one too many", "", 60)
