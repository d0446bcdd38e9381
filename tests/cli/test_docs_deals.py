"""Runs the deal and task examples of docs/cli.md, which need a deal that a fresh devnet does
not have: they sit in ```console deal blocks (which tests/cli/test_docs.py skips), run here
in order on a devnet holding the deal of tests/deals_on_devnet.py, requested by the docs'
wallet; a ```console deal-after-final-deadline block runs after moving the chain's clock
past the deal's final deadline."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from tests.cli.conftest import Cli
from tests.cli.test_docs import ANVIL_KEY_0, DOC, _pattern, _run, doc_examples
from tests.deals_on_devnet import FINAL_AFTER_S, make_deal, travel
from tests.devnet import Devnet, reverted

pytestmark = pytest.mark.anvil

BLOCKS = ("deal", "deal-after-final-deadline")
_FENCE = re.compile(r"^```console( [a-z-]+)?$", re.MULTILINE)


@pytest.fixture(autouse=True)
def _fresh_chain(devnet: Devnet) -> Iterator[None]:
    with reverted(devnet):
        yield


def _only(text: str, tag: str) -> str:
    """The page with only the ```console <tag> blocks left as ```console blocks."""

    def fence(match: re.Match[str]) -> str:
        return "```console" if (match[1] or "").strip() == tag else "```text"

    return _FENCE.sub(fence, text)


def test_docs_cli__deal_examples_run_as_shown(cli: Cli, devnet: Devnet) -> None:
    requester: LocalAccount = Account.from_key(ANVIL_KEY_0)
    deal = make_deal(devnet, requester)
    # The project of the page's first session: its profile and the dev.key wallet.
    init = cli("--hub", devnet.hub, "init", env={"VERITASK_RPC_URL": devnet.url})
    assert init.exit_code == 0, init.output
    cli.import_key(ANVIL_KEY_0, password="devnet")
    text = DOC.read_text()
    assert deal.deal_hex in text, f"docs/cli.md shows another deal id than {deal.deal_hex}"
    ran = 0
    for tag in BLOCKS:
        if tag == "deal-after-final-deadline":
            travel(devnet, FINAL_AFTER_S)
        for example in doc_examples(_only(text, tag)):
            code, lines = _run(cli, devnet, example)
            where = f"docs/cli.md:{example.line}: $ {example.command}"
            shown = "\n".join(lines)
            assert code == example.exit_code, f"{where}\nexit {code}\n{shown}"
            assert len(lines) == len(example.expected), f"{where}\n{shown}"
            for expected, actual in zip(example.expected, lines, strict=True):
                normalized = " ".join(actual.split())
                assert _pattern(expected).fullmatch(normalized), (
                    f"{where}\n{expected!r}\n{actual!r}"
                )
            ran += 1
    assert ran >= 6
