# pragma version ~=0.4.3
"""
@title DatasetRegistry
@notice Datasets as ERC-721 tokens: name, multiaddr (where the possibly encrypted file
        is), checksum (sha256 of the file).
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


struct Dataset:
    name: String[128]
    multiaddr: Bytes[512]
    checksum: bytes32


# @dev The fields of each registered dataset, by its address (its token id).
datasets: public(HashMap[address, Dataset])


@deploy
def __init__():
    ownable.__init__()
    erc721.__init__("Veritask datasets", "VDATA", "", "Veritask datasets", "1")


@internal
@pure
def _predict(owner: address, name: String[128], multiaddr: Bytes[512], checksum: bytes32) -> address:
    return registry._asset_address(keccak256(abi_encode(owner, name, multiaddr, checksum)))


@external
@pure
def predict_dataset(owner: address, name: String[128], multiaddr: Bytes[512], checksum: bytes32) -> address:
    """
    @notice The address `create_dataset` gives these fields.
    """
    return self._predict(owner, name, multiaddr, checksum)


@external
def create_dataset(owner: address, name: String[128], multiaddr: Bytes[512], checksum: bytes32) -> address:
    """
    @notice Registers a dataset owned by `owner`; anyone may pay for it.
    @return The dataset's address (its token id).
    """
    assert len(name) != 0, "dataset_registry: empty name"
    assert len(multiaddr) != 0, "dataset_registry: empty multiaddr"
    dataset: address = self._predict(owner, name, multiaddr, checksum)
    registry._register(owner, dataset)
    self.datasets[dataset] = Dataset(name=name, multiaddr=multiaddr, checksum=checksum)
    return dataset
