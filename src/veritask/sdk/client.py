"""`Veritask`: the SDK's client of one chain profile (node info, accounts, deposits,
withdrawals) over the deployed protocol, through `veritask.chain.protocol.ProtocolClient`.

Synchronous (web3's sync API) in this first slice. Node failures become a `ChainError` that
names the profile and what to check. Deposits and withdrawals check balances and gas first
and raise `InvalidInput` with the remedy, so a refused operation sends nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError, Web3Exception
from web3.types import TxReceipt

from veritask import __version__
from veritask.chain.node import code_matches_build, connect, read_deployment
from veritask.chain.protocol import ProtocolClient
from veritask.errors import ChainError, ContractRevert, InvalidInput

from .addresses import checksum_address
from .amounts import format_eth, format_rlc
from .config import Profile

if TYPE_CHECKING:
    from .assets import Assets
    from .categories import Categories
    from .deals import Deals
    from .orders import Orders
    from .run import Runs

__all__ = ["DEFAULT_TIMEOUT_S", "AccountView", "ChainInfo", "TxSummary", "Veritask"]

DEFAULT_TIMEOUT_S = 5.0
# Headroom over the gas estimate and price when checking that a sender can pay for gas
# (the same margin `chain.transactions.send` adds to the estimate).
_GAS_COST_MARGIN = 1.2


@dataclass(frozen=True)
class ChainInfo:
    """What `veritask info` shows. Protocol fields are None when the profile has no hub."""

    profile: str
    rpc_url: str
    chain_id: int
    block_number: int
    veritask_version: str
    hub: str | None = None
    token: str | None = None
    app_registry: str | None = None
    dataset_registry: str | None = None
    workerpool_registry: str | None = None
    annex: str | None = None
    orders_domain_version: str | None = None  # the EIP-712 version orders are signed with
    contracts_match_build: bool | None = None  # deployed code == this package's sources


@dataclass(frozen=True)
class AccountView:
    """An address's money: in the hub (free, frozen), in its wallet (tokens), and native
    coin for gas. Amounts in base units."""

    address: str
    free_nrlc: int
    frozen_nrlc: int
    token_nrlc: int
    gas_wei: int


@dataclass(frozen=True)
class TxSummary:
    tx_hash: str
    block_number: int
    gas_used: int

    @classmethod
    def of(cls, receipt: TxReceipt) -> TxSummary:
        return cls(
            tx_hash="0x" + bytes(receipt["transactionHash"]).hex(),
            block_number=int(receipt["blockNumber"]),
            gas_used=int(receipt["gasUsed"]),
        )


class Veritask:
    """A connection to the chain of `profile`, sending transactions as `account` (kept in
    `signer`) when one is given.

    The constructor contacts the node (and checks its chain id against the profile's);
    the protocol is located from `profile.hub` on first use.
    """

    def __init__(
        self,
        profile: Profile,
        account: LocalAccount | None = None,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self.profile = profile
        self.signer = account
        self.timeout_s = timeout_s
        self.w3: Web3 = connect(profile.rpc_url, timeout_s=timeout_s)
        self._protocol: ProtocolClient | None = None
        with self._node_errors():
            self.chain_id = self._probe_chain_id()
        if profile.chain_id is not None and profile.chain_id != self.chain_id:
            raise ChainError(
                f"the node at {profile.rpc_url} runs chain {self.chain_id}, but profile "
                f"{profile.name!r} expects chain {profile.chain_id}: check its rpc_url and "
                "chain_id"
            )

    def _probe_chain_id(self) -> int:
        try:
            return int(self.w3.eth.chain_id)
        except ValueError as exc:
            if isinstance(exc, Web3Exception):
                raise
            # An HTTP server that is not a JSON-RPC node answers with something not JSON.
            raise ChainError(
                f"{self.profile.rpc_url} (profile {self.profile.name!r}) answers, but not as "
                "an Ethereum JSON-RPC node: check --rpc-url"
            ) from exc

    @contextmanager
    def _node_errors(self) -> Iterator[None]:
        """Translates web3 and transport failures into the exception tree."""
        try:
            yield
        except ContractLogicError as exc:
            message = str(exc.message or exc)
            raise ContractRevert(message.removeprefix("execution reverted: ")) from exc
        except Web3Exception as exc:
            raise ChainError(f"the node at {self.profile.rpc_url} refused: {exc}") from exc
        except OSError as exc:
            timed_out = isinstance(exc, TimeoutError) or "Timeout" in type(exc).__name__
            reason = f" (no answer within {self.timeout_s:g} s)" if timed_out else ""
            raise ChainError(
                f"the chain profile {self.profile.name!r} does not answer at "
                f"{self.profile.rpc_url}{reason}: start it with `./scripts/demo --keep` "
                "or check --rpc-url"
            ) from exc

    @property
    def protocol(self) -> ProtocolClient:
        """The deployed protocol, found from the profile's hub address."""
        if self._protocol is None:
            if self.profile.hub is None:
                raise InvalidInput(
                    f"profile {self.profile.name!r} has no hub address: set hub in "
                    "veritask.toml, VERITASK_HUB or --hub"
                )
            with self._node_errors():
                deployment = read_deployment(self.w3, self.profile.hub)
            self._protocol = ProtocolClient(self.w3, deployment)
        return self._protocol

    def deals(self, *, from_block: int = 0) -> Deals:
        """Deals and tasks (`veritask.sdk.deals`), their events searched from `from_block`."""
        from .deals import Deals  # deals.py builds on this module

        return Deals(self, from_block=from_block)

    def info(self) -> ChainInfo:
        """The chain, the protocol's addresses and the versions in use."""
        with self._node_errors():
            block_number = int(self.w3.eth.block_number)
        base = ChainInfo(
            profile=self.profile.name,
            rpc_url=self.profile.rpc_url,
            chain_id=self.chain_id,
            block_number=block_number,
            veritask_version=__version__,
        )
        if self.profile.hub is None:
            return base
        protocol = self.protocol
        deployment = protocol.deployment
        with self._node_errors():
            domain = protocol.hub.functions.eip712Domain().call()
            matches = code_matches_build(self.w3, deployment)
        return replace(
            base,
            hub=deployment.hub,
            token=deployment.token,
            app_registry=deployment.app_registry,
            dataset_registry=deployment.dataset_registry,
            workerpool_registry=deployment.workerpool_registry,
            annex=deployment.annex,
            orders_domain_version=str(domain[2]),
            contracts_match_build=matches,
        )

    def account(self, address: str) -> AccountView:
        """The balances of `address` (any address, no wallet needed)."""
        address = checksum_address(address)
        protocol = self.protocol
        with self._node_errors():
            free, frozen = protocol.account(address)
            token = int(protocol.token.functions.balanceOf(address).call())
            gas = int(self.w3.eth.get_balance(Web3.to_checksum_address(address)))
        return AccountView(address, free, frozen, token, gas)

    def _signer(self, action: str) -> LocalAccount:
        if self.signer is None:
            raise InvalidInput(f"{action} needs a wallet: give Veritask an unlocked account")
        return self.signer

    def _check_gas(self, sender: LocalAccount, call: ContractFunction, gas_wei: int) -> None:
        with self._node_errors():
            estimate = call.estimate_gas({"from": sender.address})
            cost = int(estimate * self.w3.eth.gas_price * _GAS_COST_MARGIN)
        if gas_wei < cost:
            raise InvalidInput(
                f"not enough ETH for gas: {sender.address} holds {format_eth(gas_wei)} ETH and "
                f"this transaction needs about {format_eth(cost)} ETH; send it some ETH first"
            )

    def deposit(self, amount_nrlc: int) -> TxSummary:
        """Moves `amount_nrlc` of the wallet's tokens into its hub account (one transaction,
        `approveAndCall`)."""
        sender = self._signer("deposit")
        if amount_nrlc <= 0:
            raise InvalidInput("nothing to deposit: the amount must be more than 0 RLC")
        view = self.account(sender.address)
        if view.token_nrlc < amount_nrlc:
            raise InvalidInput(
                f"insufficient token balance: you hold {format_rlc(view.token_nrlc)} RLC "
                f"and want to deposit {format_rlc(amount_nrlc)} RLC: deposit at most "
                f"{format_rlc(view.token_nrlc)} RLC, or get "
                f"{format_rlc(amount_nrlc - view.token_nrlc)} RLC more tokens first"
            )
        protocol = self.protocol
        call = protocol.token.functions.approveAndCall(protocol.deployment.hub, amount_nrlc, b"")
        self._check_gas(sender, call, view.gas_wei)
        with self._node_errors():
            return TxSummary.of(protocol.deposit(sender, amount_nrlc))

    def withdraw(self, amount_nrlc: int) -> TxSummary:
        """Moves `amount_nrlc` of the free hub balance back to the wallet as tokens."""
        sender = self._signer("withdraw")
        if amount_nrlc <= 0:
            raise InvalidInput("nothing to withdraw: the amount must be more than 0 RLC")
        view = self.account(sender.address)
        if view.free_nrlc < amount_nrlc:
            frozen = (
                f" ({format_rlc(view.frozen_nrlc)} RLC is frozen in deals)"
                if view.frozen_nrlc
                else ""
            )
            raise InvalidInput(
                f"insufficient free balance: withdraw at most {format_rlc(view.free_nrlc)} "
                f"RLC{frozen}"
            )
        protocol = self.protocol
        self._check_gas(sender, protocol.hub.functions.withdraw(amount_nrlc), view.gas_wei)
        with self._node_errors():
            return TxSummary.of(protocol.withdraw(sender, amount_nrlc))

    @property
    def assets(self) -> Assets:
        """Apps, datasets and workerpools (`veritask.sdk.assets`)."""
        from .assets import Assets  # assets.py builds on this module

        return Assets(self)

    @property
    def orders(self) -> Orders:
        """Order files, signatures and cancellations (`veritask.sdk.orders`)."""
        from .orders import Orders  # orders.py builds on this module

        return Orders(self)

    @property
    def runs(self) -> Runs:
        """Running apps: orders gathered, checked and matched (`veritask.sdk.run`)."""
        from .run import Runs  # run.py builds on this module

        return Runs(self)

    @property
    def categories(self) -> Categories:
        """The hub's categories (`veritask.sdk.categories`)."""
        from .categories import Categories  # categories.py builds on this module

        return Categories(self)
