"""The user's path through a `Stack` for the e2e journeys: the asset owners publish their
orders on the stack's market, and the requester runs the app with the SDK
(`Veritask.runs.run`), which picks the market's orders, checks them on chain and matches
them, as `veritask run` does. No journey matches a deal behind the SDK's back."""

from __future__ import annotations

import itertools
import time

from eth_utils.crypto import keccak

from tests.orders import SigningKeys, make_deal
from veritask.devnet.stack import Stack
from veritask.domain.orders import ZERO_ADDRESS
from veritask.errors import MarketRejected
from veritask.sdk import MarketClient, Profile, RunRequest, RunResult, Veritask

__all__ = ["publish_orders", "requester_profile", "run_through_market"]

_salts = itertools.count(1)


def requester_profile(stack: Stack) -> Profile:
    """A profile naming the stack's node, hub, market, storage and scheduler."""
    return stack.profile("e2e")


def publish_orders(
    stack: Stack,
    app: str,
    *,
    volume: int = 1,
    dataset: str = ZERO_ADDRESS,
    app_price_nrlc: int = 0,
    dataset_price_nrlc: int = 0,
) -> None:
    """The app developer's order for `app` (and the dataset owner's for `dataset`), of a
    new salt, and the stack's workerpool order (once) on the market."""
    assert stack.workerpool_order is not None
    salt = keccak(text=f"e2e journey {next(_salts)} {time.time()}")
    offers = make_deal(
        app=app,
        dataset=dataset,
        workerpool=stack.workerpool,
        requester=stack.accounts["requester"].address,
        app_price_nrlc=app_price_nrlc,
        dataset_price_nrlc=dataset_price_nrlc,
        volume=volume,
        salt=salt,
    ).signed(
        stack.protocol.domain,
        SigningKeys(
            app=stack.accounts["app developer"].key,
            dataset=stack.accounts["dataset owner"].key,
        ),
    )
    with MarketClient(stack.market_url) as market:
        market.publish(offers.app_order)
        if offers.has_dataset:
            market.publish(offers.dataset_order)
        try:
            market.publish(stack.workerpool_order)
        except MarketRejected as exc:
            if exc.code != "duplicate_order":
                raise


def run_through_market(
    stack: Stack,
    app: str,
    *,
    args: str = "",
    volume: int = 1,
    trust: int = 1,
    category: int = 0,
    dataset: str = ZERO_ADDRESS,
    callback: str = ZERO_ADDRESS,
    app_price_nrlc: int = 0,
    dataset_price_nrlc: int = 0,
    input_files: tuple[str, ...] = (),
) -> bytes:
    """Publishes the offers (`publish_orders`) and runs `app` as the stack's requester
    through the SDK and the market: the deal id. The offers published here have `volume`
    tasks, so the deal has them all (checked: older offers on the book are used up)."""
    publish_orders(
        stack,
        app,
        volume=volume,
        dataset=dataset,
        app_price_nrlc=app_price_nrlc,
        dataset_price_nrlc=dataset_price_nrlc,
    )
    client = Veritask(requester_profile(stack), stack.accounts["requester"])
    result: RunResult = client.runs.run(
        RunRequest(
            app=app,
            dataset=dataset,
            args=args,
            volume=volume,
            trust=trust,
            category=category,
            callback=callback,
            input_files=input_files,
        )
    )
    assert result.volume == volume, f"the market's orders gave {result.volume} of {volume} tasks"
    assert result.plan.from_market, "the SDK signed every offer itself: none came from the market"
    return result.deal_id
