"""`veritask orderbook app|dataset|workerpool|request|show|deals`: read a market's order
books (the off-chain order book service, docs/market.md) with filters, best price first.
The market is the command's `--market-url`, else the global one, `$VERITASK_MARKET_URL` or
the profile's `market_url`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from veritask.sdk import (
    BookPage,
    MarketOrder,
    OrderKind,
    checksum_address,
    format_rlc,
    parse_tag,
    tag_name,
)

from .options import MarketUrlOption
from .output import JsonFlag, emit_json, print_table, show
from .state import CliState, cli_state, market_client

__all__ = ["app"]

app = typer.Typer(help="Read a market's order books.", no_args_is_help=True)

_Address = Annotated[str | None, typer.Option(help="Only orders this address may use.")]
_Tag = Annotated[str | None, typer.Option(help="Exactly this tag (none, tee, ... or 0x hex).")]
_MinTag = Annotated[str | None, typer.Option(help="Orders whose tag has all these bits.")]
_MaxTag = Annotated[str | None, typer.Option(help="Orders whose tag has no other bits.")]
_MinVolume = Annotated[int, typer.Option(min=1, help="At least this many tasks left.")]
_Restricted = Annotated[
    bool, typer.Option(help="Also orders restricted to someone (without --app/--requester...).")
]
_PageSize = Annotated[int, typer.Option(min=1, help="Orders per page.")]
_After = Annotated[str | None, typer.Option(help="The `next` token of the previous page.")]
_Signer = Annotated[str | None, typer.Option(help="Only orders signed by this address.")]


def _address(value: str | None, option: str) -> str | None:
    return checksum_address(value, source=option) if value else None


def _tag(value: str | None) -> bytes | None:
    return parse_tag(value) if value is not None else None


def _order_rows(kind: OrderKind, orders: tuple[MarketOrder, ...]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for item in orders:
        order = item.order
        asset = str(getattr(order, "app" if kind == "request" else kind))
        row = [item.order_hash, asset, format_rlc(item.price), f"{item.remaining}/{item.volume}"]
        row.append(tag_name(order.tag))
        if kind in ("workerpool", "request"):
            row += [str(getattr(order, "category", "")), str(getattr(order, "trust", ""))]
        row.append(item.signer)
        rows.append(tuple(row))
    return rows


def _columns(kind: OrderKind) -> tuple[str, ...]:
    price = "max price (RLC)" if kind == "request" else "price (RLC)"
    middle = ("category", "trust") if kind in ("workerpool", "request") else ()
    signer = "requester" if kind == "request" else "owner"
    asset = "app" if kind == "request" else kind
    return ("order hash", asset, price, "left/volume", "tag", *middle, signer)


def _print_page(state: CliState, page: BookPage, url: str, json_flag: bool) -> None:
    if state.as_json(json_flag):
        emit_json(
            {
                "market_url": url,
                "kind": page.kind,
                "count": page.count,
                "next": page.next,
                "orders": [item.as_json() for item in page.orders],
            }
        )
        return
    if not page.orders:
        show(f"no open {page.kind} order matches on {url}")
        return
    print_table(_order_rows(page.kind, page.orders), _columns(page.kind))
    shown = len(page.orders)
    more = f"; next page: --after {page.next}" if page.next else ""
    show(f"{shown} of {page.count} {page.kind} order(s), best price first{more}")


def _book(
    ctx: typer.Context, kind: OrderKind, url: str | None, json_flag: bool, **filters: Any
) -> None:
    state = cli_state(ctx)
    with market_client(state, url) as market:
        page = market.book(kind, **filters)
        _print_page(state, page, market.url, json_flag)


@app.command("app")
def app_book(
    ctx: typer.Context,
    app_address: Annotated[
        str | None, typer.Argument(metavar="[APP]", help="Only this app's orders.")
    ] = None,
    dataset: _Address = None,
    workerpool: _Address = None,
    requester: _Address = None,
    signer: _Signer = None,
    tag: _Tag = None,
    min_tag: _MinTag = None,
    max_tag: _MaxTag = None,
    min_volume: _MinVolume = 1,
    include_restricted: _Restricted = False,
    page_size: _PageSize = 20,
    after: _After = None,
    market_url_option: MarketUrlOption = None,
    json_output: JsonFlag = False,
) -> None:
    """App orders: run an app for a price per task."""
    _book(
        ctx,
        "app",
        market_url_option,
        json_output,
        asset=_address(app_address, "APP"),
        dataset=_address(dataset, "--dataset"),
        workerpool=_address(workerpool, "--workerpool"),
        requester=_address(requester, "--requester"),
        signer=_address(signer, "--signer"),
        tag=_tag(tag),
        min_tag=_tag(min_tag),
        max_tag=_tag(max_tag),
        min_volume=min_volume,
        include_restricted=include_restricted,
        page_size=page_size,
        after=after,
    )


@app.command("dataset")
def dataset_book(
    ctx: typer.Context,
    dataset_address: Annotated[
        str | None, typer.Argument(metavar="[DATASET]", help="Only this dataset's orders.")
    ] = None,
    app_address: Annotated[
        str | None, typer.Option("--app", help="Only orders this app may use.")
    ] = None,
    workerpool: _Address = None,
    requester: _Address = None,
    signer: _Signer = None,
    tag: _Tag = None,
    min_tag: _MinTag = None,
    max_tag: _MaxTag = None,
    min_volume: _MinVolume = 1,
    include_restricted: _Restricted = False,
    page_size: _PageSize = 20,
    after: _After = None,
    market_url_option: MarketUrlOption = None,
    json_output: JsonFlag = False,
) -> None:
    """Dataset orders: use a dataset for a price per task."""
    _book(
        ctx,
        "dataset",
        market_url_option,
        json_output,
        asset=_address(dataset_address, "DATASET"),
        app=_address(app_address, "--app"),
        workerpool=_address(workerpool, "--workerpool"),
        requester=_address(requester, "--requester"),
        signer=_address(signer, "--signer"),
        tag=_tag(tag),
        min_tag=_tag(min_tag),
        max_tag=_tag(max_tag),
        min_volume=min_volume,
        include_restricted=include_restricted,
        page_size=page_size,
        after=after,
    )


@app.command("workerpool")
def workerpool_book(
    ctx: typer.Context,
    workerpool_address: Annotated[
        str | None, typer.Argument(metavar="[WORKERPOOL]", help="Only this workerpool's orders.")
    ] = None,
    category: Annotated[int | None, typer.Option(min=0, help="Only this category.")] = None,
    min_trust: Annotated[int | None, typer.Option(min=0, help="Trust at least this.")] = None,
    max_trust: Annotated[int | None, typer.Option(min=0, help="Trust at most this.")] = None,
    app_address: Annotated[
        str | None, typer.Option("--app", help="Only orders this app may use.")
    ] = None,
    dataset: _Address = None,
    requester: _Address = None,
    signer: _Signer = None,
    tag: _Tag = None,
    min_tag: _MinTag = None,
    max_tag: _MaxTag = None,
    min_volume: _MinVolume = 1,
    include_restricted: _Restricted = False,
    page_size: _PageSize = 20,
    after: _After = None,
    market_url_option: MarketUrlOption = None,
    json_output: JsonFlag = False,
) -> None:
    """Workerpool orders: compute in a category up to a trust level, for a price per task."""
    _book(
        ctx,
        "workerpool",
        market_url_option,
        json_output,
        asset=_address(workerpool_address, "WORKERPOOL"),
        category=category,
        min_trust=min_trust,
        max_trust=max_trust,
        app=_address(app_address, "--app"),
        dataset=_address(dataset, "--dataset"),
        requester=_address(requester, "--requester"),
        signer=_address(signer, "--signer"),
        tag=_tag(tag),
        min_tag=_tag(min_tag),
        max_tag=_tag(max_tag),
        min_volume=min_volume,
        include_restricted=include_restricted,
        page_size=page_size,
        after=after,
    )


@app.command("request")
def request_book(
    ctx: typer.Context,
    app_address: Annotated[
        str | None, typer.Argument(metavar="[APP]", help="Only requests of this app.")
    ] = None,
    dataset: Annotated[str | None, typer.Option(help="Only requests of this dataset.")] = None,
    requester: Annotated[str | None, typer.Option(help="Only this requester's.")] = None,
    workerpool: _Address = None,
    category: Annotated[int | None, typer.Option(min=0, help="Only this category.")] = None,
    min_trust: Annotated[int | None, typer.Option(min=0, help="Trust at least this.")] = None,
    max_trust: Annotated[int | None, typer.Option(min=0, help="Trust at most this.")] = None,
    tag: _Tag = None,
    min_tag: _MinTag = None,
    max_tag: _MaxTag = None,
    min_volume: _MinVolume = 1,
    include_restricted: _Restricted = False,
    page_size: _PageSize = 20,
    after: _After = None,
    market_url_option: MarketUrlOption = None,
    json_output: JsonFlag = False,
) -> None:
    """Request orders: requesters' demands, highest workerpool max price first."""
    _book(
        ctx,
        "request",
        market_url_option,
        json_output,
        app=_address(app_address, "APP"),
        dataset=_address(dataset, "--dataset"),
        requester=_address(requester, "--requester"),
        workerpool=_address(workerpool, "--workerpool"),
        category=category,
        min_trust=min_trust,
        max_trust=max_trust,
        tag=_tag(tag),
        min_tag=_tag(min_tag),
        max_tag=_tag(max_tag),
        min_volume=min_volume,
        include_restricted=include_restricted,
        page_size=page_size,
        after=after,
    )


@app.command("show")
def show_market_order(
    ctx: typer.Context,
    order_hash: Annotated[str, typer.Argument(help="The order's hash (0x and 64 hex digits).")],
    market_url_option: MarketUrlOption = None,
    json_output: JsonFlag = False,
) -> None:
    """One order of the market, open or removed, and the deals that used it."""
    state = cli_state(ctx)
    with market_client(state, market_url_option) as market:
        item = market.get(order_hash)
        deals = market.deals(order_hash)
    if state.as_json(json_output):
        emit_json({**item.as_json(), "deals": [deal.__dict__ for deal in deals]})
        return
    rows = [
        ("order hash", item.order_hash),
        ("kind", item.kind),
        ("status", item.status),
        ("signer", item.signer),
        ("price", f"{format_rlc(item.price)} RLC"),
        ("remaining", f"{item.remaining} of {item.volume}"),
        ("tag", tag_name(item.order.tag)),
    ]
    rows += [
        (f"deal {deal.deal_id}", f"{deal.volume} task(s), block {deal.block_number}")
        for deal in deals
    ]
    print_table(rows, ("order", "value"))
