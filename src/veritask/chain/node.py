"""Connects to a JSON-RPC node over HTTP, finds a deployed protocol from its hub address
alone (the hub holds the token, registry and annex addresses as immutables), and turns
every web3 and transport failure into the exception tree, in one place (`Node.errors`).

Read-only: nothing here sends a transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from web3 import Web3
from web3.exceptions import ContractLogicError, Web3Exception
from web3.types import BlockIdentifier, RPCEndpoint

from veritask.errors import ChainError, ContractRevert, InvalidInput, ToolError

from .compiler import compile_all
from .deploy import Deployment
from .transactions import revert_reason

__all__ = ["HUB_ADDRESS_GETTERS", "Node", "code_matches_build", "connect", "read_deployment"]

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


class Node:
    """A JSON-RPC node and how its failures are worded. With a `label` ("profile 'devnet'")
    and hints, errors name what the user configured and what to do (the SDK); without,
    they name the URL (services). `w3` is for `veritask.chain` only."""

    def __init__(
        self,
        w3: Web3,
        *,
        url: str = "",
        timeout_s: float = 0.0,
        label: str = "",
        unreachable_hint: str = "",
        rpc_hint: str = "",
    ) -> None:
        self.w3 = w3
        self.url = url or str(getattr(w3.provider, "endpoint_uri", "") or "the node")
        self.label = label
        self.timeout_s = timeout_s
        self._unreachable_hint = unreachable_hint
        self._rpc_hint = rpc_hint

    @classmethod
    def at(cls, rpc_url: str, *, timeout_s: float, **wording: str) -> Node:
        """The node at `rpc_url` (nothing is sent yet), see `connect`."""
        w3 = connect(rpc_url, timeout_s=timeout_s)
        return cls(w3, url=rpc_url, timeout_s=timeout_s, **wording)

    def _unreachable(self, exc: OSError) -> str:
        if not self.label:
            return f"{self.url} did not answer: {exc}"
        timed_out = isinstance(exc, TimeoutError) or "Timeout" in type(exc).__name__
        reason = f" (no answer within {self.timeout_s:g} s)" if timed_out else ""
        where = f"the chain {self.label} does not answer at {self.url}{reason}"
        return f"{where}: {self._unreachable_hint}"

    @contextmanager
    def errors(self) -> Iterator[None]:
        """Translates web3 and transport failures into the exception tree."""
        try:
            yield
        except ChainError:
            raise
        except ContractLogicError as exc:
            raise ContractRevert(revert_reason(exc)) from exc
        except Web3Exception as exc:
            raise ChainError(f"the node at {self.url} refused: {exc}") from exc
        except OSError as exc:
            raise ChainError(self._unreachable(exc)) from exc

    def chain_id(self) -> int:
        """The node's chain id; `ChainError` when what answers is not a JSON-RPC node."""
        with self.errors():
            try:
                return int(self.w3.eth.chain_id)
            except ValueError as exc:
                if isinstance(exc, Web3Exception):
                    raise
                # An HTTP server that is not a JSON-RPC node answers with something not JSON.
                where = f"{self.url} ({self.label})" if self.label else self.url
                hint = f": {self._rpc_hint}" if self._rpc_hint else ""
                raise ChainError(
                    f"{where} answers, but not as an Ethereum JSON-RPC node{hint}"
                ) from exc

    def rpc(self, method: str, *params: Any) -> Any:
        """A raw JSON-RPC call (a devnet's `anvil_*` and `evm_*` methods); `ToolError` when
        the node answers with an error."""
        with self.errors():
            response = self.w3.provider.make_request(RPCEndpoint(method), list(params))
        if "error" in response:
            raise ToolError(f"{method} failed: {response['error']}")
        return response.get("result")

    def block_number(self) -> int:
        with self.errors():
            return int(self.w3.eth.block_number)

    def block_time(self, block: BlockIdentifier = "latest") -> int:
        """The timestamp of a block (the latest by default): chain time, unix seconds."""
        with self.errors():
            return int(self.w3.eth.get_block(block)["timestamp"])

    def coin_balance(self, address: str, block: BlockIdentifier | None = None) -> int:
        """The native coin (gas money) `address` holds, in wei."""
        with self.errors():
            return int(self.w3.eth.get_balance(Web3.to_checksum_address(address), block))

    def has_code(self, address: str, block: BlockIdentifier | None = None) -> bool:
        with self.errors():
            return len(self.w3.eth.get_code(Web3.to_checksum_address(address), block)) > 0

    def deployment(self, hub: str) -> Deployment:
        """The protocol around the hub at `hub` (see `read_deployment`)."""
        with self.errors():
            return read_deployment(self.w3, hub)

    def code_matches_build(self, deployment: Deployment) -> bool:
        with self.errors():
            return code_matches_build(self.w3, deployment)
