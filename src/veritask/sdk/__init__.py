"""The Veritask SDK: chain profiles, RLC amounts, wallets and a client of the protocol.

    from veritask.sdk import Veritask, load_profile, find_wallet, default_wallet_dir, \
        unlock_wallet, parse_amount

    profile = load_profile()                        # veritask.toml, env, defaults
    wallet = find_wallet(default_wallet_dir(), profile.wallet)
    client = Veritask(profile, unlock_wallet(wallet, "password"))
    client.deposit(parse_amount("1.5 RLC"))
    print(client.account(wallet.address).free_nrlc)

Synchronous; `veritask.sdk.aio.AsyncVeritask` is the same client for asyncio programs.
Errors come from `veritask.errors`: `InvalidInput`
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
from .assets import (
    ASSET_KINDS,
    MAX_POLICY_RATIO,
    AppView,
    AssetKind,
    Assets,
    DatasetView,
    Deployed,
    WorkerpoolView,
    file_checksum,
    parse_checksum,
)
from .categories import Categories, CategoryView, CreatedCategory
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
from .deals import ClaimReport, ContributionView, Deals, DealView, TaskView
from .market import (
    BookPage,
    MarketClient,
    MarketDeal,
    MarketEvent,
    MarketOrder,
    sign_unpublish,
    tag_name,
)
from .orders import (
    ORDER_KINDS,
    TAG_NAMES,
    OrderKind,
    Orders,
    OrderStatus,
    load_order,
    order_from_json,
    order_kind,
    order_to_json,
    parse_tag,
    random_salt,
    save_order,
)
from .run import RunPlan, RunRequest, RunResult, Runs, request_params
from .task_logs import SchedulerWatch, TaskLogsReader
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
    "ASSET_KINDS",
    "CONFIG_FILE_NAME",
    "DEFAULT_PROFILE_NAME",
    "DEFAULT_TIMEOUT_S",
    "DEVNET_RPC_URL",
    "MAX_POLICY_RATIO",
    "NRLC_PER_RLC",
    "ORDER_KINDS",
    "RLC_DECIMALS",
    "SECURE_KDF",
    "TAG_NAMES",
    "WEI_PER_ETH",
    "AccountView",
    "AppView",
    "AssetKind",
    "Assets",
    "BookPage",
    "Categories",
    "CategoryView",
    "ChainInfo",
    "ClaimReport",
    "Config",
    "ContributionView",
    "CreatedCategory",
    "DatasetView",
    "DealView",
    "Deals",
    "Deployed",
    "KeystoreKdf",
    "MarketClient",
    "MarketDeal",
    "MarketEvent",
    "MarketOrder",
    "OrderKind",
    "OrderStatus",
    "Orders",
    "Profile",
    "RunPlan",
    "RunRequest",
    "RunResult",
    "Runs",
    "SchedulerWatch",
    "TaskLogsReader",
    "TaskView",
    "TxSummary",
    "Veritask",
    "Wallet",
    "WorkerpoolView",
    "checksum_address",
    "create_wallet",
    "default_config",
    "default_wallet_dir",
    "file_checksum",
    "find_config_file",
    "find_wallet",
    "format_eth",
    "format_rlc",
    "import_wallet",
    "list_wallets",
    "load_config",
    "load_order",
    "load_profile",
    "order_from_json",
    "order_kind",
    "order_to_json",
    "parse_amount",
    "parse_checksum",
    "parse_tag",
    "random_salt",
    "render_config",
    "request_params",
    "resolve_password",
    "save_config",
    "save_order",
    "select_profile",
    "sign_unpublish",
    "tag_name",
    "unlock_wallet",
]
