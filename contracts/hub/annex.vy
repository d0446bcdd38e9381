# pragma version ~=0.4.3
"""
@title HubAnnex
@notice The hub's functions that do not fit the hub (EIP-170) and are called once per
        deal or rarely: matchOrders, presign and cancel, reopen and claim. The hub runs
        them with DELEGATECALL (see hub.vy); they return nothing (a deal's id is in its
        events and is keccak256(request hash, request volume used before)). It
        initializes the hub's modules in the hub's order so that both contracts have the
        same storage layout; called directly it only sees its own empty storage.
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
from . import tasks

initializes: ownable
initializes: escrow
initializes: assets
initializes: categories[ownable := ownable]
initializes: orders[assets := assets]
initializes: matching[assets := assets, categories := categories, escrow := escrow, orders := orders]
initializes: tasks[escrow := escrow, matching := matching]

exports: (
    escrow.TOKEN,
    assets.APP_REGISTRY,
    assets.DATASET_REGISTRY,
    assets.WORKERPOOL_REGISTRY,
    tasks.TEE_BROKER,
    matching.matchOrders,
    orders.presign_app_order,
    orders.presign_dataset_order,
    orders.presign_workerpool_order,
    orders.presign_request_order,
    orders.cancel_app_order,
    orders.cancel_dataset_order,
    orders.cancel_workerpool_order,
    orders.cancel_request_order,
    tasks.reopen,
    tasks.claim,
)


@deploy
def __init__(
    token: IERC20,
    app_registry: IAssetRegistry,
    dataset_registry: IAssetRegistry,
    workerpool_registry: IWorkerpoolRegistry,
    tee_broker: address,
):
    ownable.__init__()
    escrow.__init__(token)
    assets.__init__(app_registry, dataset_registry, workerpool_registry)
    categories.__init__()
    orders.__init__()
    tasks.__init__(tee_broker)
