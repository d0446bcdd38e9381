"""Wallets: encrypted V3 keystores, choosing the wallet, unlocking, and the password sources.
Keystores use a fast KDF here; one test checks the secure default."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from eth_account import Account
from eth_utils.crypto import keccak

from veritask.errors import InvalidInput
from veritask.sdk import (
    SECURE_KDF,
    KeystoreKdf,
    create_wallet,
    default_wallet_dir,
    find_wallet,
    import_wallet,
    list_wallets,
    resolve_password,
    unlock_wallet,
)

FAST_KDF = KeystoreKdf("pbkdf2", 2)
KEY = "0x" + keccak(text="veritask sdk wallet test").hex()
ADDRESS = Account.from_key(KEY).address


def test_create_wallet__encrypted_keystore_only_the_owner_reads(tmp_path: Path) -> None:
    wallet = create_wallet(tmp_path / "wallets", "pw", kdf=FAST_KDF)
    assert wallet.path == tmp_path / "wallets" / f"{wallet.address}.json"
    keystore = json.loads(wallet.path.read_text())
    assert keystore["version"] == 3
    assert keystore["crypto"]["kdf"] == "pbkdf2"
    assert stat.S_IMODE(wallet.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(wallet.path.parent.stat().st_mode) == 0o700
    assert unlock_wallet(wallet, "pw").address == wallet.address
    assert list_wallets(tmp_path / "wallets") == [wallet]


def test_create_wallet__secure_default_is_scrypt_2_pow_18(tmp_path: Path) -> None:
    assert KeystoreKdf("scrypt", 2**18) == SECURE_KDF
    wallet = create_wallet(tmp_path, "pw")
    params = json.loads(wallet.path.read_text())["crypto"]["kdfparams"]
    assert (params["n"], params["r"], params["p"]) == (2**18, 8, 1)


def test_create_wallet__empty_password__refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="empty password"):
        create_wallet(tmp_path, "", kdf=FAST_KDF)
    assert list(tmp_path.iterdir()) == []


def test_import_wallet__same_address_as_the_key(tmp_path: Path) -> None:
    wallet = import_wallet(tmp_path, KEY.removeprefix("0x") + "\n", "pw", kdf=FAST_KDF)
    assert wallet.address == ADDRESS
    assert "0x" + bytes(unlock_wallet(wallet, "pw").key).hex() == KEY


def test_import_wallet__twice__refused_and_keystore_untouched(tmp_path: Path) -> None:
    wallet = import_wallet(tmp_path, KEY, "pw", kdf=FAST_KDF)
    before = wallet.path.read_bytes()
    with pytest.raises(InvalidInput, match=f"a wallet for {ADDRESS} already exists"):
        import_wallet(tmp_path, KEY, "other", kdf=FAST_KDF)
    assert wallet.path.read_bytes() == before
    assert len(list(tmp_path.iterdir())) == 1


@pytest.mark.parametrize("bad_key", [KEY[:-2], KEY + "00", "0x" + "zz" * 32, "0x" + "00" * 32])
def test_import_wallet__bad_key__refused_without_echoing_it(tmp_path: Path, bad_key: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        import_wallet(tmp_path, bad_key, "pw", kdf=FAST_KDF)
    message = str(raised.value)
    assert "private key" in message
    assert bad_key.removeprefix("0x")[:16] not in message
    assert list(tmp_path.iterdir()) == []


def test_unlock_wallet__wrong_password__says_which_wallet_and_keeps_keystore(
    tmp_path: Path,
) -> None:
    wallet = import_wallet(tmp_path, KEY, "pw", kdf=FAST_KDF)
    before = wallet.path.read_bytes()
    with pytest.raises(InvalidInput) as raised:
        unlock_wallet(wallet, "wrong")
    assert str(raised.value) == (
        f"wrong password for wallet {ADDRESS}: check VERITASK_PASSWORD, --password-file or "
        "the password you typed"
    )
    assert wallet.path.read_bytes() == before


def test_find_wallet__the_only_one_by_address_or_by_path(tmp_path: Path) -> None:
    wallet = import_wallet(tmp_path, KEY, "pw", kdf=FAST_KDF)
    assert find_wallet(tmp_path) == wallet
    assert find_wallet(tmp_path, ADDRESS.lower()) == wallet
    assert find_wallet(tmp_path / "elsewhere", str(wallet.path)) == wallet


def test_find_wallet__none__says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as raised:
        find_wallet(tmp_path / "missing")
    assert str(raised.value) == (
        f"no wallet in {tmp_path / 'missing'}: create one with `veritask wallet create` or "
        "import a key with `veritask wallet import`"
    )


def test_find_wallet__several__asks_to_choose(tmp_path: Path) -> None:
    first = import_wallet(tmp_path, KEY, "pw", kdf=FAST_KDF)
    second = create_wallet(tmp_path, "pw", kdf=FAST_KDF)
    with pytest.raises(InvalidInput, match=r"2 wallets in .*: choose one with --wallet ADDRESS"):
        find_wallet(tmp_path)
    assert find_wallet(tmp_path, second.address) == second
    assert find_wallet(tmp_path, first.address) == first


def test_find_wallet__unknown_or_malformed_selector__invalid_input(tmp_path: Path) -> None:
    stranger = "0x" + "ab" * 20
    with pytest.raises(InvalidInput, match=r"(?i)no wallet for 0xabab.* in "):
        find_wallet(tmp_path, stranger)
    with pytest.raises(InvalidInput, match="not an Ethereum address"):
        find_wallet(tmp_path, "alice")
    with pytest.raises(InvalidInput, match="no keystore at"):
        find_wallet(tmp_path, str(tmp_path / "nothing.json"))


def test_find_wallet__not_a_keystore__names_the_file(tmp_path: Path) -> None:
    path = tmp_path / f"{ADDRESS}.json"
    path.write_text("not json")
    with pytest.raises(InvalidInput, match=f"{path} is not a keystore"):
        find_wallet(tmp_path)


def test_default_wallet_dir__env_then_home(tmp_path: Path) -> None:
    assert default_wallet_dir({"VERITASK_WALLET_DIR": str(tmp_path)}) == tmp_path
    assert default_wallet_dir({}) == Path.home() / ".veritask" / "wallets"


def test_resolve_password__explicit_then_env_then_file(tmp_path: Path) -> None:
    file = tmp_path / "password"
    file.write_text("from file\n")
    env = {"VERITASK_PASSWORD": "from env"}
    assert resolve_password("explicit", password_file=file, environ=env) == "explicit"
    assert resolve_password(password_file=file, environ=env) == "from env"
    assert resolve_password(password_file=file, environ={}) == "from file"
    assert resolve_password(environ={"VERITASK_PASSWORD_FILE": str(file)}) == "from file"
    assert resolve_password(environ={}) is None
    assert resolve_password(environ={"VERITASK_PASSWORD": ""}) == ""


def test_resolve_password__missing_file__invalid_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"cannot read the password file .*missing"):
        resolve_password(password_file=tmp_path / "missing", environ={})
