"""What the market reads from the chain, as a small seam: asset owners, consumed volume,
presignatures, ERC-1271 answers and free balances, each read at one block so that every
fact about an order comes from the same chain state. `Web3ChainView` is the real one;
tests inject fakes. Node failures surface as `ChainError`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from web3 import Web3
from web3.contract import Contract
from web3.exceptions import Web3Exception

from veritask.chain.deploy import Deployment, bind
from veritask.domain.orders import ZERO_ADDRESS, Domain
from veritask.errors import ChainError

__all__ = ["ERC1271_MAGIC", "ChainView", "Web3ChainView"]

ERC1271_MAGIC = bytes.fromhex("1626ba7e")
_ERC1271_ABI: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": "isValidSignature",
        "stateMutability": "view",
        "inputs": [{"name": "hash", "type": "bytes32"}, {"name": "signature", "type": "bytes"}],
        "outputs": [{"name": "", "type": "bytes4"}],
    }
]


class ChainView(Protocol):
    """Read-only facts the market checks orders against. `block` pins every read."""

    @property
    def domain(self) -> Domain: ...

    def head(self) -> int: ...

    def asset_owner(self, kind: str, asset: str, block: int) -> str | None:
        """The owner of an app, dataset or workerpool; None when it is not registered."""
        ...

    def consumed(self, order_hash: bytes, block: int) -> int: ...

    def presigned(self, order_hash: bytes, block: int) -> str: ...

    def is_contract(self, address: str, block: int) -> bool: ...

    def erc1271_valid(self, signer: str, digest: bytes, signature: bytes, block: int) -> bool: ...

    def free_balance(self, address: str, block: int) -> int: ...


class Web3ChainView:
    """`ChainView` over a JSON-RPC node and a deployed protocol."""

    def __init__(self, w3: Web3, deployment: Deployment) -> None:
        self.w3 = w3
        self.deployment = deployment
        contracts = bind(w3, deployment)
        self.contracts = contracts
        self._hub: Contract = contracts["hub"]
        self._registries: dict[str, Contract] = {
            "app": contracts["app_registry"],
            "dataset": contracts["dataset_registry"],
            "workerpool": contracts["workerpool_registry"],
        }

    @property
    def domain(self) -> Domain:
        return Domain(self.deployment.chain_id, self.deployment.hub)

    def head(self) -> int:
        with _node_errors(self.w3):
            return int(self.w3.eth.block_number)

    def asset_owner(self, kind: str, asset: str, block: int) -> str | None:
        registry = self._registries[kind]
        with _node_errors(self.w3):
            owner = str(
                registry.functions.asset_owner(Web3.to_checksum_address(asset)).call(
                    block_identifier=block
                )
            )
        return None if int(owner, 16) == 0 else Web3.to_checksum_address(owner)

    def consumed(self, order_hash: bytes, block: int) -> int:
        with _node_errors(self.w3):
            return int(self._hub.functions.consumed(order_hash).call(block_identifier=block))

    def presigned(self, order_hash: bytes, block: int) -> str:
        with _node_errors(self.w3):
            signer = self._hub.functions.presigned(order_hash).call(block_identifier=block)
        return Web3.to_checksum_address(str(signer or ZERO_ADDRESS))

    def is_contract(self, address: str, block: int) -> bool:
        with _node_errors(self.w3):
            code = self.w3.eth.get_code(Web3.to_checksum_address(address), block)
        return len(code) > 0

    def erc1271_valid(self, signer: str, digest: bytes, signature: bytes, block: int) -> bool:
        wallet = self.w3.eth.contract(address=Web3.to_checksum_address(signer), abi=_ERC1271_ABI)
        try:
            answer = wallet.functions.isValidSignature(digest, signature).call(
                block_identifier=block
            )
        except Web3Exception:
            return False  # a reverting wallet vouches for nothing, as in the hub
        except OSError as exc:
            raise ChainError(f"the node did not answer: {exc}") from exc
        return bytes(answer)[:4] == ERC1271_MAGIC

    def free_balance(self, address: str, block: int) -> int:
        with _node_errors(self.w3):
            return int(
                self._hub.functions.balance_of(Web3.to_checksum_address(address)).call(
                    block_identifier=block
                )
            )


@contextmanager
def _node_errors(w3: Web3) -> Iterator[None]:
    try:
        yield
    except (OSError, Web3Exception) as exc:
        endpoint = getattr(w3.provider, "endpoint_uri", "the node")
        raise ChainError(f"{endpoint} did not answer: {exc}") from exc
