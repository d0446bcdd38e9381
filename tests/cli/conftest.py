"""The CLI in a sandbox: typer's runner in a fresh folder, its own wallet folder, no
VERITASK_* variable from the outer environment, and a fast keystore KDF."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from tests.devnet import Devnet, running_devnet
from veritask.cli.main import app
from veritask.cli.state import CliState
from veritask.sdk import KeystoreKdf

FAST_KDF = KeystoreKdf("pbkdf2", 2)
VERITASK_ENV = (
    "VERITASK_PROFILE",
    "VERITASK_RPC_URL",
    "VERITASK_HUB",
    "VERITASK_CONFIG",
    "VERITASK_PASSWORD",
    "VERITASK_PASSWORD_FILE",
    "VERITASK_WALLET_DIR",
    "VERITASK_MARKET_URL",
    "VERITASK_STORAGE_URL",
    "VERITASK_SMS_URL",
)


@dataclass
class Cli:
    folder: Path
    wallet_dir: Path
    env: dict[str, str | None] = field(default_factory=dict)

    def __call__(
        self, *args: str, env: Mapping[str, str | None] | None = None, input: str | None = None
    ) -> Result:
        return CliRunner().invoke(
            app,
            list(args),
            env={**self.env, **(env or {})},
            input=input,
            obj=CliState(keystore_kdf=FAST_KDF),
        )

    def import_key(self, private_key: str, password: str = "pw") -> str:
        """Imports `private_key` as a wallet; returns its address."""
        key_file = self.folder / "imported.key"
        key_file.write_text(private_key)
        result = self(
            "--json",
            "wallet",
            "import",
            "--key-file",
            str(key_file),
            env={"VERITASK_PASSWORD": password},
        )
        key_file.unlink()
        assert result.exit_code == 0, result.output
        address: str = json.loads(result.stdout)["address"]
        return address


def assert_error(result: Result, exit_code: int, message: str, *, prompted: bool = False) -> None:
    """One line `error: <message...>` on stderr (after the prompts, when `prompted`),
    nothing on stdout, no traceback."""
    assert result.exit_code == exit_code, result.output
    # typer's runner echoes the newline of hidden input on stdout; a terminal does not.
    assert (result.stdout.strip() if prompted else result.stdout) == ""
    lines = result.stderr.splitlines()
    assert lines, "nothing on stderr"
    # After a prompt, the runner leaves the error on the prompt's line.
    error = lines[-1][lines[-1].find("error: ") :] if prompted else lines[-1]
    assert error.startswith(f"error: {message}"), result.stderr
    assert len(lines) == 1 or prompted, result.stderr
    assert "Traceback" not in result.output


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    folder = tmp_path / "project"
    folder.mkdir()
    monkeypatch.chdir(folder)
    env: dict[str, str | None] = dict.fromkeys(VERITASK_ENV)
    wallet_dir = tmp_path / "wallets"
    env["VERITASK_WALLET_DIR"] = str(wallet_dir)
    env["COLUMNS"] = "100"
    # No devnet of this machine leaks into the built-in profile of a test.
    env["VERITASK_DEVNET_DIR"] = str(tmp_path / "no-devnet")
    return Cli(folder, wallet_dir, env)


@pytest.fixture(scope="module")
def devnet() -> Iterator[Devnet]:
    with running_devnet() as node:
        yield node
