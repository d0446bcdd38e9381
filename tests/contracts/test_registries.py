"""The three asset registries (contracts/registries/*.vy): registration at a predictable
address, the ERC-721 token that makes its holder the asset's owner, and the workerpool
policies."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boa
import pytest
from eth_utils import keccak

from tests.support import ZERO

CHECKSUM = keccak(text="app image")
DATA_CHECKSUM = keccak(text="numbers")


def _events(logs: list[Any], name: str) -> list[Any]:
    return [ev for ev in logs if type(ev).__name__ == name]


def _one(logs: list[Any], name: str) -> Any:
    found = _events(logs, name)
    assert len(found) == 1, [type(ev).__name__ for ev in logs]
    return found[0]


def _names(logs: list[Any]) -> list[str]:
    return [type(ev).__name__ for ev in logs]


@dataclass(frozen=True)
class Kind:
    """One registry and how to register its n-th distinct asset for an owner."""

    name: str
    registry: Callable[[Any], Any]
    create: Callable[[Any, str, int], str]
    predict: Callable[[Any, str, int], str]


def _app_args(owner: str, n: int) -> tuple[Any, ...]:
    return (owner, f"app {n}", "DOCKER", b"docker.io/veritask/app:%d" % n, CHECKSUM, b"")


def _dataset_args(owner: str, n: int) -> tuple[Any, ...]:
    return (owner, f"dataset {n}", b"/ipfs/dataset%d" % n, DATA_CHECKSUM)


def _workerpool_args(owner: str, n: int) -> tuple[Any, ...]:
    return (owner, f"pool {n}")


KINDS = [
    Kind(
        "app",
        lambda p: p.apps,
        lambda p, owner, n: p.apps.create_app(*_app_args(owner, n)),
        lambda p, owner, n: p.apps.predict_app(*_app_args(owner, n)),
    ),
    Kind(
        "dataset",
        lambda p: p.datasets,
        lambda p, owner, n: p.datasets.create_dataset(*_dataset_args(owner, n)),
        lambda p, owner, n: p.datasets.predict_dataset(*_dataset_args(owner, n)),
    ),
    Kind(
        "workerpool",
        lambda p: p.workerpools,
        lambda p, owner, n: p.workerpools.create_workerpool(*_workerpool_args(owner, n)),
        lambda p, owner, n: p.workerpools.predict_workerpool(*_workerpool_args(owner, n)),
    ),
]


@pytest.fixture(params=KINDS, ids=lambda kind: kind.name)
def kind(request: pytest.FixtureRequest) -> Kind:
    return request.param


# --- create_app -----------------------------------------------------------------------------


def test_create_app__valid_fields__registers_token_at_predicted_address(protocol) -> None:
    apps = protocol.apps
    owner = protocol.actors["app_owner"].address
    args = (owner, "hello", "DOCKER", b"docker.io/veritask/hello:1", CHECKSUM, b"\x12\x34")
    predicted = apps.predict_app(*args)

    with boa.env.prank(protocol.actors["stranger"].address):
        app = apps.create_app(*args)
    logs = apps.get_logs()

    assert app == predicted
    assert _names(logs) == ["Transfer", "AssetRegistered"]
    transfer = _one(logs, "Transfer")
    assert (transfer.sender, transfer.receiver, transfer.token_id) == (ZERO, owner, int(app, 16))
    registered = _one(logs, "AssetRegistered")
    assert (registered.asset, registered.owner) == (app, owner)
    stored = apps.apps(app)
    assert stored.name == "hello"
    assert stored.app_type == "DOCKER"
    assert stored.multiaddr == b"docker.io/veritask/hello:1"
    assert bytes(stored.checksum) == CHECKSUM
    assert stored.mrenclave == b"\x12\x34"
    assert apps.asset_owner(app) == owner
    assert apps.is_registered(app) is True
    assert apps.ownerOf(int(app, 16)) == owner
    assert apps.balanceOf(owner) == 1
    assert apps.totalSupply() == 1
    assert apps.tokenOfOwnerByIndex(owner, 0) == int(app, 16)
    assert apps.tokenByIndex(0) == int(app, 16)


def test_predict_app__any_field_changed__gives_another_address(protocol) -> None:
    apps = protocol.apps
    owner = protocol.actors["app_owner"].address
    other = protocol.actors["stranger"].address
    base = (owner, "hello", "DOCKER", b"docker.io/x", CHECKSUM, b"")
    variants = [
        (other, *base[1:]),
        (owner, "hello2", *base[2:]),
        (owner, "hello", "WASM", *base[3:]),
        (owner, "hello", "DOCKER", b"docker.io/y", CHECKSUM, b""),
        (owner, "hello", "DOCKER", b"docker.io/x", keccak(text="other"), b""),
        (owner, "hello", "DOCKER", b"docker.io/x", CHECKSUM, b"\x01"),
    ]

    addresses = {apps.predict_app(*base)} | {apps.predict_app(*v) for v in variants}

    assert len(addresses) == 1 + len(variants)
    assert ZERO not in addresses


def test_create_app__same_fields_twice__reverts(protocol) -> None:
    args = _app_args(protocol.actors["app_owner"].address, 0)
    protocol.apps.create_app(*args)
    with boa.reverts("registry: asset already registered"):
        protocol.apps.create_app(*args)


def test_create_app__zero_owner__reverts(protocol) -> None:
    with boa.reverts("registry: owner is the zero address"):
        protocol.apps.create_app(*_app_args(ZERO, 0))


def test_create_app__empty_name__reverts(protocol) -> None:
    owner = protocol.actors["app_owner"].address
    with boa.reverts("app_registry: empty name"):
        protocol.apps.create_app(owner, "", "DOCKER", b"docker.io/x", CHECKSUM, b"")


def test_create_app__empty_multiaddr__reverts(protocol) -> None:
    owner = protocol.actors["app_owner"].address
    with boa.reverts("app_registry: empty multiaddr"):
        protocol.apps.create_app(owner, "hello", "DOCKER", b"", CHECKSUM, b"")


# --- create_dataset -------------------------------------------------------------------------


def test_create_dataset__valid_fields__registers_token_at_predicted_address(protocol) -> None:
    datasets = protocol.datasets
    owner = protocol.actors["dataset_owner"].address
    args = (owner, "numbers", b"/ipfs/bafkreidataset", DATA_CHECKSUM)
    predicted = datasets.predict_dataset(*args)

    with boa.env.prank(protocol.actors["stranger"].address):
        dataset = datasets.create_dataset(*args)
    logs = datasets.get_logs()

    assert dataset == predicted
    assert _names(logs) == ["Transfer", "AssetRegistered"]
    transfer = _one(logs, "Transfer")
    assert (transfer.sender, transfer.receiver, transfer.token_id) == (
        ZERO,
        owner,
        int(dataset, 16),
    )
    registered = _one(logs, "AssetRegistered")
    assert (registered.asset, registered.owner) == (dataset, owner)
    stored = datasets.datasets(dataset)
    assert stored.name == "numbers"
    assert stored.multiaddr == b"/ipfs/bafkreidataset"
    assert bytes(stored.checksum) == DATA_CHECKSUM
    assert datasets.asset_owner(dataset) == owner
    assert datasets.is_registered(dataset) is True
    assert datasets.balanceOf(owner) == 1
    assert datasets.totalSupply() == 1
    assert datasets.tokenOfOwnerByIndex(owner, 0) == int(dataset, 16)


def test_predict_dataset__any_field_changed__gives_another_address(protocol) -> None:
    datasets = protocol.datasets
    owner = protocol.actors["dataset_owner"].address
    base = (owner, "numbers", b"/ipfs/x", DATA_CHECKSUM)
    variants = [
        (protocol.actors["stranger"].address, *base[1:]),
        (owner, "numbers2", *base[2:]),
        (owner, "numbers", b"/ipfs/y", DATA_CHECKSUM),
        (owner, "numbers", b"/ipfs/x", CHECKSUM),
    ]

    addresses = {datasets.predict_dataset(*base)} | {datasets.predict_dataset(*v) for v in variants}

    assert len(addresses) == 1 + len(variants)


def test_create_dataset__same_fields_twice__reverts(protocol) -> None:
    args = _dataset_args(protocol.actors["dataset_owner"].address, 0)
    protocol.datasets.create_dataset(*args)
    with boa.reverts("registry: asset already registered"):
        protocol.datasets.create_dataset(*args)


def test_create_dataset__zero_owner__reverts(protocol) -> None:
    with boa.reverts("registry: owner is the zero address"):
        protocol.datasets.create_dataset(*_dataset_args(ZERO, 0))


def test_create_dataset__empty_name__reverts(protocol) -> None:
    owner = protocol.actors["dataset_owner"].address
    with boa.reverts("dataset_registry: empty name"):
        protocol.datasets.create_dataset(owner, "", b"/ipfs/x", DATA_CHECKSUM)


def test_create_dataset__empty_multiaddr__reverts(protocol) -> None:
    owner = protocol.actors["dataset_owner"].address
    with boa.reverts("dataset_registry: empty multiaddr"):
        protocol.datasets.create_dataset(owner, "numbers", b"", DATA_CHECKSUM)


# --- create_workerpool ----------------------------------------------------------------------


def test_create_workerpool__description__registers_with_default_policies(protocol) -> None:
    workerpools = protocol.workerpools
    scheduler = protocol.actors["scheduler"].address
    predicted = workerpools.predict_workerpool(scheduler, "test pool")

    with boa.env.prank(protocol.actors["stranger"].address):
        pool = workerpools.create_workerpool(scheduler, "test pool")
    logs = workerpools.get_logs()

    assert pool == predicted
    assert _names(logs) == ["Transfer", "AssetRegistered", "PolicyUpdated"]
    transfer = _one(logs, "Transfer")
    assert (transfer.sender, transfer.receiver, transfer.token_id) == (
        ZERO,
        scheduler,
        int(pool, 16),
    )
    registered = _one(logs, "AssetRegistered")
    assert (registered.asset, registered.owner) == (pool, scheduler)
    policy = _one(logs, "PolicyUpdated")
    assert (policy.workerpool, policy.worker_stake_ratio, policy.scheduler_reward_ratio) == (
        pool,
        30,
        1,
    )
    stored = workerpools.workerpools(pool)
    assert stored.description == "test pool"
    assert stored.worker_stake_ratio == 30
    assert stored.scheduler_reward_ratio == 1
    assert workerpools.workerpool_terms(pool) == (scheduler, 30, 1)
    assert workerpools.asset_owner(pool) == scheduler
    assert workerpools.is_registered(pool) is True
    assert workerpools.balanceOf(scheduler) == 1
    assert workerpools.totalSupply() == 1


def test_predict_workerpool__owner_or_description_changed__gives_another_address(
    protocol,
) -> None:
    workerpools = protocol.workerpools
    scheduler = protocol.actors["scheduler"].address
    stranger = protocol.actors["stranger"].address

    addresses = {
        workerpools.predict_workerpool(scheduler, "pool"),
        workerpools.predict_workerpool(stranger, "pool"),
        workerpools.predict_workerpool(scheduler, "pool2"),
    }

    assert len(addresses) == 3


def test_create_workerpool__same_fields_twice__reverts(protocol) -> None:
    scheduler = protocol.actors["scheduler"].address
    protocol.workerpools.create_workerpool(scheduler, "pool")
    with boa.reverts("registry: asset already registered"):
        protocol.workerpools.create_workerpool(scheduler, "pool")


def test_create_workerpool__zero_owner__reverts(protocol) -> None:
    with boa.reverts("registry: owner is the zero address"):
        protocol.workerpools.create_workerpool(ZERO, "pool")


def test_create_workerpool__empty_description__reverts(protocol) -> None:
    with boa.reverts("workerpool_registry: empty description"):
        protocol.workerpools.create_workerpool(protocol.actors["scheduler"].address, "")


# --- change_policy / workerpool_terms -------------------------------------------------------


def _pool(protocol) -> tuple[str, str]:
    scheduler = protocol.actors["scheduler"].address
    return protocol.workerpools.create_workerpool(scheduler, "pool"), scheduler


def test_change_policy__by_owner__updates_ratios_and_emits(protocol) -> None:
    workerpools = protocol.workerpools
    pool, scheduler = _pool(protocol)

    with boa.env.prank(scheduler):
        workerpools.change_policy(pool, 45, 7)
    logs = workerpools.get_logs()

    ev = _one(logs, "PolicyUpdated")
    assert (ev.workerpool, ev.worker_stake_ratio, ev.scheduler_reward_ratio) == (pool, 45, 7)
    stored = workerpools.workerpools(pool)
    assert (stored.description, stored.worker_stake_ratio, stored.scheduler_reward_ratio) == (
        "pool",
        45,
        7,
    )
    assert workerpools.workerpool_terms(pool) == (scheduler, 45, 7)


@pytest.mark.parametrize(("stake", "reward"), [(0, 0), (100, 100)])
def test_change_policy__bounds__accepted(protocol, stake: int, reward: int) -> None:
    pool, scheduler = _pool(protocol)
    with boa.env.prank(scheduler):
        protocol.workerpools.change_policy(pool, stake, reward)
    assert protocol.workerpools.workerpool_terms(pool) == (scheduler, stake, reward)


def test_change_policy__not_owner__reverts(protocol) -> None:
    pool, _ = _pool(protocol)
    with (
        boa.env.prank(protocol.actors["stranger"].address),
        boa.reverts("workerpool_registry: caller is not the owner"),
    ):
        protocol.workerpools.change_policy(pool, 10, 1)


def test_change_policy__unregistered_workerpool__reverts(protocol) -> None:
    unregistered = protocol.workerpools.predict_workerpool(
        protocol.actors["scheduler"].address, "never created"
    )
    with (
        boa.env.prank(protocol.actors["scheduler"].address),
        boa.reverts("workerpool_registry: caller is not the owner"),
    ):
        protocol.workerpools.change_policy(unregistered, 10, 1)


def test_change_policy__worker_stake_ratio_above_100__reverts(protocol) -> None:
    pool, scheduler = _pool(protocol)
    with (
        boa.env.prank(scheduler),
        boa.reverts("workerpool_registry: worker stake ratio above 100"),
    ):
        protocol.workerpools.change_policy(pool, 101, 1)


def test_change_policy__scheduler_reward_ratio_above_100__reverts(protocol) -> None:
    pool, scheduler = _pool(protocol)
    with (
        boa.env.prank(scheduler),
        boa.reverts("workerpool_registry: scheduler reward ratio above 100"),
    ):
        protocol.workerpools.change_policy(pool, 30, 101)


def test_change_policy__after_nft_transfer__only_new_owner_may(protocol) -> None:
    workerpools = protocol.workerpools
    pool, scheduler = _pool(protocol)
    new_owner = protocol.actors["stranger"].address
    with boa.env.prank(scheduler):
        workerpools.transferFrom(scheduler, new_owner, int(pool, 16))

    with (
        boa.env.prank(scheduler),
        boa.reverts("workerpool_registry: caller is not the owner"),
    ):
        workerpools.change_policy(pool, 50, 5)
    with boa.env.prank(new_owner):
        workerpools.change_policy(pool, 50, 5)

    assert workerpools.workerpool_terms(pool) == (new_owner, 50, 5)


def test_workerpool_terms__unregistered__returns_zero_owner(protocol) -> None:
    unregistered = protocol.workerpools.predict_workerpool(
        protocol.actors["scheduler"].address, "never created"
    )
    assert protocol.workerpools.workerpool_terms(unregistered) == (ZERO, 0, 0)


# --- shared registry behaviour: every test runs on the three registries ---------------------


def test_asset_owner__unregistered__returns_zero_address(protocol, kind: Kind) -> None:
    registry = kind.registry(protocol)
    unregistered = kind.predict(protocol, protocol.actors["app_owner"].address, 0)

    assert registry.asset_owner(unregistered) == ZERO
    assert registry.is_registered(unregistered) is False


def test_create__several_assets__counts_supply_and_enumerates_owners(protocol, kind: Kind) -> None:
    registry = kind.registry(protocol)
    alice = protocol.actors["app_owner"].address
    bob = protocol.actors["dataset_owner"].address

    first = kind.create(protocol, alice, 0)
    second = kind.create(protocol, bob, 1)
    third = kind.create(protocol, alice, 2)

    assert registry.totalSupply() == 3
    assert registry.balanceOf(alice) == 2
    assert registry.balanceOf(bob) == 1
    assert [registry.tokenOfOwnerByIndex(alice, i) for i in range(2)] == [
        int(first, 16),
        int(third, 16),
    ]
    assert registry.tokenOfOwnerByIndex(bob, 0) == int(second, 16)
    assert [registry.tokenByIndex(i) for i in range(3)] == [
        int(a, 16) for a in (first, second, third)
    ]


def test_create__owner_contract_without_receiver__reverts(protocol, kind: Kind) -> None:
    # Registration safe-mints: an owner contract must accept ERC-721 tokens. The hub has no
    # onERC721Received (nor a fallback), so the hook call fails without a reason string.
    registry = kind.registry(protocol)
    with boa.reverts():
        kind.create(protocol, protocol.hub.address, 0)
    assert registry.totalSupply() == 0
    assert registry.is_registered(kind.predict(protocol, protocol.hub.address, 0)) is False


def test_transfer_from__by_owner__changes_asset_owner(protocol, kind: Kind) -> None:
    registry = kind.registry(protocol)
    alice = protocol.actors["app_owner"].address
    bob = protocol.actors["stranger"].address
    asset = kind.create(protocol, alice, 0)

    with boa.env.prank(alice):
        registry.transferFrom(alice, bob, int(asset, 16))
    logs = registry.get_logs()

    ev = _one(logs, "Transfer")
    assert (ev.sender, ev.receiver, ev.token_id) == (alice, bob, int(asset, 16))
    assert registry.asset_owner(asset) == bob
    assert registry.ownerOf(int(asset, 16)) == bob
    assert registry.is_registered(asset) is True
    assert registry.balanceOf(alice) == 0
    assert registry.balanceOf(bob) == 1
    assert registry.tokenOfOwnerByIndex(bob, 0) == int(asset, 16)
    assert registry.totalSupply() == 1


def test_safe_transfer_from__by_owner__changes_asset_owner(protocol, kind: Kind) -> None:
    registry = kind.registry(protocol)
    alice = protocol.actors["app_owner"].address
    bob = protocol.actors["stranger"].address
    asset = kind.create(protocol, alice, 0)

    with boa.env.prank(alice):
        registry.safeTransferFrom(alice, bob, int(asset, 16), b"")
    logs = registry.get_logs()

    ev = _one(logs, "Transfer")
    assert (ev.sender, ev.receiver, ev.token_id) == (alice, bob, int(asset, 16))
    assert registry.asset_owner(asset) == bob


def test_safe_transfer_from__to_non_receiver_contract__reverts(protocol, kind: Kind) -> None:
    registry = kind.registry(protocol)
    alice = protocol.actors["app_owner"].address
    asset = kind.create(protocol, alice, 0)
    # The hub has no onERC721Received (nor a fallback): the hook fails without a reason.
    with boa.env.prank(alice), boa.reverts():
        registry.safeTransferFrom(alice, protocol.hub.address, int(asset, 16), b"")
    assert registry.asset_owner(asset) == alice


def test_transfer_from__by_stranger__reverts(protocol, kind: Kind) -> None:
    registry = kind.registry(protocol)
    alice = protocol.actors["app_owner"].address
    stranger = protocol.actors["stranger"].address
    asset = kind.create(protocol, alice, 0)
    with (
        boa.env.prank(stranger),
        boa.reverts("erc721: caller is not token owner or approved"),
    ):
        registry.transferFrom(alice, stranger, int(asset, 16))
    assert registry.asset_owner(asset) == alice


def test_transfer_from__zero_recipient__reverts(protocol, kind: Kind) -> None:
    registry = kind.registry(protocol)
    alice = protocol.actors["app_owner"].address
    asset = kind.create(protocol, alice, 0)
    with boa.env.prank(alice), boa.reverts("erc721: transfer to the zero address"):
        registry.transferFrom(alice, ZERO, int(asset, 16))


def test_transfer_from__wrong_from__reverts(protocol, kind: Kind) -> None:
    registry = kind.registry(protocol)
    alice = protocol.actors["app_owner"].address
    stranger = protocol.actors["stranger"].address
    asset = kind.create(protocol, alice, 0)
    with boa.env.prank(alice), boa.reverts("erc721: transfer from incorrect owner"):
        registry.transferFrom(stranger, alice, int(asset, 16))


def test_approve__by_owner__lets_approved_transfer(protocol, kind: Kind) -> None:
    registry = kind.registry(protocol)
    alice = protocol.actors["app_owner"].address
    operator = protocol.actors["stranger"].address
    asset = kind.create(protocol, alice, 0)

    with boa.env.prank(alice):
        registry.approve(operator, int(asset, 16))
    logs = registry.get_logs()

    ev = _one(logs, "Approval")
    assert (ev.owner, ev.approved, ev.token_id) == (alice, operator, int(asset, 16))
    assert registry.getApproved(int(asset, 16)) == operator
    with boa.env.prank(operator):
        registry.transferFrom(alice, operator, int(asset, 16))
    assert registry.asset_owner(asset) == operator
    assert registry.getApproved(int(asset, 16)) == ZERO


def test_approve__to_current_owner__reverts(protocol, kind: Kind) -> None:
    registry = kind.registry(protocol)
    alice = protocol.actors["app_owner"].address
    asset = kind.create(protocol, alice, 0)
    with boa.env.prank(alice), boa.reverts("erc721: approval to current owner"):
        registry.approve(alice, int(asset, 16))


def test_approve__by_stranger__reverts(protocol, kind: Kind) -> None:
    registry = kind.registry(protocol)
    alice = protocol.actors["app_owner"].address
    stranger = protocol.actors["stranger"].address
    asset = kind.create(protocol, alice, 0)
    with (
        boa.env.prank(stranger),
        boa.reverts("erc721: approve caller is not token owner or approved for all"),
    ):
        registry.approve(stranger, int(asset, 16))


def test_set_approval_for_all__operator__may_transfer_every_asset(protocol, kind: Kind) -> None:
    registry = kind.registry(protocol)
    alice = protocol.actors["app_owner"].address
    operator = protocol.actors["stranger"].address
    first = kind.create(protocol, alice, 0)
    second = kind.create(protocol, alice, 1)

    with boa.env.prank(alice):
        registry.setApprovalForAll(operator, True)
    logs = registry.get_logs()

    ev = _one(logs, "ApprovalForAll")
    assert (ev.owner, ev.operator, ev.approved) == (alice, operator, True)
    assert registry.isApprovedForAll(alice, operator) is True
    with boa.env.prank(operator):
        registry.transferFrom(alice, operator, int(first, 16))
        registry.safeTransferFrom(alice, operator, int(second, 16), b"")
    assert registry.asset_owner(first) == operator
    assert registry.asset_owner(second) == operator
    assert registry.balanceOf(alice) == 0

    with boa.env.prank(alice):
        registry.setApprovalForAll(operator, False)
    assert registry.isApprovedForAll(alice, operator) is False


def test_set_approval_for_all__to_caller__reverts(protocol, kind: Kind) -> None:
    registry = kind.registry(protocol)
    alice = protocol.actors["app_owner"].address
    with boa.env.prank(alice), boa.reverts("erc721: approve to caller"):
        registry.setApprovalForAll(alice, True)


def test_owner_of__unregistered__reverts(protocol, kind: Kind) -> None:
    registry = kind.registry(protocol)
    unregistered = kind.predict(protocol, protocol.actors["app_owner"].address, 0)
    with boa.reverts("erc721: invalid token ID"):
        registry.ownerOf(int(unregistered, 16))


def test_get_approved__unregistered__reverts(protocol, kind: Kind) -> None:
    registry = kind.registry(protocol)
    unregistered = kind.predict(protocol, protocol.actors["app_owner"].address, 0)
    with boa.reverts("erc721: invalid token ID"):
        registry.getApproved(int(unregistered, 16))


def test_balance_of__zero_address__reverts(protocol, kind: Kind) -> None:
    with boa.reverts("erc721: the zero address is not a valid owner"):
        kind.registry(protocol).balanceOf(ZERO)


def test_token_of_owner_by_index__out_of_bounds__reverts(protocol, kind: Kind) -> None:
    registry = kind.registry(protocol)
    alice = protocol.actors["app_owner"].address
    kind.create(protocol, alice, 0)
    with boa.reverts("erc721: owner index out of bounds"):
        registry.tokenOfOwnerByIndex(alice, 1)


def test_token_by_index__out_of_bounds__reverts(protocol, kind: Kind) -> None:
    registry = kind.registry(protocol)
    kind.create(protocol, protocol.actors["app_owner"].address, 0)
    with boa.reverts("erc721: global index out of bounds"):
        registry.tokenByIndex(1)


def test_supports_interface__erc165_erc721_enumerable__true_others_false(
    protocol, kind: Kind
) -> None:
    registry = kind.registry(protocol)
    for interface_id in ("01ffc9a7", "80ac58cd", "5b5e139f", "780e9d63"):
        assert registry.supportsInterface(bytes.fromhex(interface_id)) is True
    assert registry.supportsInterface(bytes.fromhex("ffffffff")) is False
    assert registry.supportsInterface(bytes.fromhex("36372b07")) is False  # ERC-20


@pytest.mark.parametrize(
    ("attribute", "name", "symbol"),
    [
        ("apps", "Veritask apps", "VAPP"),
        ("datasets", "Veritask datasets", "VDATA"),
        ("workerpools", "Veritask workerpools", "VPOOL"),
    ],
)
def test_name_symbol__deployed__identify_the_registry(
    protocol, attribute: str, name: str, symbol: str
) -> None:
    registry = getattr(protocol, attribute)
    assert registry.name() == name
    assert registry.symbol() == symbol
    assert registry.totalSupply() == 0
