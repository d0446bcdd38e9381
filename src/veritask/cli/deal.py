"""`veritask deal show|watch|claim`: a deal's terms, deadlines and tasks, and the refund of its
unfinished tasks after the final deadline."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from eth_account.signers.local import LocalAccount

from veritask.errors import InvalidInput
from veritask.sdk import (
    DealView,
    Profile,
    TaskView,
    format_duration,
    format_rlc,
    format_time,
    parse_deal_id,
    resolve_password,
    to_hex,
)

from .claims import claim_report, signing_deals
from .fields import results_text, task_fields
from .options import FromBlockOption
from .output import JsonFlag, emit_json, print_table, show, warning_line
from .state import CliState, cli_state
from .watch import end_of_watch, scheduler_watch, watch_deal

__all__ = ["app"]

app = typer.Typer(help="Show deals and claim their unfinished tasks.", no_args_is_help=True)

DealArgument = Annotated[str, typer.Argument(help="The deal id: 0x and 64 hex digits.")]


def _deadline(at: int, now: int) -> str:
    left = at - now
    when = f"in {format_duration(left)}" if left > 0 else "passed"
    return f"{format_time(at)} ({when})"


def _deal_fields(view: DealView) -> dict[str, Any]:
    terms = view.terms
    return {
        "deal_id": to_hex(view.deal_id),
        "requester": terms.requester,
        "beneficiary": view.beneficiary,
        "app": view.app,
        "dataset": view.dataset,
        "workerpool": view.workerpool,
        "tag": to_hex(view.tag),
        "params": view.params,
        "app_price_nrlc": terms.app_price,
        "dataset_price_nrlc": terms.dataset_price,
        "workerpool_price_nrlc": terms.workerpool_price,
        "task_price_nrlc": view.task_price_nrlc,
        "category": terms.category,
        "trust": terms.trust,
        "callback": terms.callback,
        "volume": terms.bot_size,
        "bot_first": terms.bot_first,
        "start_time": terms.start_time,
        "contribution_deadline": view.contribution_deadline,
        "final_deadline": view.final_deadline,
        "now": view.now,
        "tasks": [task_fields(task) for task in view.tasks],
    }


def _deal_rows(view: DealView) -> list[tuple[str, str]]:
    terms = view.terms
    last = terms.bot_first + terms.bot_size - 1
    return [
        ("requester", terms.requester),
        ("beneficiary", view.beneficiary),
        ("app", f"{view.app} ({format_rlc(terms.app_price)} RLC)"),
        ("dataset", f"{view.dataset} ({format_rlc(terms.dataset_price)} RLC)"),
        ("workerpool", f"{view.workerpool} ({format_rlc(terms.workerpool_price)} RLC)"),
        ("task price", f"{format_rlc(view.task_price_nrlc)} RLC"),
        ("category", f"{terms.category} (C = {terms.time_ref} s)"),
        ("trust", str(terms.trust)),
        ("tag", to_hex(view.tag)),
        ("params", view.params),
        ("volume", f"{terms.bot_size} (tasks {terms.bot_first} to {last})"),
        ("started", format_time(terms.start_time)),
        ("contributions until", _deadline(view.contribution_deadline, view.now)),
        ("final deadline", _deadline(view.final_deadline, view.now)),
    ]


def _task_rows(tasks: tuple[TaskView, ...]) -> list[tuple[str, ...]]:
    return [
        (
            str(task.index),
            to_hex(task.task_id),
            task.status_name,
            ", ".join(c.worker for c in task.contributors) or "-",
            results_text(task.results) or "-",
        )
        for task in tasks
    ]


@app.command(name="show")
def show_deal(
    ctx: typer.Context,
    deal_id: DealArgument,
    from_block: FromBlockOption = 0,
    json_output: JsonFlag = False,
) -> None:
    """Show a deal: terms, assets, deadlines and the status of each task."""
    state = cli_state(ctx)
    deal = parse_deal_id(deal_id)
    view = state.client(state.profile()).deals(from_block=from_block).deal(deal)
    if state.as_json(json_output):
        emit_json(_deal_fields(view))
        return
    show(f"deal {to_hex(view.deal_id)}")
    print_table(_deal_rows(view), ("", "value"))
    print_table(_task_rows(view.tasks), ("index", "task id", "status", "contributors", "result"))


@app.command(name="watch")
def watch(
    ctx: typer.Context,
    deal_id: DealArgument,
    from_block: FromBlockOption = 0,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", min=0, help="Stop watching after this many seconds."),
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Follow a deal's tasks live until each is completed or failed (exit code 5 when not
    every task completed).

    With a scheduler URL, and the wallet of the deal's requester or beneficiary whose
    password is given (VERITASK_PASSWORD or --password-file: a watch never prompts), the
    scheduler also tells at once when an app fails, with its exit code and logs.
    """
    state = cli_state(ctx)
    as_json = state.as_json(json_output)
    deal = parse_deal_id(deal_id)
    profile = state.profile()
    client = state.client(profile)
    deals = client.deals(from_block=from_block)
    if profile.scheduler_url:
        client.signer = _watch_signer(state, profile, deals.deal(deal))
    with scheduler_watch(client, deals) as scheduler:
        end = watch_deal(deals, deal, as_json=as_json, timeout_s=timeout, scheduler=scheduler)
    end_of_watch(end, as_json=as_json, timeout_s=timeout)


def _watch_signer(state: CliState, profile: Profile, view: DealView) -> LocalAccount | None:
    """The wallet that may read the deal's logs from the scheduler, when it is the deal's
    requester or beneficiary and its password is given without a prompt; else None (the
    watch follows the chain only), with a warning when only the password is missing."""
    try:
        wallet = state.find_wallet(profile)
    except InvalidInput:
        return None  # no wallet, or several and none chosen: nobody to sign as
    if wallet.address.lower() not in (view.terms.requester.lower(), view.beneficiary.lower()):
        return None
    if resolve_password(password_file=state.password_file) is None:
        warning_line(
            f"give the password of wallet {wallet.address} (VERITASK_PASSWORD or "
            "--password-file) to hear from the scheduler as soon as an app fails; "
            "watching the chain only"
        )
        return None
    return state.unlock(wallet)


@app.command()
def claim(
    ctx: typer.Context,
    deal_id: DealArgument,
    from_block: FromBlockOption = 0,
    json_output: JsonFlag = False,
) -> None:
    """Fail and refund every unfinished task of a deal past its final deadline (one
    transaction, at most 128 tasks)."""
    state = cli_state(ctx)
    deal = parse_deal_id(deal_id)
    report = signing_deals(state, deal, from_block).claim(deal)
    claim_report(state, json_output, report)
