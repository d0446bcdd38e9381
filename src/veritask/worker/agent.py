"""`Agent`: the worker's main loop. It logs in to its scheduler, registers, asks for work
and does it: fetch the app, dataset and inputs; run the app sandboxed (PROTOCOL.md A7);
digest the result; then contribute_and_finalize (trust 1) or contribute, reveal and upload
when asked. Errors are results: a run that fails the same way on every worker (the app
exited non-zero, timed out, hit a limit, wrote no result; the app or an input is
definitively unavailable) is committed as a failure record instead, with no upload.
Every step is reported to the scheduler, with the app's exit code and logs.

One piece of work at a time; heartbeats go from their own thread so a long run does not
make the worker look lost. What it contributed is journaled first (`Journal`), so a
restarted worker can still reveal and upload.
"""

from __future__ import annotations

import json
import logging
import shlex
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak

from veritask.chain.hub import Hub
from veritask.chain.node import Node
from veritask.domain.failures import FailureKind, FailureRecord
from veritask.domain.ids import from_hex, same_address, to_hex
from veritask.domain.ids import task_id as compute_task_id
from veritask.domain.orders import ZERO_ADDRESS
from veritask.domain.result_archive import pack_result, result_pointer
from veritask.domain.tasks import ContributionStatus, TaskStatus, result_hash
from veritask.errors import (
    ChainError,
    ContractRevert,
    InvalidInput,
    SchedulerApiError,
    StorageError,
    ToolError,
    TransactionPending,
    VeritaskError,
)
from veritask.files import write_atomically
from veritask.sdk.scheduler_api import (
    Assignment,
    Registration,
    RegistrationResponse,
    ReplicateStatus,
    SchedulerClient,
    StatusReport,
    WorkKind,
)
from veritask.sdk.storage import StorageClient
from veritask.worker.runtimes import (
    AppRun,
    AppSource,
    Limits,
    Outcome,
    PreparedApp,
    Runtime,
    Status,
    available_runtimes,
)
from veritask.worker.runtimes.registry import RUNTIMES_BY_KIND

from .fetch import Fetcher
from .journal import Entry, Journal, task_file_name
from .results import read_result, run_failure
from .settings import WorkerSettings

__all__ = [
    "MAX_RETRY_PAUSE_S",
    "TASK_MOVED_ON",
    "Agent",
    "app_environment",
    "contribute_failure_status",
    "parse_params",
    "retry_pause",
]

log = logging.getLogger("veritask.worker")

_FAILED_RUN = {
    Status.FAILED: ReplicateStatus.APP_FAILED,
    Status.TIMEOUT: ReplicateStatus.APP_TIMEOUT,
    Status.OUT_OF_MEMORY: ReplicateStatus.APP_OUT_OF_MEMORY,
    Status.OUTPUT_LIMIT: ReplicateStatus.APP_OUTPUT_LIMIT,
    Status.SANDBOX_ERROR: ReplicateStatus.SANDBOX_ERROR,
}


# Refusals that only the pool's owner can lift (membership, security H3): asked again at
# once they would only repeat, so the worker backs off up to MAX_RETRY_PAUSE_S.
_MEMBERSHIP_REFUSALS = frozenset({"not_a_member", "below_floor"})
MAX_RETRY_PAUSE_S = 30.0


def retry_pause(exc: Exception, previous: float) -> float:
    """How long the worker loop waits after `exc`: 0.5 s, or, while the scheduler refuses
    its membership, twice the previous pause up to MAX_RETRY_PAUSE_S."""
    if isinstance(exc, SchedulerApiError) and exc.code in _MEMBERSHIP_REFUSALS:
        return min(max(previous * 2, 1.0), MAX_RETRY_PAUSE_S)
    return 0.5


