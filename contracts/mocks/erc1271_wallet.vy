# pragma version ~=0.4.3
"""
@title ERC1271Wallet (test mock)
@notice A minimal contract account for tests: it vouches (ERC-1271) for a hash exactly when
        its owner EOA signed it with a 65-byte ECDSA signature, reverts on any other
        signature length, and accepts ERC-721 tokens so that it can own assets.
"""

_ERC1271_MAGIC: constant(bytes4) = 0x1626ba7e
_ERC1271_REJECT: constant(bytes4) = 0xffffffff

# @dev The EOA whose 65-byte signatures the wallet vouches for.
owner: public(address)


@deploy
def __init__(owner: address):
    self.owner = owner


@external
@view
def isValidSignature(hash: bytes32, signature: Bytes[512]) -> bytes4:
    """
    @notice 0x1626ba7e when the owner signed `hash`, 0xffffffff otherwise.
    """
    assert len(signature) == 65, "erc1271_wallet: bad signature length"
    r: uint256 = extract32(signature, 0, output_type=uint256)
    s: uint256 = extract32(signature, 32, output_type=uint256)
    v: uint256 = convert(slice(signature, 64, 1), uint256)
    if ecrecover(hash, v, r, s) == self.owner:
        return _ERC1271_MAGIC
    return _ERC1271_REJECT


@external
def onERC721Received(
    operator: address, sender: address, token_id: uint256, data: Bytes[1_024]
) -> bytes4:
    """
    @notice Accepts every ERC-721 token.
    """
    return method_id("onERC721Received(address,address,uint256,bytes)", output_type=bytes4)
