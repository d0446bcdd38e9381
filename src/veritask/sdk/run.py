"""Running an app (`Veritask.runs`): gathers the four orders of a deal, checks that they
match (PROTOCOL.md A4) and that both sides can pay, then matches them on chain.

The app, dataset and workerpool orders come from signed order files when given, else the
cheapest compatible open orders of the market (`veritask.sdk.market`, when the profile
has a `market_url` or a client is passed), else are signed here for the assets the wallet
owns (an app or dataset at price 0, a workerpool order with the requested category, trust
and tag). The request order is always built and signed here. `prepare` sends nothing and
refuses, with the remedy, every run the hub would revert; `submit` sends the one
`matchOrders` transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, cast

from veritask.domain.amounts import format_rlc
from veritask.domain.ids import same_address, task_ids
from veritask.domain.orders import (
    ZERO_ADDRESS,
    ZERO_BYTES32,
    AppOrder,
    DatasetOrder,
    Order,
    RequestOrder,
    WorkerpoolOrder,
)
from veritask.domain.signing import sign_order
from veritask.domain.tags import TAG_TEE, tag_bytes, tag_int, tag_mismatch
from veritask.domain.tasks import SCHEDULER_STAKE_RATIO
from veritask.errors import InvalidInput

from .addresses import checksum_address
from .assets import AssetKind, Assets
from .market import MarketClient, cheapest_order, closest_workerpool_order, tag_name
from .orders import OrderKind, Orders, OrderStatus, random_salt
from .receipts import TxSummary
from .session import ChainSession

__all__ = [
    "SCHEDULER_STAKE_RATIO",
    "RunPlan",
    "RunRequest",
    "RunResult",
    "Runs",
    "request_params",
]

_MARKET_HINT = "or set market_url in veritask.toml (or --market-url) to pick orders from a market"


def request_params(args: str = "", input_files: Sequence[str] = ()) -> str:
    """The request order's params: the iExec JSON of the app's arguments and input files."""
    return json.dumps(
        {"iexec_args": args, "iexec_input_files": list(input_files)}, separators=(",", ":")
    )


@dataclass(frozen=True)
class RunRequest:
    """What the requester asks for. Orders left None are signed by the wallet when it owns
    the asset; `max_price_nrlc`, when given, caps the price of one task (all three parts)."""

    app: str
    dataset: str = ZERO_ADDRESS
    workerpool: str = ZERO_ADDRESS  # only this workerpool; zero: any
    args: str = ""
    input_files: tuple[str, ...] = ()
    trust: int = 0
    tag: bytes = ZERO_BYTES32
    category: int = 0
    callback: str = ZERO_ADDRESS
    beneficiary: str | None = None  # default: the requester
    volume: int = 1
    max_price_nrlc: int | None = None
    app_order: AppOrder | None = None
    dataset_order: DatasetOrder | None = None
    workerpool_order: WorkerpoolOrder | None = None
    salt: bytes | None = None  # the request order's; random by default


@dataclass(frozen=True)
class RunPlan:
    """Four orders checked to match, and what the deal will cost. Nothing is sent yet."""

    app_order: AppOrder
    dataset_order: DatasetOrder  # all zero when the run uses no dataset
    workerpool_order: WorkerpoolOrder
    request_order: RequestOrder
    volume: int  # the deal's: the smallest remaining volume
    requester_free_nrlc: int
    signed_here: tuple[str, ...] = field(default=())  # kinds of orders the wallet signed
    from_market: tuple[str, ...] = field(default=())  # kinds of orders taken from the market

    @property
    def has_dataset(self) -> bool:
        return int(self.request_order.dataset, 16) != 0

    @property
    def app_price(self) -> int:
        return self.app_order.appprice

    @property
    def dataset_price(self) -> int:
        return self.dataset_order.datasetprice if self.has_dataset else 0

    @property
    def workerpool_price(self) -> int:
        return self.workerpool_order.workerpoolprice

    @property
    def task_price(self) -> int:
        return self.app_price + self.dataset_price + self.workerpool_price

    @property
    def total_nrlc(self) -> int:
        return self.task_price * self.volume

    @property
    def scheduler_stake_nrlc(self) -> int:
        return self.workerpool_price * SCHEDULER_STAKE_RATIO // 100 * self.volume


@dataclass(frozen=True)
class RunResult:
    plan: RunPlan
    deal_id: bytes
    volume: int
    task_ids: tuple[bytes, ...]
    tx: TxSummary


def _is_zero(address: str) -> bool:
    return int(address, 16) == 0


class Runs:
    """Runs requested, signed and paid by the session's signer; market orders from `market`
    (by default the profile's market, if it names one)."""

    def __init__(self, session: ChainSession, market: MarketClient | None = None) -> None:
        self.session = session
        self.orders = Orders(session)
        self.assets = Assets(session)
        if market is None and session.profile.market_url:
            market = MarketClient(session.profile.market_url, timeout_s=session.timeout_s)
        self.market = market
        self._picked: list[str] = []

    def _hint(self) -> str:
        if self.market is None:
            return _MARKET_HINT
        return f"the market at {self.market.url} has no usable one"

    def _usable(self, order: Order) -> bool:
        """Whether an order from the market can still be matched (the market may lag)."""
        return self.orders.status(order).matchable

    def _from_market(self, kind: OrderKind, **filters: Any) -> Order | None:
        if self.market is None:
            return None
        order = cheapest_order(self.market, kind, self._usable, **filters)
        if order is not None:
            self._picked.append(kind)
        return order

    def _sign(self, order: Order) -> Order:
        signer = self.session.require_signer("run")
        return sign_order(order, self.session.hub.domain, signer.key)

    def _owned(self, kind: AssetKind, address: str) -> bool:
        owner = self.assets.owner(kind, address)
        if owner is None:
            raise InvalidInput(f"no {kind} is registered at {address}")
        return owner == self.session.require_signer("run").address

    def _app_order(self, request: RunRequest, signed: list[str]) -> AppOrder:
        if request.app_order is not None:
            if request.app_order.app != request.app:
                raise InvalidInput(
                    f"the app order is for app {request.app_order.app}, not {request.app}"
                )
            return request.app_order
        wallet = self.session.require_signer("run").address
        found = self._from_market(
            "app",
            asset=request.app,
            requester=wallet,
            dataset=None if _is_zero(request.dataset) else request.dataset,
            workerpool=None if _is_zero(request.workerpool) else request.workerpool,
            min_tag=tag_int(request.tag) & TAG_TEE or None,
        )
        if found is not None:
            return cast(AppOrder, found)
        if not self._owned("app", request.app):
            raise InvalidInput(
                f"no app order: pass --app-order FILE (signed by the owner of app "
                f"{request.app}), or run an app you own; {self._hint()}"
            )
        signed.append("app")
        order = AppOrder(
            app=request.app,
            appprice=0,
            volume=request.volume,
            tag=tag_bytes(tag_int(request.tag) & TAG_TEE),
            salt=random_salt(),
        )
        return cast(AppOrder, self._sign(order))

    def _dataset_order(self, request: RunRequest, dataset: str, signed: list[str]) -> DatasetOrder:
        if _is_zero(dataset):
            return DatasetOrder()
        if request.dataset_order is not None:
            return request.dataset_order
        found = self._from_market(
            "dataset",
            asset=dataset,
            app=request.app,
            requester=self.session.require_signer("run").address,
            workerpool=None if _is_zero(request.workerpool) else request.workerpool,
        )
        if found is not None:
            return cast(DatasetOrder, found)
        if not self._owned("dataset", dataset):
            raise InvalidInput(
                f"no dataset order: pass --dataset-order FILE (signed by the owner of dataset "
                f"{dataset}), or use a dataset you own; {self._hint()}"
            )
        signed.append("dataset")
        order = DatasetOrder(
            dataset=dataset, datasetprice=0, volume=request.volume, salt=random_salt()
        )
        return cast(DatasetOrder, self._sign(order))

    def _workerpool_order(
        self, request: RunRequest, needed_tag: int, signed: list[str]
    ) -> WorkerpoolOrder:
        if request.workerpool_order is not None:
            return request.workerpool_order
        wallet = self.session.require_signer("run").address
        filters: dict[str, Any] = {
            "app": request.app,
            "dataset": None if _is_zero(request.dataset) else request.dataset,
            "requester": wallet,
            "asset": None if _is_zero(request.workerpool) else request.workerpool,
        }
        found = self._from_market(
            "workerpool",
            category=request.category,
            min_trust=request.trust,
            min_tag=needed_tag or None,
            **filters,
        )
        if found is not None:
            return cast(WorkerpoolOrder, found)
        if not _is_zero(request.workerpool):
            workerpool: str | None = (
                request.workerpool if self._owned("workerpool", request.workerpool) else None
            )
        else:
            owned = self.assets.owned("workerpool", wallet)
            workerpool = owned[0] if owned else None
        if workerpool is None and self.market is not None:
            closest = closest_workerpool_order(self.market, request.category, **filters)
            raise InvalidInput(
                f"no workerpool order matches category {request.category}, tag "
                f"{tag_name(needed_tag)}, trust {request.trust} on the market at "
                f"{self.market.url}; closest: {closest}. Change --category, --tag or "
                "--trust, or pass --workerpool-order FILE"
            )
        if workerpool is None:
            raise InvalidInput(
                "no workerpool order: pass --workerpool-order FILE (signed by the workerpool "
                f"owner), or run a workerpool you own; {_MARKET_HINT}"
            )
        signed.append("workerpool")
        order = WorkerpoolOrder(
            workerpool=workerpool,
            workerpoolprice=0,
            volume=request.volume,
            tag=tag_bytes(needed_tag),
            category=request.category,
            trust=request.trust,
            salt=random_salt(),
        )
        return cast(WorkerpoolOrder, self._sign(order))

    def _check_terms(
        self,
        app: AppOrder,
        dataset: DatasetOrder,
        workerpool: WorkerpoolOrder,
        request: RequestOrder,
        has_dataset: bool,
    ) -> None:
        categories = self.session.hub.category_count()
        if request.category >= categories:
            raise InvalidInput(
                f"unknown category {request.category}: there are {categories} categories "
                f"(0 to {categories - 1}); see `veritask category list`"
            )
        if request.category != workerpool.category:
            raise InvalidInput(
                f"category mismatch: the workerpool order is for category {workerpool.category} "
                f"and the run asks for category {request.category}: pass --category "
                f"{workerpool.category} or another --workerpool-order"
            )
        if request.trust > workerpool.trust:
            raise InvalidInput(
                f"trust mismatch: the workerpool order offers trust up to {workerpool.trust} "
                f"and the run asks for {request.trust}: pass --trust {workerpool.trust} or "
                "another --workerpool-order"
            )
        reason = tag_mismatch(
            app.tag, dataset.tag if has_dataset else 0, request.tag, workerpool.tag
        )
        if reason is not None:
            union = (
                tag_int(app.tag)
                | tag_int(request.tag)
                | (tag_int(dataset.tag) if has_dataset else 0)
            )
            raise InvalidInput(
                f"tag mismatch ({reason}): the run needs tag 0x{union:064x}, the workerpool "
                f"order offers 0x{tag_int(workerpool.tag):064x} and the app order declares "
                f"0x{tag_int(app.tag):064x}: change --tag or pass other orders"
            )
        wallet = request.requester
        checks: list[tuple[str, str, str]] = [
            (request.workerpool, workerpool.workerpool, "the run allows only workerpool"),
            (app.datasetrestrict, dataset.dataset, "the app order allows only dataset"),
            (app.workerpoolrestrict, workerpool.workerpool, "the app order allows only workerpool"),
            (app.requesterrestrict, wallet, "the app order allows only requester"),
            (workerpool.apprestrict, app.app, "the workerpool order allows only app"),
            (
                workerpool.datasetrestrict,
                dataset.dataset,
                "the workerpool order allows only dataset",
            ),
            (workerpool.requesterrestrict, wallet, "the workerpool order allows only requester"),
        ]
        if has_dataset:
            checks += [
                (dataset.apprestrict, app.app, "the dataset order allows only app"),
                (
                    dataset.workerpoolrestrict,
                    workerpool.workerpool,
                    "the dataset order allows only workerpool",
                ),
                (dataset.requesterrestrict, wallet, "the dataset order allows only requester"),
            ]
        for restrict, actual, text in checks:
            if not _is_zero(restrict) and not same_address(restrict, actual):
                raise InvalidInput(f"restricted: {text} {restrict}, not {actual}")

    def _check_order(self, order: Order) -> OrderStatus:
        status = self.orders.status(order)
        if not status.matchable:
            raise InvalidInput(
                f"the {status.kind} order {status.order_hash} cannot be matched: {status.reason}"
            )
        return status

    def prepare(self, request: RunRequest) -> RunPlan:
        """Gathers and checks the orders of `request`; sends nothing, refuses with the remedy."""
        self._picked = []
        wallet = self.session.require_signer("run").address
        app_address = checksum_address(request.app, source="APP")
        if request.volume < 1:
            raise InvalidInput(f"--volume must be at least 1, got {request.volume}")
        dataset_address = request.dataset
        if request.dataset_order is not None:
            if _is_zero(dataset_address):
                dataset_address = request.dataset_order.dataset
            elif not same_address(dataset_address, request.dataset_order.dataset):
                raise InvalidInput(
                    f"the dataset order is for dataset {request.dataset_order.dataset}, "
                    f"not {dataset_address}"
                )
        request = replace(request, app=app_address)
        has_dataset = not _is_zero(dataset_address)
        signed: list[str] = []
        app = self._app_order(request, signed)
        dataset = self._dataset_order(request, dataset_address, signed)
        needed = (
            tag_int(request.tag) | tag_int(app.tag) | (tag_int(dataset.tag) if has_dataset else 0)
        )
        workerpool = self._workerpool_order(request, needed, signed)
        statuses = [self._check_order(app), self._check_order(workerpool)]
        if has_dataset:
            statuses.append(self._check_order(dataset))
        dataset_price = dataset.datasetprice if has_dataset else 0
        task_price = app.appprice + dataset_price + workerpool.workerpoolprice
        if request.max_price_nrlc is not None and task_price > request.max_price_nrlc:
            raise InvalidInput(
                f"price too high: a task costs {format_rlc(task_price)} RLC (app "
                f"{format_rlc(app.appprice)}, dataset {format_rlc(dataset_price)}, workerpool "
                f"{format_rlc(workerpool.workerpoolprice)}), above --max-price "
                f"{format_rlc(request.max_price_nrlc)} RLC"
            )
        order = RequestOrder(
            app=app_address,
            appmaxprice=app.appprice,
            dataset=dataset_address,
            datasetmaxprice=dataset_price,
            workerpool=request.workerpool,
            workerpoolmaxprice=workerpool.workerpoolprice,
            requester=wallet,
            volume=request.volume,
            tag=request.tag,
            category=request.category,
            trust=request.trust,
            beneficiary=request.beneficiary or wallet,
            callback=request.callback,
            params=request_params(request.args, request.input_files),
            salt=request.salt or random_salt(),
        )
        self._check_terms(app, dataset, workerpool, order, has_dataset)
        signed_request = cast(RequestOrder, self._sign(order))
        # A request of a reused --salt may already be partly used.
        statuses.append(self._check_order(signed_request))
        volume = min(status.remaining for status in statuses)
        free, _ = self.session.hub.account(wallet)
        plan = RunPlan(
            app_order=app,
            dataset_order=dataset,
            workerpool_order=workerpool,
            request_order=signed_request,
            volume=volume,
            requester_free_nrlc=free,
            signed_here=tuple(signed),
            from_market=tuple(self._picked),
        )
        self._check_balances(plan, workerpool)
        return plan

    def _check_balances(self, plan: RunPlan, workerpool: WorkerpoolOrder) -> None:
        wallet = plan.request_order.requester
        pool_owner = self.orders.owner(workerpool) or ""
        stake = plan.scheduler_stake_nrlc
        needed = plan.total_nrlc + (stake if pool_owner == wallet else 0)
        if plan.requester_free_nrlc < needed:
            missing = format_rlc(needed - plan.requester_free_nrlc)
            what = (
                " (with the scheduler stake of your workerpool)"
                if pool_owner == wallet and stake
                else ""
            )
            raise InvalidInput(
                f"insufficient balance: deposit {missing} RLC more with "
                f"`veritask account deposit {missing}` (the run costs "
                f"{format_rlc(needed)} RLC{what}, your free balance is "
                f"{format_rlc(plan.requester_free_nrlc)} RLC)"
            )
        if pool_owner != wallet:
            pool_free, _ = self.session.hub.account(pool_owner)
            if pool_free < stake:
                raise InvalidInput(
                    f"the workerpool owner {pool_owner} cannot stake {format_rlc(stake)} RLC "
                    f"for this deal (30 % of the workerpool price per task; it has "
                    f"{format_rlc(pool_free)} RLC free): ask them to deposit, or pass another "
                    "--workerpool-order"
                )

    def submit(self, plan: RunPlan) -> RunResult:
        """Matches the plan's orders (one transaction) and returns the deal and its tasks."""
        sender = self.session.require_signer("run")
        hub = self.session.hub
        match = hub.match_orders(
            sender, plan.app_order, plan.dataset_order, plan.workerpool_order, plan.request_order
        )
        deal = hub.deal(match.deal_id)
        return RunResult(
            plan=plan,
            deal_id=match.deal_id,
            volume=match.volume,
            task_ids=tuple(task_ids(match.deal_id, deal.bot_first, deal.bot_size)),
            tx=TxSummary.of(match.receipt),
        )

    def run(self, request: RunRequest) -> RunResult:
        """`prepare` then `submit`, without asking anyone."""
        return self.submit(self.prepare(request))
