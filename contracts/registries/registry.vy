# pragma version ~=0.4.3
"""
@title registry
@notice What the three asset registries share: an asset is an ERC-721 token whose id is
        the asset's address, derived from its owner and its fields, so the same asset
        cannot be registered twice and its address is known before registration. The
        token holder is the asset's owner and signs its orders.
"""

from snekmate.tokens import erc721

uses: erc721


# Low 160 bits of a hash: an asset address.
_ADDRESS_MASK: constant(uint256) = 2**160 - 1


# @dev Emitted when `asset` is registered (its token minted) to `owner`.
event AssetRegistered:
    asset: indexed(address)
    owner: indexed(address)


@internal
@pure
def _asset_address(fields_hash: bytes32) -> address:
    return convert(convert(convert(fields_hash, uint256) & _ADDRESS_MASK, uint160), address)


@internal
def _register(owner: address, asset: address):
    assert owner != empty(address), "registry: owner is the zero address"
    assert not erc721._exists(convert(asset, uint256)), "registry: asset already registered"
    erc721._safe_mint(owner, convert(asset, uint256), b"")
    log AssetRegistered(asset=asset, owner=owner)


@internal
@view
def _owner_of(asset: address) -> address:
    # erc721._owner_of reverts on an unminted token; "not registered" is the zero address.
    if not erc721._exists(convert(asset, uint256)):
        return empty(address)
    return erc721._owner_of(convert(asset, uint256))


@external
@view
def asset_owner(asset: address) -> address:
    """
    @notice The current owner of `asset`, or the zero address when it is not registered.
    """
    return self._owner_of(asset)


@external
@view
def is_registered(asset: address) -> bool:
    """
    @notice Whether `asset` was registered here.
    """
    return erc721._exists(convert(asset, uint256))
