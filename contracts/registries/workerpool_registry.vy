# pragma version ~=0.4.3
"""
@title WorkerpoolRegistry
@notice Workerpools as ERC-721 tokens: a description and two policies the owner (the
        scheduler) may change, which deals snapshot at match time: the worker stake ratio
        and the scheduler reward ratio, both percentages of the workerpool price.
"""

from snekmate.auth import ownable
from snekmate.tokens import erc721
from . import registry

initializes: ownable
initializes: erc721[ownable := ownable]
initializes: registry[erc721 := erc721]

exports: (
    erc721.supportsInterface,
    erc721.balanceOf,
    erc721.ownerOf,
    erc721.approve,
    erc721.getApproved,
    erc721.setApprovalForAll,
    erc721.isApprovedForAll,
    erc721.transferFrom,
    erc721.safeTransferFrom,
    erc721.totalSupply,
    erc721.tokenByIndex,
    erc721.tokenOfOwnerByIndex,
    erc721.name,
    erc721.symbol,
    registry.asset_owner,
    registry.is_registered,
)


struct Workerpool:
    description: String[256]
    worker_stake_ratio: uint256
    scheduler_reward_ratio: uint256


# PoCo's defaults: a worker stakes 30 % of the workerpool price, the scheduler keeps 1 %.
DEFAULT_WORKER_STAKE_RATIO: constant(uint256) = 30
DEFAULT_SCHEDULER_REWARD_RATIO: constant(uint256) = 1
# Both ratios are percentages. The worker stake is bounded too (PoCo leaves it open): a
# stake above the price would let a scheduler make honest workers risk more than they
# can earn, and deals pack the ratio in 8 bits.
MAX_RATIO: constant(uint256) = 100


# @dev The description and policies of each registered workerpool, by its address (its
# token id).
workerpools: public(HashMap[address, Workerpool])


# @dev Emitted when a workerpool gets its policies: at registration (the defaults) and at
# every change by its owner.
event PolicyUpdated:
    workerpool: indexed(address)
    worker_stake_ratio: uint256
    scheduler_reward_ratio: uint256


@deploy
def __init__():
    ownable.__init__()
    erc721.__init__("Veritask workerpools", "VPOOL", "", "Veritask workerpools", "1")


@internal
@pure
def _predict(owner: address, description: String[256]) -> address:
    return registry._asset_address(keccak256(abi_encode(owner, description)))


@external
@pure
def predict_workerpool(owner: address, description: String[256]) -> address:
    """
    @notice The address `create_workerpool` gives these fields.
    """
    return self._predict(owner, description)


@external
def create_workerpool(owner: address, description: String[256]) -> address:
    """
    @notice Registers a workerpool owned by `owner` with the default policies.
    @return The workerpool's address (its token id).
    """
    assert len(description) != 0, "workerpool_registry: empty description"
    workerpool: address = self._predict(owner, description)
    registry._register(owner, workerpool)
    self.workerpools[workerpool] = Workerpool(
        description=description,
        worker_stake_ratio=DEFAULT_WORKER_STAKE_RATIO,
        scheduler_reward_ratio=DEFAULT_SCHEDULER_REWARD_RATIO,
    )
    log PolicyUpdated(
        workerpool=workerpool,
        worker_stake_ratio=DEFAULT_WORKER_STAKE_RATIO,
        scheduler_reward_ratio=DEFAULT_SCHEDULER_REWARD_RATIO,
    )
    return workerpool


@external
def change_policy(workerpool: address, worker_stake_ratio: uint256, scheduler_reward_ratio: uint256):
    """
    @notice Changes the policies of a workerpool; only its owner may. Deals already
            matched keep the policies they snapshot.
    """
    assert registry._owner_of(workerpool) == msg.sender, "workerpool_registry: caller is not the owner"
    assert worker_stake_ratio <= MAX_RATIO, "workerpool_registry: worker stake ratio above 100"
    assert scheduler_reward_ratio <= MAX_RATIO, "workerpool_registry: scheduler reward ratio above 100"
    self.workerpools[workerpool].worker_stake_ratio = worker_stake_ratio
    self.workerpools[workerpool].scheduler_reward_ratio = scheduler_reward_ratio
    log PolicyUpdated(
        workerpool=workerpool,
        worker_stake_ratio=worker_stake_ratio,
        scheduler_reward_ratio=scheduler_reward_ratio,
    )


@external
@view
def workerpool_terms(workerpool: address) -> (address, uint256, uint256):
    """
    @notice What a match needs in one call: (owner, worker stake ratio, scheduler reward
            ratio); the owner is the zero address when the workerpool is not registered.
    """
    return (
        registry._owner_of(workerpool),
        self.workerpools[workerpool].worker_stake_ratio,
        self.workerpools[workerpool].scheduler_reward_ratio,
    )
