# pragma version ~=0.4.3
"""
@title RLC
@notice The marketplace's ERC-20 token: 9 decimals, every price and stake is an
        integer in nRLC. Adds `approveAndCall` so a deposit into the hub takes one
        transaction. Minting is reserved to minters (the deployer at first).
"""

from ethereum.ercs import IERC20
from ethereum.ercs import IERC20Detailed
from snekmate.auth import ownable
from snekmate.tokens import erc20
from ..interfaces import IApprovalReceiver

implements: IERC20
implements: IERC20Detailed

initializes: ownable
initializes: erc20[ownable := ownable]

exports: erc20.__interface__


@deploy
def __init__(initial_supply: uint256):
    """
    @notice Creates the token and mints `initial_supply` nRLC to the deployer.
    """
    ownable.__init__()
    erc20.__init__("RLC", "RLC", 9, "RLC", "1")
    if initial_supply != 0:
        erc20._mint(msg.sender, initial_supply)


@external
def approveAndCall(spender: address, amount: uint256, extra_data: Bytes[1_024]) -> bool:
    """
    @notice Approves `spender` for `amount` and calls its `receiveApproval` hook in the
            same transaction (the hub's hook turns it into a deposit).
    @param spender The contract to approve and notify.
    @param amount The allowance, in nRLC.
    @param extra_data Opaque data forwarded to the hook.
    """
    erc20._approve(msg.sender, spender, amount)
    extcall IApprovalReceiver(spender).receiveApproval(msg.sender, amount, self, extra_data)
    return True
