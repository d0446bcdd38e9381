"""`veritask init`: writes veritask.toml in the current folder, never overwrites by accident."""

from __future__ import annotations

import json

from tests.cli.conftest import Cli, assert_error
from veritask.sdk import Profile, load_config

HUB = "0x63b245F91692f369195636beE9ee44232A96613C"


def test_init__writes_the_devnet_profile(cli: Cli) -> None:
    result = cli("init")
    path = cli.folder / "veritask.toml"
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"wrote {path}: profile 'devnet' at http://127.0.0.1:8545",
        'no hub address yet: add `hub = "0x..."` to the profile, or use --hub',
    ]
    config = load_config(path)
    assert config.default_profile == "devnet"
    assert config.profiles == (Profile("devnet"),)


def test_init__flags_fill_the_profile(cli: Cli) -> None:
    result = cli(
        "--profile",
        "local",
        "--rpc-url",
        "http://127.0.0.1:18545",
        "--hub",
        HUB.lower(),
        "init",
        "--json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["path"] == str(cli.folder / "veritask.toml")
    assert data["profile"]["hub"] == HUB
    config = load_config(cli.folder / "veritask.toml")
    assert config.default_profile == "local"
    assert config.profiles == (Profile("local", "http://127.0.0.1:18545", HUB),)


def test_init__service_url_flags__written_to_the_profile(cli: Cli) -> None:
    result = cli(
        "--storage-url", "http://127.0.0.1:8601", "--market-url", "http://127.0.0.1:8602", "init"
    )
    assert result.exit_code == 0, result.output
    profile = load_config(cli.folder / "veritask.toml").profiles[0]
    assert (profile.storage_url, profile.market_url) == (
        "http://127.0.0.1:8601",
        "http://127.0.0.1:8602",
    )


def test_init__environment_does_not_leak_into_the_file(cli: Cli) -> None:
    result = cli("init", env={"VERITASK_HUB": HUB, "VERITASK_RPC_URL": "http://10.0.0.1:1"})
    assert result.exit_code == 0, result.output
    assert load_config(cli.folder / "veritask.toml").profiles == (Profile("devnet"),)


def test_init__twice__refused_and_file_unchanged(cli: Cli) -> None:
    assert cli("--hub", HUB, "init").exit_code == 0
    path = cli.folder / "veritask.toml"
    before = path.read_bytes()
    assert_error(cli("init"), 2, f"{path} already exists: pass --force to overwrite it")
    assert path.read_bytes() == before
    forced = cli("init", "--force")
    assert forced.exit_code == 0, forced.output
    assert load_config(path).profiles == (Profile("devnet"),)


def test_init__bad_hub__nothing_written(cli: Cli) -> None:
    assert_error(cli("--hub", "0x1234", "init"), 2, "not an Ethereum address in the hub given")
    assert not (cli.folder / "veritask.toml").exists()


def test_init__bad_rpc_url__nothing_written(cli: Cli) -> None:
    assert_error(
        cli("--rpc-url", "localhost:8545", "init"),
        2,
        "rpc_url given is not an http(s) URL: 'localhost:8545'",
    )
    assert not (cli.folder / "veritask.toml").exists()


def test_usage_error__exit_2(cli: Cli) -> None:
    result = cli("init", "--no-such-flag")
    assert result.exit_code == 2
    assert "No such option" in result.stderr or "no such option" in result.stderr.lower()
