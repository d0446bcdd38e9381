"""App, dataset and workerpool projects: the `veritask-*.toml` files that `veritask
app|dataset|workerpool init` writes, read back and validated (`InvalidInput` naming the
file and the key), the files an app build packages, and the record a build leaves in
`build/` for `app push` and `app deploy --from-build`.

Nothing is built here: images and modules are made by the worker's `apps.build`, which
the CLI composes with this module (the SDK must not import services).
"""

from __future__ import annotations

import hashlib
import json
import re
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any, Literal, get_args

from veritask.domain.ids import to_hex
from veritask.errors import InvalidInput
from veritask.files import write_atomically

from .assets import MAX_POLICY_RATIO, file_checksum

__all__ = [
    "APP_KINDS",
    "APP_PROJECT_FILE",
    "APP_TYPES",
    "BUILD_DIR",
    "BUILD_RECORD",
    "DATASET_PROJECT_FILE",
    "DEFAULT_SCHEDULER_REWARD_RATIO",
    "DEFAULT_WORKER_STAKE_RATIO",
    "IMAGE_APP_DIR",
    "WORKERPOOL_PROJECT_FILE",
    "AppBuild",
    "AppProject",
    "DatasetProject",
    "ProjectKind",
    "WorkerpoolProject",
    "app_files",
    "init_app_project",
    "init_dataset_project",
    "init_workerpool_project",
    "load_app_project",
    "load_build",
    "load_dataset_project",
    "load_pushed_build",
    "load_workerpool_project",
    "record_dataset_multiaddr",
    "record_push",
    "save_build",
    "sources_digest",
]

ProjectKind = Literal["oci", "wasm"]
APP_KINDS: tuple[ProjectKind, ...] = get_args(ProjectKind)
APP_TYPES: Mapping[ProjectKind, str] = {"oci": "DOCKER", "wasm": "WASM"}
"""The app type registered on chain for each kind (what the scheduler maps back)."""
APP_PROJECT_FILE = "veritask-app.toml"
DATASET_PROJECT_FILE = "veritask-dataset.toml"
WORKERPOOL_PROJECT_FILE = "veritask-workerpool.toml"
BUILD_DIR = "build"
BUILD_RECORD = "build.json"
IMAGE_APP_DIR = "app"
"""The folder of an OCI image that holds the project's files (`/app/<path>`)."""
DEFAULT_WORKER_STAKE_RATIO = 30
DEFAULT_SCHEDULER_REWARD_RATIO = 1
TEMPLATES = Path(__file__).resolve().parent / "templates"
_NAME = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*")
_MAX_NAME = 64


@dataclass(frozen=True)
class AppProject:
    """A `veritask-app.toml` and its folder; paths are relative, POSIX, inside `folder`."""

    folder: Path
    name: str
    kind: ProjectKind
    entrypoint: str
    files: tuple[str, ...]

    @property
    def app_type(self) -> str:
        return APP_TYPES[self.kind]

    @property
    def image(self) -> str:
        """The tag an OCI build carries (`podman load` applies it)."""
        return f"localhost/{self.name}:latest"

    @property
    def build_dir(self) -> Path:
        return self.folder / BUILD_DIR

    @property
    def archive_name(self) -> str:
        return f"{self.name}.tar" if self.kind == "oci" else f"{self.name}.wasm"


@dataclass(frozen=True)
class AppBuild:
    """What `veritask app build` left in `build/build.json`. `checksum` is the sha256 of
    the archive (docker-archive or module): the checksum an `/ipfs/<cid>` app registers.
    `sources` is `sources_digest` at build time; `multiaddr` is set once pushed."""

    name: str
    kind: ProjectKind
    archive: str
    checksum: bytes
    sources: bytes
    image: str | None = None
    image_id: str | None = None
    multiaddr: str | None = None

    @property
    def app_type(self) -> str:
        return APP_TYPES[self.kind]


@dataclass(frozen=True)
class DatasetProject:
    folder: Path
    name: str
    file: str
    multiaddr: str  # "" until pushed or set by hand

    @property
    def path(self) -> Path:
        return self.folder / self.file


