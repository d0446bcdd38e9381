"""Stateful property test of the hub's money and order book (PROTOCOL.md A1, A3, A4).

A hypothesis state machine deposits, withdraws, matches and cancels at random against the
hub in titanoboa, keeps a Python model of every account (wallet tokens, free balance,
frozen amount) and of the volume each order has used, predicts for every transaction
whether it must succeed (and with which revert reasons it may fail), and checks after
every step that the chain equals the model and that the hub's tokens are exactly the sum
of what its accounts hold.

Each example starts from the same chain state (assets registered, wallets and two deposits
funded, built once per test) inside a titanoboa anchor that its teardown reverts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import count
from typing import Any

import boa
import pytest
from boa.contracts.base_evm_contract import BoaError
from eth_abi.abi import decode as abi_decode
from eth_utils import keccak
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from tests.support import RLC, ZERO, Actor, Protocol
from veritask.domain.ids import deal_id
from veritask.domain.orders import (
    AppOrder,
    DatasetOrder,
    Order,
    RequestOrder,
    WorkerpoolOrder,
)

NAMES = ("deployer", "app_owner", "dataset_owner", "scheduler", "requester", "stranger")
WALLET = 500 * RLC  # tokens each actor but the deployer holds at the start
DEPOSITS = {"requester": 40 * RLC, "scheduler": 3 * RLC}  # in the hub at the start
PRICE_LIMIT = 2**96  # the hub refuses prices at or above it
STAKE_RATIO = 30  # % of the workerpool price the scheduler locks per task
UNREGISTERED = "0x00000000000000000000000000000000DeaDBeef"
ERROR_SELECTOR = keccak(text="Error(string)")[:4]

# Ask prices: zero, odd amounts (the 30 % stake rounds down) and whole RLC.
ASKS = st.sampled_from((0, 1, 7, 333_333_333, RLC, 2 * RLC + 1, 3 * RLC, 5 * RLC))
VOLUMES = st.integers(1, 5)
REQUEST_VOLUMES = st.sampled_from((1, 2, 3, 4, 5, 5, 5))  # often more than the asks
NAME = st.sampled_from(NAMES)
REQUESTERS = st.sampled_from(("requester",) * 4 + ("scheduler", "app_owner"))


def flaws(*names: str) -> st.SearchStrategy[str | None]:
    """At most one flaw per new order, one time in eight: most matches of new orders
    succeed, and every check of the hub is still reached now and then."""
    return st.sampled_from((None,) * (7 * len(names)) + names)


APP_FLAWS = flaws("huge price", "restricted", "forged")
DATASET_FLAWS = flaws("huge price", "restricted", "forged", "unregistered")
WORKERPOOL_FLAWS = flaws("huge price", "restricted", "forged", "category", "trust")
REQUEST_FLAWS = flaws(
    "app max", "dataset max", "workerpool max", "category", "trust", "workerpool",
    "dataset", "forged", "poor",
)  # fmt: skip


@dataclass(frozen=True)
class World:
    """What every example starts from (built once per test, inside its anchor)."""

    protocol: Protocol
    actors: dict[str, Actor]
    app: str
    dataset: str
    workerpool: str
    category_count: int
    wallets: dict[str, int]
    free: dict[str, int]


_WORLD: list[World] = []


def _build_world(protocol: Protocol, actors: dict[str, Actor]) -> World:
    a = actors
    app = protocol.apps.create_app(
        a["app_owner"].address, "hello", "DOCKER", b"docker.io/x/hello:1", keccak(text="i"), b""
    )
    dataset = protocol.datasets.create_dataset(
        a["dataset_owner"].address, "numbers", b"/ipfs/bafkreidata", keccak(text="numbers")
    )
    workerpool = protocol.workerpools.create_workerpool(a["scheduler"].address, "pool")
    deployer = a["deployer"].address
    with boa.env.prank(deployer):
        for name in NAMES[1:]:
            protocol.token.transfer(a[name].address, WALLET)
    for name, amount in DEPOSITS.items():
        protocol.fund(a[name], amount)  # tokens from the deployer, deposited at once
    wallets = {a[name].address: protocol.token.balanceOf(a[name].address) for name in NAMES}
    assert all(wallets[a[name].address] == WALLET for name in NAMES[1:])
    free = {a[name].address: DEPOSITS.get(name, 0) for name in NAMES}
    assert protocol.token.balanceOf(protocol.hub.address) == sum(free.values())
    return World(
        protocol=protocol,
        actors=actors,
        app=str(app),
        dataset=str(dataset),
        workerpool=str(workerpool),
        category_count=protocol.hub.category_count(),
        wallets=wallets,
        free=free,
    )


@pytest.fixture(autouse=True)
def _world(protocol: Protocol, actors: dict[str, Actor]) -> Iterator[None]:
    _WORLD.append(_build_world(protocol, actors))
    yield
    _WORLD.clear()


@dataclass(frozen=True, eq=False)
class Known:
    """An order the machine signed: its kind, signed form, digest and who may cancel it."""

    number: int
    kind: str  # "app", "dataset", "workerpool" or "request"
    order: Any
    digest: bytes
    owner: str  # the address that owns the order (zero for an unregistered dataset)
    signer: str  # the address that signed it

    def __repr__(self) -> str:
        return f"{self.kind}#{self.number}(volume={self.order.volume})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # Hypothesis prints dataclasses field by field; the short form is enough.
        printer.text(repr(self))


def _attempt(call: Callable[[], Any]) -> tuple[Any, str | None]:
    """Runs a transaction: (its result, None) or (None, its revert reason)."""
    try:
        return call(), None
    except BoaError as err:
        # The revert data of the outer call, whichever kind of boa contract made it.
        data = bytes(err.call_trace.output)
        if data[:4] == ERROR_SELECTOR:
            return None, str(abi_decode(["string"], data[4:])[0])
        return None, f"0x{data.hex()}"  # a panic or a bare revert


def _check_outcome(reasons: list[str], reason: str | None, what: str) -> None:
    # Statistics only (pytest --hypothesis-show-statistics), nothing is printed.
    event(f"{what.split()[0]}: {reason or 'ok'}")
    if reasons:
        assert reason in reasons, f"{what}: reverted with {reason!r}, expected one of {reasons}"
    else:
        assert reason is None, f"{what}: unexpected revert {reason!r}"


class HubMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.world = _WORLD[-1]
        self.p = self.world.protocol
        self.hub = self.p.hub
        self.actors = self.world.actors
        self._anchor = boa.env.anchor()
        self._anchor.__enter__()
        self.wallet = dict(self.world.wallets)
        self.free = dict(self.world.free)
        self.frozen = dict.fromkeys(self.free, 0)
        self.orders: list[Known] = []
        self.consumed: dict[bytes, int] = {}
        self.volume: dict[bytes, int] = {}
        self.deals: set[bytes] = set()
        self._numbers = count()

    def teardown(self) -> None:
        self._anchor.__exit__(None, None, None)

    def _addr(self, name: str) -> str:
        return self.actors[name].address

    # --- money ------------------------------------------------------------------------

    @rule(
        data=st.data(),
        sender=NAME,
        kind=st.sampled_from(("within",) * 6 + ("above", "zero")),
        account=st.sampled_from((None,) * 6 + (*NAMES, "zero")),
        short_allowance=st.sampled_from((False,) * 7 + (True,)),
    )
    def deposit(
        self, data: Any, sender: str, kind: str, account: str | None, short_allowance: bool
    ) -> None:
        """Deposits for oneself or (deposit_for) another account, sometimes more than the
        wallet holds or than the hub is allowed to take."""
        owner = self._addr(sender)
        wallet = self.wallet[owner]
        amount = {
            "zero": st.just(0),
            "within": st.integers(1, max(wallet, 1)),
            "above": st.integers(wallet + 1, wallet + 100 * RLC),
        }[kind]
        amount_ = data.draw(amount, label="amount")
        allowance = max(amount_ - 1, 0) if short_allowance else amount_
        target = owner if account is None else ZERO if account == "zero" else self._addr(account)

        reasons = []
        if amount_ == 0:
            reasons.append("escrow: zero amount")
        if target == ZERO:
            reasons.append("escrow: zero address account")
        if allowance < amount_:
            reasons.append("erc20: insufficient allowance")
        if amount_ > wallet:
            reasons.append("erc20: transfer amount exceeds balance")

        with boa.env.prank(owner):
            self.p.token.approve(self.hub.address, allowance)
            if account is None:
                _, reason = _attempt(lambda: self.hub.deposit(amount_))
            else:
                _, reason = _attempt(lambda: self.hub.deposit_for(target, amount_))
        _check_outcome(reasons, reason, f"deposit {amount_} by {sender} for {target}")
        if reason is None:
            self.wallet[owner] -= amount_
            self.free[target] += amount_

    @rule(
        data=st.data(),
        sender=NAME,
        kind=st.sampled_from(("within",) * 4 + ("above", "zero")),
        recipient=st.sampled_from((None,) * 6 + (*NAMES, "zero")),
    )
    def withdraw(self, data: Any, sender: str, kind: str, recipient: str | None) -> None:
        """Withdraws (to oneself or, withdraw_to, to another wallet), sometimes more than
        the free balance: the frozen part must never leave."""
        owner = self._addr(sender)
        free, frozen = self.free[owner], self.frozen[owner]
        amount = {
            "zero": st.just(0),
            "within": st.integers(1, max(free, 1)),
            "above": st.integers(free + 1, free + frozen + RLC),
        }[kind]
        amount_ = data.draw(amount, label="amount")
        to = owner if recipient is None else ZERO if recipient == "zero" else self._addr(recipient)

        reasons = []
        if amount_ == 0:
            reasons.append("escrow: zero amount")
        if to == ZERO:
            reasons.append("escrow: zero address recipient")
        if amount_ > free:
            reasons.append("escrow: insufficient balance")

        with boa.env.prank(owner):
            if recipient is None:
                _, reason = _attempt(lambda: self.hub.withdraw(amount_))
            else:
                _, reason = _attempt(lambda: self.hub.withdraw_to(to, amount_))
        _check_outcome(reasons, reason, f"withdraw {amount_} by {sender} to {to}")
        if reason is None:
            self.free[owner] -= amount_
            self.wallet[to] += amount_

    # --- orders -----------------------------------------------------------------------

    def _restrict(self, flaw: str | None, data: Any) -> str:
        if flaw != "restricted":
            return ZERO
        return self._addr(data.draw(st.sampled_from(("requester", "stranger")), label="only"))

    def _salt(self) -> bytes:
        return next(self._numbers).to_bytes(32, "big")

    def _remember(self, kind: str, order: Order, owner: str, signer: Actor) -> Known:
        """Signs `order` with `signer`'s key (forged when it is not `owner`), records it."""
        digest = self.p.digest(order)
        signed = self.p.sign(order, signer)
        known = Known(next(self._numbers), kind, signed, digest, owner, signer.address)
        self.orders.append(known)
        self.consumed.setdefault(digest, 0)
        self.volume[digest] = order.volume
        return known

    def _signer(self, flaw: str | None, owner: str) -> Actor:
        """The owner's key, or when the order is forged someone else's."""
        actors = list(self.actors.values())
        if flaw == "forged":
            return next(a for a in reversed(actors) if a.address != owner)
        return next(a for a in actors if a.address == owner)

    def _price(self, flaw: str | None, data: Any, label: str) -> int:
        return PRICE_LIMIT if flaw == "huge price" else data.draw(ASKS, label=label)

    def _new_app(self, data: Any) -> Known:
        flaw = data.draw(APP_FLAWS, label="app flaw")
        order = AppOrder(
            app=self.world.app,
            appprice=self._price(flaw, data, "appprice"),
            volume=data.draw(VOLUMES, label="volume"),
            requesterrestrict=self._restrict(flaw, data),
            salt=self._salt(),
        )
        owner = self._addr("app_owner")
        return self._remember("app", order, owner, self._signer(flaw, owner))

    def _new_dataset(self, data: Any) -> Known:
        flaw = data.draw(DATASET_FLAWS, label="dataset flaw")
        registered = flaw != "unregistered"
        order = DatasetOrder(
            dataset=self.world.dataset if registered else UNREGISTERED,
            datasetprice=self._price(flaw, data, "datasetprice"),
            volume=data.draw(VOLUMES, label="volume"),
            requesterrestrict=self._restrict(flaw, data),
            salt=self._salt(),
        )
        # Nobody owns an unregistered dataset; the dataset owner's key signs its orders.
        owner = self._addr("dataset_owner")
        signer = self._signer(flaw, owner)
        return self._remember("dataset", order, owner if registered else ZERO, signer)

    def _new_workerpool(self, data: Any) -> Known:
        flaw = data.draw(WORKERPOOL_FLAWS, label="workerpool flaw")
        category = 0
        if flaw == "category":  # another category, or one that does not exist
            category = data.draw(st.sampled_from((1, self.world.category_count)), label="cat")
        order = WorkerpoolOrder(
            workerpool=self.world.workerpool,
            workerpoolprice=self._price(flaw, data, "workerpoolprice"),
            volume=data.draw(VOLUMES, label="volume"),
            category=category,
            trust=0 if flaw == "trust" else data.draw(st.sampled_from((1, 3, 5)), label="trust"),
            requesterrestrict=self._restrict(flaw, data),
            salt=self._salt(),
        )
        owner = self._addr("scheduler")
        return self._remember("workerpool", order, owner, self._signer(flaw, owner))

    def _new_request(self, data: Any, app: Known, dataset: Known | None, pool: Known) -> Known:
        """A request written for these orders (asked or higher max prices, the pool's
        category, a trust it offers), with at most one flaw."""
        flaw = data.draw(REQUEST_FLAWS, label="request flaw")
        a, w = app.order, pool.order
        ds_price = dataset.order.datasetprice if dataset is not None else 0

        def max_price(ask: int, flawed: bool, label: str) -> int:
            if flawed:
                return max(ask - 1, 0)
            return data.draw(st.sampled_from((ask, 10 * RLC, 10 * RLC, 2**100)), label=label)

        has_dataset = (dataset is not None) != (flaw == "dataset")
        ds_address = ZERO
        if has_dataset:
            ds_address = dataset.order.dataset if dataset is not None else self.world.dataset
        requester = "stranger" if flaw == "poor" else data.draw(REQUESTERS, label="requester")
        trust = (
            w.trust + 1
            if flaw == "trust"
            else data.draw(st.sampled_from((0, 1, 1, w.trust)), label="trust")
        )
        order = RequestOrder(
            app=a.app,
            appmaxprice=max_price(a.appprice, flaw == "app max", "appmaxprice"),
            dataset=ds_address,
            datasetmaxprice=max_price(ds_price, flaw == "dataset max", "datasetmaxprice"),
            workerpool=(
                UNREGISTERED
                if flaw == "workerpool"
                else data.draw(st.sampled_from((ZERO, w.workerpool)), label="workerpool")
            ),
            workerpoolmaxprice=max_price(w.workerpoolprice, flaw == "workerpool max", "wpmax"),
            requester=self._addr(requester),
            volume=data.draw(REQUEST_VOLUMES, label="volume"),
            category=w.category + 1 if flaw == "category" else w.category,
            trust=trust,
            beneficiary=self._addr(requester),
            params='{"iexec_args": "x"}',
            salt=self._salt(),
        )
        owner = self._addr(requester)
        return self._remember("request", order, owner, self._signer(flaw, owner))

    def _pick(self, data: Any, kind: str, reuse_only: bool) -> Known | None:
        """A known order of `kind` (mostly one with volume left), or None for a new one."""
        existing = [o for o in self.orders if o.kind == kind]
        if not existing or not (reuse_only or data.draw(st.booleans(), label=f"reuse {kind}")):
            return None
        live = [o for o in existing if self.consumed[o.digest] < o.order.volume]
        if live and data.draw(st.sampled_from((True, True, True, False)), label="live"):
            existing = live
        return data.draw(st.sampled_from(existing), label=kind)

    # --- matching ---------------------------------------------------------------------

    def _predict(
        self, app: Known, dataset: Known | None, pool: Known, request: Known
    ) -> tuple[list[str], int, int, int]:
        """Every reason the match may revert for (PROTOCOL.md A4), and if none, the
        volume, the requester's payment and the scheduler's stake."""
        a, w, r = app.order, pool.order, request.order
        d = dataset.order if dataset is not None else DatasetOrder()
        has_ds = r.dataset != ZERO
        reasons = []
        if r.category != w.category:
            reasons.append("matching: category mismatch")
        if r.category >= self.world.category_count:
            reasons.append("matching: unknown category")
        if r.trust > w.trust:
            reasons.append("matching: trust above workerpool trust")
        ds_price = d.datasetprice if has_ds else 0
        if r.appmaxprice < a.appprice:
            reasons.append("matching: app price above max")
        if r.datasetmaxprice < ds_price:
            reasons.append("matching: dataset price above max")
        if r.workerpoolmaxprice < w.workerpoolprice:
            reasons.append("matching: workerpool price above max")
        if max(a.appprice, ds_price, w.workerpoolprice) >= PRICE_LIMIT:
            reasons.append("matching: price too large")
        if r.app != a.app:
            reasons.append("matching: app mismatch")
        if r.dataset != d.dataset:
            reasons.append("matching: dataset mismatch")
        if r.workerpool not in (ZERO, w.workerpool):
            reasons.append("matching: workerpool restricted by request")
        if a.requesterrestrict not in (ZERO, r.requester):
            reasons.append("matching: requester restricted by app")
        if has_ds and d.requesterrestrict not in (ZERO, r.requester):
            reasons.append("matching: requester restricted by dataset")
        if w.requesterrestrict not in (ZERO, r.requester):
            reasons.append("matching: requester restricted by workerpool")
        if has_ds and dataset is not None and dataset.owner == ZERO:
            reasons.append("matching: dataset not registered")
        for known in (app, dataset if has_ds else None, pool, request):
            if known is not None and known.signer != known.owner:
                reasons.append(f"matching: invalid {known.kind} order signature")

        lefts = []
        for known in (request, app, dataset if has_ds else None, pool):
            if known is None:
                continue
            left = max(known.order.volume - self.consumed[known.digest], 0)
            if left == 0:
                reasons.append(f"matching: {known.kind} order consumed")
            lefts.append(left)
        volume = min(lefts)
        payment = (a.appprice + ds_price + w.workerpoolprice) * volume
        stake = w.workerpoolprice * STAKE_RATIO // 100 * volume
        scheduler = self._addr("scheduler")
        if volume:
            if self.free[r.requester] < payment:
                reasons.append("matching: requester balance too low")
            else:
                after = self.free[scheduler] - (payment if r.requester == scheduler else 0)
                if after < stake:
                    reasons.append("matching: scheduler balance too low")
        return reasons, volume, payment, stake

    def _onchain(self, addresses: list[str], digests: list[bytes]) -> list[int]:
        hub = self.hub
        return [f(x) for x in addresses for f in (hub.balance_of, hub.frozen_of)] + [
            hub.consumed(d) for d in digests
        ]

    def _match(self, data: Any, reuse_only: bool) -> None:
        request = self._pick(data, "request", reuse_only)
        if request is None:
            with_dataset = data.draw(st.booleans(), label="with dataset")
        else:  # mostly what the request names, sometimes not
            flip = data.draw(st.sampled_from((False,) * 7 + (True,)), label="flip dataset")
            with_dataset = (request.order.dataset != ZERO) != flip
        app = self._pick(data, "app", reuse_only) or self._new_app(data)
        dataset = None
        if with_dataset:
            dataset = self._pick(data, "dataset", reuse_only) or self._new_dataset(data)
        pool = self._pick(data, "workerpool", reuse_only) or self._new_workerpool(data)
        request = request or self._new_request(data, app, dataset, pool)
        caller = self._addr(data.draw(NAME, label="caller"))

        reasons, volume, payment, stake = self._predict(app, dataset, pool, request)
        r = request.order
        has_ds = r.dataset != ZERO
        scheduler = self._addr("scheduler")
        involved = [o.digest for o in (app, dataset, pool, request) if o is not None]
        before = self._onchain([r.requester, scheduler], involved)
        used_before = self.consumed[request.digest]
        deal = deal_id(request.digest, used_before)
        assert deal not in self.deals, "deal id reused"
        assert not self.hub.deal_exists(deal)
        ds_order = dataset.order if dataset is not None else DatasetOrder()
        orders = (app.order, ds_order, pool.order, r)
        with boa.env.prank(caller):
            result, reason = _attempt(lambda: self.hub.matchOrders(*(o.as_tuple() for o in orders)))
        _check_outcome(reasons, reason, f"match {app} {dataset} {pool} {request}")
        if reason is not None:
            # A reverted match locks and consumes nothing, and records no deal.
            assert self._onchain([r.requester, scheduler], involved) == before
            assert not self.hub.deal_exists(deal)
            return

        if result is not None:  # the id is returned or only logged, depending on the hub
            assert bytes(result) == deal
        self.deals.add(deal)
        assert self.hub.deal_exists(deal)
        terms = self.hub.deal(deal)
        assert terms.requester == r.requester
        assert (terms.bot_first, terms.bot_size) == (used_before, volume)
        assert terms.app_price == app.order.appprice
        assert terms.dataset_price == (ds_order.datasetprice if has_ds else 0)
        assert terms.workerpool_price == pool.order.workerpoolprice
        assert terms.workerpool_owner == scheduler
        assert terms.trust == max(r.trust, 1)

        self.free[r.requester] -= payment
        self.frozen[r.requester] += payment
        self.free[scheduler] -= stake
        self.frozen[scheduler] += stake
        used = [o for o in (app, dataset if has_ds else None, pool, request) if o is not None]
        for known in used:
            self.consumed[known.digest] += volume
        if used_before:
            event("match: ok, request already partly used")
        if any(self.consumed[o.digest] < o.order.volume for o in used):
            event("match: ok, an order keeps some volume")

    @rule(data=st.data())
    def match(self, data: Any) -> None:
        """Matches four orders, each either new or one already known."""
        self._match(data, reuse_only=False)

    @precondition(lambda self: {o.kind for o in self.orders} >= {"app", "workerpool", "request"})
    @rule(data=st.data())
    def rematch(self, data: Any) -> None:
        """Matches known orders only: partial consumption and exhausted orders."""
        self._match(data, reuse_only=True)

    @precondition(lambda self: bool(self.orders))
    @rule(data=st.data(), by_owner=st.sampled_from((True, True, True, False)), sender=NAME)
    def cancel(self, data: Any, by_owner: bool, sender: str) -> None:
        """Cancels a known order, by its owner or by someone who may not."""
        known = data.draw(st.sampled_from(self.orders), label="order")
        caller = known.owner if by_owner and known.owner != ZERO else self._addr(sender)
        cancel = {
            "app": self.hub.cancel_app_order,
            "dataset": self.hub.cancel_dataset_order,
            "workerpool": self.hub.cancel_workerpool_order,
            "request": self.hub.cancel_request_order,
        }[known.kind]
        reasons = [] if caller == known.owner else ["orders: caller is not the owner"]
        with boa.env.prank(caller):
            _, reason = _attempt(lambda: cancel(known.order.as_tuple()))
        _check_outcome(reasons, reason, f"cancel {known} by {caller}")
        if reason is None:
            self.consumed[known.digest] = known.order.volume

    # --- invariants -------------------------------------------------------------------

    @invariant()
    def money_is_conserved(self) -> None:
        hub, token = self.hub, self.p.token
        held = 0
        for address in self.free:
            balance, frozen = hub.balance_of(address), hub.frozen_of(address)
            assert (balance, frozen) == (self.free[address], self.frozen[address]), address
            assert token.balanceOf(address) == self.wallet[address], address
            held += balance + frozen
        assert token.balanceOf(hub.address) == held

    @invariant()
    def consumed_volumes_match(self) -> None:
        for digest, used in self.consumed.items():
            onchain = self.hub.consumed(digest)
            assert onchain == used
            assert onchain <= self.volume[digest]


TestHubInvariants = HubMachine.TestCase
TestHubInvariants.settings = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
)
