"""`veritask`: the command line, a thin layer over `veritask.sdk`.

Global options (before the command): --profile, --rpc-url, --hub, --market-url,
--storage-url, --scheduler-url, --wallet, --password-file, --json. Every command also
takes --json: one JSON object on stdout.

Expected errors print one line, `error: ...`, on stderr and no traceback, and exit with
the code of their branch of the exception tree: `exit_codes.ExitCode` lists them, and
docs/cli.md ("Errors and exit codes") explains them.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from veritask.errors import VeritaskError
from veritask.sdk import (
    CONFIG_FILE_NAME,
    DEFAULT_PROFILE_NAME,
    ChainInfo,
    Config,
    Profile,
    save_config,
    select_profile,
)

from . import (
    account,
    assets,
    category,
    deal,
    devnet,
    order,
    orderbook,
    projects,
    result,
    run,
    task,
    wallet,
)
from .exit_codes import exit_code_for
from .output import JsonFlag, emit_json, error_line, print_table, show
from .state import CliState, cli_state

__all__ = ["app"]


class _VeritaskGroup(TyperGroup):
    """The root command: turns every `VeritaskError` into one line and an exit code."""

    # `Any`: the context's class moved between typer versions (click's, then typer's own).
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except VeritaskError as exc:
            error_line(str(exc))
            raise typer.Exit(exit_code_for(exc)) from None


def _group(help_text: str, *parts: typer.Typer) -> typer.Typer:
    """One command group holding the commands of `parts`, in their order (an asset kind's
    group: its on-chain commands from cli/assets.py, its project commands from
    cli/projects.py)."""
    group = typer.Typer(help=help_text, no_args_is_help=True)
    for part in parts:
        group.add_typer(part)  # without a name: its commands join the group
    return group


app = typer.Typer(
    name="veritask",
    cls=_VeritaskGroup,
    add_completion=False,
    help="Veritask: a decentralized marketplace for computing (iExec PoCo compatible).",
    no_args_is_help=True,
    # Locals could hold a password or a key: never print them in a traceback.
    pretty_exceptions_show_locals=False,
)
app.add_typer(wallet.app, name="wallet")
app.add_typer(account.app, name="account")
app.add_typer(deal.app, name="deal")
app.add_typer(task.app, name="task")
app.add_typer(result.app, name="result")
app.add_typer(
    _group(
        "Write, build and push app projects; register, show, count and transfer apps.",
        assets.app_assets,
        projects.app_projects,
    ),
    name="app",
)
app.add_typer(
    _group(
        "Start and push dataset projects; register, show, count and transfer datasets.",
        assets.dataset_assets,
        projects.dataset_projects,
    ),
    name="dataset",
)
app.add_typer(
    _group(
        "Start workerpool projects; register, show, count and transfer workerpools; change "
        "their policies.",
        assets.workerpool_assets,
        projects.workerpool_projects,
    ),
    name="workerpool",
)
app.add_typer(order.app, name="order")
app.add_typer(orderbook.app, name="orderbook")
app.add_typer(category.app, name="category")
app.add_typer(devnet.app, name="devnet")
app.command(name="run")(run.run)


@app.callback()
def main(
    ctx: typer.Context,
    profile: Annotated[
        str | None,
        typer.Option(
            help="Chain profile of veritask.toml (default: $VERITASK_PROFILE or the "
            "file's default_profile)."
        ),
    ] = None,
    rpc_url: Annotated[
        str | None,
        typer.Option(
            help="JSON-RPC URL of the node (default: $VERITASK_RPC_URL or the profile's)."
        ),
    ] = None,
    hub: Annotated[
        str | None,
        typer.Option(help="Hub address (default: $VERITASK_HUB or the profile's)."),
    ] = None,
    market_url: Annotated[
        str | None,
        typer.Option(help="URL of the market (default: $VERITASK_MARKET_URL or the profile's)."),
    ] = None,
    storage_url: Annotated[
        str | None,
        typer.Option(
            help="URL of the result storage (default: $VERITASK_STORAGE_URL or the profile's)."
        ),
    ] = None,
    scheduler_url: Annotated[
        str | None,
        typer.Option(
            help="URL of the workerpool's scheduler, for task logs and failures (default: "
            "$VERITASK_SCHEDULER_URL or the profile's)."
        ),
    ] = None,
    wallet_selector: Annotated[
        str | None,
        typer.Option(
            "--wallet",
            help="Wallet address or keystore path (default: the profile's wallet, or the only "
            "keystore in $VERITASK_WALLET_DIR).",
        ),
    ] = None,
    password_file: Annotated[
        Path | None,
        typer.Option(help="File holding the wallet password (after $VERITASK_PASSWORD)."),
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    state = ctx.obj if isinstance(ctx.obj, CliState) else CliState()
    state.profile_name = profile
    state.rpc_url = rpc_url
    state.hub = hub
    state.market_url = market_url
    state.storage_url = storage_url
    state.scheduler_url = scheduler_url
    state.wallet = wallet_selector
    state.password_file = password_file
    state.json_output = json_output
    ctx.obj = state


@app.command()
def init(
    ctx: typer.Context,
    force: Annotated[bool, typer.Option(help="Overwrite an existing veritask.toml.")] = False,
    json_output: JsonFlag = False,
) -> None:
    """Write veritask.toml in the current folder.

    One chain profile, from --profile, --rpc-url, --hub, --market-url, --storage-url and
    --scheduler-url, else the local devnet.
    """
    state = cli_state(ctx)
    name = state.profile_name or DEFAULT_PROFILE_NAME
    # Flags only: environment variables override the file at run time, not its content.
    profile = select_profile(
        Config(profiles=(Profile(name),), default_profile=name),
        rpc_url=state.rpc_url,
        hub=state.hub,
        environ={},
        market_url=state.market_url,
        storage_url=state.storage_url,
        scheduler_url=state.scheduler_url,
    )
    path = save_config(
        Config(profiles=(profile,), default_profile=name),
        Path.cwd() / CONFIG_FILE_NAME,
        overwrite=force,
    )
    if state.as_json(json_output):
        emit_json({"path": str(path), "profile": asdict(profile)})
        return
    show(f"wrote {path}: profile {name!r} at {profile.rpc_url}")
    if profile.hub is None:
        show('no hub address yet: add `hub = "0x..."` to the profile, or use --hub')


def _info_rows(info: ChainInfo) -> list[tuple[str, str]]:
    rows = [
        ("profile", info.profile),
        ("rpc url", info.rpc_url),
        ("chain id", str(info.chain_id)),
        ("block", str(info.block_number)),
    ]
    if info.hub is None:
        rows.append(("hub", "not set: set hub in veritask.toml, VERITASK_HUB or --hub"))
    else:
        rows += [
            ("hub", info.hub),
            ("token (RLC)", str(info.token)),
            ("app registry", str(info.app_registry)),
            ("dataset registry", str(info.dataset_registry)),
            ("workerpool registry", str(info.workerpool_registry)),
            ("annex", str(info.annex)),
            ("orders (EIP-712)", f"iExecODB {info.orders_domain_version}"),
            ("contracts", "match this build" if info.contracts_match_build else "other build"),
        ]
    rows.append(("veritask", info.veritask_version))
    return rows


@app.command()
def info(ctx: typer.Context, json_output: JsonFlag = False) -> None:
    """Show the chain, the protocol's addresses and the versions in use."""
    state = cli_state(ctx)
    chain_info = state.client(state.profile()).info()
    if state.as_json(json_output):
        emit_json(asdict(chain_info))
        return
    print_table(_info_rows(chain_info), ("", "value"))
