"""`veritask app|dataset|workerpool deploy|show|count|transfer` and `workerpool set-policy`
end to end against anvil; refusals send nothing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak

from tests.cli.conftest import Cli, assert_error
from tests.devnet import Devnet, reverted

pytestmark = pytest.mark.anvil

USER: LocalAccount = Account.from_key(keccak(text="veritask cli asset test user"))
OTHER: LocalAccount = Account.from_key(keccak(text="veritask cli asset test other"))
PASSWORD = {"VERITASK_PASSWORD": "pw"}
CHECKSUM = "0x" + "ab" * 32


@pytest.fixture(autouse=True)
def _fresh_chain(devnet: Devnet) -> Iterator[None]:
    with reverted(devnet):
        yield


@pytest.fixture
def project(cli: Cli, devnet: Devnet) -> Cli:
    init = cli("--profile", "test", "--rpc-url", devnet.url, "--hub", devnet.hub, "init")
    assert init.exit_code == 0, init.output
    cli.import_key("0x" + bytes(USER.key).hex())
    devnet.fund(USER.address)
    return cli


def _deploy(project: Cli, *args: str) -> str:
    result = project("--json", *args, env=PASSWORD)
    assert result.exit_code == 0, result.output
    address: str = json.loads(result.stdout)["address"]
    return address


def test_app_deploy_then_show(project: Cli, devnet: Devnet) -> None:
    result = project(
        "app", "deploy", "--name", "hello", "--multiaddr", "docker.io/me/hello:1",
        "--checksum", CHECKSUM, env=PASSWORD,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    first, second = result.stdout.splitlines()
    assert first.startswith("deployed app 0x")
    assert ": tx 0x" in first
    assert second.startswith("block ")
    address = first.split()[2].rstrip(":")
    shown = project("--json", "app", "show", address)
    assert json.loads(shown.stdout) == {
        "kind": "app",
        "address": address,
        "owner": USER.address,
        "name": "hello",
        "app_type": "DOCKER",
        "multiaddr": "docker.io/me/hello:1",
        "checksum": CHECKSUM,
        "mrenclave": "",
    }
    table = project("app", "show", address)
    assert any("owner" in line and USER.address in line for line in table.stdout.splitlines())


def test_app_deploy__twice__refused_nothing_sent(project: Cli, devnet: Devnet) -> None:
    args = ("app", "deploy", "--name", "hello", "--multiaddr", "docker.io/me/hello:1")
    address = _deploy(project, *args)
    before = devnet.balances(USER.address)
    assert_error(
        project(*args, env=PASSWORD),
        2,
        f"this app is already registered at {address} (owner {USER.address})",
    )
    assert devnet.balances(USER.address) == before


def test_dataset_deploy__file_checksum(project: Cli, tmp_path: Path) -> None:
    data = tmp_path / "data.bin"
    data.write_bytes(b"\x00\x01" * 1000)
    address = _deploy(
        project, "dataset", "deploy", "--name", "d", "--multiaddr", "/ipfs/Qm", "--file", str(data)
    )
    shown = json.loads(project("--json", "dataset", "show", address).stdout)
    assert shown["checksum"] == "0x" + hashlib.sha256(data.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--checksum", "0x12"], "bad --checksum '0x12'"),
        ([], "give the dataset's checksum: either --checksum or --file"),
        (["--file", "missing.bin"], "cannot read missing.bin"),
    ],
)
def test_dataset_deploy__bad_checksum__exit_2_nothing_sent(
    project: Cli, devnet: Devnet, args: list[str], message: str
) -> None:
    before = devnet.balances(USER.address)
    result = project(
        "dataset", "deploy", "--name", "d", "--multiaddr", "/ipfs/Qm", *args, env=PASSWORD
    )
    assert_error(result, 2, message)
    assert devnet.balances(USER.address) == before


def test_workerpool_deploy_set_policy_show(project: Cli) -> None:
    address = _deploy(project, "workerpool", "deploy", "--description", "my pool")
    result = project(
        "workerpool", "set-policy", address, "--worker-stake-ratio", "40",
        "--scheduler-reward-ratio", "5", env=PASSWORD,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        f"workerpool {address}: worker stake ratio 40 %, scheduler reward ratio 5 %: tx 0x"
    )
    shown = json.loads(project("--json", "workerpool", "show", address).stdout)
    assert (shown["description"], shown["worker_stake_ratio"], shown["scheduler_reward_ratio"]) == (
        "my pool",
        40,
        5,
    )


@pytest.mark.parametrize(
    ("ratios", "message"),
    [
        (["101", "1"], "--worker-stake-ratio is a percentage: 101 is not between 0 and 100"),
        (["30", "-1"], "--scheduler-reward-ratio is a percentage: -1 is not between 0 and 100"),
    ],
)
def test_workerpool_set_policy__out_of_range__exit_2_nothing_sent(
    project: Cli, devnet: Devnet, ratios: list[str], message: str
) -> None:
    address = _deploy(project, "workerpool", "deploy", "--description", "my pool")
    before = devnet.balances(USER.address)
    result = project(
        "workerpool", "set-policy", address, "--worker-stake-ratio", ratios[0],
        "--scheduler-reward-ratio", ratios[1], env=PASSWORD,
    )  # fmt: skip
    assert_error(result, 2, message)
    assert devnet.balances(USER.address) == before


def test_count_and_transfer(project: Cli, devnet: Devnet) -> None:
    first = _deploy(project, "app", "deploy", "--name", "a", "--multiaddr", "docker.io/a")
    second = _deploy(project, "app", "deploy", "--name", "b", "--multiaddr", "docker.io/b")
    counted = project("app", "count")
    assert counted.stdout.splitlines() == [f"{USER.address} owns 2 apps", first, second]
    result = project("app", "transfer", first, OTHER.address, env=PASSWORD)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"transferred app {first} to {OTHER.address}: tx 0x")
    assert json.loads(project("--json", "app", "count").stdout)["addresses"] == [second]
    other = json.loads(project("--json", "app", "count", OTHER.address).stdout)
    assert (other["count"], other["addresses"]) == (1, [first])


def test_transfer__not_the_owner__exit_2_nothing_sent(project: Cli, devnet: Devnet) -> None:
    devnet.fund(OTHER.address)
    pool = devnet.client.create_workerpool(OTHER, "theirs")
    before = devnet.balances(USER.address)
    assert_error(
        project("workerpool", "transfer", pool, USER.address, env=PASSWORD),
        2,
        f"only the owner {OTHER.address} may transfer workerpool {pool}; "
        f"the wallet is {USER.address}",
    )
    assert devnet.balances(USER.address) == before


def test_show__nothing_registered__exit_2(project: Cli) -> None:
    address = "0x" + "12" * 20
    assert_error(project("dataset", "show", address), 2, "no dataset is registered at 0x1212")
