"""Asset projects (veritask.sdk.projects): templates written and read back, validation with
the file and key named, the files an OCI build packages, and build records."""

from __future__ import annotations

import hashlib
import os
import tomllib
from pathlib import Path

import pytest

from veritask.errors import InvalidInput
from veritask.sdk.projects import (
    APP_PROJECT_FILE,
    DATASET_PROJECT_FILE,
    WORKERPOOL_PROJECT_FILE,
    app_files,
    init_app_project,
    init_dataset_project,
    init_workerpool_project,
    load_app_project,
    load_build,
    load_dataset_project,
    load_pushed_build,
    load_workerpool_project,
    record_dataset_multiaddr,
    record_push,
    save_build,
    sources_digest,
)


def _app_toml(folder: Path, body: str) -> None:
    (folder / APP_PROJECT_FILE).write_text(body)


def _oci(folder: Path, name: str = "hello") -> None:
    init_app_project(folder, name, "oci")


def test_init_app__oci__writes_a_loadable_project(tmp_path: Path) -> None:
    written = init_app_project(tmp_path, "hello", "oci")
    assert written == [tmp_path / APP_PROJECT_FILE, tmp_path / "app.sh"]
    assert os.access(tmp_path / "app.sh", os.X_OK)
    project = load_app_project(tmp_path)
    assert (project.name, project.kind, project.entrypoint, project.files) == (
        "hello", "oci", "app.sh", ("app.sh",),
    )  # fmt: skip
    assert project.app_type == "DOCKER"
    assert project.image == "localhost/hello:latest"
    script = (tmp_path / "app.sh").read_text()
    assert script.startswith("#!/bin/sh\n")
    assert "deterministic-output-path" in script
    assert "$IEXEC_IN" in script or "${IEXEC_IN" in script


def test_init_app__wasm__writes_a_wat_module(tmp_path: Path) -> None:
    init_app_project(tmp_path, "hello-wasm", "wasm")
    project = load_app_project(tmp_path)
    assert (project.kind, project.entrypoint, project.files, project.app_type) == (
        "wasm", "app.wat", (), "WASM",
    )  # fmt: skip
    assert (tmp_path / "app.wat").read_text().count("(module") == 1


def test_init_app__a_file_exists__nothing_written(tmp_path: Path) -> None:
    (tmp_path / "app.sh").write_text("mine")
    with pytest.raises(InvalidInput, match=r"app\.sh already exists: nothing was written"):
        init_app_project(tmp_path, "hello")
    assert (tmp_path / "app.sh").read_text() == "mine"
    assert not (tmp_path / APP_PROJECT_FILE).exists()


@pytest.mark.parametrize("name", ["Hello", "hello world", "-x", "a..b", "", "x" * 65])
def test_init_app__bad_name__refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidInput, match="bad name"):
        init_app_project(tmp_path, name)


def test_init_app__bad_kind__refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="unknown app kind 'docker'"):
        init_app_project(tmp_path, "hello", "docker")


def test_load_app__no_project__says_to_init(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"no veritask-app\.toml in .*veritask app init"):
        load_app_project(tmp_path)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[app\nname = 1", "is not valid TOML"),
        ('name = "x"', r"must hold one \[app\] table"),
        ('[app]\nname = "x"\nkind = "oci"\nentrypoint = "app.sh"\nfiles = []\ncolor = 1',
         "unknown key color"),
        ('[app]\nname = "x"\nkind = "oci"\nentrypoint = "app.sh"', r"\[app\] has no files"),
        ('[app]\nname = "x"\nkind = "vm"\nentrypoint = "app.sh"\nfiles = []', "unknown kind 'vm'"),
        ('[app]\nname = 3\nkind = "oci"\nentrypoint = "app.sh"\nfiles = []',
         "name must be a string"),
        ('[app]\nname = "x"\nkind = "oci"\nentrypoint = "app.sh"\nfiles = "app.sh"',
         "files must be a list"),
        ('[app]\nname = "x"\nkind = "oci"\nentrypoint = "../app.sh"\nfiles = []',
         "must be a relative path inside the project"),
        ('[app]\nname = "x"\nkind = "oci"\nentrypoint = "app.sh"\nfiles = ["build/x"]',
         "under build/"),
        ('[app]\nname = "x"\nkind = "oci"\nentrypoint = "run.sh"\nfiles = []',
         "the entrypoint run.sh is not a file here"),
        ('[app]\nname = "x"\nkind = "wasm"\nentrypoint = "app.sh"\nfiles = []',
         "a wasm entrypoint is a .wat text or a .wasm module"),
    ],
)  # fmt: skip
def test_load_app__malformed__names_the_problem(tmp_path: Path, body: str, message: str) -> None:
    _oci(tmp_path)
    _app_toml(tmp_path, body)
    with pytest.raises(InvalidInput, match=message):
        load_app_project(tmp_path)