# Reverts that say the task moved on without this worker (consensus, completion, the cap
# or the deadline): nothing failed, so the worker reports ABORTED, which the scheduler does
# not count against the task (a failure counted here used to give up tasks whose
# consensus the scheduler had not followed yet).
TASK_MOVED_ON = frozenset(
    {
        "tasks: task not active",
        "tasks: task already completed",
        "tasks: task already started",
        "tasks: too many contributors",
        "tasks: contribution deadline passed",
    }
)


def contribute_failure_status(exc: ChainError) -> ReplicateStatus:
    """What a refused contribution is reported as."""
    if isinstance(exc, ContractRevert) and exc.reason in TASK_MOVED_ON:
        return ReplicateStatus.ABORTED
    return ReplicateStatus.CHAIN_FAILED


def parse_params(params: str) -> dict[str, Any]:
    """A deal's params as a dict; a string that is not a JSON object is the app's args."""
    try:
        value = json.loads(params) if params else {}
    except ValueError:
        return {"iexec_args": params}
    return value if isinstance(value, dict) else {"iexec_args": params}


def app_environment(work: Assignment, dataset_name: str, input_names: list[str]) -> dict[str, str]:
    """The IEXEC_* variables an app sees (PROTOCOL.md A7)."""
    env = {
        "IEXEC_TASK_ID": work.task_id,
        "IEXEC_DEAL_ID": work.deal_id,
        "IEXEC_TASK_INDEX": str(work.index),
        "IEXEC_IN": "/iexec_in",
        "IEXEC_OUT": "/iexec_out",
        "IEXEC_BOT_SIZE": str(work.bot_size),
        "IEXEC_BOT_FIRST_INDEX": str(work.bot_first),
        "IEXEC_BOT_TASK_INDEX": str(work.index - work.bot_first),
        "IEXEC_DATASET_ADDRESS": work.dataset.address if work.dataset else ZERO_ADDRESS,
        "IEXEC_DATASET_FILENAME": dataset_name,
        "IEXEC_INPUT_FILES_NUMBER": str(len(input_names)),
        "IEXEC_INPUT_FILES_FOLDER": "/iexec_in",
    }
    for number, name in enumerate(input_names, start=1):
        env[f"IEXEC_INPUT_FILE_NAME_{number}"] = name
    return env


class _Failed(Exception):
    """A step failed: report `status` with `detail`, stop working on the task. With a
    `record`, every worker would fail the same way: the record is committed on chain."""

    def __init__(
        self,
        status: ReplicateStatus,
        detail: str,
        outcome: Outcome | None = None,
        record: FailureRecord | None = None,
    ):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.outcome = outcome
        self.record = record

    def report(self, **extra: Any) -> StatusReport:
        outcome = self.outcome
        return StatusReport(
            status=self.status,
            detail=self.detail[-4_000:],
            exit_code=outcome.exit_code if outcome else None,
            stdout=outcome.stdout[-65_000:] if outcome else "",
            stderr=outcome.stderr[-65_000:] if outcome else "",
            duration_s=outcome.duration_s if outcome else None,
            **extra,
        )


def _definitive(exc: VeritaskError) -> bool:
    """Whether a download failed for good, the same on every worker: a bad URL or
    checksum, or an answer that says no (HTTP 4xx, no such content). Timeouts, refused
    connections, 5xx, size limits and this worker's address policy may pass or differ."""
    if isinstance(exc, InvalidInput):
        return True
    return isinstance(exc, StorageError) and exc.code == "not_found"


