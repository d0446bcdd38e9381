"""The Veritask SDK: chain profiles, RLC amounts, wallets and a client of the protocol.

    from veritask.sdk import Veritask, load_profile, find_wallet, default_wallet_dir, \
        unlock_wallet, parse_amount

    profile = load_profile()                        # veritask.toml, env, defaults
    wallet = find_wallet(default_wallet_dir(), profile.wallet)
    client = Veritask(profile, unlock_wallet(wallet, "password"))
    client.deposit(parse_amount("1.5 RLC"))
    print(client.account(wallet.address).free_nrlc)

Synchronous; `AsyncVeritask` is the same client for asyncio programs.
Errors come from `veritask.errors`: `InvalidInput`
(change the input), `ChainError` / `ContractRevert` (the node or a contract refused).

Everything a program (and the `veritask` command line) uses is imported from here, never
from `veritask.sdk.<module>`; tests/sdk/test_exported_members.py keeps `__all__` complete.
"""

from veritask.domain.amounts import (
    NRLC_PER_RLC,
    RLC_DECIMALS,
    WEI_PER_ETH,
    format_eth,
    format_rlc,
    parse_amount,
)
from veritask.domain.failures import FailureKind, FailureRecord
from veritask.domain.ids import to_hex
from veritask.domain.tasks import ContributionStatus, TaskStatus

from .addresses import checksum_address
from .aio import AsyncVeritask
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
from .deals import (
    SETTLED_FAILURE,
    ClaimReport,
    ContributionView,
    Deals,
    DealView,
    TaskView,
    format_duration,
    format_time,
    parse_deal_id,
)
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
from .projects import (
    APP_KINDS,
    DATASET_PROJECT_FILE,
    DEFAULT_SCHEDULER_REWARD_RATIO,
    DEFAULT_WORKER_STAKE_RATIO,
    IMAGE_APP_DIR,
    AppBuild,
    AppProject,
    DatasetProject,
    ProjectKind,
    WorkerpoolProject,
    app_files,
    init_app_project,
    init_dataset_project,
    init_workerpool_project,
    load_app_project,
    load_build,
    load_dataset_project,
    load_pushed_build,
    load_workerpool_project,
    record_dataset_multiaddr,
    record_push,
    save_build,
    sources_digest,
)
from .results import DownloadedResult, Results
from .run import RunPlan, RunRequest, RunResult, Runs, request_params
from .scheduler_api import ReplicateLog, SchedulerClient, TaskLogs
from .session import ChainSession
from .storage import StorageClient
from .task_logs import (
    GIVEN_UP,
    SchedulerWatch,
    TaskLogsReader,
    failing_replicate,
    tail,
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
    "APP_KINDS",
    "ASSET_KINDS",
    "CONFIG_FILE_NAME",
    "DATASET_PROJECT_FILE",
    "DEFAULT_PROFILE_NAME",
    "DEFAULT_SCHEDULER_REWARD_RATIO",
    "DEFAULT_TIMEOUT_S",
    "DEFAULT_WORKER_STAKE_RATIO",
    "DEVNET_RPC_URL",
    "GIVEN_UP",
    "IMAGE_APP_DIR",
    "MAX_POLICY_RATIO",
    "NRLC_PER_RLC",
    "ORDER_KINDS",
    "RLC_DECIMALS",
    "SECURE_KDF",
    "SETTLED_FAILURE",
    "TAG_NAMES",
    "WEI_PER_ETH",
    "AccountView",
    "AppBuild",
    "AppProject",
    "AppView",
    "AssetKind",
    "Assets",
    "AsyncVeritask",
    "BookPage",
    "Categories",
    "CategoryView",
    "ChainInfo",
    "ChainSession",
    "ClaimReport",
    "Config",
    "ContributionStatus",
    "ContributionView",
    "CreatedCategory",
    "DatasetProject",
    "DatasetView",
    "DealView",
    "Deals",
    "Deployed",
    "DownloadedResult",
    "FailureKind",
    "FailureRecord",
    "KeystoreKdf",
    "MarketClient",
    "MarketDeal",
    "MarketEvent",
    "MarketOrder",
    "OrderKind",
    "OrderStatus",
    "Orders",
    "Profile",
    "ProjectKind",
    "ReplicateLog",
    "Results",
    "RunPlan",
    "RunRequest",
    "RunResult",
    "Runs",
    "SchedulerClient",
    "SchedulerWatch",
    "StorageClient",
    "TaskLogs",
    "TaskLogsReader",
    "TaskStatus",
    "TaskView",
    "TxSummary",
    "Veritask",
    "Wallet",
    "WorkerpoolProject",
    "WorkerpoolView",
    "app_files",
    "checksum_address",
    "create_wallet",
    "default_config",
    "default_wallet_dir",
    "failing_replicate",
    "file_checksum",
    "find_config_file",
    "find_wallet",
    "format_duration",
    "format_eth",
    "format_rlc",
    "format_time",
    "import_wallet",
    "init_app_project",
    "init_dataset_project",
    "init_workerpool_project",
    "list_wallets",
    "load_app_project",
    "load_build",
    "load_config",
    "load_dataset_project",
    "load_order",
    "load_profile",
    "load_pushed_build",
    "load_workerpool_project",
    "order_from_json",
    "order_kind",
    "order_to_json",
    "parse_amount",
    "parse_checksum",
    "parse_deal_id",
    "parse_tag",
    "random_salt",
    "record_dataset_multiaddr",
    "record_push",
    "render_config",
    "request_params",
    "resolve_password",
    "save_build",
    "save_config",
    "save_order",
    "select_profile",
    "sign_unpublish",
    "sources_digest",
    "tag_name",
    "tail",
    "to_hex",
    "unlock_wallet",
]
