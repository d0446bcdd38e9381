"""`veritask order init|sign|show|cancel` end to end against anvil: order files written,
signed by the owner only, checked against the hub, cancelled; refusals write nothing and
send nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak

from tests.cli.conftest import Cli, assert_error
from tests.devnet import Devnet, reverted
from veritask.domain.orders import order_digest
from veritask.sdk import load_order

pytestmark = pytest.mark.anvil

USER: LocalAccount = Account.from_key(keccak(text="veritask cli order test user"))
OTHER: LocalAccount = Account.from_key(keccak(text="veritask cli order test other"))
PASSWORD = {"VERITASK_PASSWORD": "pw"}
SALT = "0x" + "5a" * 32


@pytest.fixture(autouse=True)
def _fresh_chain(devnet: Devnet) -> Iterator[None]:
    with reverted(devnet):
        yield


@pytest.fixture
def project(cli: Cli, devnet: Devnet) -> Cli:
    init = cli("--profile", "test", "--rpc-url", devnet.url, "--hub", devnet.hub, "init")
    assert init.exit_code == 0, init.output
    cli.import_key("0x" + bytes(USER.key).hex())
    devnet.fund(USER.address)
    return cli


@pytest.fixture
def app(devnet: Devnet) -> str:
    return devnet.client.create_app(USER, "hello", "DOCKER", b"docker.io/hello", b"\x00" * 32)


@pytest.fixture
def app_order_file(project: Cli, app: str) -> Path:
    result = project(
        "order", "init", "app", "--app", app, "--price", "1.5", "--volume", "3",
        "--tag", "tee", "--salt", SALT,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout == "wrote unsigned app order app-order.json\n"
    return project.folder / "app-order.json"


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def _show(project: Cli, path: Path) -> dict[str, object]:
    result = project("--json", "order", "show", str(path))
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_order_init_app__the_file(app_order_file: Path, app: str) -> None:
    data = json.loads(app_order_file.read_text())
    assert data == {
        "kind": "app",
        "app": app,
        "appprice": 1_500_000_000,
        "volume": 3,
        "tag": "0x" + "00" * 31 + "01",
        "datasetrestrict": "0x" + "00" * 20,
        "workerpoolrestrict": "0x" + "00" * 20,
        "requesterrestrict": "0x" + "00" * 20,
        "salt": SALT,
        "sign": "0x",
    }


def test_order_sign_show_cancel(project: Cli, devnet: Devnet, app_order_file: Path) -> None:
    signed = project("order", "sign", str(app_order_file), env=PASSWORD)
    assert signed.exit_code == 0, signed.output
    signed_path = project.folder / "app-order.signed.json"
    order = load_order(signed_path)
    order_hash = "0x" + order_digest(order, devnet.client.domain).hex()
    assert signed.stdout.splitlines() == [
        f"signed app order {order_hash} as {USER.address}",
        f"wrote {signed_path}",
    ]
    assert json.loads(app_order_file.read_text())["sign"] == "0x"  # the original is kept
    status = _show(project, signed_path)
    assert (status["order_hash"], status["signature"], status["owner"]) == (
        order_hash,
        "valid",
        USER.address,
    )
    assert (status["consumed"], status["remaining"], status["matchable"]) == (0, 3, True)
    table = project("order", "show", str(signed_path)).stdout
    assert f"valid: signed by the owner {USER.address}" in " ".join(table.split())
    cancelled = project("order", "cancel", str(signed_path), env=PASSWORD)
    assert cancelled.exit_code == 0, cancelled.output
    assert cancelled.stdout.startswith(f"cancelled app order {order_hash}: tx 0x")
    status = _show(project, signed_path)
    assert (status["consumed"], status["remaining"], status["matchable"]) == (3, 0, False)


def test_order_sign__in_place(project: Cli, app_order_file: Path) -> None:
    result = project("order", "sign", str(app_order_file), "--in-place", env=PASSWORD)
    assert result.exit_code == 0, result.output
    assert len(json.loads(app_order_file.read_text())["sign"]) == 2 + 130
    assert sorted(_files(project.folder)) == ["app-order.json", "veritask.toml"]


def test_order_show__tampered__signature_does_not_match(project: Cli, app_order_file: Path) -> None:
    assert project("order", "sign", str(app_order_file), "--in-place", env=PASSWORD).exit_code == 0
    data = json.loads(app_order_file.read_text())
    data["appprice"] = 1
    app_order_file.write_text(json.dumps(data))
    result = project("order", "show", str(app_order_file))
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "signature does not match the order" in text
    assert "no: the order is signed by " in text
    assert _show(project, app_order_file)["signature"] == "mismatch"


def test_order_sign__not_the_owner__exit_2_nothing_written(
    project: Cli, devnet: Devnet, app_order_file: Path
) -> None:
    devnet.fund(OTHER.address)
    pool = devnet.client.create_workerpool(OTHER, "theirs")
    init = project("order", "init", "workerpool", "--workerpool", pool, "--out", "pool.json")
    assert init.exit_code == 0, init.output
    files = _files(project.folder)
    assert_error(
        project("order", "sign", "pool.json", env=PASSWORD),
        2,
        f"only the owner of workerpool {pool}, {OTHER.address}, may sign this workerpool "
        f"order; the wallet is {USER.address}",
    )
    assert _files(project.folder) == files


def test_order_cancel__not_the_owner__exit_2_nothing_sent(
    project: Cli, devnet: Devnet, app: str
) -> None:
    request = project(
        "order", "init", "request", "--app", app, "--requester", OTHER.address,
        "--out", "request.json",
    )  # fmt: skip
    assert request.exit_code == 0, request.output
    before = devnet.balances(USER.address)
    assert_error(
        project("order", "cancel", "request.json", env=PASSWORD),
        2,
        f"only its requester, {OTHER.address}, may cancel this request order",
    )
    assert devnet.balances(USER.address) == before


def test_order_init_request__the_wallet_is_the_requester(project: Cli, app: str) -> None:
    result = project(
        "--json", "order", "init", "request", "--app", app, "--app-max-price", "100 nRLC",
        "--category", "2", "--trust", "1", "--params", '{"iexec_args": "hi"}',
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"kind": "request", "path": "request-order.json"}
    data = json.loads((project.folder / "request-order.json").read_text())
    assert (data["requester"], data["beneficiary"], data["appmaxprice"]) == (
        USER.address,
        USER.address,
        100,
    )
    assert (data["category"], data["trust"], data["params"]) == (2, 1, '{"iexec_args": "hi"}')
    signed = project("order", "sign", "request-order.json", env=PASSWORD)
    assert signed.exit_code == 0, signed.output
    assert _show(project, project.folder / "request-order.signed.json")["signature"] == "valid"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--price", "1.2.3"], "not an amount: '1.2.3'"),
        (["--tag", "sgx"], "unknown tag 'sgx'"),
        (["--volume", "0"], "--volume must be at least 1, got 0"),
        (["--salt", "0x12"], "bad --salt '0x12'"),
        (["--requester-restrict", "0x12"], "not an Ethereum address in --requester-restrict"),
    ],
)
def test_order_init__bad_option__exit_2_nothing_written(
    project: Cli, app: str, args: list[str], message: str
) -> None:
    files = _files(project.folder)
    assert_error(project("order", "init", "app", "--app", app, *args), 2, message)
    assert _files(project.folder) == files


def test_order_init__existing_file__refused_unless_force(
    project: Cli, app: str, app_order_file: Path
) -> None:
    before = app_order_file.read_bytes()
    assert_error(
        project("order", "init", "app", "--app", app),
        2,
        "app-order.json already exists: choose another file or pass --force",
    )
    assert app_order_file.read_bytes() == before
    assert project("order", "init", "app", "--app", app, "--force").exit_code == 0
    assert app_order_file.read_bytes() != before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "bad.json: not JSON: Expecting property name"),
        ("[1]", "bad.json: expected a JSON object, got list"),
        ('{"kind": "app"}', "bad.json: field 'app': missing"),
        ("KIND_ONLY_VOLUME_TEXT", "bad.json: field 'volume': expected a whole number, got \"3\""),
    ],
)
@pytest.mark.parametrize("command", ["sign", "show", "cancel"])
def test_order_file__malformed__exit_2_nothing_written_or_sent(
    project: Cli, devnet: Devnet, app_order_file: Path, content: str, message: str, command: str
) -> None:
    if content == "KIND_ONLY_VOLUME_TEXT":
        content = json.dumps({**json.loads(app_order_file.read_text()), "volume": "3"})
    (project.folder / "bad.json").write_text(content)
    files = _files(project.folder)
    before = devnet.balances(USER.address)
    assert_error(project("order", command, "bad.json", env=PASSWORD), 2, message)
    assert _files(project.folder) == files
    assert devnet.balances(USER.address) == before
