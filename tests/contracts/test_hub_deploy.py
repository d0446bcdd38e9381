"""The hub refuses an annex that would run with other immutables than its own."""

from __future__ import annotations

import boa
import pytest

from tests.support import CONTRACTS, ZERO, Protocol

STRANGER = "0x000000000000000000000000000000000000dEaD"


def _addresses(protocol: Protocol, broker: str = ZERO) -> list[str]:
    return [
        protocol.token.address,
        protocol.apps.address,
        protocol.datasets.address,
        protocol.workerpools.address,
        broker,
    ]


def test_deploy__matching_annex__hub_points_to_it(protocol: Protocol) -> None:
    addresses = _addresses(protocol, STRANGER)
    annex = boa.load(str(CONTRACTS / "hub/annex.vy"), *addresses)
    hub = boa.load(str(CONTRACTS / "hub/hub.vy"), *addresses, annex.address)
    assert hub.ANNEX() == annex.address
    assert hub.TEE_BROKER() == STRANGER


@pytest.mark.parametrize(
    ("position", "reason"),
    [
        (0, "hub: annex has another token"),
        (1, "hub: annex has other registries"),
        (2, "hub: annex has other registries"),
        (3, "hub: annex has other registries"),
        (4, "hub: annex has another TEE broker"),
    ],
)
def test_deploy__annex_with_other_address__reverts(
    protocol: Protocol, position: int, reason: str
) -> None:
    addresses = _addresses(protocol)
    annex_addresses = list(addresses)
    annex_addresses[position] = STRANGER
    annex = boa.load(str(CONTRACTS / "hub/annex.vy"), *annex_addresses)
    with boa.reverts(reason):
        boa.load(str(CONTRACTS / "hub/hub.vy"), *addresses, annex.address)


def test_deploy__annex_not_a_contract__reverts(protocol: Protocol) -> None:
    with boa.reverts("hub: annex is not a contract"):
        boa.load(str(CONTRACTS / "hub/hub.vy"), *_addresses(protocol), STRANGER)
