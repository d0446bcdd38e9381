"""`veritask wallet create|import|show`: keystores on disk, passwords from the environment,
a file or a prompt, and a private key printed only when asked for."""

from __future__ import annotations

import json

from eth_account import Account
from eth_utils.crypto import keccak

from tests.cli.conftest import Cli, assert_error

KEY = "0x" + keccak(text="veritask cli wallet test").hex()
ADDRESS = Account.from_key(KEY).address
PASSWORD = {"VERITASK_PASSWORD": "pw"}


def _keystores(cli: Cli) -> dict[str, bytes]:
    if not cli.wallet_dir.exists():
        return {}
    return {p.name: p.read_bytes() for p in cli.wallet_dir.iterdir()}


def test_wallet_create__password_from_env__keystore_written(cli: Cli) -> None:
    result = cli("wallet", "create", env=PASSWORD)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    address = lines[0].removeprefix("created wallet ")
    assert lines[1] == f"keystore {cli.wallet_dir / (address + '.json')}"
    assert list(_keystores(cli)) == [f"{address}.json"]


def test_wallet_create__password_typed_twice_at_the_prompt(cli: Cli) -> None:
    result = cli("--json", "wallet", "create", input="secret\nsecret\n")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout.splitlines()[-1])
    assert set(data) == {"address", "keystore"}
    assert "secret" not in result.output  # hidden input is not echoed
    unlocked = cli(
        "--wallet",
        data["address"],
        "wallet",
        "show",
        "--show-private-key",
        env={"VERITASK_PASSWORD": "secret"},
    )
    assert unlocked.exit_code == 0, unlocked.output


def test_wallet_create__no_password_and_no_terminal__bad_input(cli: Cli) -> None:
    result = cli("wallet", "create", input="")
    assert_error(result, 2, "no password: type it at the prompt", prompted=True)
    assert _keystores(cli) == {}


def test_wallet_import__key_file__same_address(cli: Cli) -> None:
    assert cli.import_key(KEY) == ADDRESS
    result = cli("--json", "wallet", "show")
    assert json.loads(result.stdout) == {
        "address": ADDRESS,
        "keystore": str(cli.wallet_dir / f"{ADDRESS}.json"),
    }


def test_wallet_import__key_from_hidden_prompt(cli: Cli) -> None:
    result = cli("wallet", "import", input=f"{KEY}\n", env=PASSWORD)
    assert result.exit_code == 0, result.output
    assert KEY[2:] not in result.output
    assert f"imported wallet {ADDRESS}" in result.stdout


def test_wallet_import__bad_key__bad_input_without_echo(cli: Cli) -> None:
    bad = KEY[:-3]
    result = cli("wallet", "import", input=f"{bad}\n", env=PASSWORD)
    assert_error(result, 2, "not a private key: expected 64 hexadecimal digits", prompted=True)
    assert bad[2:] not in result.output
    assert _keystores(cli) == {}


def test_wallet_import__twice__refused_and_keystore_untouched(cli: Cli) -> None:
    cli.import_key(KEY)
    before = _keystores(cli)
    key_file = cli.folder / "key"
    key_file.write_text(KEY)
    result = cli("wallet", "import", "--key-file", str(key_file), env=PASSWORD)
    assert_error(result, 2, f"a wallet for {ADDRESS} already exists")
    assert _keystores(cli) == before


def test_wallet_show__address_and_keystore_no_key(cli: Cli) -> None:
    cli.import_key(KEY)
    result = cli("wallet", "show")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"address     {ADDRESS}",
        f"keystore    {cli.wallet_dir / (ADDRESS + '.json')}",
    ]
    assert KEY[2:] not in result.output


def test_wallet_show__private_key_only_when_asked_after_a_warning(cli: Cli) -> None:
    cli.import_key(KEY)
    result = cli("--json", "wallet", "show", "--show-private-key", env=PASSWORD)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["private_key"] == KEY
    assert result.stderr == (
        f"warning: printing the private key of {ADDRESS}: anyone who sees it controls this "
        "wallet and its funds\n"
    )


def test_wallet_show__password_file(cli: Cli) -> None:
    cli.import_key(KEY, password="from file")
    password_file = cli.folder / "password"
    password_file.write_text("from file\n")
    result = cli("--password-file", str(password_file), "wallet", "show", "--show-private-key")
    assert result.exit_code == 0, result.output
    assert f"private_key {KEY}" in result.stdout


def test_wallet_show__wrong_password__exit_2_keystore_untouched_no_key(cli: Cli) -> None:
    cli.import_key(KEY)
    before = _keystores(cli)
    result = cli("wallet", "show", "--show-private-key", env={"VERITASK_PASSWORD": "wrong"})
    assert_error(result, 2, f"wrong password for wallet {ADDRESS}: check VERITASK_PASSWORD")
    assert KEY[2:] not in result.output
    assert _keystores(cli) == before


def test_wallet_show__no_wallet__says_how_to_make_one(cli: Cli) -> None:
    assert_error(
        cli("wallet", "show"),
        2,
        f"no wallet in {cli.wallet_dir}: create one with `veritask wallet create`",
    )


def test_wallet_show__several_wallets__choose_with_flag_or_profile(cli: Cli) -> None:
    cli.import_key(KEY)
    other = cli.import_key("0x" + keccak(text="another key").hex())
    assert_error(cli("wallet", "show"), 2, "2 wallets in ")
    assert cli("--wallet", other, "--json", "wallet", "show").stdout.count(other) == 2
    (cli.folder / "veritask.toml").write_text(f'[profiles.devnet]\nwallet = "{ADDRESS}"\n')
    assert json.loads(cli("wallet", "show", "--json").stdout)["address"] == ADDRESS


def test_wallet_show__unknown_or_malformed_address__bad_input(cli: Cli) -> None:
    cli.import_key(KEY)
    assert_error(cli("--wallet", "0x" + "00" * 20, "wallet", "show"), 2, "no wallet for 0x0000")
    assert_error(cli("--wallet", "bob", "wallet", "show"), 2, "not an Ethereum address")
