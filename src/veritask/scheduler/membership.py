"""Who may work for this pool (security H3): `AllowList`, the worker addresses of a file
the pool owner keeps, each with an optional operator label, re-read when the file changes;
or `OpenPool`, any key whose free hub balance and score reach the pool's floors, read from
the chain and read again after `recheck_s`. Each admits a worker or refuses it, and names
the keys of its operator; handing out replicates is `transitions.next_task_for`'s job.

A members file holds one worker a line, `0x<address> [operator]`; `#` starts a comment.
Keys that share an operator label are one party's: a task gets at most one replicate from
them. A key without a label is its own operator.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from eth_utils.address import is_address, is_checksum_address

from veritask.chain.hub import Hub
from veritask.domain.amounts import format_rlc
from veritask.errors import ChainError, InvalidInput, Refusal
from veritask.files import write_atomically

from .settings import SchedulerSettings

__all__ = [
    "AllowList",
    "Member",
    "Membership",
    "OpenPool",
    "members_file_text",
    "membership_of",
    "parse_members",
    "write_members_file",
]

log = logging.getLogger("veritask.scheduler")

_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_MAX_FILE_BYTES = 16 << 20  # a list of ~200 000 labelled workers; larger is a mistake
# Admissions an open pool remembers (one chain read per worker per `recheck_s`); past this
# many, the oldest are read again on their next ask.
_MAX_ADMITTED = 100_000


@dataclass(frozen=True)
class Member:
    """A worker the pool admits, with every key of its operator (itself included)."""

    address: str  # lower case
    operator: str  # the label of its operator; "" when nobody knows who runs it
    keys: frozenset[str]  # lower case; a task takes at most one replicate from these


class Membership(Protocol):
    def admit(self, worker: str) -> Member:
        """`worker` (lower case) as a member; `Refusal` when the pool does not admit it.
        May read a file or the chain: call it outside the scheduler's state lock."""
        ...

    @property
    def problem(self) -> str:
        """Why membership cannot be read as configured right now ("" when it can)."""
        ...


def parse_members(text: str, *, source: str) -> dict[str, str]:
    """Address (lower case) -> operator label ("" for none) of a members file's text;
    `InvalidInput` naming `source` and the line of the first mistake."""
    members: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        where = f"{source} line {number}"
        if len(fields) > 2:
            raise InvalidInput(f"{where}: write `0x<worker address> [operator label]`")
        address = fields[0]
        digits = address[2:]
        mixed = digits not in (digits.lower(), digits.upper())
        if (
            not address.startswith("0x")
            or not is_address(address)
            or (mixed and not is_checksum_address(address))
        ):
            raise InvalidInput(
                f"{where}: {address[:64]!r} is not a 0x address (mixed case must be a valid "
                "checksum)"
            )
        label = fields[1] if len(fields) == 2 else ""
        if label and not _LABEL.fullmatch(label):
            raise InvalidInput(
                f"{where}: the operator label {label[:80]!r} must be 1 to 64 letters, digits, "
                "'.', '_' or '-', starting with a letter or digit"
            )
        if address.lower() in members:
            raise InvalidInput(f"{where}: {address} is listed twice")
        members[address.lower()] = label
    return members


def members_file_text(members: Mapping[str, str]) -> str:
    """A members file listing `members` (address -> operator label, "" for none)."""
    lines = ["# worker address                           operator (optional)"]
    lines += [f"{address} {label}".rstrip() for address, label in members.items()]
    return "\n".join(lines) + "\n"


class AllowList:
    """The workers of a members file. It is read at start (`InvalidInput` if it cannot be)
    and again whenever its inode, size or modification time changed, checked at each
    admission (a `stat`). A file that cannot be read later leaves the last good list in
    force and is reported by `problem` (the scheduler's /health turns degraded)."""

    def __init__(self, path: Path, *, workerpool: str) -> None:
        self.path = path
        self._workerpool = workerpool
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._members: dict[str, str] = {}
        self._operators: dict[str, frozenset[str]] = {}
        self._problem = ""
        try:
            self._refresh()
        except InvalidInput as exc:
            raise InvalidInput(f"scheduler: members file: {exc}") from exc

    def __len__(self) -> int:
        return len(self._members)

    @property
    def problem(self) -> str:
        """Why the file cannot be read now ("" when it can), after reading it if it changed."""
        self._refresh()
        return self._problem

    def _read(self) -> tuple[tuple[int, int, int], dict[str, str]] | None:
        """The file's stamp and members when it changed since the last read, else None."""
        try:
            stat = self.path.stat()
            stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
            if stamp == self._stamp:
                return None
            if stat.st_size > _MAX_FILE_BYTES:
                raise InvalidInput(f"{self.path} is over {_MAX_FILE_BYTES >> 20} MiB")
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"cannot read {self.path}: {exc}") from exc
        return stamp, parse_members(text, source=str(self.path))

    def _refresh(self) -> None:
        with self._lock:
            first = self._stamp is None
            try:
                read = self._read()
            except InvalidInput as exc:
                if first:
                    raise
                problem = f"{exc}: the last good list ({len(self._members)} workers) is in force"
                if problem != self._problem:
                    log.warning("members file: %s", problem)
                self._problem = problem
                return
            self._problem = ""
            if read is None:
                return
            self._stamp, self._members = read
            keys: dict[str, set[str]] = {}
            for address, label in self._members.items():
                if label:
                    keys.setdefault(label, set()).add(address)
            self._operators = {label: frozenset(found) for label, found in keys.items()}
            if not first:
                log.info("members file: %d workers", len(self._members))

    def member(self, worker: str) -> Member | None:
        """`worker` as listed (re-reading the file if it changed), or None."""
        self._refresh()
        label = self._members.get(worker)
        if label is None:
            return None
        return Member(worker, label, self._operators[label] if label else frozenset({worker}))

    def admit(self, worker: str) -> Member:
        member = self.member(worker)
        if member is None:
            raise Refusal(
                "not_a_member",
                f"{worker} is not on the allow-list of workerpool {self._workerpool}: ask "
                "the pool's owner to add this address",
            )
        return member


