"""veritask.toml: reading, writing (stable, round-trips), profile selection and the
precedence flags > environment > file > defaults."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from veritask.errors import InvalidInput
from veritask.sdk import (
    CONFIG_FILE_NAME,
    DEVNET_RPC_URL,
    Config,
    Profile,
    default_config,
    find_config_file,
    load_config,
    load_profile,
    render_config,
    save_config,
    select_profile,
)

HUB = "0x63b245F91692f369195636beE9ee44232A96613C"
OTHER_HUB = "0x1111111111111111111111111111111111111111"

TWO_PROFILES = f"""
default_profile = "local"

[profiles.local]
rpc_url = "http://127.0.0.1:18545"
hub = "{HUB.lower()}"
chain_id = 31337

[profiles.prod]
rpc_url = "https://rpc.example.org/v1"
hub = "{OTHER_HUB}"
market_url = "https://market.example.org"
storage_url = "https://storage.example.org"
sms_url = "https://sms.example.org"
wallet = "0x2222222222222222222222222222222222222222"
"""


def _write(folder: Path, text: str) -> Path:
    path = folder / CONFIG_FILE_NAME
    path.write_text(text)
    return path


def test_default_config__one_devnet_profile_on_localhost() -> None:
    profile = select_profile(default_config(), environ={})
    assert profile == Profile("devnet", rpc_url=DEVNET_RPC_URL)
    assert profile.rpc_url == "http://127.0.0.1:8545"
    assert profile.hub is None


def test_load_config__reads_every_field_and_checksums_hub(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, TWO_PROFILES))
    assert config.default_profile == "local"
    local, prod = config.profiles
    assert local == Profile("local", "http://127.0.0.1:18545", HUB, 31337)
    assert prod.market_url == "https://market.example.org"
    assert prod.storage_url == "https://storage.example.org"
    assert prod.sms_url == "https://sms.example.org"
    assert prod.wallet == "0x2222222222222222222222222222222222222222"


def test_render_config__round_trips_and_is_stable(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, TWO_PROFILES))
    text = render_config(config)
    assert render_config(config) == text
    again = load_config(_write(tmp_path, text))
    assert again.profiles == config.profiles
    assert again.default_profile == "local"
    assert "chain_id = 31337\n" in text
    assert "market_url" not in text.split("[profiles.prod]")[0]  # unset keys are left out


def test_render_config__escapes_strings_tomllib_reads_back() -> None:
    odd = 'C:\\keys\\"main"\tkey\x7f.json'
    text = render_config(Config((Profile("x", wallet=odd),), default_profile="x"))
    assert tomllib.loads(text)["profiles"]["x"]["wallet"] == odd


def test_save_config__refuses_to_overwrite_without_flag(tmp_path: Path) -> None:
    path = save_config(default_config(), tmp_path / CONFIG_FILE_NAME)
    before = path.read_bytes()
    other = Config((Profile("devnet", hub=HUB),))
    with pytest.raises(InvalidInput, match=r"already exists: pass --force to overwrite it"):
        save_config(other, path)
    assert path.read_bytes() == before
    save_config(other, path, overwrite=True)
    assert load_config(path).profiles[0].hub == HUB
    assert [p.name for p in tmp_path.iterdir()] == [CONFIG_FILE_NAME]  # no temporary left


def test_select_profile__env_overrides_file_and_args_override_env(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, TWO_PROFILES))
    env = {
        "VERITASK_PROFILE": "prod",
        "VERITASK_RPC_URL": "http://10.0.0.1:8545",
        "VERITASK_HUB": OTHER_HUB,
    }
    from_env = select_profile(config, environ=env)
    assert (from_env.name, from_env.rpc_url, from_env.hub) == (
        "prod",
        "http://10.0.0.1:8545",
        OTHER_HUB,
    )
    from_args = select_profile(
        config, name="local", rpc_url="http://127.0.0.1:1", hub=HUB.lower(), environ=env
    )
    assert (from_args.name, from_args.rpc_url, from_args.hub) == (
        "local",
        "http://127.0.0.1:1",
        HUB,
    )
    assert from_args.chain_id == 31337  # fields not overridden come from the file


def test_select_profile__service_urls__flags_over_env_over_file(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, TWO_PROFILES))
    env = {"VERITASK_MARKET_URL": "http://m.env", "VERITASK_STORAGE_URL": "http://s.env"}
    from_env = select_profile(config, environ=env)
    assert (from_env.market_url, from_env.storage_url) == ("http://m.env", "http://s.env")
    from_flags = select_profile(config, environ=env, storage_url="http://s.flag")
    assert (from_flags.market_url, from_flags.storage_url) == ("http://m.env", "http://s.flag")
    with pytest.raises(InvalidInput, match="market_url in VERITASK_MARKET_URL is not an http"):
        select_profile(config, environ={"VERITASK_MARKET_URL": "ftp://m"})


def test_select_profile__unknown_name__lists_known_profiles(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, TWO_PROFILES))
    with pytest.raises(InvalidInput) as raised:
        select_profile(config, name="staging", environ={})
    assert str(raised.value) == (
        f"unknown chain profile 'staging' in {tmp_path / CONFIG_FILE_NAME} (known: local, "
        "prod): pick one of them with --profile, or add a [profiles.staging] table"
    )


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"rpc_url": "127.0.0.1:8545"}, "rpc_url given is not an http(s) URL: '127.0.0.1:8545'"),
        ({"hub": "0x1234"}, "not an Ethereum address in the hub given: '0x1234'"),
        ({"storage_url": "storage:8601"}, "storage_url given is not an http(s) URL"),
    ],
)
def test_select_profile__bad_override__invalid_input(
    override: dict[str, str], message: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        select_profile(default_config(), environ={}, **override)  # type: ignore[arg-type]
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[profiles.devnet]\nrpcurl = 'http://x'\n", "unknown key 'rpcurl' in profile 'devnet'"),
        ("[profiles.devnet]\nrpc_url = 'ftp://x'\n", "rpc_url in profile 'devnet'"),
        ("[profiles.devnet]\nchain_id = 'one'\n", "chain_id in profile 'devnet'"),
        ("[profiles.devnet]\nhub = '0xabc'\n", "not an Ethereum address in hub in profile"),
        ("default_profile = 'main'\n", "unknown chain profile 'main'"),
        ("colour = 'blue'\n", "unknown key 'colour' in"),
        ("[profiles.devnet\n", "is not valid TOML"),
    ],
)
def test_load_config__bad_file__names_the_problem(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=None) as raised:
        load_config(_write(tmp_path, text))
    assert message in str(raised.value)


def test_find_config_file__nearest_in_parents_or_env(tmp_path: Path) -> None:
    path = _write(tmp_path, "")
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    assert find_config_file(nested, environ={}) == path
    assert find_config_file(tmp_path / "a", environ={"VERITASK_CONFIG": str(path)}) == path
    with pytest.raises(InvalidInput, match="VERITASK_CONFIG points to"):
        find_config_file(nested, environ={"VERITASK_CONFIG": str(tmp_path / "missing.toml")})


def test_load_profile__without_a_file__built_in_devnet(tmp_path: Path) -> None:
    assert load_profile(start=tmp_path, environ={}) == Profile("devnet")
    assert load_profile(start=tmp_path, environ={"VERITASK_HUB": HUB}).hub == HUB


def test_scheduler_url__read_rendered_and_round_trips(tmp_path: Path) -> None:
    text = '[profiles.devnet]\nscheduler_url = "http://127.0.0.1:8600"\n'
    config = load_config(_write(tmp_path, text))
    assert config.profiles[0].scheduler_url == "http://127.0.0.1:8600"
    rendered = render_config(config)
    assert 'scheduler_url = "http://127.0.0.1:8600"\n' in rendered
    assert load_config(_write(tmp_path, rendered)).profiles == config.profiles
    assert "scheduler_url" not in render_config(default_config())  # optional: left out


def test_select_profile__scheduler_url__flag_over_env_over_file(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, '[profiles.devnet]\nscheduler_url = "http://s.file"\n'))
    assert select_profile(config, environ={}).scheduler_url == "http://s.file"
    env = {"VERITASK_SCHEDULER_URL": "http://s.env"}
    assert select_profile(config, environ=env).scheduler_url == "http://s.env"
    flagged = select_profile(config, environ=env, scheduler_url="https://s.flag")
    assert flagged.scheduler_url == "https://s.flag"
    assert load_profile(start=tmp_path, environ=env).scheduler_url == "http://s.env"


@pytest.mark.parametrize(
    ("text", "environ", "given", "message"),
    [
        (
            "[profiles.devnet]\nscheduler_url = 'scheduler:8600'\n",
            {},
            None,
            "scheduler_url in profile 'devnet'",
        ),
        (
            "",
            {"VERITASK_SCHEDULER_URL": "ftp://s"},
            None,
            "scheduler_url in VERITASK_SCHEDULER_URL",
        ),
        ("", {}, "127.0.0.1:8600", "scheduler_url given is not an http(s) URL"),
    ],
)
def test_scheduler_url__not_http__invalid_input(
    tmp_path: Path, text: str, environ: dict[str, str], given: str | None, message: str
) -> None:
    def select() -> None:
        config = load_config(_write(tmp_path, text)) if text else default_config()
        select_profile(config, environ=environ, scheduler_url=given)

    with pytest.raises(InvalidInput) as raised:
        select()
    assert message in str(raised.value)
