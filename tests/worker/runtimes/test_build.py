"""The demo app builder: reproducible bytes, so reproducible checksums."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile

import pytest

from veritask.errors import ToolError
from veritask.worker.apps.build import OCI_APPS, WASM_APPS, build_app


@pytest.mark.parametrize("name", OCI_APPS + WASM_APPS)
def test_build_app__twice__identical_bytes(name: str) -> None:
    first = build_app.__wrapped__(name)
    second = build_app.__wrapped__(name)
    assert first == second
    assert first.archive_checksum == hashlib.sha256(first.archive).digest()


@pytest.mark.parametrize("name", OCI_APPS)
def test_build_app__oci__image_id_is_the_config_digest(name: str) -> None:
    app = build_app(name)
    with tarfile.open(fileobj=io.BytesIO(app.archive)) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        config = tar.extractfile(manifest[0]["Config"]).read()  # type: ignore[union-attr]
    assert hashlib.sha256(config).digest() == app.checksum
    assert json.loads(config)["config"]["Entrypoint"] == [f"/app/{name}.sh"]
    assert manifest[0]["RepoTags"] == [f"localhost/veritask/{name}:1"]


def test_build_app__unknown__tool_error() -> None:
    with pytest.raises(ToolError, match="no demo app"):
        build_app("nope")
