"""Apps, datasets and workerpools (PROTOCOL.md A2): register, read, count, transfer, and the
workerpool policies, through the `Veritask` client's `assets` (over a `ChainSession`).

Every write is checked first (fields, ownership, an existing registration) and refused with
`InvalidInput` before anything is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

from veritask.chain.records import AssetKind
from veritask.domain.digest import file_digest
from veritask.domain.ids import to_hex
from veritask.errors import InvalidInput

from .addresses import checksum_address
from .receipts import TxSummary
from .session import ChainSession

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
]
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


def _text(value: bytes) -> str:
    """Bytes fields (multiaddr, mrenclave) as text when they are UTF-8, else 0x hex."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return to_hex(value)


class Assets:
    """The three registries, as `client.signer` when writing."""

    def __init__(self, session: ChainSession) -> None:
        self.session = session

    def owner(self, kind: AssetKind, address: str) -> str | None:
        """The owner of a registered asset, None when nothing is registered there."""
        return self.session.hub.asset_owner(kind, checksum_address(address))

    def _owner_or_refuse(self, kind: AssetKind, address: str) -> str:
        owner = self.owner(kind, address)
        if owner is None:
            raise InvalidInput(f"no {kind} is registered at {checksum_address(address)}")
        return owner

    def _deploy(self, kind: AssetKind, address: str, fields: tuple[Any, ...]) -> Deployed:
        """Registers the asset of `fields` (after its owner) predicted at `address`."""
        owner = self.owner(kind, address)
        if owner is not None:
            raise InvalidInput(
                f"this {kind} is already registered at {address} (owner {owner}): "
                "change one of its fields to register another"
            )
        sender = self.session.require_signer(f"deploying a {kind}")
        tx = TxSummary.of(self.session.hub.register(sender, kind, fields))
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
        owner = self.session.require_signer("deploying an app").address
        fields = (name, app_type, multiaddr.encode(), checksum, mrenclave)
        return self._deploy("app", self.session.hub.predict_app(owner, *fields), fields)

    def deploy_dataset(self, name: str, multiaddr: str, checksum: bytes) -> Deployed:
        """Registers a dataset owned by the wallet; refused when the same one exists."""
        _require("name", name, 128)
        _require("multiaddr", multiaddr, 512)
        owner = self.session.require_signer("deploying a dataset").address
        fields = (name, multiaddr.encode(), checksum)
        return self._deploy("dataset", self.session.hub.predict_dataset(owner, *fields), fields)

    def deploy_workerpool(self, description: str) -> Deployed:
        """Registers a workerpool owned by the wallet, with the default policies."""
        _require("description", description, 256)
        owner = self.session.require_signer("deploying a workerpool").address
        address = self.session.hub.predict_workerpool(owner, description)
        return self._deploy("workerpool", address, (description,))

    def app(self, address: str) -> AppView:
        owner = self._owner_or_refuse("app", address)
        address = checksum_address(address)
        fields = self.session.hub.app(address)
        return AppView(
            address,
            owner,
            fields.name,
            fields.app_type,
            _text(fields.multiaddr),
            to_hex(fields.checksum),
            _text(fields.mrenclave),
        )

    def dataset(self, address: str) -> DatasetView:
        owner = self._owner_or_refuse("dataset", address)
        address = checksum_address(address)
        fields = self.session.hub.dataset(address)
        return DatasetView(
            address, owner, fields.name, _text(fields.multiaddr), to_hex(fields.checksum)
        )

    def workerpool(self, address: str) -> WorkerpoolView:
        owner = self._owner_or_refuse("workerpool", address)
        address = checksum_address(address)
        fields = self.session.hub.workerpool(address)
        return WorkerpoolView(
            address,
            owner,
            fields.description,
            fields.worker_stake_ratio,
            fields.scheduler_reward_ratio,
        )

    def owned(self, kind: AssetKind, owner: str) -> list[str]:
        """The addresses of the assets of `kind` that `owner` holds."""
        return self.session.hub.owned(kind, checksum_address(owner))

    def transfer(self, kind: AssetKind, address: str, to: str) -> TxSummary:
        """Gives the asset to `to`; only its owner may."""
        address, to = checksum_address(address), checksum_address(to, source="TO")
        if int(to, 16) == 0:
            raise InvalidInput(f"cannot transfer a {kind} to the zero address")
        owner = self._owner_or_refuse(kind, address)
        sender = self.session.require_signer(f"transferring a {kind}")
        if owner != sender.address:
            raise InvalidInput(
                f"only the owner {owner} may transfer {kind} {address}; "
                f"the wallet is {sender.address}"
            )
        return TxSummary.of(self.session.hub.transfer_asset(sender, kind, address, to))

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
        sender = self.session.require_signer("changing a workerpool's policy")
        if owner != sender.address:
            raise InvalidInput(
                f"only the owner {owner} may change the policy of workerpool {address}; "
                f"the wallet is {sender.address}"
            )
        receipt = self.session.hub.change_policy(
            sender, address, worker_stake_ratio, scheduler_reward_ratio
        )
        return TxSummary.of(receipt)


def _require(label: str, value: str, max_bytes: int) -> None:
    """Non-empty and within the registry's size limit (longer fields would revert)."""
    if not value.strip():
        raise InvalidInput(f"the {label} is empty: give one")
    if len(value.encode()) > max_bytes:
        raise InvalidInput(f"the {label} is too long: at most {max_bytes} bytes")
