# pragma version ~=0.4.3
"""
@title categories
@notice Owns the categories: a category fixes the reference time C of its deals, from
        which every deadline of their tasks follows. Only the hub owner creates them;
        they never change, so a deal copies C at match time and never reads it again.
"""

from snekmate.auth import ownable

uses: ownable


struct Category:
    name: String[64]
    description: String[1_024]
    work_clock_time_ref: uint256


# Deals pack the category id in 16 bits.
MAX_CATEGORIES: constant(uint256) = 2**16

# @dev The categories by id (ids count up from 0); they never change once created.
category: public(HashMap[uint256, Category])
# @dev How many categories exist, hence the id of the next one.
category_count: public(uint256)


# @dev Emitted when the owner (or the constructor, for PoCo's five defaults) creates
# category `category_id`.
event CategoryCreated:
    category_id: indexed(uint256)
    name: String[64]
    description: String[1_024]
    work_clock_time_ref: uint256


@deploy
def __init__():
    # PoCo's defaults: XS, S, M, L, XL.
    self._create("XS", "{}", 300)
    self._create("S", "{}", 1_200)
    self._create("M", "{}", 3_600)
    self._create("L", "{}", 10_800)
    self._create("XL", "{}", 36_000)


@internal
def _create(name: String[64], description: String[1_024], work_clock_time_ref: uint256) -> uint256:
    assert len(name) != 0, "categories: empty name"
    assert work_clock_time_ref != 0, "categories: zero reference time"
    # Deals store C in 24 bits (194 days, so a final deadline of 5.3 years at most).
    assert work_clock_time_ref < 2**24, "categories: reference time too long"
    category_id: uint256 = self.category_count
    assert category_id < MAX_CATEGORIES, "categories: too many categories"
    self.category[category_id] = Category(
        name=name, description=description, work_clock_time_ref=work_clock_time_ref
    )
    self.category_count = category_id + 1
    log CategoryCreated(
        category_id=category_id,
        name=name,
        description=description,
        work_clock_time_ref=work_clock_time_ref,
    )
    return category_id


@external
def create_category(name: String[64], description: String[1_024], work_clock_time_ref: uint256) -> uint256:
    """
    @notice Creates a category; only the hub owner may.
    @param work_clock_time_ref The reference time C, in seconds.
    @return The new category's id.
    """
    ownable._check_owner()
    return self._create(name, description, work_clock_time_ref)


@internal
@view
def _time_ref(category_id: uint256) -> uint256:
    return self.category[category_id].work_clock_time_ref
