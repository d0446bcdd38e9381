"""Deploys the whole protocol (token, three registries, hub) to any JSON-RPC endpoint."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract

from veritask.domain.orders import ZERO_ADDRESS
from veritask.errors import InvalidInput

from .compiler import Artifact, compile_all
from .transactions import send

__all__ = ["Deployment", "bind", "deploy_protocol", "hub_abi", "merge_hub_abi"]

# 87 million RLC, the reference supply, in nRLC.
DEFAULT_SUPPLY = 87_000_000 * 10**9


@dataclass(frozen=True)
class Deployment:
    """Where the protocol lives on one chain."""

    chain_id: int
    token: str
    app_registry: str
    dataset_registry: str
    workerpool_registry: str
    hub: str
    annex: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> Deployment:
        try:
            data: dict[str, Any] = json.loads(text)
            return cls(**data)
        except (ValueError, TypeError) as exc:
            raise InvalidInput(f"not a Veritask deployment file: {exc}") from exc

    @classmethod
    def load(cls, path: Path) -> Deployment:
        return cls.from_json(path.read_text())


def _deploy(w3: Web3, deployer: LocalAccount, artifact: Artifact, *args: Any) -> str:
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    receipt = send(w3, deployer, factory.constructor(*args))
    address = receipt["contractAddress"]
    assert address is not None
    return str(address)


def deploy_protocol(
    w3: Web3,
    deployer: LocalAccount,
    *,
    initial_supply: int = DEFAULT_SUPPLY,
    tee_broker: str = ZERO_ADDRESS,
) -> Deployment:
    """Compiles (cached) and deploys every contract; the deployer owns the hub and the
    token supply. `tee_broker` is the secret-management service's key, which alone
    authorizes enclave contributions when set (fixed for the life of the hub)."""
    artifacts = compile_all()
    token = _deploy(w3, deployer, artifacts["token"], initial_supply)
    apps = _deploy(w3, deployer, artifacts["app_registry"])
    datasets = _deploy(w3, deployer, artifacts["dataset_registry"])
    workerpools = _deploy(w3, deployer, artifacts["workerpool_registry"])
    registries = (token, apps, datasets, workerpools, tee_broker)
    annex = _deploy(w3, deployer, artifacts["annex"], *registries)
    hub = _deploy(w3, deployer, artifacts["hub"], *registries, annex)
    return Deployment(
        chain_id=w3.eth.chain_id,
        token=token,
        app_registry=apps,
        dataset_registry=datasets,
        workerpool_registry=workerpools,
        hub=hub,
        annex=annex,
    )


def hub_abi(artifacts: dict[str, Artifact]) -> list[dict[str, Any]]:
    """The hub's whole interface: its own ABI plus the annex functions it runs by
    DELEGATECALL (events and errors of both, without duplicates)."""
    return merge_hub_abi(artifacts["hub"].abi, artifacts["annex"].abi)


def merge_hub_abi(hub: list[dict[str, Any]], annex: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`hub_abi` for ABIs at hand (e.g. from titanoboa)."""
    merged = list(hub)
    seen = {(e["type"], e.get("name")) for e in merged}
    for entry in annex:
        key = (entry["type"], entry.get("name"))
        if key not in seen and entry["type"] != "constructor":
            merged.append(entry)
            seen.add(key)
    return merged


def bind(w3: Web3, deployment: Deployment) -> dict[str, Contract]:
    """web3 contract objects for each deployed contract, by name."""
    artifacts = compile_all()
    abis = {name: artifact.abi for name, artifact in artifacts.items()}
    abis["hub"] = hub_abi(artifacts)
    return {
        name: w3.eth.contract(address=Web3.to_checksum_address(address), abi=abis[name])
        for name, address in asdict(deployment).items()
        if name != "chain_id"
    }
