"""Apps, datasets and workerpools (PROTOCOL.md A2): register, read, count, transfer, and the
workerpool policies, through the `Veritask` client's `assets`.

Every write is checked first (fields, ownership, an existing registration) and refused with
`InvalidInput` before anything is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction

from veritask.chain.transactions import send
from veritask.domain.digest import file_digest
from veritask.errors import InvalidInput

from .addresses import checksum_address

if TYPE_CHECKING:
    from .client import TxSummary, Veritask

__all__ = [
    "ASSET_KINDS",
    "MAX_POLICY_RATIO",
    "AppView",
    "AssetKind",
    "Assets",
    "DatasetView",
    "Deployed",
    "WorkerpoolView",
    "file_checksum",
    "parse_checksum",
    "send_as_wallet",
]

AssetKind = Literal["app", "dataset", "workerpool"]
ASSET_KINDS: tuple[AssetKind, ...] = get_args(AssetKind)
MAX_POLICY_RATIO = 100  # both workerpool policies are percentages


@dataclass(frozen=True)
class AppView:
    address: str
    owner: str
    name: str
    app_type: str
    multiaddr: str
    checksum: str  # 0x + 64 hex digits
    mrenclave: str


@dataclass(frozen=True)
class DatasetView:
    address: str
    owner: str
    name: str
    multiaddr: str
    checksum: str


@dataclass(frozen=True)
class WorkerpoolView:
    address: str
    owner: str
    description: str
    worker_stake_ratio: int  # % of the workerpool price a worker stakes
    scheduler_reward_ratio: int  # % of the pot the scheduler keeps


@dataclass(frozen=True)
class Deployed:
    kind: AssetKind
    address: str
    tx: TxSummary


def parse_checksum(text: str, *, source: str = "--checksum") -> bytes:
    """A 32-byte checksum written as 0x and 64 hexadecimal digits."""
    digits = text.strip().removeprefix("0x").removeprefix("0X")
    if not text.strip().lower().startswith("0x") or len(digits) != 64:
        raise InvalidInput(f"bad {source} {text!r}: expected 0x followed by 64 hexadecimal digits")
    try:
        return bytes.fromhex(digits)
    except ValueError:
        raise InvalidInput(
            f"bad {source} {text!r}: expected 0x followed by 64 hexadecimal digits"
        ) from None


def file_checksum(path: Path) -> bytes:
    """The sha256 of a file's bytes: a dataset's checksum."""
    return file_digest(path)


def send_as_wallet(client: Veritask, action: str, call: ContractFunction) -> TxSummary:
    """Sends `call` from the client's wallet once its gas is checked."""
    from .client import TxSummary  # client.py imports this module's users lazily

    sender = client._signer(action)
    with client._node_errors():
        gas_wei = int(client.w3.eth.get_balance(sender.address))
    client._check_gas(sender, call, gas_wei)
    with client._node_errors():
        return TxSummary.of(send(client.w3, sender, call))


