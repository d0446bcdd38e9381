"""The worker's in-flight tasks on disk (one JSON file per task in `<work_dir>/journal`),
written before contributing, so a restarted worker can still reveal and upload what it
contributed. Archives live next to them, in `<work_dir>/results`."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from veritask.files import write_atomically

__all__ = ["Entry", "Journal"]


@dataclass(frozen=True)
class Entry:
    task_id: str
    deal_id: str
    index: int
    digest: str  # 0x hex: what was (or is being) contributed
    callback_data: str  # 0x hex or ""
    archive: str  # path of the result archive


class Journal:
    def __init__(self, work_dir: Path) -> None:
        self.root = work_dir / "journal"
        self.results = work_dir / "results"
        self.root.mkdir(parents=True, exist_ok=True)
        self.results.mkdir(parents=True, exist_ok=True)

    def archive_path(self, task_id: str) -> Path:
        return self.results / f"{task_id}.zip"

    def save(self, entry: Entry) -> None:
        write_atomically(self.root / f"{entry.task_id}.json", json.dumps(asdict(entry)))

    def load(self, task_id: str) -> Entry | None:
        try:
            return Entry(**json.loads((self.root / f"{task_id}.json").read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def drop(self, task_id: str) -> None:
        (self.root / f"{task_id}.json").unlink(missing_ok=True)
        self.archive_path(task_id).unlink(missing_ok=True)

    def task_ids(self) -> list[str]:
        return sorted(path.stem for path in self.root.glob("*.json"))
