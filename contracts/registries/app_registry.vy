# pragma version ~=0.4.3
"""
@title AppRegistry
@notice Apps as ERC-721 tokens: name, type ("DOCKER", "WASM"...), multiaddr (where the
        code is), checksum (of the code), mrenclave (TEE fingerprint, empty otherwise).
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


struct App:
    name: String[128]
    app_type: String[32]
    multiaddr: Bytes[512]
    checksum: bytes32
    mrenclave: Bytes[1_024]


# @dev The fields of each registered app, by its address (its token id).
apps: public(HashMap[address, App])


@deploy
def __init__():
    ownable.__init__()
    erc721.__init__("Veritask apps", "VAPP", "", "Veritask apps", "1")


@internal
@pure
def _predict(
    owner: address, name: String[128], app_type: String[32], multiaddr: Bytes[512],
    checksum: bytes32, mrenclave: Bytes[1_024]
) -> address:
    return registry._asset_address(
        keccak256(abi_encode(owner, name, app_type, multiaddr, checksum, mrenclave))
    )


@external
@pure
def predict_app(
    owner: address, name: String[128], app_type: String[32], multiaddr: Bytes[512],
    checksum: bytes32, mrenclave: Bytes[1_024]
) -> address:
    """
    @notice The address `create_app` gives these fields.
    """
    return self._predict(owner, name, app_type, multiaddr, checksum, mrenclave)


@external
def create_app(
    owner: address, name: String[128], app_type: String[32], multiaddr: Bytes[512],
    checksum: bytes32, mrenclave: Bytes[1_024]
) -> address:
    """
    @notice Registers an app owned by `owner`; anyone may pay for it.
    @return The app's address (its token id).
    """
    assert len(name) != 0, "app_registry: empty name"
    assert len(multiaddr) != 0, "app_registry: empty multiaddr"
    app: address = self._predict(owner, name, app_type, multiaddr, checksum, mrenclave)
    registry._register(owner, app)
    self.apps[app] = App(
        name=name, app_type=app_type, multiaddr=multiaddr, checksum=checksum, mrenclave=mrenclave
    )
    return app
