"""`veritask app init|build|push`, `app deploy --from-build`, `dataset init|push`,
`dataset deploy --from-project`, `workerpool init`, `workerpool deploy --from-project`,
end to end: a real storage service on loopback, anvil for the registrations, podman and
wasmtime for running what was built."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak

from tests.cli.conftest import Cli, assert_error
from tests.devnet import Devnet, reverted
from veritask.errors import ToolError
from veritask.sdk.storage import StorageClient
from veritask.storage import RunningServer, StorageSettings, serve_in_thread
from veritask.worker.runtimes import AppRun, AppSource, Limits, PodmanRuntime, select_runtime

TEST_IMAGES = ("localhost/veritask-test-project:latest", "localhost/veritask-test-pushed:latest")
USER: LocalAccount = Account.from_key(keccak(text="veritask cli project test user"))
PASSWORD = {"VERITASK_PASSWORD": "pw"}
TASK_ENV = {
    "IEXEC_TASK_ID": "0x" + "ab" * 32,
    "IEXEC_IN": "/iexec_in",
    "IEXEC_OUT": "/iexec_out",
    "IEXEC_DATASET_FILENAME": "dataset.txt",
    "IEXEC_INPUT_FILES_NUMBER": "0",
    "IEXEC_BOT_SIZE": "1",
}


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    root = tmp_path_factory.mktemp("storage")
    with serve_in_thread(StorageSettings(root=root)) as server:
        yield server


@pytest.fixture
def wallet(cli: Cli, storage: RunningServer) -> Cli:
    """A wallet and the storage URL, no chain: enough for init, build and push."""
    cli.import_key("0x" + bytes(USER.key).hex())
    cli.env["VERITASK_STORAGE_URL"] = storage.url
    return cli


@pytest.fixture
def chain(wallet: Cli, devnet: Devnet) -> Iterator[Cli]:
    with reverted(devnet):
        init = wallet("--profile", "test", "--rpc-url", devnet.url, "--hub", devnet.hub, "init")
        assert init.exit_code == 0, init.output
        devnet.fund(USER.address)
        yield wallet


def _ok(cli: Cli, *args: str) -> dict[str, object]:
    result = cli("--json", *args, env=PASSWORD)
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def _download(storage: RunningServer, multiaddr: str) -> bytes:
    with StorageClient(storage.url) as client:
        return client.download(multiaddr.removeprefix("/ipfs/"))


def _run_folders(tmp_path: Path) -> tuple[Path, Path]:
    in_dir, out_dir = tmp_path / "in", tmp_path / "out"
    in_dir.mkdir()
    out_dir.mkdir()
    (in_dir / "dataset.txt").write_text("one\ntwo\nthree\n")
    return in_dir, out_dir


def test_app_init__current_folder__writes_the_project_and_next_steps(cli: Cli) -> None:
    result = cli("app", "init")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "wrote veritask-app.toml",
        "wrote app.sh",
        "next:",
        "  veritask app build .",
        "  veritask app push .",
        "  veritask app deploy --from-build .",
    ]
    assert 'name = "project"' in (cli.folder / "veritask-app.toml").read_text()


def test_app_init__existing_files__refused_and_kept(cli: Cli) -> None:
    (cli.folder / "hello").mkdir()
    (cli.folder / "hello" / "app.sh").write_text("mine\n")
    result = cli("app", "init", "hello")
    assert_error(result, 2, "hello/app.sh already exists: nothing was written")
    assert (cli.folder / "hello" / "app.sh").read_text() == "mine\n"
    assert not (cli.folder / "hello" / "veritask-app.toml").exists()


def test_app_init__wrong_kind__refused(cli: Cli) -> None:
    assert_error(cli("app", "init", "x", "--kind", "vm"), 2, "unknown --kind 'vm'")
    assert not (cli.folder / "x").exists()


def test_app_build__reproducible_across_folders__and_an_edit_changes_it(cli: Cli) -> None:
    checksums = []
    for folder in ("one", "two"):
        assert cli("app", "init", folder, "--name", "hello").exit_code == 0
        checksums.append(_ok(cli, "app", "build", folder)["checksum"])
    one = (cli.folder / "one" / "build" / "hello.tar").read_bytes()
    assert one == (cli.folder / "two" / "build" / "hello.tar").read_bytes()
    assert checksums[0] == checksums[1] == "0x" + hashlib.sha256(one).hexdigest()
    with (cli.folder / "two" / "app.sh").open("a") as script:
        script.write("echo edited\n")
    edited = _ok(cli, "app", "build", "two")
    assert edited["checksum"] != checksums[0]
    assert edited["image_id"] != _ok(cli, "app", "build", "one")["image_id"]


def test_app_build__human_output(cli: Cli) -> None:
    cli("app", "init", "hello")
    result = cli("app", "build", "hello")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("built hello/build/hello.tar (oci, ")
    assert lines[1].startswith("checksum 0x")
    assert lines[2].startswith("image localhost/hello:latest, ID ")
    assert lines[-1] == "next: veritask app push hello"


def test_app_build__wasm__a_valid_module(cli: Cli) -> None:
    cli("app", "init", "w", "--kind", "wasm")
    built = _ok(cli, "app", "build", "w")
    module = (cli.folder / "w" / "build" / "w.wasm").read_bytes()
    assert module.startswith(b"\0asm")
    assert built["checksum"] == "0x" + hashlib.sha256(module).hexdigest()
    assert (built["kind"], built["app_type"], built["image_id"]) == ("wasm", "WASM", None)


def test_app_build__bad_wat__exit_2_with_the_place(cli: Cli) -> None:
    cli("app", "init", "w", "--kind", "wasm")
    (cli.folder / "w" / "app.wat").write_text("(module (func $f (bad)))")
    assert_error(cli("app", "build", "w"), 2, "app.wat is not valid WAT: unknown operator")


def test_app_build__no_project__exit_2(cli: Cli) -> None:
    assert_error(cli("app", "build", "nowhere"), 2, "no veritask-app.toml in nowhere")


def test_app_build__malformed_toml__exit_2(cli: Cli) -> None:
    cli("app", "init", "hello")
    (cli.folder / "hello" / "veritask-app.toml").write_text("[app\n")
    assert_error(cli("app", "build", "hello"), 2, "hello/veritask-app.toml is not valid TOML")


def test_app_build__load_on_wasm__refused(cli: Cli) -> None:
    cli("app", "init", "w", "--kind", "wasm")
    assert_error(cli("app", "build", "w", "--load"), 2, "--load is for oci apps")


def test_app_push__uploads_the_archive(wallet: Cli, storage: RunningServer) -> None:
    wallet("app", "init", "hello")
    built = _ok(wallet, "app", "build", "hello")
    pushed = _ok(wallet, "app", "push", "hello")
    multiaddr = str(pushed["multiaddr"])
    assert multiaddr.startswith("/ipfs/bafkrei")
    assert pushed["checksum"] == built["checksum"]
    archive = _download(storage, multiaddr)
    assert archive == (wallet.folder / "hello" / "build" / "hello.tar").read_bytes()
    record = json.loads((wallet.folder / "hello" / "build" / "build.json").read_text())
    assert record["multiaddr"] == multiaddr
    # A rebuild of the same sources keeps the push.
    assert _ok(wallet, "app", "build", "hello")["multiaddr"] == multiaddr


def test_app_push__human_output(wallet: Cli, storage: RunningServer) -> None:
    wallet("app", "init", "hello")
    wallet("app", "build", "hello")
    result = wallet("app", "push", "hello", env=PASSWORD)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"pushed hello/build/hello.tar to {storage.url}"
    assert lines[1].startswith("multiaddr /ipfs/bafkrei")
    assert lines[2].startswith("checksum 0x")
    assert lines[3] == "next: veritask app deploy --from-build hello"


def test_app_push__not_built__exit_2(wallet: Cli) -> None:
    wallet("app", "init", "hello")
    assert_error(
        wallet("app", "push", "hello", env=PASSWORD),
        2,
        "hello is not built yet: run `veritask app build hello` first",
    )


def test_app_push__sources_changed__exit_2(wallet: Cli) -> None:
    wallet("app", "init", "hello")
    wallet("app", "build", "hello")
    (wallet.folder / "hello" / "app.sh").write_text("#!/bin/sh\necho other\n")
    assert_error(
        wallet("app", "push", "hello", env=PASSWORD),
        2,
        "the sources of hello changed since the build",
    )


def test_app_push__storage_down__exit_6_one_line(wallet: Cli) -> None:
    wallet("app", "init", "hello")
    wallet("app", "build", "hello")
    down = {"VERITASK_STORAGE_URL": "http://127.0.0.1:9", **PASSWORD}
    assert_error(wallet("app", "push", "hello", env=down), 6, "storage at http://127.0.0.1:9")


def test_app_push__no_storage_url__exit_2(wallet: Cli) -> None:
    wallet("app", "init", "hello")
    wallet("app", "build", "hello")
    result = wallet("app", "push", "hello", env={"VERITASK_STORAGE_URL": None, **PASSWORD})
    assert_error(result, 2, "profile 'devnet' has no storage_url")


@pytest.mark.anvil
def test_app_deploy_from_build__registers_what_was_pushed(chain: Cli) -> None:
    chain("app", "init", "hello")
    built = _ok(chain, "app", "build", "hello")
    assert_error(
        chain("app", "deploy", "--from-build", "hello", env=PASSWORD),
        2,
        "hello is built but not pushed: run `veritask app push hello` first",
    )
    pushed = _ok(chain, "app", "push", "hello")
    deployed = _ok(chain, "app", "deploy", "--from-build", "hello")
    shown = _ok(chain, "app", "show", str(deployed["address"]))
    assert (shown["name"], shown["app_type"], shown["multiaddr"], shown["checksum"]) == (
        "hello", "DOCKER", pushed["multiaddr"], built["checksum"],
    )  # fmt: skip
    assert shown["owner"] == USER.address


@pytest.mark.anvil
def test_app_deploy_from_build__wasm_type(chain: Cli) -> None:
    chain("app", "init", "w", "--kind", "wasm")
    _ok(chain, "app", "build", "w")
    _ok(chain, "app", "push", "w")
    deployed = _ok(chain, "app", "deploy", "--from-build", "w")
    assert _ok(chain, "app", "show", str(deployed["address"]))["app_type"] == "WASM"


def test_app_deploy__from_build_with_fields__exit_2(cli: Cli) -> None:
    result = cli("app", "deploy", "--from-build", "hello", "--name", "x", env=PASSWORD)
    assert_error(result, 2, "--from-build takes the name, multiaddr, type and checksum")


def test_app_deploy__neither_fields_nor_build__exit_2(cli: Cli) -> None:
    result = cli("app", "deploy", "--name", "x", env=PASSWORD)
    assert_error(result, 2, "give --multiaddr, or --from-build FOLDER")


def test_dataset_init__picks_the_only_file(cli: Cli) -> None:
    (cli.folder / "weather.csv").write_text("a,b\n")
    result = cli("dataset", "init", "--name", "weather")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "wrote veritask-dataset.toml"
    assert 'file = "weather.csv"' in (cli.folder / "veritask-dataset.toml").read_text()
    assert_error(cli("dataset", "init"), 2, "veritask-dataset.toml already exists")


def test_dataset_init__ambiguous_file__exit_2(cli: Cli) -> None:
    (cli.folder / "a.csv").write_text("a\n")
    (cli.folder / "b.csv").write_text("b\n")
    result = cli("dataset", "init")
    assert_error(result, 2, "which file is the dataset? give --file (found a.csv, b.csv in .)")


def test_dataset_push__a_file__multiaddr_and_sha256(wallet: Cli, storage: RunningServer) -> None:
    data = b"date,city,max_c\n2026-07-01,Lyon,31\n"
    (wallet.folder / "weather.csv").write_bytes(data)
    pushed = _ok(wallet, "dataset", "push", "weather.csv")
    assert pushed["checksum"] == "0x" + hashlib.sha256(data).hexdigest()
    assert _download(storage, str(pushed["multiaddr"])) == data
    assert pushed["recorded_in"] is None


def test_dataset_push__missing_file__exit_2(wallet: Cli) -> None:
    assert_error(
        wallet("dataset", "push", "nope.csv", env=PASSWORD),
        2,
        "nope.csv is neither a file nor a folder holding veritask-dataset.toml",
    )


def test_dataset_push__storage_down__exit_6(wallet: Cli) -> None:
    (wallet.folder / "d.csv").write_text("x\n")
    down = {"VERITASK_STORAGE_URL": "http://127.0.0.1:9", **PASSWORD}
    assert_error(wallet("dataset", "push", "d.csv", env=down), 6, "storage at")


@pytest.mark.anvil
def test_dataset_project__push_records_then_deploy_from_project(chain: Cli) -> None:
    data = "a,b\n1,2\n"
    (chain.folder / "weather.csv").write_text(data)
    assert chain("dataset", "init", "--name", "weather").exit_code == 0
    assert_error(
        chain("dataset", "deploy", "--from-project", ".", env=PASSWORD),
        2,
        "veritask-dataset.toml has no multiaddr: run `veritask dataset push .`",
    )
    result = chain("dataset", "push", env=PASSWORD)
    assert result.exit_code == 0, result.output
    assert "recorded in veritask-dataset.toml" in result.stdout
    deployed = _ok(chain, "dataset", "deploy", "--from-project", ".")
    shown = _ok(chain, "dataset", "show", str(deployed["address"]))
    assert shown["name"] == "weather"
    assert str(shown["multiaddr"]).startswith("/ipfs/bafkrei")
    assert shown["checksum"] == "0x" + hashlib.sha256(data.encode()).hexdigest()


@pytest.mark.anvil
def test_workerpool_project__init_then_deploy_with_its_policies(chain: Cli) -> None:
    result = chain("workerpool", "init", "pool", "--description", "two cores")
    assert result.exit_code == 0, result.output
    toml = chain.folder / "pool" / "veritask-workerpool.toml"
    toml.write_text(toml.read_text().replace("= 30", "= 40").replace("= 1\n", "= 5\n"))
    deployed = _ok(chain, "workerpool", "deploy", "--from-project", "pool")
    assert deployed["policy_tx"]
    shown = _ok(chain, "workerpool", "show", str(deployed["address"]))
    assert (shown["description"], shown["worker_stake_ratio"]) == ("two cores", 40)
    assert shown["scheduler_reward_ratio"] == 5


def test_workerpool_init__existing__exit_2(cli: Cli) -> None:
    assert cli("workerpool", "init").exit_code == 0
    assert_error(cli("workerpool", "init"), 2, "veritask-workerpool.toml already exists")


@pytest.fixture(scope="module")
def podman() -> Iterator[PodmanRuntime]:
    runtime = PodmanRuntime()
    try:
        runtime.check()
    except ToolError as exc:
        # scripts/setup installs podman: a broken one must fail the suite, not hide the
        # OCI path. VERITASK_ALLOW_NO_PODMAN=1 opts out on machines without it.
        if os.environ.get("VERITASK_ALLOW_NO_PODMAN") != "1":
            raise
        pytest.skip(f"podman unusable here: {exc}")
    yield runtime
    for tag in TEST_IMAGES:
        runtime.command("rmi", "--ignore", tag)


@pytest.mark.podman
def test_app_build_load__podman_holds_the_image(cli: Cli, podman: PodmanRuntime) -> None:
    cli("app", "init", "hello", "--name", "veritask-test-project")
    built = _ok(cli, "app", "build", "hello", "--load")
    assert built["loaded"] is True
    assert podman.image_id("localhost/veritask-test-project:latest") == built["image_id"]
    result = cli("app", "build", "hello", "--load")
    assert f"is image {built['image_id']}" in result.stdout


@pytest.mark.podman
def test_pushed_app__fetched_verified_and_run_by_the_worker_runtime(
    wallet: Cli, storage: RunningServer, tmp_path: Path, podman: PodmanRuntime
) -> None:
    wallet("app", "init", "hello", "--name", "veritask-test-pushed")
    _ok(wallet, "app", "build", "hello")
    pushed = _ok(wallet, "app", "push", "hello")
    runtime = select_runtime("oci")
    checksum = bytes.fromhex(str(pushed["checksum"]).removeprefix("0x"))
    source = AppSource(
        "oci", str(pushed["multiaddr"]), checksum, lambda multiaddr: _download(storage, multiaddr)
    )
    in_dir, out_dir = _run_folders(tmp_path)
    outcome = runtime.run(
        runtime.load(source), AppRun(in_dir, out_dir, ("Bob",), TASK_ENV, Limits(30))
    )
    assert outcome.ok(), outcome
    assert (out_dir / "result.txt").read_text() == (
        "Hello, Bob!\ndataset: 3 lines\ninput files: 0\n"
    )
    computed = json.loads((out_dir / "computed.json").read_text())
    assert computed == {"deterministic-output-path": "/iexec_out/result.txt"}
    assert "Hello, Bob!" in outcome.stdout


def test_pushed_wasm_app__run_by_wasmtime(
    wallet: Cli, storage: RunningServer, tmp_path: Path
) -> None:
    wallet("app", "init", "w", "--kind", "wasm")
    _ok(wallet, "app", "build", "w")
    pushed = _ok(wallet, "app", "push", "w")
    runtime = select_runtime("wasm")
    checksum = bytes.fromhex(str(pushed["checksum"]).removeprefix("0x"))
    source = AppSource(
        "wasm", str(pushed["multiaddr"]), checksum, lambda multiaddr: _download(storage, multiaddr)
    )
    in_dir, out_dir = _run_folders(tmp_path)
    outcome = runtime.run(
        runtime.load(source), AppRun(in_dir, out_dir, ("Ada", "Lovelace"), TASK_ENV, Limits(10))
    )
    assert outcome.ok(), outcome
    assert (out_dir / "result.txt").read_text() == "Hello, Ada Lovelace!"
    assert json.loads((out_dir / "computed.json").read_text()) == {
        "deterministic-output-path": "/iexec_out/result.txt"
    }
