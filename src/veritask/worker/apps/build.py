"""Builds apps reproducibly, with no registry: OCI images as docker-archive tarballs made
here from Debian's static busybox plus the app's files, and WASI modules from WAT. Same
inputs, same bytes, so the same image ID and checksums on every build. The demo apps are
built here; `app_image`, `compile_wat` and `validate_wasm` also build the projects of
`veritask app build`.

`python -m veritask.worker.apps.build [--install] [--out DIR]` prints the demo checksums.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import wasmtime

from veritask.domain.ids import to_hex
from veritask.errors import InvalidInput, ToolError
from veritask.worker.runtimes.base import AppKind, AppSource, Fetch
from veritask.worker.runtimes.containers import ContainerRuntime

__all__ = [
    "BUSYBOX",
    "IMAGE_PREFIX",
    "OCI_APPS",
    "WASM_APPS",
    "DemoApp",
    "app_image",
    "build_app",
    "compile_wat",
    "image_archive",
    "install_app",
    "validate_wasm",
]

BUSYBOX = Path("/bin/busybox")
IMAGE_PREFIX = "localhost/veritask/"
IMAGE_TAG = "1"
OCI_APPS = ("hello", "wordcount", "probe")
WASM_APPS = ("hello-wasm", "probe-wasm")
EPOCH = "1970-01-01T00:00:00Z"
PASSWD = b"root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n"
GROUP = b"root:x:0:\nnogroup:x:65534:\n"
SOURCES = Path(__file__).resolve().parent


@dataclass(frozen=True)
class DemoApp:
    """One built demo app.

    OCI: `archive` is a docker-archive tarball; `checksum` is the image ID (sha256 of
    the image config) that `image` has once loaded. WASM: `archive` is the module and
    `checksum` its sha256. `archive_checksum` is what an `/ipfs/<cid>` registration uses.
    """

    name: str
    kind: AppKind
    image: str | None
    checksum: bytes
    archive: bytes

    @property
    def archive_checksum(self) -> bytes:
        return hashlib.sha256(self.archive).digest()

    def local_source(self) -> AppSource:
        """The app as a local image reference (OCI only; call `install_app` first)."""
        if self.image is None:
            raise ToolError(f"{self.name} is a wasm app: serve it as /ipfs/<cid>")
        return AppSource("oci", self.image, self.checksum)

    def archive_source(self, multiaddr: str, fetch: Fetch) -> AppSource:
        """The app as `/ipfs/<cid>` of its archive (image tarball or module)."""
        return AppSource(self.kind, multiaddr, self.archive_checksum, fetch)


def _tar(entries: list[tarfile.TarInfo], payloads: dict[str, bytes]) -> bytes:
    """A reproducible tar: fixed order, mtime 0, root-owned, no names for ids."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for info in entries:
            data = payloads.get(info.name)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def _entry(name: str, kind: bytes, *, mode: int, size: int = 0, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.size, info.linkname = kind, mode, size, link
    info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
    return info


def _files_layer(
    dirs: list[str], files: dict[str, tuple[bytes, int]], links: dict[str, str]
) -> bytes:
    entries = [_entry(d, tarfile.DIRTYPE, mode=0o755) for d in sorted(dirs)]
    entries += [
        _entry(name, tarfile.REGTYPE, mode=mode, size=len(data))
        for name, (data, mode) in sorted(files.items())
    ]
    entries += [
        _entry(name, tarfile.SYMTYPE, mode=0o777, link=target)
        for name, target in sorted(links.items())
    ]
    return _tar(entries, {name: data for name, (data, _) in files.items()})


@functools.cache
def busybox_layer() -> bytes:
    """/bin/busybox and a symlink per applet, plus a minimal /etc: the shared base layer."""
    if not BUSYBOX.is_file():
        raise ToolError(f"{BUSYBOX} not found: apt-get install -y busybox-static")
    applets = subprocess.run(
        [str(BUSYBOX), "--list"], capture_output=True, text=True, check=True
    ).stdout.split()
    links = {f"bin/{applet}": "busybox" for applet in applets if applet != "busybox"}
    files = {
        "bin/busybox": (BUSYBOX.read_bytes(), 0o755),
        "etc/passwd": (PASSWD, 0o644),
        "etc/group": (GROUP, 0o644),
    }
    return _files_layer(["bin", "etc", "tmp", "iexec_in", "iexec_out"], files, links)


def image_archive(tag: str, layers: list[bytes], entrypoint: list[str]) -> tuple[bytes, str]:
    """A docker-archive tarball (what `podman save` writes) and its image ID (hex)."""
    diff_ids = [hashlib.sha256(layer).hexdigest() for layer in layers]
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": EPOCH,
        "config": {"Entrypoint": entrypoint, "Env": ["PATH=/bin"], "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{d}" for d in diff_ids]},
        "history": [{"created": EPOCH, "created_by": "veritask.worker.apps.build"}] * len(layers),
    }
    config_bytes = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    image_id = hashlib.sha256(config_bytes).hexdigest()
    manifest = [
        {
            "Config": f"{image_id}.json",
            "RepoTags": [tag],
            "Layers": [f"{d}/layer.tar" for d in diff_ids],
        }
    ]
    payloads = {f"{image_id}.json": config_bytes, "manifest.json": json.dumps(manifest).encode()}
    entries = [_entry(f"{image_id}.json", tarfile.REGTYPE, mode=0o644, size=len(config_bytes))]
    for digest, layer in zip(diff_ids, layers, strict=True):
        entries.append(_entry(digest, tarfile.DIRTYPE, mode=0o755))
        entries.append(_entry(f"{digest}/layer.tar", tarfile.REGTYPE, mode=0o644, size=len(layer)))
        payloads[f"{digest}/layer.tar"] = layer
    entries.append(
        _entry("manifest.json", tarfile.REGTYPE, mode=0o644, size=len(payloads["manifest.json"]))
    )
    return _tar(entries, payloads), image_id


