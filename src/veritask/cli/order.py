"""`veritask order init|sign|show|cancel|publish|unpublish`: order files (PROTOCOL.md A3)
written unsigned, signed by the wallet that owns the asset, checked against the hub,
cancelled on chain, published to (or taken out of) a market's order book. `order init
app|dataset|workerpool` are made from one table, `_OFFERS`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from veritask.domain.orders import (
    ZERO_ADDRESS,
    AppOrder,
    DatasetOrder,
    Order,
    RequestOrder,
    WorkerpoolOrder,
)
from veritask.errors import InvalidInput
from veritask.sdk import (
    ASSET_KINDS,
    AssetKind,
    OrderStatus,
    checksum_address,
    format_rlc,
    load_order,
    order_kind,
    parse_amount,
    parse_tag,
    save_order,
    to_hex,
)

from .options import CallbackOption, MarketUrlOption, TagOption, parse_salt
from .output import JsonFlag, emit_json, print_table, show
from .params import Param, table_command
from .state import CliState, cli_state, market_client, unlocked_client

__all__ = ["app"]

app = typer.Typer(
    help="Write, sign, check, cancel, publish and unpublish orders.", no_args_is_help=True
)
init_app = typer.Typer(help="Write an unsigned order file.", no_args_is_help=True)
app.add_typer(init_app, name="init")

PriceOption = Annotated[
    str, typer.Option(help='Per task: "1.2" or "1.2 RLC" (RLC), or "1200000000 nRLC".')
]
VolumeOption = Annotated[int, typer.Option(help="How many tasks the order covers.")]
SaltOption = Annotated[str | None, typer.Option(help="0x and 64 hex digits (default: random).")]
RestrictOption = Annotated[str, typer.Option(help="Only this address (default: anyone).")]
CategoryOption = Annotated[int, typer.Option(help="The category (0 XS ... 4 XL).")]
TrustOption = Annotated[int, typer.Option(help="The trust level (0 or 1: one worker).")]
OutOption = Annotated[Path | None, typer.Option("--out", help="The file to write.")]
ForceOption = Annotated[bool, typer.Option(help="Overwrite an existing file.")]
FileArgument = Annotated[Path, typer.Argument(help="An order file.")]


def _address(text: str, option: str) -> str:
    return checksum_address(text, source=option)


def _whole(value: int, option: str, *, minimum: int = 0) -> int:
    if value < minimum:
        raise InvalidInput(f"{option} must be at least {minimum}, got {value}")
    return value


def _write(
    ctx: typer.Context, order: Order, out: Path | None, force: bool, json_flag: bool
) -> None:
    state = cli_state(ctx)
    kind = order_kind(order)
    path = save_order(out or Path(f"{kind}-order.json"), order, overwrite=force)
    if state.as_json(json_flag):
        emit_json({"kind": kind, "path": str(path)})
        return
    show(f"wrote unsigned {kind} order {path}")


@dataclass(frozen=True)
class _Offer:
    """An asset owner's order kind: its `order init <kind>` command and the order it
    writes. The order restricts the two other asset kinds and the requester."""

    kind: AssetKind
    order_type: type[AppOrder | DatasetOrder | WorkerpoolOrder]
    asset: Param  # the required option naming the asset: --<kind>
    doc: str
    category_and_trust: bool = False  # a workerpool's offer names both

    def params(self) -> list[Param]:
        middle = [Param("category", CategoryOption, 0), Param("trust", TrustOption, 0)]
        restricts = [
            Param(f"{kind}_restrict", RestrictOption, ZERO_ADDRESS) for kind in self.restricts()
        ]
        return [
            self.asset,
            Param("price", PriceOption, "0"),
            Param("volume", VolumeOption, 1),
            Param("tag", TagOption, "none"),
            *(middle if self.category_and_trust else []),
            *restricts,
            Param("salt", SaltOption, None),
            Param("out", OutOption, None),
            Param("force", ForceOption, False),
            Param("json_output", JsonFlag, False),
        ]

    def restricts(self) -> list[str]:
        return [*(kind for kind in ASSET_KINDS if kind != self.kind), "requester"]

    def order(self, values: dict[str, Any]) -> Order:
        """The order that the command's values describe; they are checked in the options'
        order, so the first bad one is the one reported."""
        fields: dict[str, Any] = {
            self.kind: _address(values[self.asset.name], f"--{self.kind}"),
            f"{self.kind}price": parse_amount(values["price"]),
            "volume": _whole(values["volume"], "--volume", minimum=1),
            "tag": parse_tag(values["tag"]),
        }
        if self.category_and_trust:
            fields["category"] = _whole(values["category"], "--category")
            fields["trust"] = _whole(values["trust"], "--trust")
        for kind in self.restricts():
            fields[f"{kind}restrict"] = _address(values[f"{kind}_restrict"], f"--{kind}-restrict")
        fields["salt"] = parse_salt(values["salt"])
        return self.order_type(**fields)


_OFFERS = (
    _Offer(
        "app",
        AppOrder,
        Param("app_address", Annotated[str, typer.Option("--app", help="The app's address.")]),
        "An app owner's offer: run the app for a price per task.",
    ),
    _Offer(
        "dataset",
        DatasetOrder,
        Param("dataset", Annotated[str, typer.Option(help="The dataset's address.")]),
        "A dataset owner's offer: let the dataset be used for a price per task.",
    ),
    _Offer(
        "workerpool",
        WorkerpoolOrder,
        Param("workerpool", Annotated[str, typer.Option(help="The workerpool's address.")]),
        "A workerpool owner's offer: compute in a category, up to a trust level.",
        category_and_trust=True,
    ),
)


def _offer_command(offer: _Offer) -> Callable[..., None]:
    def body(ctx: typer.Context, values: dict[str, Any]) -> None:
        order = offer.order(values)
        _write(ctx, order, values["out"], values["force"], values["json_output"])

    return table_command(f"init_{offer.kind}_order", offer.doc, offer.params(), body)


for _offer in _OFFERS:
    init_app.command(_offer.kind)(_offer_command(_offer))


# Written out: a request is not an offer. It names the three assets with a max price each,
# its requester defaults to the wallet and its beneficiary to the requester, and it carries
# a callback and params; a table row would need a special case for each.
@init_app.command("request")
def init_request_order(
    ctx: typer.Context,
    app_address: Annotated[str, typer.Option("--app", help="The app to run.")],
    app_max_price: PriceOption = "0",
    dataset: Annotated[str, typer.Option(help="The dataset (default: none).")] = ZERO_ADDRESS,
    dataset_max_price: PriceOption = "0",
    workerpool: Annotated[str, typer.Option(help="The workerpool (default: any).")] = ZERO_ADDRESS,
    workerpool_max_price: PriceOption = "0",
    requester: Annotated[
        str | None, typer.Option(help="Who pays and signs (default: the wallet).")
    ] = None,
    volume: VolumeOption = 1,
    tag: TagOption = "none",
    category: CategoryOption = 0,
    trust: TrustOption = 0,
    beneficiary: Annotated[
        str | None, typer.Option(help="Who gets the results (default: the requester).")
    ] = None,
    callback: CallbackOption = ZERO_ADDRESS,
    params: Annotated[str, typer.Option(help="The request's params (a JSON string).")] = "",
    salt: SaltOption = None,
    out: OutOption = None,
    force: ForceOption = False,
    json_output: JsonFlag = False,
) -> None:
    """A requester's demand: run an app at most at these prices."""
    state = cli_state(ctx)
    payer = (
        _address(requester, "--requester")
        if requester is not None
        else state.find_wallet(state.profile()).address
    )
    order = RequestOrder(
        app=_address(app_address, "--app"),
        appmaxprice=parse_amount(app_max_price),
        dataset=_address(dataset, "--dataset"),
        datasetmaxprice=parse_amount(dataset_max_price),
        workerpool=_address(workerpool, "--workerpool"),
        workerpoolmaxprice=parse_amount(workerpool_max_price),
        requester=payer,
        volume=_whole(volume, "--volume", minimum=1),
        tag=parse_tag(tag),
        category=_whole(category, "--category"),
        trust=_whole(trust, "--trust"),
        beneficiary=_address(beneficiary, "--beneficiary") if beneficiary else payer,
        callback=_address(callback, "--callback"),
        params=params,
        salt=parse_salt(salt),
    )
    _write(ctx, order, out, force, json_output)


