"""The podman runtime: OCI apps in rootful or rootless podman, always through runc.

Why runc and explicit ulimits: on hosts with a hybrid cgroup layout crun refuses every
container ("cgroups in hybrid mode not supported"), and podman's default nofile ulimit can
exceed the host's hard limit. Both flags are passed on every run; no global config changes.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from veritask.errors import ToolError
from veritask.worker.runtimes.containers import ContainerRuntime

__all__ = ["PodmanRuntime"]


class PodmanRuntime(ContainerRuntime):
    """Podman with `--runtime runc`; `root`/`runroot` select a private image storage
    (default: the system one, where `podman images` looks)."""

    name = "podman"
    binary = "podman"

    def __init__(
        self, *, root: Path | None = None, runroot: Path | None = None, oci_runtime: str = "runc"
    ) -> None:
        super().__init__()
        self.root = root
        self.runroot = runroot
        self.oci_runtime = oci_runtime

    def global_args(self) -> list[str]:
        args: list[str] = []
        if self.root is not None:
            args += ["--root", str(self.root)]
        if self.runroot is not None:
            args += ["--runroot", str(self.runroot)]
        return args

    def engine_flags(self) -> list[str]:
        return ["--runtime", self.oci_runtime]

    def check(self) -> None:
        for tool, package in (("podman", "podman"), (self.oci_runtime, self.oci_runtime)):
            if shutil.which(tool) is None and not Path(tool).is_file():
                raise ToolError(
                    f"{tool} not found: install it (`apt-get install -y {package}`, "
                    "or run scripts/setup)"
                )
        try:
            subprocess.run([self.binary, "--version"], capture_output=True, timeout=30, check=True)
        except (OSError, subprocess.SubprocessError) as exc:
            raise ToolError(f"podman does not run here: {exc}; reinstall it") from exc
