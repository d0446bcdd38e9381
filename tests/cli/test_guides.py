"""Runs the `$ veritask …` examples of the role guides (docs/guides/app-developer.md,
data-owner.md, workerpool-owner.md), each guide in order on a fresh devnet (the deployment of
`./scripts/demo`), and compares their outputs as tests/cli/test_docs.py does (`…` stands for
any text).

What each guide says happens outside the CLI is done here, and only that:
- `veritask wallet create` draws a random key; here it draws the guide's fixed key (named
  below), so that the addresses and order hashes the guides show are reproducible;
- this devnet is not one of `veritask devnet up` (no `devnet fund`): the wallet gets 10 ETH
  of gas (anvil_setBalance) and, for the guides that say so, 100 RLC of tokens sent by the
  deployer (`Devnet.fund`);
- data-owner.md's file `weather.csv` is written with the content the guide shows;
- a storage service runs on loopback and `VERITASK_STORAGE_URL` points at it (for `push`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak

from tests.cli.conftest import Cli
from tests.cli.test_docs import _pattern, _run, doc_examples
from tests.devnet import RLC, Devnet, reverted
from veritask.sdk import wallet as sdk_wallet
from veritask.storage import RunningServer, StorageSettings, serve_in_thread

pytestmark = pytest.mark.anvil

GUIDES = Path(__file__).resolve().parents[2] / "docs" / "guides"
WEATHER_CSV = "date,city,max_c\n2026-07-01,Lyon,31\n2026-07-02,Lyon,33\n"
# Set to print what each example outputs instead of checking it (to update a guide).
RECORD = os.environ.get("VERITASK_GUIDES_RECORD") == "1"


@dataclass(frozen=True)
class Guide:
    page: str
    role: str  # the fixed key is keccak("veritask guide <role>")
    tokens_nrlc: int
    min_examples: int


CASES = [
    Guide("app-developer.md", "app developer", 100 * RLC, 12),
    Guide("data-owner.md", "data owner", 0, 10),
    Guide("workerpool-owner.md", "workerpool owner", 100 * RLC, 10),
]


def guide_account(role: str) -> LocalAccount:
    account: LocalAccount = Account.from_key(keccak(text=f"veritask guide {role}"))
    return account


@pytest.fixture(autouse=True)
def _fresh_chain(devnet: Devnet) -> Iterator[None]:
    with reverted(devnet):
        yield


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with serve_in_thread(StorageSettings(root=tmp_path_factory.mktemp("storage"))) as server:
        yield server


@pytest.mark.parametrize("guide", CASES, ids=[case.page for case in CASES])
def test_guides__every_example_runs_as_shown(
    guide: Guide,
    cli: Cli,
    devnet: Devnet,
    storage: RunningServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cli.env["VERITASK_STORAGE_URL"] = storage.url
    account = guide_account(guide.role)
    monkeypatch.setattr(sdk_wallet.Account, "create", lambda *_, **__: account)
    devnet.fund(account.address, tokens_nrlc=guide.tokens_nrlc)
    (cli.folder / "weather.csv").write_text(WEATHER_CSV)
    examples = doc_examples((GUIDES / guide.page).read_text())
    assert RECORD or len(examples) >= guide.min_examples
    for example in examples:
        code, lines = _run(cli, devnet, example)
        where = f"docs/guides/{guide.page}:{example.line}: $ {example.command}"
        shown = "\n".join(lines)
        if RECORD:
            print(f"\n$ {example.command}  # exit {code}\n{shown}")
            continue
        assert code == example.exit_code, f"{where}\nexit {code}\n{shown}"
        assert len(lines) == len(example.expected), f"{where}\n{shown}"
        for expected, actual in zip(example.expected, lines, strict=True):
            normalized = " ".join(actual.split())
            assert _pattern(expected).fullmatch(normalized), f"{where}\n{expected!r}\n{actual!r}"


def test_guides__the_index_lists_every_guide() -> None:
    index = (GUIDES / "README.md").read_text()
    for case in CASES:
        assert f"({case.page})" in index, case.page