@pytest.mark.parametrize(
    ("script", "message"),
    [
        (b"echo hi\n", "has no #! line"),
        (b"#!/bin/sh\r\necho hi\r\n", "Windows line endings"),
        (b"#!/usr/bin/env python3\n", "runs /usr/bin/env, which the image does not hold"),
    ],
)
def test_load_app__entrypoint_cannot_run__refused(
    tmp_path: Path, script: bytes, message: str
) -> None:
    _oci(tmp_path)
    (tmp_path / "app.sh").write_bytes(script)
    with pytest.raises(InvalidInput, match=message):
        load_app_project(tmp_path)


def test_load_app__static_binary_entrypoint__accepted(tmp_path: Path) -> None:
    _oci(tmp_path)
    (tmp_path / "app.sh").write_bytes(b"\x7fELF" + b"\0" * 60)
    assert load_app_project(tmp_path).entrypoint == "app.sh"


def test_app_files__folders_hidden_files_and_modes(tmp_path: Path) -> None:
    _oci(tmp_path)
    _app_toml(
        tmp_path,
        '[app]\nname = "x"\nkind = "oci"\nentrypoint = "app.sh"\nfiles = ["lib", "data.txt"]\n',
    )
    (tmp_path / "lib" / "sub").mkdir(parents=True)
    (tmp_path / "lib" / "a.awk").write_text("{ print }\n")
    (tmp_path / "lib" / "sub" / "tool.sh").write_text("#!/bin/sh\n")
    (tmp_path / "lib" / "sub" / "tool.sh").chmod(0o700)
    (tmp_path / "lib" / ".cache").write_text("skip me")
    (tmp_path / "data.txt").write_text("1\n")
    (tmp_path / "data.txt").chmod(0o600)
    (tmp_path / "app.sh").chmod(0o644)  # the entrypoint is executable in the image anyway
    files = app_files(load_app_project(tmp_path))
    assert {name: mode for name, (_, mode) in files.items()} == {
        "app.sh": 0o755,
        "data.txt": 0o644,
        "lib/a.awk": 0o644,
        "lib/sub/tool.sh": 0o755,
    }


def test_app_files__dot_lists_the_folder_but_not_the_build(tmp_path: Path) -> None:
    _oci(tmp_path)
    _app_toml(tmp_path, '[app]\nname = "x"\nkind = "oci"\nentrypoint = "app.sh"\nfiles = ["."]\n')
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "x.tar").write_bytes(b"old")
    assert sorted(app_files(load_app_project(tmp_path))) == ["app.sh", APP_PROJECT_FILE]


@pytest.mark.parametrize(
    ("setup", "message"),
    [("missing", "does not exist"), ("symlink", "is a symlink")],
)
def test_app_files__bad_listed_file__refused(tmp_path: Path, setup: str, message: str) -> None:
    _oci(tmp_path)
    _app_toml(tmp_path, '[app]\nname = "x"\nkind = "oci"\nentrypoint = "app.sh"\nfiles = ["d"]\n')
    if setup == "symlink":
        (tmp_path / "d").symlink_to("/etc/passwd")
    with pytest.raises(InvalidInput, match=message):
        app_files(load_app_project(tmp_path))


def test_sources_digest__content_not_time(tmp_path: Path) -> None:
    _oci(tmp_path)
    project = load_app_project(tmp_path)
    first = sources_digest(project)
    os.utime(tmp_path / "app.sh", (1, 1))
    assert sources_digest(project) == first
    with (tmp_path / "app.sh").open("a") as handle:
        handle.write("# changed\n")
    assert sources_digest(project) != first


