"""`veritask app init|build|push`, `dataset init|push`, `workerpool init`: asset projects
from a template to a reproducible build in storage. The project files and build records
are the SDK's (`veritask.sdk.projects`); images and modules are built by the worker's
`apps.build`, composed here (the SDK must not import a service). main.py adds these
commands to the groups of the assets (cli/assets.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from veritask.errors import InvalidInput
from veritask.sdk import (
    APP_KINDS,
    DATASET_PROJECT_FILE,
    IMAGE_APP_DIR,
    AppBuild,
    AppProject,
    StorageClient,
    app_files,
    file_checksum,
    init_app_project,
    init_dataset_project,
    init_workerpool_project,
    load_app_project,
    load_build,
    load_dataset_project,
    record_dataset_multiaddr,
    record_push,
    save_build,
    sources_digest,
    to_hex,
)
from veritask.worker.apps.build import app_image, compile_wat, validate_wasm
from veritask.worker.runtimes.podman import PodmanRuntime

from .output import JsonFlag, emit_json, show
from .state import CliState, cli_state

__all__ = ["app_projects", "build_app_project", "dataset_projects", "workerpool_projects"]

app_projects = typer.Typer()
dataset_projects = typer.Typer()
workerpool_projects = typer.Typer()

FolderArgument = Annotated[
    Path, typer.Argument(help="The project's folder (default: the current folder).")
]


def _shown(path: Path) -> str:
    """`path` relative to the current folder when it is under it (shorter to read)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve())) or "."
    except ValueError:
        return str(path)


def _default_name(folder: Path) -> str:
    name = re.sub(r"[^a-z0-9]+", "-", folder.resolve().name.lower()).strip("-")
    return name or "app"


def _written(state: CliState, json_flag: bool, paths: list[Path], steps: list[str]) -> None:
    if state.as_json(json_flag):
        emit_json({"written": [str(path) for path in paths], "next": steps})
        return
    for path in paths:
        show(f"wrote {_shown(path)}")
    show("next:")
    for step in steps:
        show(f"  {step}")


@app_projects.command("init")
def init_app(
    ctx: typer.Context,
    folder: FolderArgument = Path("."),
    name: Annotated[
        str | None, typer.Option(help="The app's name (default: the folder's name).")
    ] = None,
    kind: Annotated[
        str, typer.Option(help="oci: a busybox sh script in an image; wasm: a WASI module.")
    ] = "oci",
    json_output: JsonFlag = False,
) -> None:
    """Write a working app project: veritask-app.toml and app.sh (or app.wat); never
    overwrites a file."""
    state = cli_state(ctx)
    if kind not in APP_KINDS:
        raise InvalidInput(f"unknown --kind {kind!r}: use 'oci' or 'wasm'")
    paths = init_app_project(folder, name or _default_name(folder), kind)
    where = _shown(folder)
    steps = [
        f"veritask app build {where}",
        f"veritask app push {where}",
        f"veritask app deploy --from-build {where}",
    ]
    _written(state, json_output, paths, steps)


def build_app_project(project: AppProject) -> AppBuild:
    """Builds the project into `build/` (same sources, same bytes) and records it."""
    sources = sources_digest(project)
    if project.kind == "oci":
        files = {f"{IMAGE_APP_DIR}/{name}": item for name, item in app_files(project).items()}
        entrypoint = [f"/{IMAGE_APP_DIR}/{project.entrypoint}"]
        archive, image_id = app_image(project.image, files, entrypoint)
        return save_build(project, archive, sources=sources, image_id=image_id)
    path = project.folder / project.entrypoint
    data = path.read_bytes()
    if project.entrypoint.endswith(".wat"):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"{project.entrypoint} is not UTF-8 text") from exc
        module = compile_wat(text, project.entrypoint)
    else:
        validate_wasm(data, project.entrypoint)
        module = data
    return save_build(project, module, sources=sources)


def _load_into_podman(project: AppProject, build: AppBuild) -> str:
    """Loads the built image into local podman unless its tag already is that image."""
    runtime = PodmanRuntime()
    runtime.check()
    expected = build.image_id or ""
    if runtime.image_id(project.image) != expected:
        runtime.command("load", "--input", str(project.build_dir / build.archive))
    loaded = runtime.image_id(project.image)
    if loaded != expected:
        raise InvalidInput(f"podman holds {project.image} as {loaded}, not the build {expected}")
    return expected


@app_projects.command("build")
def build_app(
    ctx: typer.Context,
    folder: FolderArgument = Path("."),
    load: Annotated[
        bool, typer.Option("--load", help="Also load the image into local podman (oci only).")
    ] = False,
    json_output: JsonFlag = False,
) -> None:
    """Build the project reproducibly into build/: an image archive (busybox + the files)
    or a .wasm module; print its checksum (sha256 of the archive)."""
    state = cli_state(ctx)
    project = load_app_project(folder)
    if load and project.kind != "oci":
        raise InvalidInput("--load is for oci apps: a wasm module needs no loading")
    build = build_app_project(project)
    archive = project.build_dir / build.archive
    loaded = _load_into_podman(project, build) if load else None
    if state.as_json(json_output):
        emit_json(
            {
                "name": build.name,
                "kind": build.kind,
                "app_type": build.app_type,
                "archive": str(archive),
                "bytes": archive.stat().st_size,
                "checksum": to_hex(build.checksum),
                "image": build.image,
                "image_id": build.image_id,
                "loaded": loaded is not None,
                "multiaddr": build.multiaddr,
            }
        )
        return
    show(f"built {_shown(archive)} ({build.kind}, {archive.stat().st_size:,} bytes)")
    show(f"checksum 0x{build.checksum.hex()}")
    if build.image_id is not None:
        show(f"image {build.image}, ID {build.image_id}")
    if loaded is not None:
        show(f"loaded into podman: {build.image} is image {loaded}")
    if build.multiaddr is not None:
        show(f"unchanged since the push to {build.multiaddr}")
    show(f"next: veritask app push {_shown(folder)}")


