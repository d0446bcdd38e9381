"""The project file `veritask.toml`: named chain profiles, and how environment variables
and explicit arguments override them.

It reads with `tomllib` and writes a small, stable TOML subset itself (one table per
profile, keys in a fixed order, unset keys left out). It never talks to a node.

Precedence, highest first: explicit arguments (the CLI's flags), environment variables
(`VERITASK_PROFILE`, `VERITASK_RPC_URL`, `VERITASK_HUB`, `VERITASK_<SERVICE>_URL`), the
project file, built-in defaults (one profile "devnet" at http://127.0.0.1:8545).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from veritask.errors import InvalidInput
from veritask.files import write_atomically

from .addresses import checksum_address

__all__ = [
    "CONFIG_FILE_NAME",
    "DEFAULT_PROFILE_NAME",
    "DEVNET_RPC_URL",
    "Config",
    "Profile",
    "default_config",
    "find_config_file",
    "load_config",
    "load_profile",
    "render_config",
    "save_config",
    "select_profile",
]

CONFIG_FILE_NAME = "veritask.toml"
DEFAULT_PROFILE_NAME = "devnet"
DEVNET_RPC_URL = "http://127.0.0.1:8545"

# Profile names become TOML bare keys (`[profiles.<name>]`), so they keep to that alphabet.
_PROFILE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
_URL_KEYS = ("rpc_url", "market_url", "storage_url", "sms_url", "scheduler_url")


@dataclass(frozen=True)
class Profile:
    """Where one chain and its services are. Only `rpc_url` and `hub` are needed to use the
    protocol: the token and registry addresses are read from the hub."""

    name: str
    rpc_url: str = DEVNET_RPC_URL
    hub: str | None = None
    chain_id: int | None = None  # when set, the node must report this chain id
    market_url: str | None = None
    storage_url: str | None = None
    sms_url: str | None = None  # the secret-management service
    # The scheduler of the workerpool the requester uses (it serves a task's logs); one
    # workerpool per devnet. Later the workerpool could publish it on chain.
    scheduler_url: str | None = None
    wallet: str | None = None  # the default wallet: an address or a keystore path


_PROFILE_KEYS = tuple(f.name for f in fields(Profile) if f.name != "name")


@dataclass(frozen=True)
class Config:
    """The profiles of one project file (or the built-in defaults when `path` is None)."""

    profiles: tuple[Profile, ...]
    default_profile: str = DEFAULT_PROFILE_NAME
    path: Path | None = None

    def profile(self, name: str) -> Profile:
        for profile in self.profiles:
            if profile.name == name:
                return profile
        where = str(self.path) if self.path else "the built-in defaults"
        known = ", ".join(p.name for p in self.profiles) or "none"
        raise InvalidInput(
            f"unknown chain profile {name!r} in {where} (known: {known}): "
            f"pick one of them with --profile, or add a [profiles.{name}] table"
        )


def default_config() -> Config:
    return Config(profiles=(Profile(DEFAULT_PROFILE_NAME),))


def find_config_file(
    start: Path | None = None, environ: Mapping[str, str] | None = None
) -> Path | None:
    """`$VERITASK_CONFIG`, else the nearest `veritask.toml` in `start` (default: the current
    folder) or its parents, else None."""
    env = os.environ if environ is None else environ
    explicit = env.get("VERITASK_CONFIG")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise InvalidInput(
                f"VERITASK_CONFIG points to {path}, which does not exist: create it with "
                "`veritask init`, or unset VERITASK_CONFIG"
            )
        return path
    folder = (start or Path.cwd()).resolve()
    for candidate_folder in (folder, *folder.parents):
        candidate = candidate_folder / CONFIG_FILE_NAME
        if candidate.is_file():
            return candidate
    return None


def _check_url(value: object, key: str, where: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{key} {where} must be a string such as {DEVNET_RPC_URL!r}")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput(f"{key} {where} is not an http(s) URL: {value!r}")
    return value


def _profile_from_table(name: str, table: Mapping[str, Any], path: Path) -> Profile:
    where = f"in profile {name!r} of {path}"
    if not _PROFILE_NAME.match(name):
        raise InvalidInput(
            f"bad profile name {name!r} in {path}: use letters, digits, '-' and '_' only"
        )
    unknown = sorted(set(table) - set(_PROFILE_KEYS))
    if unknown:
        raise InvalidInput(
            f"unknown key {unknown[0]!r} {where}: expected one of {', '.join(_PROFILE_KEYS)}"
        )
    values: dict[str, Any] = {}
    for key in _URL_KEYS:
        if key in table:
            values[key] = _check_url(table[key], key, where)
    if "hub" in table:
        if not isinstance(table["hub"], str):
            raise InvalidInput(f"hub {where} must be a string address")
        values["hub"] = checksum_address(table["hub"], source=f"hub {where}")
    if "chain_id" in table:
        chain_id = table["chain_id"]
        if not isinstance(chain_id, int) or isinstance(chain_id, bool) or chain_id <= 0:
            raise InvalidInput(f"chain_id {where} must be a positive integer such as 31337")
        values["chain_id"] = chain_id
    if "wallet" in table:
        if not isinstance(table["wallet"], str) or not table["wallet"]:
            raise InvalidInput(f"wallet {where} must be an address or a keystore path")
        values["wallet"] = table["wallet"]
    return Profile(name, **values)


def load_config(path: Path) -> Config:
    """Reads and checks a project file; every problem is an `InvalidInput` naming the file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path} is not valid TOML: {exc}") from exc
    unknown = sorted(set(data) - {"default_profile", "profiles"})
    if unknown:
        raise InvalidInput(
            f"unknown key {unknown[0]!r} in {path}: expected default_profile and "
            "[profiles.<name>] tables"
        )
    tables = data.get("profiles", {})
    if not isinstance(tables, dict) or not all(isinstance(t, dict) for t in tables.values()):
        raise InvalidInput(f"profiles in {path} must be tables such as [profiles.devnet]")
    profiles = tuple(_profile_from_table(name, table, path) for name, table in tables.items())
    default = data.get("default_profile", DEFAULT_PROFILE_NAME)
    if not isinstance(default, str):
        raise InvalidInput(f"default_profile in {path} must be a profile name")
    config = Config(profiles=profiles, default_profile=default, path=path)
    if profiles or "default_profile" in data:
        config.profile(default)  # the default must exist
    return config


