"""OCI apps through a container engine's command line (podman, docker): image import and
checksum check, the hardened `run` flags, the wall-clock and output watch, and the
mapping of an engine's exit to a Status.

The engine-specific parts (binary, global flags, OCI runtime, availability check) live in
`podman.py` and `docker.py`; nothing here talks to an engine other than through its CLI.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

from veritask.errors import InvalidInput, ToolError
from veritask.worker.runtimes.base import (
    IEXEC_IN,
    IEXEC_OUT,
    AppRun,
    AppSource,
    Limits,
    Outcome,
    PreparedApp,
    Status,
    directory_bytes,
    output_bytes_over,
    output_overflow,
)
from veritask.worker.runtimes.logs import PipeTail

__all__ = ["APP_GID", "APP_UID", "CONTAINER_PREFIX", "ContainerRuntime", "run_flags"]

APP_UID = 65534
APP_GID = 65534
CONTAINER_PREFIX = "veritask-app-"
NOFILE = 1024
# RLIMIT_NPROC counts every process of the uid on the host, so parallel apps running as
# APP_UID share it: keep it loose and let --pids-limit (a per-container cgroup) bound one app.
NPROC = 4096
POLL_S = 0.05
OUTPUT_POLL_S = 0.1
KILL_GRACE_S = 10.0
SIGKILL_EXIT = 137
SIGXFSZ_EXIT = 153
ENGINE_EXITS = (125, 126, 127)
COMMAND_TIMEOUT_S = 120.0


def run_flags(run: AppRun, *, user: str | None) -> list[str]:
    """The sandbox flags shared by podman and docker for one app run (docs/runtimes.md)."""
    limits = run.limits
    flags = [
        "--pull", "never",
        "--log-driver", "none",
        "--network", "none",
        "--memory", str(limits.memory_bytes),
        "--memory-swap", str(limits.memory_bytes),
        "--cpus", f"{limits.cpus:g}",
        "--pids-limit", str(limits.pids),
        "--ulimit", f"nofile={NOFILE}:{NOFILE}",
        "--ulimit", f"nproc={NPROC}:{NPROC}",
        # One file larger than the whole output budget dies with SIGXFSZ at once; the
        # +1 makes such a capped file still count as over the limit afterwards.
        "--ulimit", f"fsize={limits.output_bytes + 1}:{limits.output_bytes + 1}",
        "--ulimit", "core=0:0",
        "--read-only",
        "--tmpfs", f"/tmp:rw,nosuid,nodev,mode=1777,size={limits.memory_bytes}",
        "--security-opt", "no-new-privileges",
        "--cap-drop", "all",
        "--mount", f"type=bind,src={run.in_dir.resolve()},dst={IEXEC_IN},ro=true",
        "--mount", f"type=bind,src={run.out_dir.resolve()},dst={IEXEC_OUT}",
    ]  # fmt: skip
    if user is not None:
        flags += ["--user", user]
    for key, value in sorted(run.env.items()):
        flags += ["--env", f"{key}={value}"]
    return flags


class ContainerRuntime:
    """An OCI runtime driven through `binary`'s docker-compatible CLI."""

    name = "containers"
    binary = "podman"

    def __init__(self) -> None:
        self._prepared: dict[bytes, PreparedApp] = {}
        self._lock = threading.Lock()

    def global_args(self) -> list[str]:
        """Flags placed before the sub-command (storage roots, ...)."""
        return []

    def engine_flags(self) -> list[str]:
        """Engine-specific `run` flags (the OCI runtime, ...)."""
        return []

    def check(self) -> None:
        raise NotImplementedError

    def command(self, *args: str, timeout_s: float = COMMAND_TIMEOUT_S) -> str:
        """Run one engine command; its stdout, or ToolError with its stderr."""
        argv = [self.binary, *self.global_args(), *args]
        try:
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=timeout_s, check=False
            )
        except FileNotFoundError as exc:
            raise ToolError(f"{self.binary} not found; install it (scripts/setup)") from exc
        except subprocess.TimeoutExpired as exc:
            raise ToolError(f"{' '.join(argv[:4])}… took over {timeout_s} s") from exc
        if done.returncode != 0:
            raise ToolError(
                f"{self.binary} {args[0]} failed (exit {done.returncode}): "
                f"{done.stderr.strip()[-2000:]}"
            )
        return done.stdout

    def image_id(self, reference: str) -> str | None:
        """The hex image ID (sha256 of the image config) of a local image, or None."""
        argv = [self.binary, *self.global_args(), "image", "inspect", "--format", "{{.Id}}"]
        done = subprocess.run(
            [*argv, reference], capture_output=True, text=True, timeout=60, check=False
        )
        if done.returncode != 0:
            return None
        return done.stdout.strip().removeprefix("sha256:")

    def load(self, app: AppSource) -> PreparedApp:
        if app.kind != "oci":
            raise InvalidInput(f"{self.name} runs OCI images, not {app.kind!r} apps")
        with self._lock:
            cached = self._prepared.get(app.checksum)
        if cached is not None and self.image_id(cached.reference) is not None:
            return cached
        if app.is_content_addressed:
            image = self._load_archive(app.fetch_bytes(), app.multiaddr)
        else:
            local = self.image_id(app.multiaddr)
            if local is None:
                raise InvalidInput(
                    f"image {app.multiaddr} is not in local {self.binary} storage; load it "
                    "(veritask.worker.apps.build) or register /ipfs/<cid> of its archive"
                )
            image = local
            if bytes.fromhex(image) != app.checksum:
                raise InvalidInput(
                    f"app checksum mismatch for {app.multiaddr}: expected "
                    f"0x{app.checksum.hex()}, got image ID 0x{image} (sha256 of the image "
                    "config); register the image ID that `podman image inspect` shows"
                )
        prepared = PreparedApp(self.name, "oci", app.checksum, image)
        with self._lock:
            self._prepared[app.checksum] = prepared
        return prepared

    def _load_archive(self, archive: bytes, what: str) -> str:
        with tempfile.TemporaryDirectory(prefix="veritask-image-") as scratch:
            path = Path(scratch) / "image.tar"
            path.write_bytes(archive)
            try:
                output = self.command("load", "--input", str(path))
            except ToolError as exc:
                raise InvalidInput(
                    f"{what} is not an image archive {self.binary} can load "
                    f"(make one with `{self.binary} save`): {exc}"
                ) from exc
        names = [
            line.split(":", 1)[1].strip().split(",")[0]
            for line in output.splitlines()
            if line.startswith("Loaded image")
        ]
        if len(names) != 1:
            raise InvalidInput(f"{what}: an app archive must hold one image, got {names}")
        image = self.image_id(names[0])
        if image is None:
            raise ToolError(f"{self.binary} loaded {names[0]} from {what} but cannot find it")
        return image

    def run_user(self, run: AppRun) -> str | None:
        """Run as an unprivileged uid; when we are root, hand it the output folder."""
        if os.geteuid() != 0:
            return None  # rootless engine: container root is already our unprivileged uid
        os.chown(run.out_dir, APP_UID, APP_GID)
        return f"{APP_UID}:{APP_GID}"

    def run(self, app: PreparedApp, run: AppRun) -> Outcome:
        if app.runtime != self.name:
            raise InvalidInput(f"app prepared by {app.runtime}, not by {self.name}")
        run.validate()
        name = CONTAINER_PREFIX + uuid.uuid4().hex[:16]
        argv = [
            self.binary,
            *self.global_args(),
            "run",
            "--rm",
            "--name",
            name,
            *self.engine_flags(),
            *run_flags(run, user=self.run_user(run)),
            app.reference,
            *run.args,
        ]
        limits = run.limits
        with tempfile.TemporaryDirectory(prefix="veritask-run-") as scratch:
            # stdout and stderr go through pipes into bounded tails, never to disk.
            out, err = PipeTail("stdout", limits.log_bytes), PipeTail("stderr", limits.log_bytes)
            start = time.monotonic()
            # conmon drops an `oom` file into its working directory when the
            # container is OOM-killed: run from the scratch dir to keep it ours.
            try:
                process = subprocess.Popen(
                    argv, stdin=subprocess.DEVNULL, stdout=out.fd, stderr=err.fd, cwd=scratch
                )
            finally:
                out.started()
                err.started()
            try:
                stopped = self._watch(process, name, run, start)
            finally:
                if process.poll() is None:
                    self._remove(name)
                    process.kill()
                    process.wait()
                out.finish()
                err.finish()
            duration_s = time.monotonic() - start
            if stopped is not None or process.returncode != 0:
                self._remove(name)  # a killed `run --rm` may leave its container behind
            stdout, stderr = out.text(), err.text()
            oom_reported = (Path(scratch) / "oom").exists()
        return classify(
            process.returncode,
            stopped,
            stdout,
            stderr,
            duration_s,
            run,
            name,
            oom_reported,
            stderr_tail=err.last_bytes(),
        )

    def _watch(
        self, process: subprocess.Popen[bytes], name: str, run: AppRun, start: float
    ) -> str | None:
        """Wait for the run; kill it on the wall-clock or output limit. Why it was stopped."""
        deadline = start + run.limits.time_s
        next_output_check = start + OUTPUT_POLL_S
        while True:
            try:
                process.wait(timeout=POLL_S)
                return None
            except subprocess.TimeoutExpired:
                pass
            now = time.monotonic()
            reason = None
            if now >= deadline:
                reason = "timeout"
            elif now >= next_output_check:
                next_output_check = now + OUTPUT_POLL_S
                if output_overflow(run.out_dir, run.limits):
                    reason = "output"
            if reason is not None:
                self._remove(name)
                try:
                    process.wait(timeout=KILL_GRACE_S)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                return reason

    def _remove(self, name: str) -> None:
        """Kill and delete the container at once; no error if it is already gone."""
        subprocess.run(
            [self.binary, *self.global_args(), "rm", "--force", "--time", "0", "--ignore", name],
            capture_output=True,
            timeout=60,
            check=False,
        )

    def container_exists(self, name: str) -> bool:
        argv = [self.binary, *self.global_args(), "container", "exists", name]
        return subprocess.run(argv, capture_output=True, timeout=60, check=False).returncode == 0

    def containers(self) -> list[str]:
        """Names of this runtime's app containers that still exist (should be none)."""
        output = self.command(
            "ps", "--all", "--filter", f"name={CONTAINER_PREFIX}", "--format", "{{.Names}}"
        )
        return [line for line in output.split() if line.startswith(CONTAINER_PREFIX)]


