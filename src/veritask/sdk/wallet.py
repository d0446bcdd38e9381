"""Wallets: encrypted V3 keystores (eth-account) in a folder, one `<address>.json` per key.

A private key is in clear only in memory, after `unlock_wallet`: it is never written to disk
unencrypted and never put in an error message. Keystores are created with mode 0600 in a
0700 folder, and an existing keystore is never overwritten.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from eth_account import Account
from eth_account.signers.local import LocalAccount

from veritask.errors import InvalidInput
from veritask.files import write_atomically

from .addresses import checksum_address

__all__ = [
    "SECURE_KDF",
    "KeystoreKdf",
    "Wallet",
    "create_wallet",
    "default_wallet_dir",
    "find_wallet",
    "import_wallet",
    "list_wallets",
    "load_key_file",
    "resolve_password",
    "unlock_wallet",
]

_PRIVATE_KEY = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")


@dataclass(frozen=True)
class KeystoreKdf:
    """The key-derivation function that turns a password into a keystore's encryption key,
    and its work factor: scrypt's `n` (a power of two) or pbkdf2's iteration count."""

    name: Literal["scrypt", "pbkdf2"]
    work: int


# geth's standard scrypt parameters (n = 2**18, r = 8, p = 1): about a second per unlock and
# 256 MiB of memory, which is what makes guessing a password expensive.
SECURE_KDF = KeystoreKdf("scrypt", 2**18)


@dataclass(frozen=True)
class Wallet:
    """A keystore on disk; `address` is public, the key inside stays encrypted."""

    address: str
    path: Path


def default_wallet_dir(environ: Mapping[str, str] | None = None) -> Path:
    """`$VERITASK_WALLET_DIR`, else `~/.veritask/wallets`."""
    env = os.environ if environ is None else environ
    explicit = env.get("VERITASK_WALLET_DIR")
    return Path(explicit) if explicit else Path.home() / ".veritask" / "wallets"


def _read_keystore(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInput(f"cannot read keystore {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise InvalidInput(f"{path} is not a keystore (not JSON): {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("address"), str):
        raise InvalidInput(f"{path} is not a V3 keystore: it has no address")
    return data


def _wallet_at(path: Path) -> Wallet:
    # V3 keystores store the address without 0x, in any case: it is not a checksum.
    address = _read_keystore(path)["address"].lower().removeprefix("0x")
    return Wallet(checksum_address("0x" + address, source=f"keystore {path}"), path)


def list_wallets(directory: Path) -> list[Wallet]:
    """The keystores of `directory` (named `0x<address>.json`), sorted by address."""
    if not directory.is_dir():
        return []
    paths = sorted(directory.glob("0x*.json"), key=lambda p: p.name.lower())
    return [_wallet_at(path) for path in paths]


def _write_keystore(directory: Path, address: str, keystore: dict[str, Any]) -> Wallet:
    path = directory / f"{address}.json"
    if path.exists():
        raise InvalidInput(f"a wallet for {address} already exists: {path}")
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        # exclusive: a concurrent create of the same wallet cannot be overwritten.
        write_atomically(path, json.dumps(keystore), mode=0o600, exclusive=True)
    except FileExistsError as exc:
        raise InvalidInput(f"a wallet for {address} already exists: {path}") from exc
    except OSError as exc:
        raise InvalidInput(f"cannot write keystore {path}: {exc.strerror or exc}") from exc
    return Wallet(address, path)


def _check_new_password(password: str) -> None:
    if not password:
        raise InvalidInput("empty password: choose one, it encrypts the private key on disk")


def _encrypt(key: bytes, password: str, kdf: KeystoreKdf) -> dict[str, Any]:
    return Account.encrypt(key, password, kdf=kdf.name, iterations=kdf.work)


def create_wallet(directory: Path, password: str, *, kdf: KeystoreKdf = SECURE_KDF) -> Wallet:
    """A new random key, encrypted with `password` into `directory`."""
    _check_new_password(password)
    account: LocalAccount = Account.create()
    return _write_keystore(directory, account.address, _encrypt(account.key, password, kdf))


def import_wallet(
    directory: Path, private_key: str, password: str, *, kdf: KeystoreKdf = SECURE_KDF
) -> Wallet:
    """Encrypts an existing key (64 hex digits, 0x optional) with `password` into
    `directory`."""
    _check_new_password(password)
    text = private_key.strip()
    if not _PRIVATE_KEY.match(text):
        raise InvalidInput("not a private key: expected 64 hexadecimal digits, with or without 0x")
    try:
        account: LocalAccount = Account.from_key(text)
    except ValueError as exc:
        # No detail from the exception: it could quote the key.
        raise InvalidInput("not a valid secp256k1 private key (zero or too large)") from exc
    return _write_keystore(directory, account.address, _encrypt(account.key, password, kdf))


def find_wallet(directory: Path, selector: str | None = None) -> Wallet:
    """The wallet `selector` names (an address, or a keystore path ending in .json); without
    one, the only wallet in `directory`."""
    if selector:
        if selector.endswith(".json") or os.sep in selector:
            path = Path(selector).expanduser()
            if not path.is_file():
                raise InvalidInput(f"no keystore at {path}: check --wallet or the profile")
            return _wallet_at(path)
        address = checksum_address(selector, source="the wallet selector")
        path = directory / f"{address}.json"
        if not path.is_file():
            raise InvalidInput(
                f"no wallet for {address} in {directory}: import its key with "
                "`veritask wallet import`, or point VERITASK_WALLET_DIR to its folder"
            )
        return _wallet_at(path)
    wallets = list_wallets(directory)
    if not wallets:
        raise InvalidInput(
            f"no wallet in {directory}: create one with `veritask wallet create` or import a "
            "key with `veritask wallet import`"
        )
    if len(wallets) > 1:
        addresses = ", ".join(w.address for w in wallets)
        raise InvalidInput(
            f"{len(wallets)} wallets in {directory} ({addresses}): choose one with "
            '--wallet ADDRESS or `wallet = "0x..."` in the profile'
        )
    return wallets[0]


def unlock_wallet(wallet: Wallet, password: str) -> LocalAccount:
    """The account inside `wallet`; a wrong password raises `InvalidInput`."""
    keystore = _read_keystore(wallet.path)
    try:
        key = Account.decrypt(keystore, password)
    except ValueError as exc:
        raise InvalidInput(
            f"wrong password for wallet {wallet.address}: check VERITASK_PASSWORD, "
            "--password-file or the password you typed"
        ) from exc
    account: LocalAccount = Account.from_key(key)
    if account.address != wallet.address:
        raise InvalidInput(
            f"keystore {wallet.path} holds the key of {account.address}, not of "
            f"{wallet.address}: the file was edited; import the key again"
        )
    return account


def resolve_password(
    explicit: str | None = None,
    *,
    password_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> str | None:
    """The password from, in order: `explicit`, `$VERITASK_PASSWORD`, `password_file` or
    `$VERITASK_PASSWORD_FILE` (one trailing newline removed); None when none is given, so
    that an interactive caller can prompt."""
    env = os.environ if environ is None else environ
    if explicit is not None:
        return explicit
    if "VERITASK_PASSWORD" in env:
        return env["VERITASK_PASSWORD"]
    file = password_file or (
        Path(env["VERITASK_PASSWORD_FILE"]) if env.get("VERITASK_PASSWORD_FILE") else None
    )
    if file is None:
        return None
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise InvalidInput(f"cannot read the password file {file}: {reason or exc}") from exc
    return text.removesuffix("\n").removesuffix("\r")


def load_key_file(key_file: Path, password: str = "") -> LocalAccount:
    """A service's key from a file: a 0x hex private key, or a V3 keystore unlocked by
    `password` (the scheduler's and the workers' wallets)."""
    try:
        text = key_file.read_text().strip()
    except OSError as exc:
        raise InvalidInput(f"cannot read key file {key_file}: {exc.strerror or exc}") from exc
    try:
        key: bytes = (
            bytes(Account.decrypt(json.loads(text), password))
            if text.startswith("{")
            else bytes.fromhex(text.removeprefix("0x"))
        )
        account: LocalAccount = Account.from_key(key)
    except ValueError as exc:
        raise InvalidInput(
            f"{key_file} holds neither a hex private key nor a keystore this password opens"
        ) from exc
    return account