def _signed_path(file: Path) -> Path:
    return file.with_name(f"{file.stem}.signed{file.suffix or '.json'}")


@app.command()
def sign(
    ctx: typer.Context,
    file: FileArgument,
    out: OutOption = None,
    in_place: Annotated[bool, typer.Option(help="Replace FILE with the signed order.")] = False,
    force: ForceOption = False,
    json_output: JsonFlag = False,
) -> None:
    """Sign an order file with the wallet, which must own the order's asset (or be the
    request's requester). Writes FILE.signed.json, or FILE itself with --in-place."""
    state = cli_state(ctx)
    if in_place and out is not None:
        raise InvalidInput("give either --out or --in-place, not both")
    order = load_order(file)
    target = file if in_place else (out or _signed_path(file))
    if target.exists() and not (in_place or force):
        raise InvalidInput(f"{target} already exists: choose another --out or pass --force")
    client = unlocked_client(state)
    orders = client.orders
    signed = orders.sign(order)
    save_order(target, signed, overwrite=True)
    kind = order_kind(order)
    order_hash = to_hex(orders.order_hash(signed))
    signer = client.signer.address if client.signer else ""
    if state.as_json(json_output):
        emit_json({"kind": kind, "order_hash": order_hash, "signer": signer, "path": str(target)})
        return
    show(f"signed {kind} order {order_hash} as {signer}")
    show(f"wrote {target}")


