"""`Veritask`: the SDK's facade over one chain profile. It holds a `ChainSession` and
composes the namespaces over it (`assets`, `orders`, `deals`, `runs`, `categories`), and
itself reads node info and accounts and sends deposits and withdrawals. Deposits and
withdrawals check balances and gas first and raise `InvalidInput` with the remedy, so a
refused operation sends nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from eth_account.signers.local import LocalAccount

from veritask import __version__
from veritask.chain.hub import Hub
from veritask.domain.amounts import format_rlc
from veritask.errors import InvalidInput

from .addresses import checksum_address
from .assets import Assets
from .categories import Categories
from .config import Profile
from .deals import Deals
from .orders import Orders
from .receipts import TxSummary
from .run import Runs
from .session import DEFAULT_TIMEOUT_S, ChainSession

__all__ = ["DEFAULT_TIMEOUT_S", "AccountView", "ChainInfo", "TxSummary", "Veritask"]


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
        self.session = ChainSession(profile, account, timeout_s=timeout_s)
        self.assets = Assets(self.session)
        self.orders = Orders(self.session)
        self.runs = Runs(self.session)
        self.categories = Categories(self.session)

    @property
    def profile(self) -> Profile:
        return self.session.profile

    @property
    def signer(self) -> LocalAccount | None:
        return self.session.signer

    @signer.setter
    def signer(self, account: LocalAccount | None) -> None:
        self.session.signer = account

    @property
    def timeout_s(self) -> float:
        return self.session.timeout_s

    @property
    def chain_id(self) -> int:
        return self.session.chain_id

    @property
    def protocol(self) -> Hub:
        """The deployed protocol, found from the profile's hub address."""
        return self.session.hub

    def deals(self, *, from_block: int = 0) -> Deals:
        """Deals and tasks (`veritask.sdk.deals`), their events searched from `from_block`."""
        return Deals(self.session, from_block=from_block)

    def info(self) -> ChainInfo:
        """The chain, the protocol's addresses and the versions in use."""
        node = self.session.node
        base = ChainInfo(
            profile=self.profile.name,
            rpc_url=self.profile.rpc_url,
            chain_id=self.chain_id,
            block_number=node.block_number(),
            veritask_version=__version__,
        )
        if self.profile.hub is None:
            return base
        hub = self.session.hub
        deployment = hub.deployment
        return replace(
            base,
            hub=deployment.hub,
            token=deployment.token,
            app_registry=deployment.app_registry,
            dataset_registry=deployment.dataset_registry,
            workerpool_registry=deployment.workerpool_registry,
            annex=deployment.annex,
            orders_domain_version=hub.orders_domain_version(),
            contracts_match_build=node.code_matches_build(deployment),
        )

    def account(self, address: str) -> AccountView:
        """The balances of `address` (any address, no wallet needed)."""
        address = checksum_address(address)
        hub = self.session.hub
        free, frozen = hub.account(address)
        token = hub.token_balance(address)
        gas = self.session.node.coin_balance(address)
        return AccountView(address, free, frozen, token, gas)

    def deposit(self, amount_nrlc: int) -> TxSummary:
        """Moves `amount_nrlc` of the wallet's tokens into its hub account (one transaction,
        `approveAndCall`)."""
        sender = self.session.require_signer("deposit")
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
        return TxSummary.of(self.session.hub.deposit(sender, amount_nrlc))

    def withdraw(self, amount_nrlc: int) -> TxSummary:
        """Moves `amount_nrlc` of the free hub balance back to the wallet as tokens."""
        sender = self.session.require_signer("withdraw")
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
        return TxSummary.of(self.session.hub.withdraw(sender, amount_nrlc))
