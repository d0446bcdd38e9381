"""Task results for requesters: the result pointer a task's finalize carried, the result
archive downloaded from storage, unpacked, and checked against the task's on-chain result
digest, so a requester never has to trust the worker or the storage that served it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from veritask.domain.result_archive import parse_result_pointer, unpack_and_digest
from veritask.domain.tasks import TaskStatus
from veritask.errors import IntegrityError, InvalidInput

from .client import Veritask
from .deals import Deals, TaskView
from .storage import StorageClient

__all__ = [
    "DEFAULT_MAX_RESULT_BYTES",
    "DownloadedResult",
    "Results",
]

DEFAULT_MAX_RESULT_BYTES = 256 << 20


@dataclass(frozen=True)
class DownloadedResult:
    task: TaskView
    cid: str  # of the result archive, from the task's result pointer
    folder: Path  # the unpacked result: computed.json and the app's outputs
    files: tuple[Path, ...]
    digest: bytes  # recomputed from `folder`, equal to the task's on-chain result digest


class Results:
    """Downloads the results of completed tasks from the profile's storage service."""

    def __init__(self, client: Veritask, *, deals: Deals | None = None) -> None:
        self.client = client
        self.deals = deals or client.deals()

    def _storage(self) -> StorageClient:
        url = self.client.profile.storage_url
        if not url:
            raise InvalidInput(
                f"profile {self.client.profile.name!r} has no storage_url: add it to "
                "veritask.toml or set VERITASK_STORAGE_URL"
            )
        return StorageClient(url, timeout_s=self.client.timeout_s)

    def completed_task(self, ref: str) -> TaskView:
        """Task `ref` (DEAL_ID:INDEX or a task id), which must be completed."""
        return _completed(self.deals.task(ref))

    def download(
        self, ref: str, dest: Path, *, max_bytes: int = DEFAULT_MAX_RESULT_BYTES
    ) -> DownloadedResult:
        """Downloads and unpacks the result of task `ref` into the new or empty folder
        `dest`; IntegrityError (the files are kept, for inspection) when they do not hash to
        the task's on-chain result digest."""
        return self.download_task(self.completed_task(ref), dest, max_bytes=max_bytes)

    def download_task(
        self, task: TaskView, dest: Path, *, max_bytes: int = DEFAULT_MAX_RESULT_BYTES
    ) -> DownloadedResult:
        """`download` of a task already read (by `completed_task` or a watch): no second
        lookup on chain."""
        _completed(task)
        expected = task.result_digest or b""
        cid = parse_result_pointer(task.results or b"")
        if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
            raise InvalidInput(f"{dest} exists and is not an empty folder: choose another one")
        with self._storage() as storage:
            archive = storage.download(cid, max_bytes=max_bytes)
        files, digest = unpack_and_digest(archive, dest, max_bytes=max_bytes)
        if digest != expected:
            raise IntegrityError(
                f"the result in {dest} hashes to 0x{digest.hex()}, but task "
                f"0x{task.task_id.hex()} was finalized with digest 0x{expected.hex()}: "
                "do not trust these files (the worker that uploaded them cheated or failed)"
            )
        return DownloadedResult(task, cid, dest, tuple(files), digest)


def _completed(task: TaskView) -> TaskView:
    if task.status != TaskStatus.COMPLETED or task.results is None or task.result_digest is None:
        raise InvalidInput(
            f"task 0x{task.task_id.hex()} is {task.status_name}, not COMPLETED: {task.next_step()}"
        )
    return task
