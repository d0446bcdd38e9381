"""The Veritask SDK: chain profiles, RLC amounts, wallets and a client of the protocol.

    from veritask.sdk import Veritask, load_profile, find_wallet, default_wallet_dir, \
        unlock_wallet, parse_amount

    profile = load_profile()                        # veritask.toml, env, defaults
    wallet = find_wallet(default_wallet_dir(), profile.wallet)
    client = Veritask(profile, unlock_wallet(wallet, "password"))
    client.deposit(parse_amount("1.5 RLC"))
    print(client.account(wallet.address).free_nrlc)

Synchronous in this first version. Errors come from `veritask.errors`: `InvalidInput`
(change the input), `ChainError` / `ContractRevert` (the node or a contract refused).
"""

from .addresses import checksum_address
from .amounts import (
    NRLC_PER_RLC,
    RLC_DECIMALS,
    WEI_PER_ETH,
    format_eth,
    format_rlc,
    parse_amount,
)
from .client import DEFAULT_TIMEOUT_S, AccountView, ChainInfo, TxSummary, Veritask
from .config import (
    CONFIG_FILE_NAME,
    DEFAULT_PROFILE_NAME,
    DEVNET_RPC_URL,
    Config,
    Profile,
    default_config,
    find_config_file,
    load_config,
    load_profile,
    render_config,
    save_config,
    select_profile,
)
from .wallet import (
    SECURE_KDF,
    KeystoreKdf,
    Wallet,
    create_wallet,
    default_wallet_dir,
    find_wallet,
    import_wallet,
    list_wallets,
    resolve_password,
    unlock_wallet,
)

__all__ = [
    "CONFIG_FILE_NAME",
    "DEFAULT_PROFILE_NAME",
    "DEFAULT_TIMEOUT_S",
    "DEVNET_RPC_URL",
    "NRLC_PER_RLC",
    "RLC_DECIMALS",
    "SECURE_KDF",
    "WEI_PER_ETH",
    "AccountView",
    "ChainInfo",
    "Config",
    "KeystoreKdf",
    "Profile",
    "TxSummary",
    "Veritask",
    "Wallet",
    "checksum_address",
    "create_wallet",
    "default_config",
    "default_wallet_dir",
    "find_config_file",
    "find_wallet",
    "format_eth",
    "format_rlc",
    "import_wallet",
    "list_wallets",
    "load_config",
    "load_profile",
    "parse_amount",
    "render_config",
    "resolve_password",
    "save_config",
    "select_profile",
    "unlock_wallet",
]