@dataclass(frozen=True)
class WorkerpoolProject:
    folder: Path
    description: str
    worker_stake_ratio: int
    scheduler_reward_ratio: int


def _toml_string(value: str) -> str:
    # A JSON string is a valid TOML basic string (same escapes, \uXXXX included).
    return json.dumps(value, ensure_ascii=False)


def _check_name(name: str, source: str) -> str:
    if not _NAME.fullmatch(name) or len(name) > _MAX_NAME:
        raise InvalidInput(
            f"{source}: bad name {name!r}: use lowercase letters, digits and . _ - between "
            f"them (at most {_MAX_NAME} characters), e.g. 'hello' or 'word-count'"
        )
    return name


def _write_new(files: Mapping[Path, tuple[str, int]]) -> list[Path]:
    """Writes every file, or none when one exists already (all are named)."""
    existing = sorted(str(path) for path in files if path.exists() or path.is_symlink())
    if existing:
        raise InvalidInput(
            f"{', '.join(existing)} already exist{'s' if len(existing) == 1 else ''}: "
            "nothing was written; choose an empty folder or move them away"
        )
    written = []
    for path, (text, mode) in files.items():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("x", encoding="utf-8") as handle:
                handle.write(text)
            path.chmod(mode)
        except OSError as exc:
            raise InvalidInput(f"cannot write {path}: {exc.strerror or exc}") from exc
        written.append(path)
    return written


def _template(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")


def init_app_project(folder: Path, name: str, kind: str = "oci") -> list[Path]:
    """Writes a working app project in `folder`: `veritask-app.toml` and the entrypoint
    (`app.sh` for oci, `app.wat` for wasm). Refuses, writing nothing, when one exists."""
    _check_name(name, "app")
    if kind not in APP_KINDS:
        raise InvalidInput(f"unknown app kind {kind!r}: use 'oci' or 'wasm'")
    entrypoint = "app.sh" if kind == "oci" else "app.wat"
    files = [entrypoint] if kind == "oci" else []
    config = _template(APP_PROJECT_FILE).format(
        name=_toml_string(name),
        kind=_toml_string(kind),
        entrypoint=_toml_string(entrypoint),
        files="[" + ", ".join(_toml_string(f) for f in files) + "]",
    )
    return _write_new(
        {
            folder / APP_PROJECT_FILE: (config, 0o644),
            folder / entrypoint: (_template(entrypoint), 0o755 if kind == "oci" else 0o644),
        }
    )


def init_dataset_project(folder: Path, name: str, file: str) -> list[Path]:
    """Writes `veritask-dataset.toml` in `folder` (refused when it exists)."""
    _check_name(name, "dataset")
    _relative(file, f"{DATASET_PROJECT_FILE}: file")
    config = _template(DATASET_PROJECT_FILE).format(
        name=_toml_string(name), file=_toml_string(file)
    )
    return _write_new({folder / DATASET_PROJECT_FILE: (config, 0o644)})


def init_workerpool_project(folder: Path, description: str) -> list[Path]:
    """Writes `veritask-workerpool.toml` in `folder` (refused when it exists)."""
    if not description.strip():
        raise InvalidInput("the workerpool's description is empty: give one")
    config = _template(WORKERPOOL_PROJECT_FILE).format(description=_toml_string(description))
    return _write_new({folder / WORKERPOOL_PROJECT_FILE: (config, 0o644)})


def _read_table(folder: Path, file_name: str, table: str, keys: tuple[str, ...]) -> dict[str, Any]:
    path = folder / file_name
    if not path.is_file():
        command = file_name.removeprefix("veritask-").removesuffix(".toml")
        raise InvalidInput(
            f"no {file_name} in {folder}: run `veritask {command} init` there, or give the "
            "project's folder"
        )
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path} is not valid TOML: {exc}") from exc
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from exc
    values = document.get(table)
    extra = sorted(set(document) - {table})
    if not isinstance(values, dict) or extra:
        raise InvalidInput(f"{path} must hold one [{table}] table and nothing else")
    unknown = sorted(set(values) - set(keys))
    if unknown:
        raise InvalidInput(
            f"{path}: unknown key {', '.join(unknown)} in [{table}]; expected {', '.join(keys)}"
        )
    missing = [key for key in keys if key not in values]
    if missing:
        raise InvalidInput(f"{path}: [{table}] has no {', '.join(missing)}")
    return values