def app_image(
    tag: str, files: Mapping[str, tuple[bytes, int]], entrypoint: list[str]
) -> tuple[bytes, str]:
    """A docker-archive of the busybox base layer plus one layer holding `files` (path in
    the image without the leading `/` → (bytes, mode)), with their parent folders; and its
    image ID (hex). `entrypoint` runs with the task's arguments appended."""
    dirs: set[str] = set()
    for name in files:
        path = PurePosixPath(name)
        if path.is_absolute() or not path.parts or ".." in path.parts or str(path) != name:
            raise InvalidInput(f"image file {name!r}: give a plain relative path such as app/x.sh")
        dirs.update(str(parent) for parent in path.parents if str(parent) != ".")
    layer = _files_layer(sorted(dirs), dict(files), {})
    return image_archive(tag, [busybox_layer(), layer], entrypoint)


def compile_wat(text: str, source: str) -> bytes:
    """The WASI module of a WAT text; InvalidInput naming `source` and the error's place."""
    try:
        return bytes(wasmtime.wat2wasm(text))
    except wasmtime.WasmtimeError as exc:
        where = " ".join(str(exc).split())
        raise InvalidInput(f"{source} is not valid WAT: {where}") from exc


def validate_wasm(module: bytes, source: str) -> None:
    """InvalidInput unless `module` is a valid WebAssembly binary module."""
    try:
        wasmtime.Module.validate(wasmtime.Engine(), module)
    except wasmtime.WasmtimeError as exc:
        raise InvalidInput(f"{source} is not a valid WebAssembly module: {exc}") from exc


def _source(folder: str, name: str) -> bytes:
    return (SOURCES / folder / name).read_bytes()


@functools.cache
def build_app(name: str) -> DemoApp:
    """Build a demo app by name (OCI_APPS, WASM_APPS); pure, deterministic, memoized."""
    if name in OCI_APPS:
        script = _source("oci", f"{name}.sh")
        tag = f"{IMAGE_PREFIX}{name}:{IMAGE_TAG}"
        files = {f"app/{name}.sh": (script, 0o755)}
        archive, image_id = app_image(tag, files, [f"/app/{name}.sh"])
        return DemoApp(name, "oci", tag, bytes.fromhex(image_id), archive)
    if name in WASM_APPS:
        body = _source("wasm", f"{name.removesuffix('-wasm')}.wat").decode()
        wat = "(module\n" + _source("wasm", "wasi.wat").decode() + body + ")\n"
        module = compile_wat(wat, f"{name}.wat")
        return DemoApp(name, "wasm", None, hashlib.sha256(module).digest(), module)
    raise ToolError(f"no demo app {name!r}; choose one of {OCI_APPS + WASM_APPS}")


def install_app(app: DemoApp, runtime: ContainerRuntime) -> AppSource:
    """Load an OCI demo app into the runtime's local storage unless its tag already points
    at the right image ID (idempotent); its local-reference AppSource."""
    source = app.local_source()
    if runtime.image_id(source.multiaddr) != app.checksum.hex():
        with tempfile.TemporaryDirectory(prefix="veritask-apps-") as scratch:
            path = Path(scratch) / f"{app.name}.tar"
            path.write_bytes(app.archive)
            runtime.command("load", "--input", str(path))
    return source


def main(argv: list[str] | None = None) -> int:
    from veritask.worker.runtimes.podman import PodmanRuntime

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--install", action="store_true", help="load OCI apps into podman")
    parser.add_argument("--out", type=Path, help="write each archive/module here")
    options = parser.parse_args(argv)
    report = []
    for name in OCI_APPS + WASM_APPS:
        app = build_app(name)
        if options.install and app.kind == "oci":
            install_app(app, PodmanRuntime())
        if options.out is not None:
            options.out.mkdir(parents=True, exist_ok=True)
            suffix = ".tar" if app.kind == "oci" else ".wasm"
            (options.out / f"{name}{suffix}").write_bytes(app.archive)
        report.append(
            {
                "name": name,
                "kind": app.kind,
                "image": app.image,
                "checksum": to_hex(app.checksum),
                "archive_checksum": to_hex(app.archive_checksum),
                "archive_bytes": len(app.archive),
            }
        )
    json.dump(report, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
