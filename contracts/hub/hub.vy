# pragma version ~=0.4.3
"""
@title Hub
@notice The marketplace: accounts (escrow), categories, orders, deals and tasks, composed
        from modules that each own one part of the state. The owner may only create
        categories and set the TEE broker.

        All of it does not fit one contract (EIP-170), so the task lifecycle's
        state-changing functions live in `lifecycle.vy`, a contract with the same module
        list (hence the same storage layout, checked by a test) that the hub runs with
        DELEGATECALL from `__default__`. The address is fixed at deployment: nothing here
        is upgradeable. Clients use the ABI of both contracts at the hub's address.
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
    tasks.set_tee_broker,
    tasks.tee_broker,
    tasks.task,
    tasks.contribution,
    tasks.scores,
    tasks.result_for,
    tasks.kitty,
)


# The contract holding the lifecycle's state-changing functions (see the notice above).
LIFECYCLE: public(immutable(address))


@deploy
def __init__(
    token: IERC20,
    app_registry: IAssetRegistry,
    dataset_registry: IAssetRegistry,
    workerpool_registry: IWorkerpoolRegistry,
    lifecycle: address,
):
    assert lifecycle.is_contract, "hub: lifecycle is not a contract"
    LIFECYCLE = lifecycle
    ownable.__init__()
    escrow.__init__(token)
    assets.__init__(app_registry, dataset_registry, workerpool_registry)
    categories.__init__()
    orders.__init__()


@external
def __default__():
    """
    @notice Runs the task lifecycle functions (contribute, reveal, reopen, finalize,
            contribute_and_finalize, claim) of `LIFECYCLE` on the hub's own storage.
            Unknown functions revert there. Revert reasons come back unchanged.
    """
    raw_call(LIFECYCLE, msg.data, is_delegate_call=True)
