"""A test-only OCI app built like the demo apps: `callback` writes computed.json with the
callback-data given as its first argument (hex)."""

from __future__ import annotations

import io
import tarfile

from veritask.worker.apps.build import DemoApp, busybox_layer, image_archive, install_app
from veritask.worker.runtimes import PodmanRuntime

CALLBACK_SCRIPT = b"""#!/bin/sh
set -eu
printf '{"callback-data": "%s"}\\n' "$1" > /iexec_out/computed.json
echo "callback data: $1"
"""


def _layer() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        folder = tarfile.TarInfo("app")
        folder.type, folder.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(folder)
        script = tarfile.TarInfo("app/callback.sh")
        script.size, script.mode = len(CALLBACK_SCRIPT), 0o755
        tar.addfile(script, io.BytesIO(CALLBACK_SCRIPT))
    return buffer.getvalue()


def callback_app() -> DemoApp:
    tag = "localhost/veritask-tests/callback:1"
    archive, image_id = image_archive(tag, [busybox_layer(), _layer()], ["/app/callback.sh"])
    app = DemoApp("callback", "oci", tag, bytes.fromhex(image_id), archive)
    install_app(app, PodmanRuntime())
    return app