class Agent:
    def __init__(
        self,
        settings: WorkerSettings,
        *,
        account: LocalAccount | None = None,
        runtimes: dict[str, Runtime] | None = None,
        hub: Hub | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`hub` is the chain port; without it, the worker connects to `settings.rpc_url`
        once its scheduler names the hub."""
        self.settings = settings
        self.account = account or settings.account()
        self.scheduler = SchedulerClient(settings.scheduler_url, timeout_s=30.0)
        self.storage = StorageClient(settings.storage_url, settings.fetch_timeout_s)
        self.fetcher = Fetcher(
            self.storage, timeout_s=settings.fetch_timeout_s, allow=settings.fetch_allow
        )
        settings.work_dir.mkdir(parents=True, exist_ok=True)
        self.journal = Journal(settings.work_dir)
        self.runtimes = (
            runtimes
            if runtimes is not None
            else available_runtimes(state_dir=settings.work_dir / "runtimes")
        )
        self.config: RegistrationResponse | None = None
        self.hub = hub
        self._policies: dict[str, tuple[int, int]] = {}  # deal id -> its pool's ratios
        self._clock = clock
        self._stop = threading.Event()

    @property
    def address(self) -> str:
        return self.account.address

    def kinds(self) -> tuple[str, ...]:
        """The app kinds this worker can run."""
        return tuple(
            kind
            for kind, names in RUNTIMES_BY_KIND.items()
            if any(name in self.runtimes for name in names)
        )

    def _runtime(self, kind: str) -> Runtime:
        for name in RUNTIMES_BY_KIND.get(kind, ()):
            if name in self.runtimes:
                return self.runtimes[name]
        raise ToolError(f"no runtime for {kind} apps on this worker")

    def connect(self) -> RegistrationResponse:
        """Logs in and registers; connects to the chain the scheduler names."""
        self.scheduler.login(self.account)
        self.config = self.scheduler.register(
            Registration(
                name=self.settings.name,
                cpus=max(int(self.settings.cpus), 1),
                memory_bytes=self.settings.memory_bytes,
                runtimes=self.kinds(),
            )
        )
        if self.hub is None:
            node = Node.at(self.settings.rpc_url, timeout_s=self.settings.rpc_timeout_s)
            self.hub = Hub(node, node.deployment(self.config.hub))
        elif not same_address(self.hub.deployment.hub, self.config.hub):
            raise InvalidInput(
                f"the scheduler works for hub {self.config.hub}, but this worker is connected "
                f"to hub {self.hub.deployment.hub}: point both at the same protocol"
            )
        return self.config

    def _call(self, action: Callable[[], Any]) -> Any:
        """Runs a scheduler call, logging in again once on 401 (a restarted scheduler)."""
        try:
            return action()
        except SchedulerApiError as exc:
            if exc.status != 401:
                raise
            self.connect()
            return action()

    def heartbeat(self) -> None:
        self._call(self.scheduler.heartbeat)

    def report(self, work: Assignment, report: StatusReport) -> None:
        try:
            self._call(lambda: self.scheduler.report(work.task_id, report))
        except SchedulerApiError as exc:
            log.warning("report %s of %s refused: %s", report.status, work.task_id, exc)

    def run_once(self, wait_s: float = 0.0) -> bool:
        """Reveals what consensus on chain asks of it, then asks for one piece of work and
        does it; False when there was none."""
        if self.config is None:
            self.connect()
        self.reveal_on_chain_consensus()
        work: Assignment | None = self._call(lambda: self.scheduler.ask_for_work(wait_s=wait_s))
        if work is None:
            return False
        self.handle(work)
        return True

    def handle(self, work: Assignment) -> None:
        log.info("%s %s", work.kind.value, work.task_id)
        if work.kind is WorkKind.COMPUTE:
            self._guarded(work, self._compute)
        elif work.kind is WorkKind.REVEAL:
            self._guarded(work, self._reveal)
        elif work.kind is WorkKind.UPLOAD:
            self._guarded(work, self._upload)
        else:
            self.journal.drop(work.task_id)
            shutil.rmtree(self._task_dir(work), ignore_errors=True)

    def _guarded(self, work: Assignment, step: Callable[[Assignment], None]) -> None:
        try:
            self._step(work, step)
        except _Failed as failure:
            self.report(work, failure.report())
            if work.kind is WorkKind.COMPUTE:
                shutil.rmtree(self._task_dir(work), ignore_errors=True)
                if self.journal.load(work.task_id) is None:  # a trust-1 upload or call failed
                    self.journal.archive_path(work.task_id).unlink(missing_ok=True)

    @staticmethod
    def _step(work: Assignment, step: Callable[[Assignment], None]) -> None:
        """Runs `step`; a failure nobody foresaw (a full disk, a library bug) becomes a
        reported SANDBOX_ERROR, so that the scheduler gives the task to another worker at
        once instead of waiting for this one to look lost."""
        try:
            step(work)
        except (_Failed, VeritaskError):  # foreseen: handled by the caller as before
            raise
        except Exception as exc:
            log.exception("task %s: %s failed", work.task_id, work.kind)
            raise _Failed(
                ReplicateStatus.SANDBOX_ERROR, f"worker error: {type(exc).__name__}: {exc}"
            ) from exc

    def _task_dir(self, work: Assignment) -> Path:
        return self.settings.work_dir / "tasks" / task_file_name(work.task_id)

    def _chain(self) -> Hub:
        if self.hub is None:
            raise ChainError("the worker is not connected: call connect() first")
        return self.hub

    def _prepare(self, work: Assignment) -> tuple[Runtime, PreparedApp]:
        if work.app is None:
            raise _Failed(ReplicateStatus.FETCH_FAILED, "the assignment names no app")
        max_bytes = self.settings.max_app_bytes
        source = AppSource(
            work.app.kind,
            work.app.multiaddr,
            bytes.fromhex(work.app.checksum.removeprefix("0x")),
            lambda multiaddr: self.fetcher.fetch(multiaddr, max_bytes),
        )
        try:
            runtime = self._runtime(work.app.kind)
            return runtime, runtime.load(source)
        except VeritaskError as exc:
            # A checksum mismatch, an archive or module that does not load, content that
            # is not there: the app's registration is wrong, for every worker.
            if _definitive(exc):
                record = FailureRecord(FailureKind.APP_UNAVAILABLE)
                raise _Failed(ReplicateStatus.APP_UNAVAILABLE, f"app: {exc}", None, record) from exc
            raise _Failed(ReplicateStatus.FETCH_FAILED, f"app: {exc}") from exc

    def _fetch_inputs(
        self, work: Assignment, params: dict[str, Any], in_dir: Path
    ) -> tuple[str, list[str]]:
        dataset_name = ""
        urls = params.get("iexec_input_files") or []
        if not isinstance(urls, list):
            raise _Failed(
                ReplicateStatus.FETCH_FAILED, "inputs: params: iexec_input_files must be a list"
            )
        # Which input is unavailable is the record's exit code: 0 the dataset, n file n.
        position = 0
        names: list[str] = []
        try:
            if work.dataset is not None:
                dataset_name = work.dataset.address
                self.fetcher.dataset(
                    work.dataset.multiaddr,
                    bytes.fromhex(work.dataset.checksum.removeprefix("0x")),
                    in_dir / dataset_name,
                    self.settings.max_dataset_bytes,
                )
            for position, url in enumerate((str(url) for url in urls), start=1):
                names.append(
                    self.fetcher.input_file(url, position, in_dir, self.settings.max_input_bytes)
                )
        except (InvalidInput, StorageError) as exc:
            if _definitive(exc):
                record = FailureRecord(FailureKind.INPUT_UNAVAILABLE, position)
                raise _Failed(
                    ReplicateStatus.INPUT_UNAVAILABLE, f"inputs: {exc}", None, record
                ) from exc
            raise _Failed(ReplicateStatus.FETCH_FAILED, f"inputs: {exc}") from exc
        return dataset_name, names

    def reveal_on_chain_consensus(self) -> int:
        """Reveals every contribution of this worker that won consensus on chain, without
        waiting for the scheduler to ask (a scheduler that never asks would otherwise take
        the worker's stake); how many it revealed. Upload stays the scheduler's call."""
        revealed = 0
        for entry in (self.journal.load(t) for t in self.journal.task_ids()):
            if entry is None:
                continue
            try:
                revealed += self._reveal_if_won(entry)
            except ChainError as exc:
                log.warning("reveal of %s on its own failed: %s", entry.task_id, exc)
        return revealed

    def _reveal_if_won(self, entry: Entry) -> int:
        hub = self._chain()
        deal_id, digest = from_hex(entry.deal_id), from_hex(entry.digest)
        task = compute_task_id(deal_id, entry.index)
        state = hub.task(deal_id, entry.index)
        if state.status != TaskStatus.REVEALING:
            return 0
        if hub.contribution(task, self.address).status != ContributionStatus.CONTRIBUTED:
            return 0
        # The hub keeps the consensus hash with its low 72 bits cleared.
        ours = int.from_bytes(result_hash(task, digest), "big") >> 72
        if int.from_bytes(state.consensus, "big") >> 72 != ours:
            return 0
        hub.reveal(self.account, deal_id, entry.index, digest)
        log.info("revealed %s on its own (consensus on chain)", entry.task_id)
        return 1

    def _check_policies(self, work: Assignment) -> None:
        """Refuses a deal whose workerpool policies exceed this worker's limits."""
        if work.deal_id not in self._policies:
            terms = self._chain().deal(from_hex(work.deal_id))
            self._policies[work.deal_id] = (terms.worker_stake_ratio, terms.scheduler_reward_ratio)
        stake, reward = self._policies[work.deal_id]
        settings = self.settings
        if stake > settings.max_worker_stake_ratio or reward > settings.max_scheduler_reward_ratio:
            raise _Failed(
                ReplicateStatus.SANDBOX_ERROR,
                f"the deal's workerpool policies (worker stake {stake} %, scheduler reward "
                f"{reward} %) exceed this worker's limits ({settings.max_worker_stake_ratio} "
                f"%, {settings.max_scheduler_reward_ratio} %): it does not take the task",
            )

    def _compute(self, work: Assignment) -> None:
        try:
            self._compute_result(work)
        except _Failed as failure:
            if failure.record is None:
                raise
            self._commit_failure(work, failure, failure.record)

    def _commit_failure(self, work: Assignment, failure: _Failed, record: FailureRecord) -> None:
        """Commits a failure record as the task's result: trust 1, one call settles the
        task (FAILED); above, its digest is contributed and journaled, to be revealed like
        a result's. Nothing is uploaded. The scheduler gets the report with the record."""
        hub = self._chain()
        deal_id = from_hex(work.deal_id)
        authorization = bytes.fromhex(work.authorization.removeprefix("0x"))
        record_hex = to_hex(record.encode())
        log.info("task %s failed: %s (%s)", work.task_id, record.describe(), failure.detail)
        if work.one_call:
            try:
                receipt = hub.contribute_and_finalize_failure(
                    self.account, deal_id, work.index, record, authorization
                )
            except ChainError as exc:
                raise _Failed(
                    contribute_failure_status(exc),
                    f"contribute_and_finalize: {exc}",
                    failure.outcome,
                ) from exc
        else:
            self.journal.save(
                Entry(
                    work.task_id,
                    work.deal_id,
                    work.index,
                    to_hex(record.digest()),
                    "",
                    "",
                    failure_record=record_hex,
                )
            )
            try:
                receipt = hub.contribute(
                    self.account, deal_id, work.index, record.digest(), authorization
                )
            except TransactionPending as exc:
                raise _Failed(
                    ReplicateStatus.CHAIN_FAILED, f"contribute: {exc}", failure.outcome
                ) from exc
            except ChainError as exc:
                self.journal.drop(work.task_id)
                raise _Failed(
                    contribute_failure_status(exc), f"contribute: {exc}", failure.outcome
                ) from exc
        self.report(work, failure.report(failure_record=record_hex, tx_hash=receipt.tx_hash.hex()))

    def _compute_result(self, work: Assignment) -> None:
        self._check_policies(work)
        task_dir = self._task_dir(work)
        shutil.rmtree(task_dir, ignore_errors=True)
        in_dir, out_dir = task_dir / "iexec_in", task_dir / "iexec_out"
        in_dir.mkdir(parents=True)
        out_dir.mkdir()
        self.report(work, StatusReport(status=ReplicateStatus.STARTED))
        runtime, app = self._prepare(work)
        self.report(work, StatusReport(status=ReplicateStatus.APP_FETCHED))
        params = parse_params(work.params)
        dataset_name, input_names = self._fetch_inputs(work, params, in_dir)
        self.report(work, StatusReport(status=ReplicateStatus.DATA_FETCHED))
        args = str(params.get("iexec_args") or "")
        limits = Limits(
            time_s=min(work.time_limit_s, self.settings.max_app_time_s),
            memory_bytes=self.settings.memory_bytes,
            cpus=self.settings.cpus,
            output_bytes=self.settings.output_bytes,
            output_entries=self.settings.output_entries,
            log_bytes=self.settings.log_bytes,
        )
        run = AppRun(
            in_dir,
            out_dir,
            tuple(shlex.split(args)),
            app_environment(work, dataset_name, input_names),
            limits,
        )
        outcome = runtime.run(app, run)
        if not outcome.ok():
            status = _FAILED_RUN.get(outcome.status, ReplicateStatus.APP_FAILED)
            detail = outcome.detail or f"the app ended with status {outcome.status.value}"
            record = run_failure(outcome)
            if record is None and status.app_fault:  # e.g. killed without an exit code
                status = ReplicateStatus.SANDBOX_ERROR
            raise _Failed(status, detail, outcome, record)
        try:
            result = read_result(out_dir)
        except InvalidInput as exc:
            record = FailureRecord(FailureKind.BAD_RESULT)
            raise _Failed(ReplicateStatus.APP_RESULT_INVALID, str(exc), outcome, record) from exc
        digest = result.digest
        if self.settings.fault == "wrong_result":
            digest = keccak(b"wrong " + digest)
        archive = pack_result(out_dir)
        shutil.rmtree(task_dir, ignore_errors=True)
        logs = {
            "exit_code": outcome.exit_code,
            "stdout": outcome.stdout[-65_000:],
            "stderr": outcome.stderr[-65_000:],
            "duration_s": outcome.duration_s,
        }
        deal_id = from_hex(work.deal_id)
        authorization = bytes.fromhex(work.authorization.removeprefix("0x"))
        if work.one_call:
            results = self._store(archive)
            try:
                receipt = self._chain().contribute_and_finalize(
                    self.account,
                    deal_id,
                    work.index,
                    digest,
                    results.encode(),
                    ZERO_ADDRESS,
                    b"",
                    authorization,
                    results_callback=result.callback_data,
                )
            except ChainError as exc:
                raise _Failed(
                    contribute_failure_status(exc), f"contribute_and_finalize: {exc}"
                ) from exc
            self.journal.drop(work.task_id)
            self.report(
                work,
                StatusReport(
                    status=ReplicateStatus.COMPLETED,
                    results=results,
                    tx_hash=receipt.tx_hash.hex(),
                    **logs,  # type: ignore[arg-type]
                ),
            )
            return
        # Above trust 1 the archive is uploaded after the reveal, perhaps after a restart:
        # it is kept, durable before the journal names it. A trust-1 task uploads it from
        # memory (a crash before its one call leaves nothing on chain: the task is redone).
        archive_path = self.journal.archive_path(work.task_id)
        write_atomically(archive_path, archive)
        self.journal.save(
            Entry(
                work.task_id,
                work.deal_id,
                work.index,
                to_hex(digest),
                to_hex(result.callback_data) if result.callback_data else "",
                str(archive_path),
            )
        )
        self.report(work, StatusReport(status=ReplicateStatus.COMPUTED, **logs))  # type: ignore[arg-type]
        try:
            receipt = self._chain().contribute(
                self.account, deal_id, work.index, digest, authorization
            )
        except TransactionPending as exc:
            # It may still be mined: keep the journal so that the worker can reveal.
            raise _Failed(ReplicateStatus.CHAIN_FAILED, f"contribute: {exc}") from exc
        except ChainError as exc:
            self.journal.drop(work.task_id)
            raise _Failed(contribute_failure_status(exc), f"contribute: {exc}") from exc
        self.report(
            work,
            StatusReport(status=ReplicateStatus.CONTRIBUTED, tx_hash=receipt.tx_hash.hex()),
        )

    def _store(self, archive: bytes) -> str:
        try:
            return result_pointer(self.storage.upload(archive, self.account))
        except StorageError as exc:
            raise _Failed(ReplicateStatus.UPLOAD_FAILED, f"upload: {exc}") from exc

    def _entry(self, work: Assignment) -> Entry:
        entry = self.journal.load(work.task_id)
        if entry is None:
            raise _Failed(ReplicateStatus.CHAIN_FAILED, "no local record of this contribution")
        return entry

    def _reveal(self, work: Assignment) -> None:
        entry = self._entry(work)
        hub = self._chain()
        task = compute_task_id(from_hex(work.deal_id), work.index)
        if hub.contribution(task, self.address).status != ContributionStatus.PROVED:
            try:
                hub.reveal(
                    self.account,
                    from_hex(work.deal_id),
                    work.index,
                    from_hex(entry.digest),
                )
            except ChainError as exc:
                raise _Failed(ReplicateStatus.CHAIN_FAILED, f"reveal: {exc}") from exc
        self.report(
            work,
            StatusReport(status=ReplicateStatus.REVEALED, failure_record=entry.failure_record),
        )

    def _upload(self, work: Assignment) -> None:
        entry = self._entry(work)
        if entry.failure_record:  # nothing to upload: the record is what finalize takes
            self.report(
                work,
                StatusReport(status=ReplicateStatus.UPLOADED, failure_record=entry.failure_record),
            )
            return
        try:
            archive = Path(entry.archive).read_bytes()
        except OSError as exc:
            raise _Failed(ReplicateStatus.UPLOAD_FAILED, f"result archive lost: {exc}") from exc
        results = self._store(archive)
        self.report(
            work,
            StatusReport(
                status=ReplicateStatus.UPLOADED, results=results, callback_data=entry.callback_data
            ),
        )

    def _heartbeats(self) -> None:
        client = SchedulerClient(self.settings.scheduler_url, timeout_s=10.0)
        try:
            while not self._stop.is_set():
                period = self.settings.heartbeat_s or (
                    self.config.heartbeat_s if self.config else 10.0
                )
                try:
                    if not client.token:
                        client.login(self.account)
                    client.heartbeat()
                except SchedulerApiError as exc:
                    client.token = "" if exc.status == 401 else client.token
                    log.debug("heartbeat: %s", exc)
                self._stop.wait(period)
        finally:
            client.close()

    def serve(self) -> None:
        """Works until `stop()`: heartbeats in a thread, long-polls for work in this one."""
        beating = threading.Thread(target=self._heartbeats, name="worker-heartbeat", daemon=True)
        beating.start()
        pause = 0.0
        try:
            while not self._stop.is_set():
                try:
                    self.run_once(wait_s=self.settings.ask_wait_s)
                    pause = 0.0
                except (SchedulerApiError, ChainError, StorageError) as exc:
                    pause = retry_pause(exc, pause)
                    log.warning("worker loop: %s (next try in %.1f s)", exc, pause)
                    self.config = None if isinstance(exc, SchedulerApiError) else self.config
                    self._stop.wait(pause)
                except Exception:  # a worker outlives one bad pass (disk, node), loudly
                    log.exception("worker loop failed; going on")
                    self._stop.wait(1.0)
        finally:
            self._stop.set()
            beating.join(5)

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        self.scheduler.close()
        self.storage.close()
