"""`veritask task show|logs|claim`: one task, named `DEAL_ID:INDEX` or by its task id, with
its contributions, consensus, result and what happens next; its state, exit code and app
logs as its workerpool's scheduler tells them; its refund after the deadline."""

from __future__ import annotations

import typer

from veritask.domain.ids import task_id
from veritask.sdk import TaskLogsReader, TaskView, format_time

from .claims import claim_report, signing_deals
from .fields import task_fields
from .logs import logs_fields, show_logs
from .options import FromBlockOption, TaskArgument
from .output import JsonFlag, emit_json, print_table
from .state import cli_state

__all__ = ["app"]

app = typer.Typer(
    help="Show a task, read its logs, and claim it after its deadline.", no_args_is_help=True
)


def _task_rows(task: TaskView) -> list[tuple[str, str]]:
    fields = task_fields(task)
    rows = [
        ("task id", fields["task_id"]),
        ("deal", fields["deal_id"]),
        ("index", str(task.index)),
        ("status", task.status_name),
    ]
    if fields["consensus"]:
        rows.append(("consensus", str(fields["consensus"])))
    if task.reveal_deadline:
        rows.append(("reveal deadline", format_time(task.reveal_deadline)))
    if fields["result_digest"]:
        rows += [("result digest", fields["result_digest"]), ("result", fields["results"])]
    if task.failure is not None:
        failure = fields["settled_failure"]
        rows += [
            ("failure", failure["description"]),
            ("exit code", str(failure["exit_code"])),
            ("stderr digest", failure["stderr_digest"]),
        ]
    rows += [
        ("contributions until", format_time(task.contribution_deadline)),
        ("final deadline", format_time(task.final_deadline)),
        ("next", task.next_step()),
    ]
    return rows


@app.command(name="show")
def show_task(
    ctx: typer.Context,
    task: TaskArgument,
    from_block: FromBlockOption = 0,
    json_output: JsonFlag = False,
) -> None:
    """Show a task: status, contributions, consensus, result and what happens next."""
    state = cli_state(ctx)
    view = state.client(state.profile()).deals(from_block=from_block).task(task)
    if state.as_json(json_output):
        emit_json(task_fields(view))
        return
    print_table(_task_rows(view), ("", "value"))
    if view.contributors:
        print_table(
            [(c.worker, c.status_name) for c in view.contributors], ("contributor", "status")
        )


@app.command()
def logs(
    ctx: typer.Context,
    task: TaskArgument,
    from_block: FromBlockOption = 0,
    json_output: JsonFlag = False,
) -> None:
    """Show a task as its workerpool's scheduler sees it: status, failure, and each
    replicate's status, exit code, stdout and stderr (signed by the requester's or the
    beneficiary's wallet)."""
    state = cli_state(ctx)
    profile = state.profile()
    client = state.client(profile)
    with TaskLogsReader(client, deals=client.deals(from_block=from_block)) as reader:
        url = reader.scheduler_url  # before the password: a missing URL costs no prompt
        wallet = state.find_wallet(profile)
        deal_id, index = reader.deals.resolve(task)
        client.signer = state.unlock(wallet)
        found = reader.logs(task_id(deal_id, index))
    if state.as_json(json_output):
        emit_json(logs_fields(found, url))
        return
    show_logs(found, url)


@app.command()
def claim(
    ctx: typer.Context,
    task: TaskArgument,
    from_block: FromBlockOption = 0,
    json_output: JsonFlag = False,
) -> None:
    """Fail and refund one unfinished task past its deal's final deadline."""
    state = cli_state(ctx)
    client_deals = state.client(state.profile()).deals(from_block=from_block)
    deal_id, index = client_deals.resolve(task)
    report = signing_deals(state, deal_id, from_block).claim(deal_id, [index])
    claim_report(state, json_output, report)