class OpenPool:
    """Any key whose free hub balance is at least `min_free_balance_nrlc` and whose score
    with this pool's scheduler (`scheduler`, its owner: scores count only with the scheduler
    they were earned with, security H2) is at least `min_score` (a floor of 0 is not read).
    An admission holds for `recheck_s`;
    a refusal is not remembered, so a worker that deposits is admitted on its next try.
    `labels`, when given, names the operators of the keys it lists (it admits nobody)."""

    def __init__(
        self,
        hub: Hub,
        *,
        workerpool: str,
        scheduler: str = "",
        min_free_balance_nrlc: int,
        min_score: int,
        recheck_s: float,
        labels: AllowList | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if min_score > 0 and not scheduler:
            raise InvalidInput("scheduler: a score floor needs the pool's scheduler address")
        if min_free_balance_nrlc <= 0 and min_score <= 0:
            raise InvalidInput(
                "scheduler: an open pool needs a floor, or any key takes its replicates "
                "(security H3): set min_free_balance_nrlc or min_score above 0"
            )
        self._hub = hub
        self._workerpool = workerpool
        self._scheduler = scheduler
        self._min_balance = min_free_balance_nrlc
        self._min_score = min_score
        self._recheck_s = recheck_s
        self._labels = labels
        self._clock = clock
        self._lock = threading.Lock()
        self._admitted: dict[str, float] = {}  # worker -> when its standing was read

    @property
    def problem(self) -> str:
        return self._labels.problem if self._labels is not None else ""

    def admit(self, worker: str) -> Member:
        now = self._clock()
        with self._lock:
            read_at = self._admitted.get(worker)
        if read_at is None or now - read_at >= self._recheck_s:
            self._check_standing(worker)
            with self._lock:
                self._admitted.pop(worker, None)  # re-inserted last: the oldest go first
                if len(self._admitted) >= _MAX_ADMITTED:
                    del self._admitted[next(iter(self._admitted))]
                self._admitted[worker] = now
        listed = self._labels.member(worker) if self._labels is not None else None
        return listed or Member(worker, "", frozenset({worker}))

    def _score(self, worker: str) -> int:
        # The score the hub weighs this worker by in this pool's deals.
        return self._hub.score_in(worker, self._scheduler)

    def _check_standing(self, worker: str) -> None:
        try:
            balance = self._hub.free_balance(worker) if self._min_balance else 0
            score = self._score(worker) if self._min_score else 0
        except ChainError as exc:
            raise Refusal(
                "chain_unavailable",
                "the scheduler cannot read your balance and score on the chain right now: "
                "try again shortly",
            ) from exc
        short = []
        if balance < self._min_balance:
            short.append(
                f"a free hub balance of {format_rlc(self._min_balance)} RLC (it has "
                f"{format_rlc(balance)}: deposit more)"
            )
        if score < self._min_score:
            short.append(f"a score of {self._min_score} (it has {score})")
        if short:
            raise Refusal(
                "below_floor",
                f"workerpool {self._workerpool} admits {worker} with "
                + " and ".join(short)
                + "; ask again once it has",
            )


def membership_of(
    settings: SchedulerSettings, hub: Hub, *, workerpool: str, scheduler: str
) -> Membership:
    """The membership policy of `settings` for the pool `workerpool` run by `scheduler`;
    `InvalidInput` when it cannot be enforced."""
    path = settings.members_file
    if settings.membership == "open":
        return OpenPool(
            hub,
            workerpool=workerpool,
            scheduler=scheduler,
            min_free_balance_nrlc=settings.min_free_balance_nrlc,
            min_score=settings.min_score,
            recheck_s=settings.membership_recheck_s,
            labels=AllowList(path, workerpool=workerpool) if path is not None else None,
        )
    if path is None:
        raise InvalidInput(
            "scheduler: the pool's membership is an allow-list (the default): set "
            "members_file (VERITASK_SCHEDULER_MEMBERS_FILE) to a file of worker addresses, "
            "one a line, or membership=open with its floors"
        )
    return AllowList(path, workerpool=workerpool)


def write_members_file(path: Path, members: Mapping[str, str]) -> None:
    """Writes a members file of `members` (address -> operator label, "" for none),
    atomically: a scheduler never reads half a list."""
    write_atomically(path, members_file_text(members))
