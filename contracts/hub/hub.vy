# pragma version ~=0.4.3
"""
@title Hub
@notice The marketplace: accounts (escrow), categories, orders, deals and tasks, composed
        from modules that each own one part of the state. The owner may only create
        categories; the TEE broker is fixed at deployment.

        All of it does not fit one contract (EIP-170). The functions called once per deal
        or rarely (matchOrders, presign, cancel, reopen, claim) live in `annex.vy`, a
        contract with the same module list, hence the same storage layout (checked by a
        test), that the hub runs with DELEGATECALL from `__default__`; the per-task hot
        path stays here and pays no extra call. The annex address is fixed at deployment:
        nothing is upgradeable. Clients use the ABI of both contracts at the hub address.
"""

from ethereum.ercs import IERC20
from snekmate.auth import ownable
from ..interfaces import IAssetRegistry
from ..interfaces import IHubAnnex
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
    escrow.score_of,
    escrow.score_in,
    assets.APP_REGISTRY,
    assets.DATASET_REGISTRY,
    assets.WORKERPOOL_REGISTRY,
    categories.category,
    categories.category_count,
    categories.create_category,
    orders.consumed,
    orders.presigned,
    orders.hash_app_order,
    orders.hash_dataset_order,
    orders.hash_workerpool_order,
    orders.hash_request_order,
    orders.domain_separator,
    orders.eip712.eip712Domain,
    matching.deal,
    matching.deal_exists,
    tasks.contribute,
    tasks.reveal,
    tasks.finalize,
    tasks.contribute_and_finalize,
    tasks.TEE_BROKER,
    tasks.task,
    tasks.contribution,
    tasks.result_for,
)


# @dev The contract whose functions the hub runs with DELEGATECALL (see the notice
# above), fixed at deployment.
ANNEX: public(immutable(address))


@deploy
def __init__(
    token: IERC20,
    app_registry: IAssetRegistry,
    dataset_registry: IAssetRegistry,
    workerpool_registry: IWorkerpoolRegistry,
    tee_broker: address,
    annex: address,
):
    assert annex.is_contract, "hub: annex is not a contract"
    # The annex runs with its own immutables: they must be the hub's.
    assert staticcall IHubAnnex(annex).TOKEN() == token.address, "hub: annex has another token"
    assert staticcall IHubAnnex(annex).APP_REGISTRY() == app_registry.address, (
        "hub: annex has other registries"
    )
    assert staticcall IHubAnnex(annex).DATASET_REGISTRY() == dataset_registry.address, (
        "hub: annex has other registries"
    )
    assert staticcall IHubAnnex(annex).WORKERPOOL_REGISTRY() == workerpool_registry.address, (
        "hub: annex has other registries"
    )
    assert staticcall IHubAnnex(annex).TEE_BROKER() == tee_broker, "hub: annex has another TEE broker"
    ANNEX = annex
    ownable.__init__()
    escrow.__init__(token)
    assets.__init__(app_registry, dataset_registry, workerpool_registry)
    categories.__init__()
    orders.__init__()
    tasks.__init__(tee_broker)


@external
def __default__():
    """
    @notice Runs the functions of `ANNEX` (matchOrders, presign_*, cancel_*, reopen,
            claim) on the hub's own storage. Unknown functions revert there; revert
            reasons come back unchanged.
    """
    raw_call(ANNEX, msg.data, is_delegate_call=True)