def test_build_record__round_trip_push_and_staleness(tmp_path: Path) -> None:
    _oci(tmp_path)
    project = load_app_project(tmp_path)
    with pytest.raises(InvalidInput, match="hello is not built yet: run `veritask app build"):
        load_build(project)
    build = save_build(project, b"archive", sources=sources_digest(project), image_id="ab" * 32)
    assert build.checksum == hashlib.sha256(b"archive").digest()
    assert (tmp_path / "build" / "hello.tar").read_bytes() == b"archive"
    assert load_build(project) == build
    with pytest.raises(InvalidInput, match="built but not pushed: run `veritask app push"):
        load_pushed_build(tmp_path)
    record_push(project, build, "/ipfs/bafkreiexample")
    assert load_pushed_build(tmp_path)[1].multiaddr == "/ipfs/bafkreiexample"
    # The same bytes again keep the push; other bytes forget it.
    assert save_build(project, b"archive", sources=build.sources).multiaddr is not None
    assert save_build(project, b"other", sources=build.sources).multiaddr is None
    (tmp_path / "app.sh").write_text("#!/bin/sh\necho changed\n")
    with pytest.raises(InvalidInput, match="sources of hello changed since the build"):
        load_build(project)
    (tmp_path / "build" / "hello.tar").write_bytes(b"tampered")
    with pytest.raises(InvalidInput, match="missing or changed since the build"):
        load_build(project, check_sources=False)
    (tmp_path / "build" / "build.json").write_text("{")
    with pytest.raises(InvalidInput, match="is damaged"):
        load_build(project)


def test_dataset_project__init_load_and_record_multiaddr(tmp_path: Path) -> None:
    (tmp_path / "weather.csv").write_text("a,b\n")
    init_dataset_project(tmp_path, "weather", "weather.csv")
    project = load_dataset_project(tmp_path)
    assert (project.name, project.file, project.multiaddr) == ("weather", "weather.csv", "")
    recorded = record_dataset_multiaddr(project, "/ipfs/bafkreiexample")
    assert recorded.multiaddr == "/ipfs/bafkreiexample"
    text = (tmp_path / DATASET_PROJECT_FILE).read_text()
    assert "# The file sold" in text  # comments are kept
    with pytest.raises(InvalidInput, match="already exists"):
        init_dataset_project(tmp_path, "weather", "weather.csv")


def test_dataset_project__multiaddr_key_missing__refused(tmp_path: Path) -> None:
    (tmp_path / "d.bin").write_bytes(b"\0")
    (tmp_path / DATASET_PROJECT_FILE).write_text('[dataset]\nname = "d"\nfile = "d.bin"\n')
    with pytest.raises(InvalidInput, match=r"\[dataset\] has no multiaddr"):
        load_dataset_project(tmp_path)


def test_record_multiaddr__no_plain_line__file_left_alone(tmp_path: Path) -> None:
    (tmp_path / "d.bin").write_bytes(b"\0")
    text = '[dataset]\nname = "d"\nfile = "d.bin"\n"multiaddr" = ""\n'
    (tmp_path / DATASET_PROJECT_FILE).write_text(text)
    project = load_dataset_project(tmp_path)
    with pytest.raises(InvalidInput, match=r"no `multiaddr = \.\.\.` line"):
        record_dataset_multiaddr(project, "/ipfs/bafkreiexample")
    assert (tmp_path / DATASET_PROJECT_FILE).read_text() == text


def test_dataset_project__file_missing__refused(tmp_path: Path) -> None:
    init_dataset_project(tmp_path, "weather", "weather.csv")
    with pytest.raises(InvalidInput, match=r"the file weather\.csv does not exist"):
        load_dataset_project(tmp_path)


def test_workerpool_project__init_quotes_and_load(tmp_path: Path) -> None:
    description = 'GPU "fast" pool\n2 cores'
    init_workerpool_project(tmp_path, description)
    text = (tmp_path / WORKERPOOL_PROJECT_FILE).read_text()
    assert tomllib.loads(text)["workerpool"]["description"] == description
    project = load_workerpool_project(tmp_path)
    assert (project.description, project.worker_stake_ratio, project.scheduler_reward_ratio) == (
        description, 30, 1,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("ratio", "message"),
    [("101", "is a percentage: 101"), ("true", "must be an integer"), ('"5"', "must be an int")],
)
def test_workerpool_project__bad_ratio__refused(tmp_path: Path, ratio: str, message: str) -> None:
    (tmp_path / WORKERPOOL_PROJECT_FILE).write_text(
        f'[workerpool]\ndescription = "p"\nworker_stake_ratio = {ratio}\n'
        "scheduler_reward_ratio = 1\n"
    )
    with pytest.raises(InvalidInput, match=message):
        load_workerpool_project(tmp_path)
