"""The tests' one order-building driver: the four orders of a deal for given assets and
terms (`make_deal`), signed by given keys in a given EIP-712 domain (`DealOrders.signed`,
or `signed_orders` for both at once). It builds and signs only; matching is the caller's
(`Hub.match_orders` on a node, `hub.matchOrders` in titanoboa, or the SDK's `Runs`).

    orders = signed_orders(domain, keys, app=app, workerpool=pool, requester=alice, volume=4)
    deal_id = hub.match_orders(alice_account, *orders).deal_id
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, TypeVar, cast

from veritask.domain.orders import (
    ZERO_ADDRESS,
    ZERO_BYTES32,
    AppOrder,
    DatasetOrder,
    Domain,
    Order,
    RequestOrder,
    WorkerpoolOrder,
)
from veritask.domain.signing import sign_order
from veritask.domain.tags import tag_bytes, tag_int

__all__ = ["DealOrders", "SigningKeys", "make_deal", "signed_orders"]

_O = TypeVar("_O", AppOrder, DatasetOrder, WorkerpoolOrder, RequestOrder)


@dataclass(frozen=True)
class SigningKeys:
    """Who signs which order; an order whose key is None is left as it is (unsigned, or
    signed already), e.g. the request order the SDK signs itself."""

    app: bytes | None = None
    dataset: bytes | None = None
    workerpool: bytes | None = None
    requester: bytes | None = None


def _sign(order: _O, domain: Domain, key: bytes | None) -> _O:
    if key is None or order.sign:
        return order
    return cast(_O, sign_order(order, domain, key))


@dataclass(frozen=True)
class DealOrders:
    """The four orders of one deal, in `matchOrders`' argument order (iterable: pass
    `*orders`). Without a dataset, `dataset_order` is the all-zero order."""

    app_order: AppOrder
    dataset_order: DatasetOrder
    workerpool_order: WorkerpoolOrder
    request_order: RequestOrder

    def __iter__(self) -> Iterator[Order]:
        return iter((self.app_order, self.dataset_order, self.workerpool_order, self.request_order))

    @property
    def has_dataset(self) -> bool:
        return int(self.request_order.dataset, 16) != 0

    def signed(self, domain: Domain, keys: SigningKeys) -> DealOrders:
        """The orders signed in `domain` by `keys` (the dataset order only with a dataset)."""
        return DealOrders(
            _sign(self.app_order, domain, keys.app),
            _sign(self.dataset_order, domain, keys.dataset if self.has_dataset else None),
            _sign(self.workerpool_order, domain, keys.workerpool),
            _sign(self.request_order, domain, keys.requester),
        )

    def without_dataset(self) -> DealOrders:
        return replace(
            self,
            dataset_order=DatasetOrder(),
            request_order=replace(self.request_order, dataset=ZERO_ADDRESS, datasetmaxprice=0),
        )


def make_deal(
    *,
    app: str,
    workerpool: str,
    requester: str,
    dataset: str = ZERO_ADDRESS,
    app_price_nrlc: int = 0,
    dataset_price_nrlc: int = 0,
    workerpool_price_nrlc: int = 0,
    volume: int = 1,
    trust: int = 1,
    category: int = 0,
    tag: bytes = ZERO_BYTES32,
    app_tag: bytes = ZERO_BYTES32,
    params: str = "",
    callback: str = ZERO_ADDRESS,
    beneficiary: str | None = None,
    salt: bytes = ZERO_BYTES32,
) -> DealOrders:
    """Four unsigned orders that match: each offer at its price and `volume`, the request
    at those prices as maxima. `tag` is the request's and the workerpool order's, `app_tag`
    the app order's (the workerpool order gets both); `salt` is every order's (a new salt
    gives new orders for the same assets); the beneficiary is the requester unless given."""
    with_dataset = int(dataset, 16) != 0
    return DealOrders(
        app_order=AppOrder(app=app, appprice=app_price_nrlc, volume=volume, tag=app_tag, salt=salt),
        dataset_order=(
            DatasetOrder(dataset=dataset, datasetprice=dataset_price_nrlc, volume=volume, salt=salt)
            if with_dataset
            else DatasetOrder()
        ),
        workerpool_order=WorkerpoolOrder(
            workerpool=workerpool,
            workerpoolprice=workerpool_price_nrlc,
            volume=volume,
            tag=tag_bytes(tag_int(tag) | tag_int(app_tag)),
            category=category,
            trust=trust,
            salt=salt,
        ),
        request_order=RequestOrder(
            app=app,
            appmaxprice=app_price_nrlc,
            dataset=dataset,
            datasetmaxprice=dataset_price_nrlc if with_dataset else 0,
            workerpool=workerpool,
            workerpoolmaxprice=workerpool_price_nrlc,
            requester=requester,
            volume=volume,
            tag=tag,
            category=category,
            trust=trust,
            beneficiary=beneficiary or requester,
            callback=callback,
            params=params,
            salt=salt,
        ),
    )


def signed_orders(domain: Domain, keys: SigningKeys, **terms: Any) -> DealOrders:
    """`make_deal(**terms)` signed in `domain` by `keys`."""
    return make_deal(**terms).signed(domain, keys)