def _toml_string(value: str) -> str:
    escaped = []
    for char in value:
        if char in '"\\':
            escaped.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            escaped.append(f"\\u{ord(char):04x}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'


def render_config(config: Config) -> str:
    """The TOML text of `config`: stable (same input, same bytes) and readable by tomllib."""
    lines = [
        "# Veritask project file: chain profiles. See docs/cli.md.",
        "# Environment variables (VERITASK_PROFILE, VERITASK_RPC_URL, VERITASK_HUB) and",
        "# command-line flags override these values.",
        f"default_profile = {_toml_string(config.default_profile)}",
    ]
    for profile in config.profiles:
        if not _PROFILE_NAME.match(profile.name):
            raise InvalidInput(
                f"bad profile name {profile.name!r}: use letters, digits, '-' and '_' only"
            )
        lines += ["", f"[profiles.{profile.name}]"]
        for key in _PROFILE_KEYS:
            value = getattr(profile, key)
            if value is None:
                continue
            rendered = str(value) if isinstance(value, int) else _toml_string(value)
            lines.append(f"{key} = {rendered}")
    return "\n".join(lines) + "\n"


def save_config(config: Config, path: Path, *, overwrite: bool = False) -> Path:
    """Writes `config` to `path`; refuses to replace an existing file unless `overwrite`."""
    text = render_config(config)
    if path.exists() and not overwrite:
        raise InvalidInput(f"{path} already exists: pass --force to overwrite it")
    try:
        write_atomically(path, text)
    except OSError as exc:
        raise InvalidInput(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path


def select_profile(
    config: Config,
    *,
    name: str | None = None,
    rpc_url: str | None = None,
    hub: str | None = None,
    environ: Mapping[str, str] | None = None,
    market_url: str | None = None,
    storage_url: str | None = None,
    sms_url: str | None = None,
    scheduler_url: str | None = None,
) -> Profile:
    """The profile to use: `name`, else `$VERITASK_PROFILE`, else the file's default; then
    `rpc_url` / `$VERITASK_RPC_URL`, `hub` / `$VERITASK_HUB` and `$VERITASK_MARKET_URL`,
    `$VERITASK_STORAGE_URL`, `$VERITASK_SMS_URL`, `$VERITASK_SCHEDULER_URL` override its
    fields (the arguments `market_url`, `storage_url`, `sms_url` and `scheduler_url` win
    over those variables)."""
    env = os.environ if environ is None else environ
    profile = config.profile(name or env.get("VERITASK_PROFILE") or config.default_profile)
    if rpc_url:
        profile = replace(profile, rpc_url=_check_url(rpc_url, "rpc_url", "given"))
    elif env.get("VERITASK_RPC_URL"):
        url = env["VERITASK_RPC_URL"]
        profile = replace(profile, rpc_url=_check_url(url, "rpc_url", "in VERITASK_RPC_URL"))
    if hub:
        profile = replace(profile, hub=checksum_address(hub, source="the hub given"))
    elif env.get("VERITASK_HUB"):
        profile = replace(profile, hub=checksum_address(env["VERITASK_HUB"], source="VERITASK_HUB"))

    def service_url(key: str, given: str | None, current: str | None) -> str | None:
        if given:
            return _check_url(given, key, "given")
        variable = f"VERITASK_{key.upper()}"
        value = env.get(variable)
        return _check_url(value, key, f"in {variable}") if value else current

    return replace(
        profile,
        market_url=service_url("market_url", market_url, profile.market_url),
        storage_url=service_url("storage_url", storage_url, profile.storage_url),
        sms_url=service_url("sms_url", sms_url, profile.sms_url),
        scheduler_url=service_url("scheduler_url", scheduler_url, profile.scheduler_url),
    )


def load_profile(
    *,
    name: str | None = None,
    rpc_url: str | None = None,
    hub: str | None = None,
    start: Path | None = None,
    environ: Mapping[str, str] | None = None,
    market_url: str | None = None,
    storage_url: str | None = None,
    scheduler_url: str | None = None,
) -> Profile:
    """The profile to use from the nearest project file (or the built-in defaults)."""
    path = find_config_file(start, environ)
    config = load_config(path) if path else default_config()
    return select_profile(
        config,
        name=name,
        rpc_url=rpc_url,
        hub=hub,
        environ=environ,
        market_url=market_url,
        storage_url=storage_url,
        scheduler_url=scheduler_url,
    )
