"""Connects to a JSON-RPC node over HTTP and finds a deployed protocol from its hub address
alone (the hub holds the token, registry and annex addresses as immutables).

Read-only: nothing here sends a transaction. A node that does not answer surfaces as the
transport's `OSError`, for the caller to word with what it knows (profile, flags).
"""

from __future__ import annotations

from typing import Any

from web3 import Web3
from web3.exceptions import Web3Exception

from veritask.errors import InvalidInput

from .compiler import compile_all
from .deploy import Deployment

__all__ = ["HUB_ADDRESS_GETTERS", "code_matches_build", "connect", "read_deployment"]

# The hub's immutable addresses, in the order of `Deployment`'s fields after chain_id.
HUB_ADDRESS_GETTERS = ("TOKEN", "APP_REGISTRY", "DATASET_REGISTRY", "WORKERPOOL_REGISTRY")
_GETTERS_ABI: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": name,
        "stateMutability": "view",
        "inputs": [],
        "outputs": [{"name": "", "type": "address"}],
    }
    for name in (*HUB_ADDRESS_GETTERS, "ANNEX")
]


def connect(rpc_url: str, *, timeout_s: float) -> Web3:
    """A client of the node at `rpc_url` (nothing is sent yet). Each request gives up after
    `timeout_s` and is not retried: web3's default retries would hide a dead node behind
    seconds of back-off."""
    provider = Web3.HTTPProvider(
        rpc_url, request_kwargs={"timeout": timeout_s}, exception_retry_configuration=None
    )
    return Web3(provider)


def read_deployment(w3: Web3, hub: str) -> Deployment:
    """The protocol around the hub at `hub`, read from the hub's immutables."""
    hub = Web3.to_checksum_address(hub)
    chain_id = w3.eth.chain_id
    if not w3.eth.get_code(hub):
        raise InvalidInput(
            f"no contract at hub {hub} on chain {chain_id}: check the hub address and that "
            "the RPC URL points to the chain it was deployed on"
        )
    contract = w3.eth.contract(address=hub, abi=_GETTERS_ABI)
    try:
        token, apps, datasets, workerpools, annex = (
            str(getattr(contract.functions, name)().call())
            for name in (*HUB_ADDRESS_GETTERS, "ANNEX")
        )
    except Web3Exception as exc:
        raise InvalidInput(
            f"{hub} on chain {chain_id} is not a Veritask hub (reading its TOKEN and "
            f"registries failed: {type(exc).__name__}): check the hub address"
        ) from exc
    return Deployment(
        chain_id=chain_id,
        token=token,
        app_registry=apps,
        dataset_registry=datasets,
        workerpool_registry=workerpools,
        hub=hub,
        annex=annex,
    )


def code_matches_build(w3: Web3, deployment: Deployment) -> bool:
    """Whether every deployed contract runs the code compiled from this package's Vyper
    sources. Vyper appends immutables after the runtime code, so a prefix match is exact."""
    artifacts = compile_all()
    for name, artifact in artifacts.items():
        deployed = bytes(w3.eth.get_code(Web3.to_checksum_address(getattr(deployment, name))))
        if not deployed.startswith(artifact.runtime):
            return False
    return True
