"""`veritask app|dataset|workerpool deploy|show|count|transfer` and `workerpool set-policy`:
the three kinds of assets (ERC-721 tokens), registered and owned by the wallet. `deploy`
also takes its fields from a project (`--from-build`, `--from-project`). main.py composes
each kind's group from these commands and its project commands (cli/projects.py)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from veritask.errors import InvalidInput
from veritask.sdk import (
    DATASET_PROJECT_FILE,
    DEFAULT_SCHEDULER_REWARD_RATIO,
    DEFAULT_WORKER_STAKE_RATIO,
    AppView,
    AssetKind,
    DatasetView,
    Deployed,
    TxSummary,
    WorkerpoolView,
    checksum_address,
    file_checksum,
    load_dataset_project,
    load_pushed_build,
    load_workerpool_project,
    parse_checksum,
)

from .output import JsonFlag, emit_json, print_table, show
from .state import CliState, cli_state, unlocked_client

__all__ = ["app_assets", "dataset_assets", "workerpool_assets"]

app_assets = typer.Typer()
dataset_assets = typer.Typer()
workerpool_assets = typer.Typer()

OptionalMultiaddrOption = Annotated[
    str | None,
    typer.Option(help="Where the code or data is (a docker image, a URL, /ipfs/...)."),
]
AddressArgument = Annotated[str, typer.Argument(help="The asset's address.")]


def _tx_fields(tx: TxSummary) -> dict[str, Any]:
    return {"tx_hash": tx.tx_hash, "block_number": tx.block_number, "gas_used": tx.gas_used}


def _show_tx(headline: str, tx: TxSummary) -> None:
    show(f"{headline}: tx {tx.tx_hash}")
    show(f"block {tx.block_number}, gas {tx.gas_used:,}")


def _report_deployed(state: CliState, json_flag: bool, deployed: Deployed) -> None:
    if state.as_json(json_flag):
        emit_json({"kind": deployed.kind, "address": deployed.address, **_tx_fields(deployed.tx)})
        return
    _show_tx(f"deployed {deployed.kind} {deployed.address}", deployed.tx)


@app_assets.command("deploy")
def deploy_app(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option(help="The asset's name.")] = None,
    multiaddr: OptionalMultiaddrOption = None,
    app_type: Annotated[
        str | None, typer.Option("--type", help="DOCKER (the default), WASM...")
    ] = None,
    checksum: Annotated[
        str | None, typer.Option(help="sha256 of the code: 0x and 64 hex digits.")
    ] = None,
    mrenclave: Annotated[
        str, typer.Option(help="The TEE fingerprint (text), for enclave apps.")
    ] = "",
    from_build: Annotated[
        Path | None,
        typer.Option(
            "--from-build",
            help="An app project built and pushed (`app build`, `app push`): its name, "
            "multiaddr, type and checksum.",
        ),
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Register an app owned by the wallet (refused if the same app exists)."""
    state = cli_state(ctx)
    if from_build is not None:
        if any(value is not None for value in (name, multiaddr, app_type, checksum)):
            raise InvalidInput(
                "--from-build takes the name, multiaddr, type and checksum from the build: "
                "leave out --name, --multiaddr, --type and --checksum"
            )
        project, build = load_pushed_build(from_build)
        name, multiaddr, app_type = project.name, build.multiaddr, build.app_type
        digest = build.checksum
    else:
        _require_options(("--name", name), ("--multiaddr", multiaddr), alternative="--from-build")
        digest = parse_checksum(checksum) if checksum is not None else b"\x00" * 32
    client = unlocked_client(state)
    deployed = client.assets.deploy_app(
        str(name),
        str(multiaddr),
        app_type=app_type or "DOCKER",
        checksum=digest,
        mrenclave=mrenclave.encode(),
    )
    _report_deployed(state, json_output, deployed)


def _require_options(*given: tuple[str, str | None], alternative: str) -> None:
    missing = [option for option, value in given if value is None]
    if missing:
        raise InvalidInput(f"give {' and '.join(missing)}, or {alternative} FOLDER")


