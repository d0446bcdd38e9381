"""Runs the examples of docs/cli.md, in order, against a fresh devnet, and checks their output
and exit codes. In the docs, `…` stands for any text (hashes, block numbers, gas); the
sandbox's folders and node URL are shown as /home/me/project, /home/me/.veritask/wallets and
http://127.0.0.1:8545.

The sandbox is what the page says: a fresh devnet deployed by the demo's deployer (so the
addresses are those `./scripts/demo` prints), `dev.key` holding anvil's first development
key, and 100 RLC sent to that key's address by the deployer.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from tests.cli.conftest import Cli
from tests.devnet import RLC, Devnet
from veritask.sdk import load_config

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
ANVIL_KEY_0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ANVIL_ADDRESS_0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
_EXIT = re.compile(r"\s+#\s*exit\s+(\d+)\s*$")
_ENV = re.compile(r"^([A-Z_]+)=(.*)$")


@dataclass(frozen=True)
class Example:
    line: int
    command: str
    expected: tuple[str, ...]
    exit_code: int


def doc_examples(text: str) -> list[Example]:
    """The `$ command` lines of every ```console block, each with the lines below it."""
    examples: list[Example] = []
    in_block = False
    current: tuple[int, str, int] | None = None
    expected: list[str] = []

    def close() -> None:
        if current is not None:
            examples.append(Example(current[0], current[1], tuple(expected), current[2]))

    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("```"):
            if in_block:
                close()
                current, expected = None, []
            in_block = line.strip() == "```console"
            continue
        if not in_block:
            continue
        if line.startswith("$ "):
            close()
            command, expected = line[2:], []
            exit_match = _EXIT.search(command)
            exit_code = int(exit_match[1]) if exit_match else 0
            current = (number, _EXIT.sub("", command), exit_code)
        else:
            expected.append(line)
    return examples


def _pattern(expected: str) -> re.Pattern[str]:
    """`…` matches any text; any run of spaces matches any other (table columns widen with
    the sandbox's longer node URL)."""
    parts = [re.escape(part) for part in " ".join(expected.split()).split("…")]
    return re.compile(".*".join(parts).replace(r"\ ", r"\s+"))


def _run(cli: Cli, devnet: Devnet, example: Example) -> tuple[int, list[str]]:
    tokens = shlex.split(example.command)
    env: dict[str, str | None] = {}
    while tokens and (match := _ENV.match(tokens[0])):
        env[match[1]] = match[2]
        tokens.pop(0)
    if tokens[0] == "cat":
        code, output = 0, (cli.folder / tokens[1]).read_text()
    else:
        assert tokens[0] == "veritask", f"docs/cli.md:{example.line}: only veritask and cat run"
        result = cli(*tokens[1:], env={"VERITASK_RPC_URL": devnet.url, **env}, input="")
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            result.exception
        )
        code, output = result.exit_code, result.output
    for actual, shown in [
        (str(cli.wallet_dir), "/home/me/.veritask/wallets"),
        (str(cli.folder), "/home/me/project"),
        (devnet.url, "http://127.0.0.1:8545"),
    ]:
        output = output.replace(actual, shown)
    return code, [line.rstrip() for line in output.splitlines()]


def test_docs_cli__every_example_runs_as_shown(cli: Cli, devnet: Devnet) -> None:
    examples = doc_examples(DOC.read_text())
    assert len(examples) >= 10
    (cli.folder / "dev.key").write_text(ANVIL_KEY_0 + "\n")
    devnet.client.transfer_tokens(devnet.deployer, ANVIL_ADDRESS_0, 100 * RLC)
    for example in examples:
        code, lines = _run(cli, devnet, example)
        where = f"docs/cli.md:{example.line}: $ {example.command}"
        shown = "\n".join(lines)
        assert code == example.exit_code, f"{where}\nexit {code}\n{shown}"
        assert len(lines) == len(example.expected), f"{where}\n{shown}"
        for expected, actual in zip(example.expected, lines, strict=True):
            normalized = " ".join(actual.split())
            assert _pattern(expected).fullmatch(normalized), f"{where}\n{expected!r}\n{actual!r}"


def test_docs_cli__the_project_file_example_is_valid(tmp_path: Path) -> None:
    text = DOC.read_text()
    block = text.split("```toml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "veritask.toml"
    path.write_text(block)
    config = load_config(path)
    assert [p.name for p in config.profiles] == ["devnet", "prod"]
    assert config.profile("devnet").chain_id == 31337
    assert config.profile("prod").sms_url == "https://sms.example.org"
