"""`veritask run APP`: one deal of an app, from order files, the market's cheapest
compatible orders and the wallet's own assets, checked before anything is sent, shown with
its cost and confirmed, then matched on chain.
The logic is `veritask.sdk.run`; this module parses options and prints."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from veritask.domain.orders import ZERO_ADDRESS, AppOrder, DatasetOrder, WorkerpoolOrder
from veritask.errors import InvalidInput
from veritask.sdk import (
    MarketClient,
    Results,
    RunPlan,
    RunRequest,
    RunResult,
    Runs,
    TaskStatus,
    Veritask,
    checksum_address,
    format_rlc,
    load_order,
    order_kind,
    parse_amount,
    parse_tag,
    to_hex,
)

from .fields import result_fields
from .options import CallbackOption, MarketUrlOption, TagOption, parse_salt
from .output import JsonFlag, emit_json, print_table, show, show_result
from .state import cli_state, market_url, unlocked_client
from .watch import end_of_watch, scheduler_watch, watch_deal

__all__ = ["run"]

_O = TypeVar("_O", AppOrder, DatasetOrder, WorkerpoolOrder)
_WAITING = "waiting for a worker"


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _order_file(path: Path | None, kind: type[_O], option: str) -> _O | None:
    if path is None:
        return None
    order = load_order(path)
    if not isinstance(order, kind):
        expected = kind.__name__.removesuffix("Order").lower()
        raise InvalidInput(
            f"{option} {path}: this is {_a(order_kind(order))} order, not {_a(expected)} order"
        )
    return order


def _cost_rows(plan: RunPlan) -> list[tuple[str, str, str, str]]:
    volume = plan.volume
    rows = [
        ("app", plan.app_order.app, format_rlc(plan.app_price), format_rlc(plan.app_price * volume))
    ]
    if plan.has_dataset:
        rows.append(
            (
                "dataset",
                plan.dataset_order.dataset,
                format_rlc(plan.dataset_price),
                format_rlc(plan.dataset_price * volume),
            )
        )
    rows.append(
        (
            "workerpool",
            plan.workerpool_order.workerpool,
            format_rlc(plan.workerpool_price),
            format_rlc(plan.workerpool_price * volume),
        )
    )
    rows.append(
        ("total", f"{volume} task(s)", format_rlc(plan.task_price), format_rlc(plan.total_nrlc))
    )
    return rows


def _plan_fields(plan: RunPlan) -> dict[str, Any]:
    return {
        "volume": plan.volume,
        "app_price_nrlc": plan.app_price,
        "dataset_price_nrlc": plan.dataset_price,
        "workerpool_price_nrlc": plan.workerpool_price,
        "total_nrlc": plan.total_nrlc,
        "total_rlc": format_rlc(plan.total_nrlc),
        "signed_here": list(plan.signed_here),
        "from_market": list(plan.from_market),
        "params": plan.request_order.params,
    }


def _result_fields(result: RunResult) -> dict[str, Any]:
    return {
        "deal_id": to_hex(result.deal_id),
        "volume": result.volume,
        "task_ids": [to_hex(task) for task in result.task_ids],
        "tx_hash": result.tx.tx_hash,
        "block_number": result.tx.block_number,
        "gas_used": result.tx.gas_used,
        **_plan_fields(result.plan),
    }


def run(
    ctx: typer.Context,
    app_address: Annotated[str, typer.Argument(metavar="APP", help="The app to run.")],
    dataset: Annotated[str | None, typer.Option(help="A dataset to use.")] = None,
    workerpool: Annotated[
        str | None, typer.Option(help="Only this workerpool (default: any).")
    ] = None,
    args: Annotated[str, typer.Option("--args", help="The app's arguments.")] = "",
    input_files: Annotated[
        list[str] | None, typer.Option("--input-files", help="A URL the app downloads (repeat).")
    ] = None,
    trust: Annotated[int, typer.Option(min=0, help="The trust level (0 or 1).")] = 0,
    tag: TagOption = "none",
    category: Annotated[int, typer.Option(min=0, help="The category (0 XS ... 4 XL).")] = 0,
    callback: CallbackOption = ZERO_ADDRESS,
    beneficiary: Annotated[
        str | None, typer.Option(help="Who gets the results (default: the wallet).")
    ] = None,
    volume: Annotated[int, typer.Option(min=1, help="How many tasks.")] = 1,
    max_price: Annotated[
        str | None, typer.Option(help="The most one task may cost, all parts included (RLC).")
    ] = None,
    app_order: Annotated[
        Path | None, typer.Option(help="A signed app order file (default: sign one, price 0).")
    ] = None,
    dataset_order: Annotated[Path | None, typer.Option(help="A signed dataset order file.")] = None,
    workerpool_order: Annotated[
        Path | None, typer.Option(help="A signed workerpool order file.")
    ] = None,
    salt: Annotated[
        str | None,
        typer.Option(help="The request order's salt, 0x and 64 hex digits (default: random)."),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    market_url_option: MarketUrlOption = None,
    watch: Annotated[
        bool,
        typer.Option(
            help="Follow the tasks live until each completes or fails, then download and "
            "verify the results into ./result-<task id>."
        ),
    ] = False,
    timeout: Annotated[
        float | None, typer.Option(min=0, help="With --watch: stop watching after S seconds.")
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Run an app: match its orders into a deal and print the deal and task ids.

    Orders come from --app-order, --dataset-order and --workerpool-order files, else the
    market's cheapest compatible ones, else are signed here for the assets the wallet owns.
    Everything is checked before sending.
    """
    state = cli_state(ctx)
    as_json = state.as_json(json_output)
    if as_json and not yes:
        raise InvalidInput("--json needs --yes: there is no confirmation prompt in JSON mode")
    request = RunRequest(
        app=checksum_address(app_address, source="APP"),
        dataset=checksum_address(dataset, source="--dataset") if dataset else ZERO_ADDRESS,
        workerpool=(
            checksum_address(workerpool, source="--workerpool") if workerpool else ZERO_ADDRESS
        ),
        args=args,
        input_files=tuple(input_files or ()),
        trust=trust,
        tag=parse_tag(tag),
        category=category,
        callback=checksum_address(callback, source="--callback"),
        beneficiary=checksum_address(beneficiary, source="--beneficiary") if beneficiary else None,
        volume=volume,
        max_price_nrlc=parse_amount(max_price) if max_price is not None else None,
        app_order=_order_file(app_order, AppOrder, "--app-order"),
        dataset_order=_order_file(dataset_order, DatasetOrder, "--dataset-order"),
        workerpool_order=_order_file(workerpool_order, WorkerpoolOrder, "--workerpool-order"),
        salt=parse_salt(salt) if salt is not None else None,
    )
    client = unlocked_client(state)
    url = market_url(state, market_url_option)
    market = MarketClient(url, timeout_s=state.timeout_s) if url else None
    runs = Runs(client.session, market) if market else client.runs
    plan = runs.prepare(request)
    if not as_json:
        print_table(_cost_rows(plan), ("", "address", "per task (RLC)", "total (RLC)"))
        if plan.from_market and runs.market is not None:
            show(f"orders from the market {runs.market.url}: {', '.join(plan.from_market)}")
        if plan.signed_here:
            show(f"orders signed by the wallet: {', '.join(plan.signed_here)} (price 0)")
        if not yes and not typer.confirm(
            f"Pay {format_rlc(plan.total_nrlc)} RLC for {plan.volume} task(s)?", default=False
        ):
            raise InvalidInput("not confirmed: nothing sent (answer y, or pass --yes)")
    result = runs.submit(plan)
    if as_json:
        emit_json(_result_fields(result))
    else:
        show(f"deal {to_hex(result.deal_id)}: {result.volume} task(s), tx {result.tx.tx_hash}")
        for index, task in enumerate(result.task_ids):
            show(f"task {index} {to_hex(task)} {_WAITING}")
    if not watch:
        if not as_json:
            show(f"follow it with `veritask deal watch {to_hex(result.deal_id)}`")
        return
    _watch_and_download(client, result, as_json=as_json, timeout_s=timeout)


def _watch_and_download(
    client: Veritask, result: RunResult, *, as_json: bool, timeout_s: float | None
) -> None:
    """Follows the deal's tasks (on the chain, and on the profile's scheduler, which tells
    at once when an app fails), then downloads and verifies each completed task's result;
    exits with code 5 unless every task completed."""
    deals = client.deals(from_block=result.tx.block_number)
    with scheduler_watch(client, deals) as scheduler:
        end = watch_deal(
            deals,
            result.deal_id,
            as_json=as_json,
            timeout_s=timeout_s,
            poll_s=0.2,
            scheduler=scheduler,
        )
    last = end.view
    completed = [
        task for task in last.tasks if task.status == TaskStatus.COMPLETED and task.results
    ]
    if completed and not client.profile.storage_url:
        message = "no storage_url in the profile: download results with `veritask result download`"
        if not as_json:
            show(message)
        completed = []
    results = Results(client, deals=deals)
    for task in completed:
        downloaded = results.download_task(task, Path.cwd() / f"result-{to_hex(task.task_id)}")
        if as_json:
            emit_json({"event": "result", **result_fields(downloaded)})
        else:
            show_result(downloaded)
    end_of_watch(end, as_json=as_json, timeout_s=timeout_s)
