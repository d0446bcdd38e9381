"""What the global options resolve to, shared by every command through the typer context:
the chain profile, the wallet folder and wallet, the password, a connected SDK client, a
client acting as the wallet, and the market's client."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import typer
from eth_account.signers.local import LocalAccount

from veritask.devnet.state import devnet_dir, read_state
from veritask.errors import InvalidInput
from veritask.sdk import (
    DEFAULT_PROFILE_NAME,
    DEFAULT_TIMEOUT_S,
    DEVNET_RPC_URL,
    SECURE_KDF,
    KeystoreKdf,
    MarketClient,
    Profile,
    Veritask,
    Wallet,
    default_wallet_dir,
    find_config_file,
    find_wallet,
    load_profile,
    resolve_password,
    unlock_wallet,
)

__all__ = ["CliState", "cli_state", "market_client", "market_url", "unlocked_client"]


@dataclass
class CliState:
    """The global options. Tests may pass a pre-built state as `obj` to choose a fast
    keystore KDF; options given on the command line are filled in on top of it."""

    profile_name: str | None = None
    rpc_url: str | None = None
    hub: str | None = None
    market_url: str | None = None
    storage_url: str | None = None
    scheduler_url: str | None = None
    json_output: bool = False
    wallet: str | None = None
    password_file: Path | None = None
    keystore_kdf: KeystoreKdf = SECURE_KDF
    timeout_s: float = DEFAULT_TIMEOUT_S

    def as_json(self, command_flag: bool) -> bool:
        """--json given before the command or after it."""
        return command_flag or self.json_output

    def profile(self) -> Profile:
        profile = load_profile(
            name=self.profile_name,
            rpc_url=self.rpc_url,
            hub=self.hub,
            market_url=self.market_url,
            storage_url=self.storage_url,
            scheduler_url=self.scheduler_url,
        )
        return _with_running_devnet(profile)

    def wallet_dir(self) -> Path:
        return default_wallet_dir()

    def find_wallet(self, profile: Profile | None = None) -> Wallet:
        selector = self.wallet or (profile.wallet if profile else None)
        return find_wallet(self.wallet_dir(), selector)

    def password(self, prompt: str, *, confirm: bool = False) -> str:
        """From VERITASK_PASSWORD or --password-file, else typed at a hidden prompt."""
        given = resolve_password(password_file=self.password_file)
        if given is not None:
            return given
        try:
            typed: str = typer.prompt(
                prompt, hide_input=True, confirmation_prompt=confirm, err=True
            )
        except typer.Abort:
            raise InvalidInput(
                "no password: type it at the prompt, or set VERITASK_PASSWORD or --password-file"
            ) from None
        return typed

    def unlock(self, wallet: Wallet) -> LocalAccount:
        return unlock_wallet(wallet, self.password(f"Password of wallet {wallet.address}"))

    def client(self, profile: Profile) -> Veritask:
        return Veritask(profile, timeout_s=self.timeout_s)


def _with_running_devnet(profile: Profile) -> Profile:
    """Without a project file, the built-in "devnet" profile takes the addresses it lacks
    (hub, storage, market, scheduler) from the devnet that `veritask devnet up` started, if
    one runs."""
    if profile.name != DEFAULT_PROFILE_NAME or find_config_file() is not None:
        return profile
    state = read_state(devnet_dir())
    if state is None:
        return profile
    rpc_url = profile.rpc_url
    if rpc_url == DEVNET_RPC_URL:
        rpc_url = state.services.get("rpc", rpc_url)
    return replace(
        profile,
        rpc_url=rpc_url,
        hub=profile.hub or state.hub,
        storage_url=profile.storage_url or state.services.get("storage"),
        market_url=profile.market_url or state.services.get("market"),
        scheduler_url=profile.scheduler_url or state.services.get("scheduler"),
    )


def cli_state(ctx: typer.Context) -> CliState:
    state = ctx.find_object(CliState)
    if state is None:  # a command invoked without the root callback (never from the CLI)
        state = ctx.ensure_object(CliState)
    return state


def unlocked_client(state: CliState) -> Veritask:
    """A client acting as the wallet; the node and hub are checked before the password is
    asked for, so a dead node does not cost a password prompt."""
    profile = state.profile()
    wallet = state.find_wallet(profile)
    client = state.client(profile)
    _ = client.protocol  # locates the hub now, before the password prompt
    client.signer = state.unlock(wallet)
    return client


def market_url(state: CliState, option: str | None) -> str | None:
    """The market to use (a command's --market-url, else the profile's), or None when none
    is configured."""
    return option or state.profile().market_url


def market_client(state: CliState, option: str | None) -> MarketClient:
    url = market_url(state, option)
    if url is None:
        raise InvalidInput(
            "no market: set market_url in veritask.toml, VERITASK_MARKET_URL or --market-url"
        )
    return MarketClient(url, timeout_s=state.timeout_s)
