"""The worker's in-flight tasks on disk (one JSON file per task in `<work_dir>/journal`),
written before contributing, so a restarted worker can still reveal and upload what it
contributed (or, for a failure, reveal it and name its record). Archives live next to
them, in `<work_dir>/results`."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from veritask.errors import InvalidInput
from veritask.files import write_atomically

__all__ = ["Entry", "Journal", "task_file_name"]

_TASK_ID = re.compile(r"0x[0-9a-f]{64}")


def task_file_name(task_id: str) -> str:
    """`task_id` as the name of the worker's files of that task. Only a task id (0x and 64
    hex digits) is one: a path from the wire must never reach the file system."""
    name = task_id.lower()
    if not _TASK_ID.fullmatch(name):
        raise InvalidInput(f"not a task id: {task_id[:80]!r} (expected 0x and 64 hex digits)")
    return name


@dataclass(frozen=True)
class Entry:
    task_id: str
    deal_id: str
    index: int
    digest: str  # 0x hex: what was (or is being) contributed
    callback_data: str  # 0x hex or ""
    archive: str  # path of the result archive ("" for a failure record)
    # 0x hex of the failure record whose keccak256 is `digest`, when the task failed
    # (errors are results: it is revealed like a digest, and nothing is uploaded).
    failure_record: str = ""


class Journal:
    def __init__(self, work_dir: Path) -> None:
        self.root = work_dir / "journal"
        self.results = work_dir / "results"
        self.root.mkdir(parents=True, exist_ok=True)
        self.results.mkdir(parents=True, exist_ok=True)

    def archive_path(self, task_id: str) -> Path:
        return self.results / f"{task_file_name(task_id)}.zip"

    def _entry_path(self, task_id: str) -> Path:
        return self.root / f"{task_file_name(task_id)}.json"

    def save(self, entry: Entry) -> None:
        write_atomically(self._entry_path(entry.task_id), json.dumps(asdict(entry)))

    def load(self, task_id: str) -> Entry | None:
        try:
            return Entry(**json.loads(self._entry_path(task_id).read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def drop(self, task_id: str) -> None:
        self._entry_path(task_id).unlink(missing_ok=True)
        self.archive_path(task_id).unlink(missing_ok=True)

    def task_ids(self) -> list[str]:
        return sorted(path.stem for path in self.root.glob("*.json"))
