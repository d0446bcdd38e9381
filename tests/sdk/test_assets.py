"""`Veritask.assets` against anvil: register, read, count, transfer, workerpool policies, and
every refusal leaving the chain unchanged."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak

from tests.devnet import Devnet, reverted, running_devnet
from veritask.errors import InvalidInput
from veritask.sdk import Profile, Veritask, file_checksum, parse_checksum

pytestmark = pytest.mark.anvil

OWNER: LocalAccount = Account.from_key(keccak(text="veritask sdk assets owner"))
OTHER: LocalAccount = Account.from_key(keccak(text="veritask sdk assets other"))
CHECKSUM = keccak(b"code")


@pytest.fixture(scope="module")
def devnet() -> Iterator[Devnet]:
    with running_devnet() as node:
        node.fund(OWNER.address)
        node.fund(OTHER.address)
        yield node


@pytest.fixture(autouse=True)
def _fresh_chain(devnet: Devnet) -> Iterator[None]:
    with reverted(devnet):
        yield


def _client(devnet: Devnet, account: LocalAccount | None = OWNER) -> Veritask:
    return Veritask(Profile("test", rpc_url=devnet.url, hub=devnet.hub), account)


def test_deploy_app__registered_at_the_predicted_address(devnet: Devnet) -> None:
    assets = _client(devnet).assets
    deployed = assets.deploy_app(
        "hello", "docker.io/me/hello:1", checksum=CHECKSUM, mrenclave=b'{"fw":"scone"}'
    )
    view = assets.app(deployed.address)
    assert (view.owner, view.name, view.app_type, view.multiaddr) == (
        OWNER.address,
        "hello",
        "DOCKER",
        "docker.io/me/hello:1",
    )
    assert view.checksum == "0x" + CHECKSUM.hex()
    assert view.mrenclave == '{"fw":"scone"}'
    assert devnet.w3.eth.get_transaction_receipt(deployed.tx.tx_hash)["status"] == 1


def test_deploy_app__twice__refused_nothing_sent(devnet: Devnet) -> None:
    assets = _client(devnet).assets
    first = assets.deploy_app("hello", "docker.io/me/hello:1")
    before = devnet.balances(OWNER.address)
    with pytest.raises(InvalidInput, match=f"this app is already registered at {first.address}"):
        assets.deploy_app("hello", "docker.io/me/hello:1")
    assert devnet.balances(OWNER.address) == before


def test_deploy_dataset__checksum_of_the_file(devnet: Devnet, tmp_path: Path) -> None:
    data = tmp_path / "data.csv"
    data.write_bytes(b"a,b\n1,2\n")
    expected = hashlib.sha256(b"a,b\n1,2\n").digest()
    assert file_checksum(data) == expected
    assets = _client(devnet).assets
    deployed = assets.deploy_dataset("data", "/ipfs/Qm1", file_checksum(data))
    view = assets.dataset(deployed.address)
    assert view.checksum == "0x" + expected.hex()
    assert (view.owner, view.name, view.multiaddr) == (OWNER.address, "data", "/ipfs/Qm1")


def test_workerpool__default_policies_then_changed(devnet: Devnet) -> None:
    assets = _client(devnet).assets
    address = assets.deploy_workerpool("pool").address
    view = assets.workerpool(address)
    assert (view.worker_stake_ratio, view.scheduler_reward_ratio) == (30, 1)
    assets.set_policy(address, worker_stake_ratio=40, scheduler_reward_ratio=5)
    view = assets.workerpool(address)
    assert (view.worker_stake_ratio, view.scheduler_reward_ratio) == (40, 5)


@pytest.mark.parametrize(
    ("stake", "reward", "message"),
    [
        (101, 1, "the worker stake ratio is a percentage: 101"),
        (30, -1, "the scheduler reward ratio is a percentage: -1"),
    ],
)
def test_set_policy__out_of_range__refused_nothing_sent(
    devnet: Devnet, stake: int, reward: int, message: str
) -> None:
    assets = _client(devnet).assets
    address = assets.deploy_workerpool("pool").address
    before = devnet.balances(OWNER.address)
    with pytest.raises(InvalidInput, match=message):
        assets.set_policy(address, worker_stake_ratio=stake, scheduler_reward_ratio=reward)
    assert devnet.balances(OWNER.address) == before


def test_set_policy__not_the_owner__refused(devnet: Devnet) -> None:
    address = _client(devnet).assets.deploy_workerpool("pool").address
    before = devnet.balances(OTHER.address)
    with pytest.raises(InvalidInput, match=f"only the owner {OWNER.address} may change"):
        _client(devnet, OTHER).assets.set_policy(
            address, worker_stake_ratio=40, scheduler_reward_ratio=5
        )
    assert devnet.balances(OTHER.address) == before


def test_owned_and_transfer__only_the_owner(devnet: Devnet) -> None:
    assets = _client(devnet).assets
    first = assets.deploy_app("a", "docker.io/a").address
    second = assets.deploy_app("b", "docker.io/b").address
    assert assets.owned("app", OWNER.address) == [first, second]
    with pytest.raises(InvalidInput, match=f"only the owner {OWNER.address} may transfer"):
        _client(devnet, OTHER).assets.transfer("app", first, OTHER.address)
    assets.transfer("app", first, OTHER.address)
    assert assets.app(first).owner == OTHER.address
    assert assets.owned("app", OWNER.address) == [second]
    assert assets.owned("app", OTHER.address) == [first]


def test_show__nothing_registered__refused(devnet: Devnet) -> None:
    with pytest.raises(InvalidInput, match="no workerpool is registered at 0x"):
        _client(devnet, None).assets.workerpool("0x" + "12" * 20)


@pytest.mark.parametrize("text", ["12" * 32, "0x" + "12" * 31, "0x" + "zz" * 32])
def test_parse_checksum__malformed__refused(text: str) -> None:
    with pytest.raises(InvalidInput, match="expected 0x followed by 64 hexadecimal digits"):
        parse_checksum(text)