def _text(value: bytes) -> str:
    """Bytes fields (multiaddr, mrenclave) as text when they are UTF-8, else 0x hex."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return "0x" + value.hex()


class Assets:
    """The three registries, as `client.signer` when writing."""

    def __init__(self, client: Veritask) -> None:
        self.client = client

    def registry(self, kind: AssetKind) -> Contract:
        protocol = self.client.protocol
        return {
            "app": protocol.apps,
            "dataset": protocol.datasets,
            "workerpool": protocol.workerpools,
        }[kind]

    def owner(self, kind: AssetKind, address: str) -> str | None:
        """The owner of a registered asset, None when nothing is registered there."""
        address = checksum_address(address)
        with self.client._node_errors():
            owner = str(self.registry(kind).functions.asset_owner(address).call())
        return None if int(owner, 16) == 0 else owner

    def _owner_or_refuse(self, kind: AssetKind, address: str) -> str:
        owner = self.owner(kind, address)
        if owner is None:
            raise InvalidInput(f"no {kind} is registered at {checksum_address(address)}")
        return owner

    def _deploy(
        self, kind: AssetKind, predict: ContractFunction, create: ContractFunction
    ) -> Deployed:
        with self.client._node_errors():
            address = str(predict.call())
        owner = self.owner(kind, address)
        if owner is not None:
            raise InvalidInput(
                f"this {kind} is already registered at {address} (owner {owner}): "
                "change one of its fields to register another"
            )
        tx = send_as_wallet(self.client, f"deploying a {kind}", create)
        return Deployed(kind, address, tx)

    def deploy_app(
        self,
        name: str,
        multiaddr: str,
        *,
        app_type: str = "DOCKER",
        checksum: bytes = b"\x00" * 32,
        mrenclave: bytes = b"",
    ) -> Deployed:
        """Registers an app owned by the wallet; refused when the same one exists."""
        _require("name", name, 128)
        _require("multiaddr", multiaddr, 512)
        _require("type", app_type, 32)
        if len(mrenclave) > 1024:
            raise InvalidInput("the mrenclave is too long: at most 1024 bytes")
        owner = self.client._signer("deploying an app").address
        args = (owner, name, app_type, multiaddr.encode(), checksum, mrenclave)
        functions = self.client.protocol.apps.functions
        return self._deploy("app", functions.predict_app(*args), functions.create_app(*args))

    def deploy_dataset(self, name: str, multiaddr: str, checksum: bytes) -> Deployed:
        """Registers a dataset owned by the wallet; refused when the same one exists."""
        _require("name", name, 128)
        _require("multiaddr", multiaddr, 512)
        owner = self.client._signer("deploying a dataset").address
        args = (owner, name, multiaddr.encode(), checksum)
        functions = self.client.protocol.datasets.functions
        return self._deploy(
            "dataset", functions.predict_dataset(*args), functions.create_dataset(*args)
        )

    def deploy_workerpool(self, description: str) -> Deployed:
        """Registers a workerpool owned by the wallet, with the default policies."""
        _require("description", description, 256)
        owner = self.client._signer("deploying a workerpool").address
        functions = self.client.protocol.workerpools.functions
        return self._deploy(
            "workerpool",
            functions.predict_workerpool(owner, description),
            functions.create_workerpool(owner, description),
        )

    def app(self, address: str) -> AppView:
        owner = self._owner_or_refuse("app", address)
        address = checksum_address(address)
        with self.client._node_errors():
            fields: Any = self.client.protocol.apps.functions.apps(address).call()
        name, app_type, multiaddr, checksum, mrenclave = fields
        return AppView(
            address,
            owner,
            name,
            app_type,
            _text(bytes(multiaddr)),
            "0x" + bytes(checksum).hex(),
            _text(bytes(mrenclave)),
        )

    def dataset(self, address: str) -> DatasetView:
        owner = self._owner_or_refuse("dataset", address)
        address = checksum_address(address)
        with self.client._node_errors():
            fields: Any = self.client.protocol.datasets.functions.datasets(address).call()
        name, multiaddr, checksum = fields
        return DatasetView(
            address, owner, name, _text(bytes(multiaddr)), "0x" + bytes(checksum).hex()
        )

    def workerpool(self, address: str) -> WorkerpoolView:
        owner = self._owner_or_refuse("workerpool", address)
        address = checksum_address(address)
        with self.client._node_errors():
            fields: Any = self.client.protocol.workerpools.functions.workerpools(address).call()
        description, stake_ratio, reward_ratio = fields
        return WorkerpoolView(address, owner, description, int(stake_ratio), int(reward_ratio))

    def owned(self, kind: AssetKind, owner: str) -> list[str]:
        """The addresses of the assets of `kind` that `owner` holds."""
        owner = checksum_address(owner)
        functions = self.registry(kind).functions
        with self.client._node_errors():
            count = int(functions.balanceOf(owner).call())
            token_ids = [int(functions.tokenOfOwnerByIndex(owner, i).call()) for i in range(count)]
        return [Web3.to_checksum_address(token_id.to_bytes(20, "big")) for token_id in token_ids]

    def transfer(self, kind: AssetKind, address: str, to: str) -> TxSummary:
        """Gives the asset to `to`; only its owner may."""
        address, to = checksum_address(address), checksum_address(to, source="TO")
        if int(to, 16) == 0:
            raise InvalidInput(f"cannot transfer a {kind} to the zero address")
        owner = self._owner_or_refuse(kind, address)
        sender = self.client._signer(f"transferring a {kind}")
        if owner != sender.address:
            raise InvalidInput(
                f"only the owner {owner} may transfer {kind} {address}; "
                f"the wallet is {sender.address}"
            )
        call = self.registry(kind).functions.transferFrom(owner, to, int(address, 16))
        return send_as_wallet(self.client, f"transferring a {kind}", call)

    def set_policy(
        self, address: str, *, worker_stake_ratio: int, scheduler_reward_ratio: int
    ) -> TxSummary:
        """Changes a workerpool's policies (percentages, 0 to 100); only its owner may."""
        for label, ratio in [
            ("worker stake ratio", worker_stake_ratio),
            ("scheduler reward ratio", scheduler_reward_ratio),
        ]:
            if not 0 <= ratio <= MAX_POLICY_RATIO:
                raise InvalidInput(
                    f"the {label} is a percentage: {ratio} is not between 0 and {MAX_POLICY_RATIO}"
                )
        address = checksum_address(address)
        owner = self._owner_or_refuse("workerpool", address)
        sender = self.client._signer("changing a workerpool's policy")
        if owner != sender.address:
            raise InvalidInput(
                f"only the owner {owner} may change the policy of workerpool {address}; "
                f"the wallet is {sender.address}"
            )
        call = self.client.protocol.workerpools.functions.change_policy(
            address, worker_stake_ratio, scheduler_reward_ratio
        )
        return send_as_wallet(self.client, "changing a workerpool's policy", call)


def _require(label: str, value: str, max_bytes: int) -> None:
    """Non-empty and within the registry's size limit (longer fields would revert)."""
    if not value.strip():
        raise InvalidInput(f"the {label} is empty: give one")
    if len(value.encode()) > max_bytes:
        raise InvalidInput(f"the {label} is too long: at most {max_bytes} bytes")