def _signature_text(status: OrderStatus) -> str:
    if status.signature == "valid":
        return f"valid: signed by the owner {status.owner}"
    if status.signature == "presigned":
        return f"valid: presigned on chain by the owner {status.owner}"
    if status.signature == "unsigned":
        return "not signed: run `veritask order sign`"
    # An ECDSA signature of changed fields recovers to some unrelated address, so a changed
    # file and a signature by someone else (a former owner) look the same.
    return "signature does not match the order (changed, or not signed by the owner)"


def _price_field(order: Order) -> tuple[str, int]:
    for name in ("appprice", "datasetprice", "workerpoolprice", "appmaxprice"):
        if hasattr(order, name):
            return name, int(getattr(order, name))
    raise TypeError(order)


@app.command(name="show")
def show_order(ctx: typer.Context, file: FileArgument, json_output: JsonFlag = False) -> None:
    """Check an order file against the chain: its hash, signature, remaining volume."""
    state = cli_state(ctx)
    order = load_order(file)
    status = state.client(state.profile()).orders.status(order)
    if state.as_json(json_output):
        emit_json(asdict(status))
        return
    price_name, price = _price_field(order)
    matchable = "yes" if status.matchable else f"no: {status.reason}"
    rows: list[tuple[str, str]] = [
        ("kind", status.kind),
        ("order hash", status.order_hash),
        ("owner", status.owner or "not registered"),
        ("signature", _signature_text(status)),
        (price_name, f"{format_rlc(price)} RLC"),
        ("volume", str(status.volume)),
        ("consumed", str(status.consumed)),
        ("remaining", str(status.remaining)),
        ("matchable", matchable),
    ]
    print_table(rows, ("order", "value"))


@app.command()
def cancel(ctx: typer.Context, file: FileArgument, json_output: JsonFlag = False) -> None:
    """Cancel an order on chain for good (only its owner may)."""
    state: CliState = cli_state(ctx)
    order = load_order(file)
    client = unlocked_client(state)
    tx = client.orders.cancel(order)
    kind = order_kind(order)
    order_hash = to_hex(client.orders.order_hash(order))
    if state.as_json(json_output):
        result: dict[str, Any] = {
            "kind": kind,
            "order_hash": order_hash,
            "tx_hash": tx.tx_hash,
            "block_number": tx.block_number,
            "gas_used": tx.gas_used,
        }
        emit_json(result)
        return
    show(f"cancelled {kind} order {order_hash}: tx {tx.tx_hash}")
    show(f"block {tx.block_number}, gas {tx.gas_used:,}")


@app.command()
def publish(
    ctx: typer.Context,
    file: FileArgument,
    market_url_option: MarketUrlOption = None,
    json_output: JsonFlag = False,
) -> None:
    """Publish a signed order file to a market's order book (free; nothing on chain)."""
    state = cli_state(ctx)
    order = load_order(file)
    with market_client(state, market_url_option) as market:
        item = market.publish(order)
        url = market.url
    if state.as_json(json_output):
        emit_json({**item.as_json(), "market_url": url})
        return
    show(f"published {item.kind} order {item.order_hash} on {url}")
    show(f"{item.remaining} of {item.volume} task(s) left, signed by {item.signer}")


@app.command()
def unpublish(
    ctx: typer.Context,
    order: Annotated[str, typer.Argument(help="An order file, or an order hash (0x...).")],
    market_url_option: MarketUrlOption = None,
    json_output: JsonFlag = False,
) -> None:
    """Take an order out of a market's book, signed by the wallet (its owner). The signed
    order stays valid on chain: `order cancel` closes it for good."""
    state = cli_state(ctx)
    profile = state.profile()
    if order.startswith("0x") and len(order) == 66:
        order_hash = order.lower()
    else:
        order_hash = "0x" + state.client(profile).orders.order_hash(load_order(Path(order))).hex()
    account = state.unlock(state.find_wallet(profile))
    with market_client(state, market_url_option) as market:
        item = market.unpublish(order_hash, account.key)
        url = market.url
    if state.as_json(json_output):
        emit_json({**item.as_json(), "market_url": url})
        return
    show(f"unpublished {item.kind} order {item.order_hash} from {url}")
