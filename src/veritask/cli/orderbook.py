"""`veritask orderbook app|dataset|workerpool|request|show|deals`: read a market's order
books (the off-chain order book service, docs/market.md) with filters, best price first.
The market is the command's `--market-url`, else the global one, `$VERITASK_MARKET_URL` or
the profile's `market_url`. The four book commands are made from one table, `_BOOKS`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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
from .params import Param, table_command
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


@dataclass(frozen=True)
class _Filter:
    """An option (or the argument) of a book command, and the `MarketClient.book` filter
    it sets: an address is checked (errors name it `source`), a tag parsed."""

    param: Param
    market_name: str
    source: str | None = None  # set for an address
    tag: bool = False

    def value(self, given: Any) -> Any:
        if self.source is not None:
            return _address(given, self.source)
        return _tag(given) if self.tag else given


def _asset(name: str, metavar: str, help_text: str, market_name: str = "asset") -> _Filter:
    """The optional argument: the book's asset (the app, for requests)."""
    argument = typer.Argument(metavar=f"[{metavar}]", help=help_text)
    return _Filter(Param(name, Annotated[str | None, argument], None), market_name, metavar)


def _address_option(
    market_name: str, name: str | None = None, annotation: Any = _Address
) -> _Filter:
    return _Filter(Param(name or market_name, annotation, None), market_name, f"--{market_name}")


def _plain(name: str, annotation: Any, default: Any) -> _Filter:
    return _Filter(Param(name, annotation, default), name)


_APP_OPTION = _address_option(
    "app",
    "app_address",
    Annotated[str | None, typer.Option("--app", help="Only orders this app may use.")],
)
_SIGNER = _address_option("signer", annotation=_Signer)
_CATEGORY_AND_TRUST = (
    _plain(
        "category", Annotated[int | None, typer.Option(min=0, help="Only this category.")], None
    ),
    _plain(
        "min_trust", Annotated[int | None, typer.Option(min=0, help="Trust at least this.")], None
    ),
    _plain(
        "max_trust", Annotated[int | None, typer.Option(min=0, help="Trust at most this.")], None
    ),
)
# Every book ends with these, then --market-url and --json.
_PAGE_FILTERS = (
    _Filter(Param("tag", _Tag, None), "tag", tag=True),
    _Filter(Param("min_tag", _MinTag, None), "min_tag", tag=True),
    _Filter(Param("max_tag", _MaxTag, None), "max_tag", tag=True),
    _plain("min_volume", _MinVolume, 1),
    _plain("include_restricted", _Restricted, False),
    _plain("page_size", _PageSize, 20),
    _plain("after", _After, None),
)


@dataclass(frozen=True)
class _Book:
    """One `orderbook <kind>` command: its help and its own filters, in --help order."""

    kind: OrderKind
    doc: str
    filters: tuple[_Filter, ...]


_BOOKS = (
    _Book(
        "app",
        "App orders: run an app for a price per task.",
        (
            _asset("app_address", "APP", "Only this app's orders."),
            _address_option("dataset"),
            _address_option("workerpool"),
            _address_option("requester"),
            _SIGNER,
        ),
    ),
    _Book(
        "dataset",
        "Dataset orders: use a dataset for a price per task.",
        (
            _asset("dataset_address", "DATASET", "Only this dataset's orders."),
            _APP_OPTION,
            _address_option("workerpool"),
            _address_option("requester"),
            _SIGNER,
        ),
    ),
    _Book(
        "workerpool",
        "Workerpool orders: compute in a category up to a trust level, for a price per task.",
        (
            _asset("workerpool_address", "WORKERPOOL", "Only this workerpool's orders."),
            *_CATEGORY_AND_TRUST,
            _APP_OPTION,
            _address_option("dataset"),
            _address_option("requester"),
            _SIGNER,
        ),
    ),
    _Book(
        "request",
        "Request orders: requesters' demands, highest workerpool max price first.",
        (
            _asset("app_address", "APP", "Only requests of this app.", market_name="app"),
            _address_option(
                "dataset",
                annotation=Annotated[
                    str | None, typer.Option(help="Only requests of this dataset.")
                ],
            ),
            _address_option(
                "requester",
                annotation=Annotated[str | None, typer.Option(help="Only this requester's.")],
            ),
            _address_option("workerpool"),
            *_CATEGORY_AND_TRUST,
        ),
    ),
)


def _book_command(book: _Book) -> Callable[..., None]:
    filters = (*book.filters, *_PAGE_FILTERS)
    params = [
        *(item.param for item in filters),
        Param("market_url_option", MarketUrlOption, None),
        Param("json_output", JsonFlag, False),
    ]

    def body(ctx: typer.Context, values: dict[str, Any]) -> None:
        # In parameter order: the first bad value is the one reported, as before.
        given = {item.market_name: item.value(values[item.param.name]) for item in filters}
        _book(ctx, book.kind, values["market_url_option"], values["json_output"], **given)

    return table_command(f"{book.kind}_book", book.doc, params, body)


for _row in _BOOKS:
    app.command(_row.kind)(_book_command(_row))


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