def _upload(state: CliState, data: bytes) -> tuple[str, str]:
    """Uploads `data` to the profile's storage, signed by the wallet; (its multiaddr, the
    storage URL). The storage must answer before the wallet's password is asked for."""
    profile = state.profile()
    if not profile.storage_url:
        raise InvalidInput(
            f"profile {profile.name!r} has no storage_url: add it to veritask.toml, set "
            "VERITASK_STORAGE_URL or give --storage-url"
        )
    wallet = state.find_wallet(profile)
    with StorageClient(profile.storage_url, timeout_s=state.timeout_s) as storage:
        storage.health()
        cid = storage.upload(data, state.unlock(wallet))
        return f"/ipfs/{cid}", storage.base_url


@app_projects.command("push")
def push_app(
    ctx: typer.Context, folder: FolderArgument = Path("."), json_output: JsonFlag = False
) -> None:
    """Upload the project's build to the profile's storage (signed by the wallet); print
    its multiaddr /ipfs/<cid> and checksum, for `app deploy --from-build`."""
    state = cli_state(ctx)
    project = load_app_project(folder)
    build = load_build(project)
    archive = project.build_dir / build.archive
    multiaddr, url = _upload(state, archive.read_bytes())
    build = record_push(project, build, multiaddr)
    if state.as_json(json_output):
        emit_json(
            {
                "name": build.name,
                "kind": build.kind,
                "app_type": build.app_type,
                "multiaddr": multiaddr,
                "checksum": to_hex(build.checksum),
                "storage_url": url,
            }
        )
        return
    show(f"pushed {_shown(archive)} to {url}")
    show(f"multiaddr {multiaddr}")
    show(f"checksum 0x{build.checksum.hex()}")
    show(f"next: veritask app deploy --from-build {_shown(folder)}")


def _data_files(folder: Path) -> list[str]:
    """The files of `folder` that could be its dataset (not hidden, not a project file)."""
    return sorted(
        path.name
        for path in folder.iterdir()
        if path.is_file()
        and not path.name.startswith(".")
        and not (path.name.startswith("veritask") and path.suffix == ".toml")
    )


@dataset_projects.command("init")
def init_dataset(
    ctx: typer.Context,
    folder: FolderArgument = Path("."),
    name: Annotated[
        str | None, typer.Option(help="The dataset's name (default: the folder's name).")
    ] = None,
    file: Annotated[
        str | None,
        typer.Option(help="The dataset's file in the folder (default: its only data file)."),
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Write veritask-dataset.toml (name, file, multiaddr); never overwrites it."""
    state = cli_state(ctx)
    if file is None:
        candidates = _data_files(folder) if folder.is_dir() else []
        if len(candidates) != 1:
            found = f"found {', '.join(candidates)}" if candidates else "found none"
            raise InvalidInput(f"which file is the dataset? give --file ({found} in {folder})")
        file = candidates[0]
    paths = init_dataset_project(folder, name or _default_name(folder), file)
    where = _shown(folder)
    steps = [f"veritask dataset push {where}", f"veritask dataset deploy --from-project {where}"]
    _written(state, json_output, paths, steps)


@dataset_projects.command("push")
def push_dataset(
    ctx: typer.Context,
    path: Annotated[
        Path,
        typer.Argument(
            help="A file, or a dataset project's folder (default: the current folder): its "
            "file is pushed and the multiaddr recorded in veritask-dataset.toml."
        ),
    ] = Path("."),
    json_output: JsonFlag = False,
) -> None:
    """Upload a dataset file to the profile's storage (signed by the wallet); print its
    multiaddr /ipfs/<cid> and checksum (the file's sha256)."""
    state = cli_state(ctx)
    project = load_dataset_project(path) if path.is_dir() else None
    file = project.path if project is not None else path
    if not file.is_file():
        raise InvalidInput(f"{path} is neither a file nor a folder holding {DATASET_PROJECT_FILE}")
    checksum = file_checksum(file)
    data = file.read_bytes()
    multiaddr, url = _upload(state, data)
    if project is not None:
        record_dataset_multiaddr(project, multiaddr)
        step = f"veritask dataset deploy --from-project {_shown(path)}"
    else:
        step = f"veritask dataset deploy --name NAME --multiaddr {multiaddr} --file {_shown(file)}"
    if state.as_json(json_output):
        emit_json(
            {
                "file": str(file),
                "bytes": len(data),
                "multiaddr": multiaddr,
                "checksum": to_hex(checksum),
                "storage_url": url,
                "recorded_in": str(path / DATASET_PROJECT_FILE) if project else None,
            }
        )
        return
    show(f"pushed {_shown(file)} ({len(data):,} bytes) to {url}")
    show(f"multiaddr {multiaddr}")
    show(f"checksum 0x{checksum.hex()}")
    if project is not None:
        show(f"recorded in {_shown(path / DATASET_PROJECT_FILE)}")
    show(f"next: {step}")


@workerpool_projects.command("init")
def init_workerpool(
    ctx: typer.Context,
    folder: FolderArgument = Path("."),
    description: Annotated[
        str | None,
        typer.Option(help="What the workerpool offers (default: '<folder> workerpool')."),
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Write veritask-workerpool.toml (description, policies); never overwrites it."""
    state = cli_state(ctx)
    text = description if description is not None else f"{_default_name(folder)} workerpool"
    paths = init_workerpool_project(folder, text)
    _written(
        state, json_output, paths, [f"veritask workerpool deploy --from-project {_shown(folder)}"]
    )