@dataset_assets.command("deploy")
def deploy_dataset(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option(help="The asset's name.")] = None,
    multiaddr: OptionalMultiaddrOption = None,
    checksum: Annotated[
        str | None, typer.Option(help="sha256 of the data: 0x and 64 hex digits.")
    ] = None,
    file: Annotated[
        Path | None, typer.Option(help="The dataset's file: its sha256 is the checksum.")
    ] = None,
    from_project: Annotated[
        Path | None,
        typer.Option(
            "--from-project",
            help="A dataset project (`dataset init`, `dataset push`): its name, multiaddr "
            "and file's sha256.",
        ),
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Register a dataset owned by the wallet (refused if the same dataset exists)."""
    state = cli_state(ctx)
    if from_project is not None:
        if any(value is not None for value in (name, multiaddr, checksum, file)):
            raise InvalidInput(
                "--from-project takes the name, multiaddr and checksum from the project: "
                "leave out --name, --multiaddr, --checksum and --file"
            )
        project = load_dataset_project(from_project)
        if not project.multiaddr:
            raise InvalidInput(
                f"{from_project / DATASET_PROJECT_FILE} has no multiaddr: run `veritask "
                f"dataset push {from_project}`, or set it to where the file is served"
            )
        name, multiaddr, file = project.name, project.multiaddr, project.path
    else:
        _require_options(("--name", name), ("--multiaddr", multiaddr), alternative="--from-project")
        if (checksum is None) == (file is None):
            raise InvalidInput("give the dataset's checksum: either --checksum or --file")
    digest = parse_checksum(checksum) if checksum is not None else file_checksum(Path(str(file)))
    client = unlocked_client(state)
    deployed = client.assets.deploy_dataset(str(name), str(multiaddr), digest)
    _report_deployed(state, json_output, deployed)


@workerpool_assets.command("deploy")
def deploy_workerpool(
    ctx: typer.Context,
    description: Annotated[str | None, typer.Option(help="What the workerpool offers.")] = None,
    from_project: Annotated[
        Path | None,
        typer.Option(
            "--from-project",
            help="A workerpool project (`workerpool init`): its description and policies.",
        ),
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Register a workerpool owned by the wallet, with the default policies (or the
    project's, set by a second transaction)."""
    state = cli_state(ctx)
    project = None
    if from_project is not None:
        if description is not None:
            raise InvalidInput("--from-project takes the description from the project")
        project = load_workerpool_project(from_project)
        description = project.description
    _require_options(("--description", description), alternative="--from-project")
    client = unlocked_client(state)
    deployed = client.assets.deploy_workerpool(str(description))
    policy = None
    if project is not None and (
        project.worker_stake_ratio,
        project.scheduler_reward_ratio,
    ) != (DEFAULT_WORKER_STAKE_RATIO, DEFAULT_SCHEDULER_REWARD_RATIO):
        policy = client.assets.set_policy(
            deployed.address,
            worker_stake_ratio=project.worker_stake_ratio,
            scheduler_reward_ratio=project.scheduler_reward_ratio,
        )
    if policy is None or project is None:
        _report_deployed(state, json_output, deployed)
        return
    if state.as_json(json_output):
        emit_json(
            {
                "kind": deployed.kind,
                "address": deployed.address,
                **_tx_fields(deployed.tx),
                "worker_stake_ratio": project.worker_stake_ratio,
                "scheduler_reward_ratio": project.scheduler_reward_ratio,
                "policy_tx": _tx_fields(policy),
            }
        )
        return
    _show_tx(f"deployed {deployed.kind} {deployed.address}", deployed.tx)
    _show_tx(
        f"worker stake ratio {project.worker_stake_ratio} %, "
        f"scheduler reward ratio {project.scheduler_reward_ratio} %",
        policy,
    )


def _show_asset(ctx: typer.Context, kind: AssetKind, address: str, json_flag: bool) -> None:
    state = cli_state(ctx)
    assets = state.client(state.profile()).assets
    view: AppView | DatasetView | WorkerpoolView
    if kind == "app":
        view = assets.app(address)
    elif kind == "dataset":
        view = assets.dataset(address)
    else:
        view = assets.workerpool(address)
    fields = asdict(view)
    if state.as_json(json_flag):
        emit_json({"kind": kind, **fields})
        return
    print_table(((name, str(value)) for name, value in fields.items()), (kind, "value"))


def _count_assets(ctx: typer.Context, kind: AssetKind, owner: str | None, json_flag: bool) -> None:
    state = cli_state(ctx)
    profile = state.profile()
    target = checksum_address(owner) if owner is not None else state.find_wallet(profile).address
    addresses = state.client(profile).assets.owned(kind, target)
    if state.as_json(json_flag):
        emit_json({"kind": kind, "owner": target, "count": len(addresses), "addresses": addresses})
        return
    show(f"{target} owns {len(addresses)} {kind}{'' if len(addresses) == 1 else 's'}")
    for address in addresses:
        show(address)


def _transfer_asset(
    ctx: typer.Context, kind: AssetKind, address: str, to: str, json_flag: bool
) -> None:
    state = cli_state(ctx)
    address, to = checksum_address(address), checksum_address(to, source="TO")
    tx = unlocked_client(state).assets.transfer(kind, address, to)
    if state.as_json(json_flag):
        emit_json({"kind": kind, "address": address, "to": to, **_tx_fields(tx)})
        return
    _show_tx(f"transferred {kind} {address} to {to}", tx)


def _register_common(typer_app: typer.Typer, kind: AssetKind) -> None:
    """show, count and transfer, the same for the three kinds."""

    def show_command(
        ctx: typer.Context, address: AddressArgument, json_output: JsonFlag = False
    ) -> None:
        _show_asset(ctx, kind, address, json_output)

    def count_command(
        ctx: typer.Context,
        owner: Annotated[
            str | None, typer.Argument(help="Any address (default: the wallet's).")
        ] = None,
        json_output: JsonFlag = False,
    ) -> None:
        _count_assets(ctx, kind, owner, json_output)

    def transfer_command(
        ctx: typer.Context,
        address: AddressArgument,
        to: Annotated[str, typer.Argument(help="The new owner.")],
        json_output: JsonFlag = False,
    ) -> None:
        _transfer_asset(ctx, kind, address, to, json_output)

    show_command.__doc__ = f"Show a {kind}'s fields and owner."
    count_command.__doc__ = f"Count (and list) the {kind}s an address owns."
    transfer_command.__doc__ = f"Give a {kind} to another address (only its owner may)."
    typer_app.command("show")(show_command)
    typer_app.command("count")(count_command)
    typer_app.command("transfer")(transfer_command)


_register_common(app_assets, "app")
_register_common(dataset_assets, "dataset")
_register_common(workerpool_assets, "workerpool")


@workerpool_assets.command("set-policy")
def set_policy(
    ctx: typer.Context,
    address: AddressArgument,
    worker_stake_ratio: Annotated[
        int, typer.Option(help="% of the workerpool price a worker stakes (0-100).")
    ],
    scheduler_reward_ratio: Annotated[
        int, typer.Option(help="% of the pot the scheduler keeps (0-100).")
    ],
    json_output: JsonFlag = False,
) -> None:
    """Change a workerpool's policies (only its owner may)."""
    state = cli_state(ctx)
    for label, ratio in [
        ("--worker-stake-ratio", worker_stake_ratio),
        ("--scheduler-reward-ratio", scheduler_reward_ratio),
    ]:
        if not 0 <= ratio <= 100:
            raise InvalidInput(f"{label} is a percentage: {ratio} is not between 0 and 100")
    address = checksum_address(address)
    tx = unlocked_client(state).assets.set_policy(
        address,
        worker_stake_ratio=worker_stake_ratio,
        scheduler_reward_ratio=scheduler_reward_ratio,
    )
    if state.as_json(json_output):
        emit_json(
            {
                "address": address,
                "worker_stake_ratio": worker_stake_ratio,
                "scheduler_reward_ratio": scheduler_reward_ratio,
                **_tx_fields(tx),
            }
        )
        return
    _show_tx(
        f"workerpool {address}: worker stake ratio {worker_stake_ratio} %, "
        f"scheduler reward ratio {scheduler_reward_ratio} %",
        tx,
    )