def _string(values: Mapping[str, Any], key: str, where: str) -> str:
    value = values[key]
    if not isinstance(value, str):
        raise InvalidInput(f"{where}: {key} must be a string, not {value!r}")
    return value


def _relative(path: str, where: str) -> PurePosixPath:
    """A path inside the project: relative, no `..`, not under build/."""
    pure = PurePosixPath(path)
    if not path or pure.is_absolute() or ".." in pure.parts or "\\" in path:
        raise InvalidInput(f"{where}: {path!r} must be a relative path inside the project")
    if pure.parts and pure.parts[0] == BUILD_DIR:
        raise InvalidInput(f"{where}: {path!r} is under {BUILD_DIR}/, the build's output")
    return pure


def load_app_project(folder: Path) -> AppProject:
    """`folder/veritask-app.toml`, checked: a valid name and kind, an entrypoint that
    exists (oci: a `#!/bin/...` script or a static binary), files that exist."""
    where = str(folder / APP_PROJECT_FILE)
    values = _read_table(folder, APP_PROJECT_FILE, "app", ("name", "kind", "entrypoint", "files"))
    name = _check_name(_string(values, "name", where), where)
    kind = _string(values, "kind", where)
    if kind not in APP_KINDS:
        raise InvalidInput(f"{where}: unknown kind {kind!r}: use 'oci' or 'wasm'")
    entrypoint = str(_relative(_string(values, "entrypoint", where), f"{where}: entrypoint"))
    files = values["files"]
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise InvalidInput(f'{where}: files must be a list of paths, e.g. ["app.sh"]')
    checked = tuple(str(_relative(f, f"{where}: files")) for f in files)
    project = AppProject(folder, name, "oci" if kind == "oci" else "wasm", entrypoint, checked)
    _check_entrypoint(project, where)
    return project


def _check_entrypoint(project: AppProject, where: str) -> None:
    path = project.folder / project.entrypoint
    if path.is_symlink() or not path.is_file():
        raise InvalidInput(f"{where}: the entrypoint {project.entrypoint} is not a file here")
    head = _read(path)[:256]
    if project.kind == "wasm":
        if not project.entrypoint.endswith((".wat", ".wasm")):
            raise InvalidInput(
                f"{where}: a wasm entrypoint is a .wat text or a .wasm module, "
                f"not {project.entrypoint}"
            )
        return
    if head.startswith(b"\x7fELF"):
        return  # a static binary: runs as is
    if not head.startswith(b"#!"):
        raise InvalidInput(
            f"{project.entrypoint} has no #! line: start it with #!/bin/sh (the image holds "
            "busybox) or make it a static binary"
        )
    line = head.split(b"\n", 1)[0]
    if line.endswith(b"\r"):
        raise InvalidInput(f"{project.entrypoint} has Windows line endings: convert it to \\n")
    interpreter = line[2:].strip().split(b" ", 1)[0].decode(errors="replace")
    if not interpreter.startswith(("/bin/", f"/{IMAGE_APP_DIR}/")):
        raise InvalidInput(
            f"{project.entrypoint} runs {interpreter}, which the image does not hold: it has "
            "busybox only (/bin/sh, /bin/awk...); use #!/bin/sh"
        )


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from exc


def _walk(project: AppProject, relative: str) -> list[str]:
    """The regular files at `relative` (itself, or under it when a folder, hidden names
    skipped); symlinks and special files are refused."""
    path = project.folder / relative
    if path.is_symlink():
        raise InvalidInput(f"{relative} is a symlink: list the file it points to instead")
    if path.is_file():
        return [relative]
    if not path.is_dir():
        raise InvalidInput(f"{relative}, listed in {APP_PROJECT_FILE}'s files, does not exist")
    found = []
    for child in sorted(path.iterdir()):
        if child.name.startswith("."):
            continue
        inner = str(PurePosixPath(relative) / child.name) if relative != "." else child.name
        if inner == BUILD_DIR:
            continue
        found += _walk(project, inner)
    return found