def classify(
    exit_code: int | None,
    stopped: str | None,
    stdout: str,
    stderr: str,
    duration_s: float,
    run: AppRun,
    sandbox_id: str,
    oom_reported: bool = False,
    *,
    stderr_tail: bytes = b"",
) -> Outcome:
    """Map how a container run ended to a Status (docs/runtimes.md, "How a status is known")."""
    limits: Limits = run.limits
    output_bytes = directory_bytes(run.out_dir)
    overflow = output_overflow(run.out_dir, limits)
    last_error_line = next((ln for ln in reversed(stderr.splitlines()) if ln.strip()), "")
    if stopped == "timeout":
        status, detail = Status.TIMEOUT, f"killed after the {limits.time_s:g} s limit"
        exit_code = None
    elif stopped == "output" or overflow or exit_code == SIGXFSZ_EXIT:
        status = Status.OUTPUT_LIMIT
        detail = overflow or output_bytes_over(output_bytes, limits)
        if stopped == "output":
            exit_code = None
    elif exit_code == 0:
        status, detail = Status.COMPLETED, ""
    elif exit_code in ENGINE_EXITS and last_error_line.startswith("Error:"):
        status, detail = Status.SANDBOX_ERROR, last_error_line
    elif exit_code == SIGKILL_EXIT or oom_reported:
        # A SIGKILL we did not send (that is "timeout"/"output" above) comes from the memory
        # cgroup's OOM killer; conmon confirms it with its `oom` file. Podman 4.3 with runc
        # on cgroup v1 leaves `State.OOMKilled` false, so inspect is not consulted.
        status = Status.OUT_OF_MEMORY
        source = "conmon reported an OOM kill" if oom_reported else "SIGKILL"
        detail = f"killed at the {limits.memory_bytes} bytes memory limit ({source})"
    else:
        status, detail = Status.FAILED, f"exit code {exit_code}"
    return Outcome(
        status=status,
        exit_code=exit_code,
        stdout=stdout,
        stderr=stderr,
        duration_s=duration_s,
        detail=detail,
        output_bytes=output_bytes,
        sandbox_id=sandbox_id,
        stderr_tail=stderr_tail,
    )
