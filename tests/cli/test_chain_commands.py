"""`veritask info` and `veritask account show|deposit|withdraw` end to end against anvil with
the protocol deployed, through a veritask.toml profile; refusals change nothing on chain."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak

from tests.cli.conftest import Cli, assert_error
from tests.devnet import RLC, Devnet, closed_port_url, reverted
from veritask import __version__

pytestmark = pytest.mark.anvil

USER: LocalAccount = Account.from_key(keccak(text="veritask cli chain test user"))
PASSWORD = {"VERITASK_PASSWORD": "pw"}


@pytest.fixture(autouse=True)
def _fresh_chain(devnet: Devnet) -> Iterator[None]:
    with reverted(devnet):
        yield


@pytest.fixture
def project(cli: Cli, devnet: Devnet) -> Cli:
    """A veritask.toml whose profile "test" points at the devnet, and the user's wallet
    (10 ETH for gas, 5 RLC in tokens, nothing deposited)."""
    init = cli("--profile", "test", "--rpc-url", devnet.url, "--hub", devnet.hub, "init")
    assert init.exit_code == 0, init.output
    cli.import_key("0x" + bytes(USER.key).hex())
    devnet.fund(USER.address, tokens_nrlc=5 * RLC)
    return cli


def test_info__table_for_people(project: Cli, devnet: Devnet) -> None:
    result = project("info")
    assert result.exit_code == 0, result.output
    for label, value in [
        ("profile", "test"),
        ("rpc url", devnet.url),
        ("chain id", "31337"),
        ("hub", devnet.hub),
        ("token (RLC)", devnet.deployment.token),
        ("workerpool registry", devnet.deployment.workerpool_registry),
        ("orders (EIP-712)", "iExecODB 5.0.0"),
        ("contracts", "match this build"),
        ("veritask", __version__),
    ]:
        assert any(label in line and value in line for line in result.stdout.splitlines()), (
            label,
            result.stdout,
        )


def test_info__json(project: Cli, devnet: Devnet) -> None:
    result = project("info", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["chain_id"] == 31337
    assert data["block_number"] == devnet.w3.eth.block_number
    assert data["hub"] == devnet.hub
    assert data["annex"] == devnet.deployment.annex
    assert data["veritask_version"] == __version__
    assert data["contracts_match_build"] is True


def test_info__no_hub_anywhere__chain_only_with_a_hint(cli: Cli, devnet: Devnet) -> None:
    result = cli("--rpc-url", devnet.url, "info")
    assert result.exit_code == 0, result.output
    assert "not set: set hub in veritask.toml, VERITASK_HUB or --hub" in result.stdout


def test_info__environment_overrides_the_file_and_flags_override_the_environment(
    project: Cli, devnet: Devnet
) -> None:
    down = closed_port_url()
    assert project("info", env={"VERITASK_RPC_URL": down}).exit_code == 3
    result = project("--rpc-url", devnet.url, "info", env={"VERITASK_RPC_URL": down})
    assert result.exit_code == 0, result.output


def test_info__profile_that_does_not_answer__exit_3_one_line_fast(project: Cli) -> None:
    down = closed_port_url()
    started = time.monotonic()
    result = project("--rpc-url", down, "info")
    assert time.monotonic() - started < 3
    assert_error(
        result,
        3,
        f"the chain profile 'test' does not answer at {down}: start it with "
        "`./scripts/demo --keep` or check --rpc-url",
    )


def test_info__unknown_profile__exit_2(project: Cli) -> None:
    assert_error(project("--profile", "mainnet", "info"), 2, "unknown chain profile 'mainnet'")


def test_account_show__the_wallet_by_default(project: Cli) -> None:
    result = project("account", "show")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"account {USER.address}"
    assert any("tokens (in the wallet)" in line and "5000000000" in line for line in lines)
    assert lines[-1] == "gas: 10 ETH"


def test_account_show__any_address_json(project: Cli, devnet: Devnet) -> None:
    result = project("--json", "account", "show", devnet.deployer.address.lower())
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["address"] == devnet.deployer.address
    assert (
        data["token_nrlc"]
        == devnet.client.contracts.token.functions.balanceOf(devnet.deployer.address).call()
    )
    assert (data["free_nrlc"], data["frozen_nrlc"], data["free_rlc"]) == (0, 0, "0")


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("0x12", "not an Ethereum address: '0x12'"),
        ("alice", "not an Ethereum address: 'alice'"),
        ("0x" + "aB" * 20, "bad checksum in address"),
    ],
)
def test_account_show__malformed_address__exit_2(project: Cli, address: str, message: str) -> None:
    assert_error(project("account", "show", address), 2, message)


def test_account_deposit__json_result_and_new_balances(project: Cli, devnet: Devnet) -> None:
    result = project("account", "deposit", "1.5", "--json", env=PASSWORD)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["action"], data["amount_nrlc"], data["amount_rlc"]) == (
        "deposited",
        1_500_000_000,
        "1.5",
    )
    receipt = devnet.w3.eth.get_transaction_receipt(data["tx_hash"])
    assert receipt["status"] == 1
    assert receipt["gasUsed"] == data["gas_used"]
    assert data["account"]["free_nrlc"] == 1_500_000_000
    assert data["account"]["token_rlc"] == "3.5"
    assert devnet.balances(USER.address)[:3] == (1_500_000_000, 0, 3_500_000_000)


@pytest.mark.parametrize(
    "amount", [["2", "RLC"], ["2 RLC"], ["2000000000 nRLC"], ["2000000000", "nrlc"]]
)
def test_account_deposit__amount_forms(project: Cli, devnet: Devnet, amount: list[str]) -> None:
    result = project("account", "deposit", *amount, env=PASSWORD)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("deposited 2 RLC: tx 0x")
    assert devnet.balances(USER.address)[0] == 2 * RLC


def test_account_withdraw__back_to_the_wallet(project: Cli, devnet: Devnet) -> None:
    assert project("account", "deposit", "3", env=PASSWORD).exit_code == 0
    result = project("--json", "account", "withdraw", "1.25", env=PASSWORD)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["account"]["free_rlc"] == "1.75"
    assert devnet.balances(USER.address)[:3] == (1_750_000_000, 0, 3_250_000_000)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["deposit", "1.2.3"], "not an amount: '1.2.3'"),
        (["deposit", "1.0000000001"], "too many decimals in '1.0000000001'"),
        (["deposit", "--", "-1"], "negative amount '-1'"),
        (["deposit", "1", "ETH"], "unknown unit 'ETH'"),
        (["withdraw", "0"], "nothing to withdraw: the amount must be more than 0 RLC"),
        (
            ["deposit", "6"],
            "insufficient token balance: you hold 5 RLC and want to deposit 6 RLC: deposit at "
            "most 5 RLC, or get 1 RLC more tokens first",
        ),
        (["withdraw", "0.5"], "insufficient free balance: withdraw at most 0 RLC"),
    ],
)
def test_account__refused__exit_2_and_nothing_changes_on_chain(
    project: Cli, devnet: Devnet, args: list[str], message: str
) -> None:
    before = devnet.balances(USER.address)
    assert_error(project("account", *args, env=PASSWORD), 2, message)
    assert devnet.balances(USER.address) == before


def test_account_withdraw__frozen_funds__says_what_is_frozen(project: Cli, devnet: Devnet) -> None:
    assert project("account", "deposit", "1.5", env=PASSWORD).exit_code == 0
    devnet.freeze(USER, app_price=100_000_000, workerpool_price=200_000_000)
    before = devnet.balances(USER.address)
    assert_error(
        project("account", "withdraw", "1.5", env=PASSWORD),
        2,
        "insufficient free balance: withdraw at most 1.2 RLC (0.3 RLC is frozen in deals)",
    )
    assert devnet.balances(USER.address) == before


def test_account_deposit__wrong_password__exit_2_nothing_changes(
    project: Cli, devnet: Devnet
) -> None:
    before = devnet.balances(USER.address)
    keystore = (project.wallet_dir / f"{USER.address}.json").read_bytes()
    result = project("account", "deposit", "1", env={"VERITASK_PASSWORD": "wrong"})
    assert_error(result, 2, f"wrong password for wallet {USER.address}")
    assert devnet.balances(USER.address) == before
    assert (project.wallet_dir / f"{USER.address}.json").read_bytes() == keystore


def test_account_deposit__password_at_the_prompt(project: Cli, devnet: Devnet) -> None:
    result = project("account", "deposit", "1", input="pw\n")
    assert result.exit_code == 0, result.output
    assert devnet.balances(USER.address)[0] == 1 * RLC


def test_account_deposit__node_down__exit_3_before_any_password_prompt(project: Cli) -> None:
    result = project("--rpc-url", closed_port_url(), "account", "deposit", "1", input="")
    assert_error(result, 3, "the chain profile 'test' does not answer at")