def app_files(project: AppProject) -> dict[str, tuple[bytes, int]]:
    """The files an OCI build puts under /app: path → (bytes, mode). Modes are normalized
    (0o755 when the owner may execute it, and the entrypoint; else 0o644) so that a
    checkout's umask does not change the image."""
    names = {project.entrypoint}
    for listed in project.files:
        names.update(_walk(project, listed))
    files = {}
    for name in sorted(names):
        path = project.folder / name
        executable = name == project.entrypoint or bool(path.stat().st_mode & stat.S_IXUSR)
        files[name] = (_read(path), 0o755 if executable else 0o644)
    return files


def sources_digest(project: AppProject) -> bytes:
    """sha256 over the project file and every file a build reads: a build whose recorded
    digest differs is stale."""
    digest = hashlib.sha256()
    entries: list[tuple[str, bytes, int]] = [
        (APP_PROJECT_FILE, _read(project.folder / APP_PROJECT_FILE), 0)
    ]
    if project.kind == "oci":
        entries += [(name, data, mode) for name, (data, mode) in app_files(project).items()]
    else:
        entries.append((project.entrypoint, _read(project.folder / project.entrypoint), 0))
    for name, data, mode in entries:
        digest.update(f"{name}\0{mode:o}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.digest()


def _atomic_write(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, data)
    except OSError as exc:
        raise InvalidInput(f"cannot write {path}: {exc.strerror or exc}") from exc


def save_build(
    project: AppProject, archive: bytes, *, sources: bytes, image_id: str | None = None
) -> AppBuild:
    """Writes `build/<archive>` and `build/build.json`; a build with the same bytes as the
    previous one keeps its pushed multiaddr."""
    checksum = hashlib.sha256(archive).digest()
    previous: AppBuild | None
    try:
        previous = load_build(project, check_sources=False)
    except InvalidInput:
        previous = None
    build = AppBuild(
        name=project.name,
        kind=project.kind,
        archive=project.archive_name,
        checksum=checksum,
        sources=sources,
        image=project.image if project.kind == "oci" else None,
        image_id=image_id,
        multiaddr=previous.multiaddr
        if previous is not None and previous.checksum == checksum
        else None,
    )
    _atomic_write(project.build_dir / build.archive, archive)
    _save_record(project, build)
    return build


def _save_record(project: AppProject, build: AppBuild) -> None:
    record = {
        "name": build.name,
        "kind": build.kind,
        "app_type": build.app_type,
        "archive": build.archive,
        "checksum": to_hex(build.checksum),
        "sources": to_hex(build.sources),
        "image": build.image,
        "image_id": build.image_id,
        "multiaddr": build.multiaddr,
    }
    text = json.dumps(record, indent=2) + "\n"
    _atomic_write(project.build_dir / BUILD_RECORD, text.encode())


def load_build(project: AppProject, *, check_sources: bool = True) -> AppBuild:
    """The project's last build, checked: its archive still hashes to its checksum, it is
    this project's, and (with `check_sources`) the sources did not change since."""
    path = project.build_dir / BUILD_RECORD
    rebuild = f"run `veritask app build {project.folder}`"
    if not path.is_file():
        raise InvalidInput(f"{project.name} is not built yet: {rebuild} first")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        build = AppBuild(
            name=str(record["name"]),
            kind="wasm" if record["kind"] == "wasm" else "oci",
            archive=str(record["archive"]),
            checksum=bytes.fromhex(str(record["checksum"]).removeprefix("0x")),
            sources=bytes.fromhex(str(record["sources"]).removeprefix("0x")),
            image=record.get("image"),
            image_id=record.get("image_id"),
            multiaddr=record.get("multiaddr"),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(f"{path} is damaged ({exc}): {rebuild}") from exc
    if (build.name, build.kind, build.archive) != (
        project.name,
        project.kind,
        project.archive_name,
    ):
        raise InvalidInput(f"the build in {project.build_dir} is not of this project: {rebuild}")
    archive = project.build_dir / build.archive
    if not archive.is_file() or file_checksum(archive) != build.checksum:
        raise InvalidInput(f"{archive} is missing or changed since the build: {rebuild}")
    if check_sources and sources_digest(project) != build.sources:
        raise InvalidInput(f"the sources of {project.name} changed since the build: {rebuild}")
    return build


def record_push(project: AppProject, build: AppBuild, multiaddr: str) -> AppBuild:
    """Records where the build was uploaded (`/ipfs/<cid>`)."""
    pushed = replace(build, multiaddr=multiaddr)
    _save_record(project, pushed)
    return pushed


def load_dataset_project(folder: Path) -> DatasetProject:
    """`folder/veritask-dataset.toml`, checked: a valid name and an existing file."""
    where = str(folder / DATASET_PROJECT_FILE)
    values = _read_table(folder, DATASET_PROJECT_FILE, "dataset", ("name", "file", "multiaddr"))
    name = _check_name(_string(values, "name", where), where)
    file = str(_relative(_string(values, "file", where), f"{where}: file"))
    multiaddr = _string(values, "multiaddr", where).strip()
    if not (folder / file).is_file():
        raise InvalidInput(f"{where}: the file {file} does not exist in {folder}")
    return DatasetProject(folder, name, file, multiaddr)


_MULTIADDR_LINE = re.compile(r"^[ \t]*multiaddr[ \t]*=.*$", re.MULTILINE)


def record_dataset_multiaddr(project: DatasetProject, multiaddr: str) -> DatasetProject:
    """Sets `multiaddr` in the project file: that one line is replaced, the rest (comments
    included) is kept. A file written another way is left alone and refused."""
    path = project.folder / DATASET_PROJECT_FILE
    text = _read(path).decode("utf-8")
    line = f"multiaddr = {_toml_string(multiaddr)}"
    updated, count = _MULTIADDR_LINE.subn(lambda _: line, text, count=1)
    if count == 0:
        raise InvalidInput(f"no `multiaddr = ...` line in {path}: set {line} there yourself")
    _atomic_write(path, updated.encode())
    try:
        recorded = load_dataset_project(project.folder)
    except InvalidInput:
        _atomic_write(path, text.encode())
        raise
    if recorded.multiaddr != multiaddr:
        _atomic_write(path, text.encode())
        raise InvalidInput(f"could not record the multiaddr in {path}: set {line} there")
    return recorded


def load_workerpool_project(folder: Path) -> WorkerpoolProject:
    """`folder/veritask-workerpool.toml`, checked: a description and two percentages."""
    where = str(folder / WORKERPOOL_PROJECT_FILE)
    keys = ("description", "worker_stake_ratio", "scheduler_reward_ratio")
    values = _read_table(folder, WORKERPOOL_PROJECT_FILE, "workerpool", keys)
    description = _string(values, "description", where)
    if not description.strip():
        raise InvalidInput(f"{where}: the description is empty")
    ratios = []
    for key in keys[1:]:
        value = values[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput(f"{where}: {key} must be an integer percentage, not {value!r}")
        if not 0 <= value <= MAX_POLICY_RATIO:
            raise InvalidInput(f"{where}: {key} is a percentage: {value} is not between 0 and 100")
        ratios.append(value)
    return WorkerpoolProject(folder, description, ratios[0], ratios[1])


def load_pushed_build(folder: Path) -> tuple[AppProject, AppBuild]:
    """The project in `folder` and its current build, which must have been pushed: what
    `app deploy --from-build` registers."""
    project = load_app_project(folder)
    build = load_build(project)
    if build.multiaddr is None:
        raise InvalidInput(
            f"{project.name} is built but not pushed: run `veritask app push {folder}` first"
        )
    return project, build
