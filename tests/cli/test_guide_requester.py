"""Runs the `$ veritask …` examples of docs/guides/requester.md, in order, on a fresh devnet
(the deployment of `./scripts/demo`), and checks their outputs and exit codes (`…` stands
for any text). The sandbox is what the guide says:

- `dev.key` holds anvil's first development key, whose address the deployer sent 100 RLC;
- an app developer and a workerpool owner (the demo accounts "guide requester app
  developer" and "guide requester workerpool owner") registered an app and a workerpool and
  sent their signed orders as `app-order.json` and `workerpool-order.json`, with the fields
  the guide lists;
- the ```console after-final-deadline blocks run after the chain's clock moved past the
  deal's final deadline (10 C = 3 000 s in category 0).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_utils.crypto import keccak

from tests.cli.conftest import Cli
from tests.cli.test_docs import ANVIL_ADDRESS_0, ANVIL_KEY_0, _pattern, _run, doc_examples
from tests.deals_on_devnet import travel
from tests.devnet import RLC, Devnet, demo_account, reverted
from veritask.domain.orders import AppOrder, WorkerpoolOrder
from veritask.domain.signing import sign_order
from veritask.sdk import save_order

pytestmark = pytest.mark.anvil

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guides" / "requester.md"
FINAL_DEADLINE_S = 10 * 300
_FENCE = re.compile(r"^```console( [a-z-]+)?$", re.MULTILINE)


@pytest.fixture(autouse=True)
def _fresh_chain(devnet: Devnet) -> Iterator[None]:
    with reverted(devnet):
        yield


def _only(text: str, tag: str) -> str:
    """The page with only the ```console<tag> blocks left as ```console blocks."""

    def fence(match: re.Match[str]) -> str:
        return "```console" if (match[1] or "").strip() == tag else "```text"

    return _FENCE.sub(fence, text)


def _offers(devnet: Devnet, folder: Path) -> None:
    developer = demo_account("guide requester app developer")
    pool_owner = demo_account("guide requester workerpool owner")
    devnet.fund(developer.address)
    devnet.fund(pool_owner.address, tokens_nrlc=10 * RLC)
    devnet.client.deposit(pool_owner, 10 * RLC)
    app = devnet.client.create_app(
        developer, "hello", "DOCKER", b"docker.io/veritask/hello:1.0.0", keccak(b"hello")
    )
    pool = devnet.client.create_workerpool(pool_owner, "guide workerpool")
    domain = devnet.client.domain
    app_order = AppOrder(app, RLC // 2, 100, salt=keccak(b"guide app order"))
    pool_order = WorkerpoolOrder(
        pool, RLC, 100, category=0, trust=0, salt=keccak(b"guide workerpool order")
    )
    save_order(folder / "app-order.json", sign_order(app_order, domain, developer.key))
    save_order(folder / "workerpool-order.json", sign_order(pool_order, domain, pool_owner.key))


def test_guide_requester__every_example_runs_as_shown(cli: Cli, devnet: Devnet) -> None:
    (cli.folder / "dev.key").write_text(ANVIL_KEY_0 + "\n")
    devnet.client.transfer_tokens(devnet.deployer, ANVIL_ADDRESS_0, 100 * RLC)
    _offers(devnet, cli.folder)
    text = GUIDE.read_text()
    ran = 0
    for tag in ("", "after-final-deadline"):
        if tag:
            travel(devnet, FINAL_DEADLINE_S)
        for example in doc_examples(_only(text, tag)):
            code, lines = _run(cli, devnet, example)
            where = f"docs/guides/requester.md:{example.line}: $ {example.command}"
            shown = "\n".join(lines)
            assert code == example.exit_code, f"{where}\nexit {code}\n{shown}"
            assert len(lines) == len(example.expected), f"{where}\n{shown}"
            for expected, actual in zip(example.expected, lines, strict=True):
                normalized = " ".join(actual.split())
                assert _pattern(expected).fullmatch(normalized), (
                    f"{where}\n{expected!r}\n{actual!r}"
                )
            ran += 1
    assert ran >= 10
