from __future__ import annotations

import boa

from tests.support import RLC, build_market
from veritask.domain.ids import deal_id


def test_match__four_signed_orders__creates_deal_and_locks(protocol) -> None:
    market = build_market(protocol, volume=1)
    hub = protocol.hub
    requester = protocol.actors["requester"]
    scheduler = protocol.actors["scheduler"]
    request_hash = protocol.digest(market.request_order)

    result = market.match()

    assert result == deal_id(request_hash, 0)
    deal = hub.deal(result)
    assert deal.requester == requester.address
    assert deal.app_price == 3 * RLC
    assert deal.bot_size == 1
    assert hub.frozen_of(requester.address) == 10 * RLC
    assert hub.frozen_of(scheduler.address) == 5 * RLC * 30 // 100
    assert hub.consumed(request_hash) == 1


def test_match__category_mismatch__reverts(protocol) -> None:
    from dataclasses import replace

    market = build_market(protocol)
    market.request_order = replace(market.request_order, category=1)
    with boa.reverts("match: category mismatch"):
        market.match()
