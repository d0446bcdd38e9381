# pragma version ~=0.4.3
"""
@title Lifecycle
@notice The task lifecycle's state-changing functions, run by the hub with DELEGATECALL
        (see hub.vy). It initializes the hub's modules in the hub's order so that both
        contracts have the same storage layout; called directly it only sees its own
        empty storage, where no deal exists.
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
initializes: tasks[ownable := ownable, categories := categories, escrow := escrow, matching := matching]

exports: (
    tasks.contribute,
    tasks.reveal,
    tasks.reopen,
    tasks.finalize,
    tasks.contribute_and_finalize,
    tasks.claim,
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
