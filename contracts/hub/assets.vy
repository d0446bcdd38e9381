# pragma version ~=0.4.3
"""
@title assets
@notice Knows where the three registries are and asks them who owns an asset. The zero
        address as owner means "not registered". It holds no mutable state.
"""

from ..interfaces import IAssetRegistry
from ..interfaces import IWorkerpoolRegistry

# @dev The registry of apps, fixed at deployment.
APP_REGISTRY: public(immutable(IAssetRegistry))
# @dev The registry of datasets, fixed at deployment.
DATASET_REGISTRY: public(immutable(IAssetRegistry))
# @dev The registry of workerpools, fixed at deployment; it also holds their policies.
WORKERPOOL_REGISTRY: public(immutable(IWorkerpoolRegistry))


@deploy
def __init__(
    app_registry: IAssetRegistry,
    dataset_registry: IAssetRegistry,
    workerpool_registry: IWorkerpoolRegistry,
):
    APP_REGISTRY = app_registry
    DATASET_REGISTRY = dataset_registry
    WORKERPOOL_REGISTRY = workerpool_registry


@internal
@view
def _app_owner(app: address) -> address:
    return staticcall APP_REGISTRY.asset_owner(app)


@internal
@view
def _dataset_owner(dataset: address) -> address:
    return staticcall DATASET_REGISTRY.asset_owner(dataset)


@internal
@view
def _workerpool_owner(workerpool: address) -> address:
    return staticcall WORKERPOOL_REGISTRY.asset_owner(workerpool)


@internal
@view
def _workerpool_terms(workerpool: address) -> (address, uint256, uint256):
    return staticcall WORKERPOOL_REGISTRY.workerpool_terms(workerpool)
