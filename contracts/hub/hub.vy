# pragma version ~=0.4.3
"""
@title Hub
@notice The marketplace: accounts (escrow), categories, orders and deals in one contract,
        composed from modules that each own one part of the state. The owner may only
        create categories.
"""

from ethereum.ercs import IERC20
from snekmate.auth import ownable
from ..interfaces import IAssetRegistry
from ..interfaces import IWorkerpoolRegistry
from . import assets
from . import categories
from . import escrow
from . import matching
from . import orders

initializes: ownable
initializes: escrow
initializes: assets
initializes: categories[ownable := ownable]
initializes: orders[assets := assets]
initializes: matching[assets := assets, categories := categories, escrow := escrow, orders := orders]

exports: (
    ownable.owner,
    ownable.transfer_ownership,
    escrow.TOKEN,
    escrow.deposit,
    escrow.deposit_for,
    escrow.receiveApproval,
    escrow.withdraw,
    escrow.withdraw_to,
    escrow.balance_of,
    escrow.frozen_of,
    assets.APP_REGISTRY,
    assets.DATASET_REGISTRY,
    assets.WORKERPOOL_REGISTRY,
    categories.category,
    categories.category_count,
    categories.create_category,
    orders.consumed,
    orders.presigned,
    orders.presign_app_order,
    orders.presign_dataset_order,
    orders.presign_workerpool_order,
    orders.presign_request_order,
    orders.cancel_app_order,
    orders.cancel_dataset_order,
    orders.cancel_workerpool_order,
    orders.cancel_request_order,
    orders.hash_app_order,
    orders.hash_dataset_order,
    orders.hash_workerpool_order,
    orders.hash_request_order,
    orders.domain_separator,
    orders.eip712.eip712Domain,
    matching.matchOrders,
    matching.deal,
    matching.deal_exists,
)


@deploy
def __init__(
    token: IERC20,
    app_registry: IAssetRegistry,
    dataset_registry: IAssetRegistry,
    workerpool_registry: IWorkerpoolRegistry,
):
    ownable.__init__()
    escrow.__init__(token)
    assets.__init__(app_registry, dataset_registry, workerpool_registry)
    categories.__init__()
    orders.__init__()
