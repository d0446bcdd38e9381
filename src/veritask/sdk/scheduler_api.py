"""The worker ↔ scheduler HTTP API: its wire models and a typed client (`SchedulerClient`).

The scheduler and the worker both import this module and never each other. The models are
the whole contract between them (docs/scheduler.md draws the sequence); the client also
serves requesters, who read a task's debug information and app logs with a signed request
(`task_logs`).
"""

from __future__ import annotations

import time
from enum import StrEnum
from types import TracebackType
from typing import Any, Literal

import httpx
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from veritask.domain.cid import ADDRESS_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER
from veritask.domain.ids import from_hex, task_id, to_hex
from veritask.errors import SchedulerApiError

from .http import read_refusal

__all__ = [
    "ADDRESS_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "AppSpec",
    "Assignment",
    "ChallengeRequest",
    "ChallengeResponse",
    "DatasetSpec",
    "HeartbeatResponse",
    "LoginRequest",
    "LoginResponse",
    "Registration",
    "RegistrationResponse",
    "ReplicateLog",
    "ReplicateStatus",
    "SchedulerClient",
    "StatusAck",
    "StatusReport",
    "TaskLogs",
    "WorkKind",
    "login_message",
    "task_logs_message",
]


def _first_error(exc: ValueError) -> str:
    """The first problem of a validation error, with its field, without the input echoed."""
    if isinstance(exc, ValidationError):
        error = exc.errors(include_input=False)[0]
        where = ".".join(str(part) for part in error["loc"]) or "body"
        return f"{where}: {error['msg']}"
    return str(exc)


def login_message(address: str, challenge: str, *, domain: str, scheduler: str) -> str:
    """What a worker signs (EIP-191 personal message) to log in: bound to the scheduler it
    logs in to, by the `domain` (host[:port]) the worker connects to and the `scheduler`'s
    own address, so that no other scheduler can relay it."""
    return (
        "Veritask scheduler login\n"
        f"domain: {domain.lower()}\n"
        f"scheduler: {scheduler.lower()}\n"
        f"address: {address.lower()}\n"
        f"challenge: {challenge}"
    )


def task_logs_message(task_id: str, timestamp: int) -> str:
    """What a requester signs (EIP-191 personal message) to read a task's logs; the
    scheduler accepts a timestamp within a few minutes of its clock."""
    return f"Veritask task logs\ntask: {task_id.lower()}\ntimestamp: {timestamp}"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChallengeRequest(_Model):
    address: str


class ChallengeResponse(_Model):
    challenge: str
    expires_in_s: float
    scheduler: str  # the scheduler's address (its workerpool owner), named in the login


class LoginRequest(_Model):
    address: str
    challenge: str
    signature: str  # 0x hex of the 65-byte EIP-191 signature of `login_message`


class LoginResponse(_Model):
    token: str
    expires_in_s: float


class Registration(_Model):
    """What a worker offers."""

    name: str = Field(max_length=64)
    cpus: int = Field(ge=1)
    memory_bytes: int = Field(ge=0)
    runtimes: tuple[str, ...] = ()  # "oci", "wasm"
    tee: bool = False
    max_tasks: int = Field(default=1, ge=1, le=64)


class RegistrationResponse(_Model):
    """The pool's public configuration, which a worker needs to act on chain."""

    workerpool: str
    workerpool_owner: str
    hub: str
    chain_id: int
    heartbeat_s: float
    lost_after_s: float


class HeartbeatResponse(_Model):
    ok: bool = True


class WorkKind(StrEnum):
    """What the scheduler asks a worker to do next."""

    COMPUTE = "compute"  # run the app, then contribute (or contribute_and_finalize)
    REVEAL = "reveal"  # reveal the contributed digest
    UPLOAD = "upload"  # upload the result archive and report its pointer
    ABORT = "abort"  # drop the task (deadline passed, task failed or completed)


class AppSpec(_Model):
    address: str
    kind: Literal["oci", "wasm"]
    multiaddr: str
    checksum: str  # 0x hex of 32 bytes


class DatasetSpec(_Model):
    address: str
    multiaddr: str
    checksum: str  # 0x hex of 32 bytes: sha256 of the dataset file


_BYTES32_HEX = r"^0x[0-9a-fA-F]{64}$"
_MAX_INDEX = 2**40  # the hub's bound on bag indices


class Assignment(_Model):
    """One piece of work for one worker (`kind`), with everything needed to do it. Its
    ids are checked where it enters the worker: the task id names files of the worker, so
    it must be the task `index` of `deal_id` (keccak256(deal_id ‖ index))."""

    kind: WorkKind
    task_id: str = Field(pattern=_BYTES32_HEX)
    deal_id: str = Field(pattern=_BYTES32_HEX)
    index: int = Field(ge=0, lt=_MAX_INDEX)
    one_call: bool = False  # trust 1: contribute_and_finalize after uploading
    authorization: str = ""  # 0x hex: the pool owner's EIP-191 signature
    enclave: str = "0x0000000000000000000000000000000000000000"
    app: AppSpec | None = None
    dataset: DatasetSpec | None = None
    params: str = ""
    bot_first: int = Field(default=0, ge=0, lt=_MAX_INDEX)
    bot_size: int = Field(default=1, ge=1, le=_MAX_INDEX)
    callback: str = "0x0000000000000000000000000000000000000000"
    time_limit_s: float = 300.0  # the category's reference time C
    contribution_deadline: int = 0  # unix seconds (chain time)
    reason: str = ""  # why, for ABORT

    @model_validator(mode="after")
    def _task_of_the_deal(self) -> Assignment:
        if self.task_id.lower() != to_hex(task_id(from_hex(self.deal_id), self.index)):
            raise ValueError(
                f"task_id {self.task_id} is not task {self.index} of deal {self.deal_id}"
            )
        return self


class ReplicateStatus(StrEnum):
    """What a worker reports about its replicate of a task."""

    STARTED = "started"
    APP_FETCHED = "app_fetched"
    DATA_FETCHED = "data_fetched"
    COMPUTED = "computed"
    CONTRIBUTED = "contributed"
    REVEALED = "revealed"
    UPLOADED = "uploaded"
    COMPLETED = "completed"  # contribute_and_finalize done
    # Failures. APP_* are the app's own fault: the same app fails on every worker.
    APP_FAILED = "app_failed"
    APP_TIMEOUT = "app_timeout"
    APP_OUT_OF_MEMORY = "app_out_of_memory"
    APP_OUTPUT_LIMIT = "app_output_limit"
    APP_RESULT_INVALID = "app_result_invalid"
    APP_UNAVAILABLE = "app_unavailable"  # the app cannot be fetched or run (bad checksum)
    # An input is definitively unavailable (HTTP 4xx, checksum mismatch): the requester's
    # or the dataset owner's fault, the same on every worker.
    INPUT_UNAVAILABLE = "input_unavailable"
    # The worker's (or the environment's) fault: someone else may succeed.
    FETCH_FAILED = "fetch_failed"
    SANDBOX_ERROR = "sandbox_error"
    CHAIN_FAILED = "chain_failed"
    UPLOAD_FAILED = "upload_failed"
    ABORTED = "aborted"

    @property
    def app_fault(self) -> bool:
        """A failure every worker would see (the app's, an input's): errors are results,
        so the worker commits a failure record on chain with it."""
        return self.value.startswith("app_") or self is ReplicateStatus.INPUT_UNAVAILABLE

    @property
    def failure(self) -> bool:
        return self in _FAILURES


_FAILURES = frozenset(
    {
        ReplicateStatus.APP_FAILED,
        ReplicateStatus.APP_TIMEOUT,
        ReplicateStatus.APP_OUT_OF_MEMORY,
        ReplicateStatus.APP_OUTPUT_LIMIT,
        ReplicateStatus.APP_RESULT_INVALID,
        ReplicateStatus.APP_UNAVAILABLE,
        ReplicateStatus.INPUT_UNAVAILABLE,
        ReplicateStatus.FETCH_FAILED,
        ReplicateStatus.SANDBOX_ERROR,
        ReplicateStatus.CHAIN_FAILED,
        ReplicateStatus.UPLOAD_FAILED,
        ReplicateStatus.ABORTED,
    }
)


_FAILURE_RECORD_HEX = r"^(0x[0-9a-fA-F]{256})?$"  # "" or the 128-byte record


class StatusReport(_Model):
    """A step or a failure of a replicate. With an app-fault status (or REVEALED and
    UPLOADED of such a replicate), `failure_record` is the 0x hex of the failure record
    (domain.failures) the worker committed on chain: `contribute_and_finalize` sent it
    (trust 1, with `tx_hash`) or `contribute` committed its digest, and the scheduler
    finalizes with it once it is the consensus. "" from workers that predate records."""

    status: ReplicateStatus
    exit_code: int | None = None
    stdout: str = Field(default="", max_length=65_536)
    stderr: str = Field(default="", max_length=65_536)
    detail: str = Field(default="", max_length=4_096)
    duration_s: float | None = None
    results: str = ""  # the result pointer (compact JSON), with UPLOADED
    callback_data: str = ""  # 0x hex, with UPLOADED on a callback deal
    tx_hash: str = ""
    failure_record: str = Field(default="", pattern=_FAILURE_RECORD_HEX)


class StatusAck(_Model):
    accepted: bool = True


class ReplicateLog(_Model):
    worker: str
    status: str
    exit_code: int | None
    stdout: str
    stderr: str
    detail: str
    updated_at: float  # unix seconds


class TaskLogs(_Model):
    """A task's debug information for its requester."""

    task_id: str
    deal_id: str
    index: int
    # The scheduler's view: pending, active, revealing, completed, settled_failed (a failure
    # record settled on chain), failed (given up off chain), claimed.
    status: str
    failure: str = ""
    results: str = ""
    failure_record: str = ""  # 0x hex of the settled failure record, with settled_failed
    replicates: tuple[ReplicateLog, ...] = ()


class SchedulerClient:
    """A typed httpx client of one scheduler. Worker calls need `login` first; 401 answers
    raise `SchedulerApiError(status=401)` so that the caller logs in again."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        # What a login names as the scheduler's domain: the host[:port] this client dials.
        self.domain = httpx.URL(self.base_url).netloc.decode("ascii")
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout_s, transport=transport)
        self.token = ""

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SchedulerClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        timeout_s: float | None = None,
    ) -> httpx.Response:
        all_headers = dict(headers or {})
        if self.token:
            all_headers.setdefault("Authorization", f"Bearer {self.token}")
        try:
            response = self._http.request(
                method,
                path,
                json=json,
                params=params,
                headers=all_headers,
                timeout=timeout_s if timeout_s is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.HTTPError as exc:
            raise SchedulerApiError(
                f"scheduler {self.base_url} did not answer {method} {path}: {exc}"
            ) from exc
        if response.status_code >= 400:
            refusal = read_refusal(response)
            raise SchedulerApiError(
                f"scheduler refused {method} {path} ({refusal.status}): {refusal.message}",
                status=refusal.status,
                code=refusal.code,
            )
        return response

    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self._request("GET", "/health").json()
        return result

    def login(self, account: LocalAccount) -> LoginResponse:
        """Challenge, signature, token: the token is kept for the next calls."""
        challenge = ChallengeResponse.model_validate(
            self._request("POST", "/v1/workers/challenge", json={"address": account.address}).json()
        )
        text = login_message(
            account.address,
            challenge.challenge,
            domain=self.domain,
            scheduler=challenge.scheduler,
        )
        message = encode_defunct(text=text)
        signature = "0x" + bytes(account.sign_message(message).signature).hex()
        request = LoginRequest(
            address=account.address, challenge=challenge.challenge, signature=signature
        )
        self.token = ""
        login = LoginResponse.model_validate(
            self._request("POST", "/v1/workers/login", json=request.model_dump()).json()
        )
        self.token = login.token
        return login

    def register(self, registration: Registration) -> RegistrationResponse:
        body = registration.model_dump(mode="json")
        response = self._request("POST", "/v1/workers/register", json=body)
        return RegistrationResponse.model_validate(response.json())

    def heartbeat(self) -> HeartbeatResponse:
        response = self._request("POST", "/v1/workers/heartbeat")
        return HeartbeatResponse.model_validate(response.json())

    def ask_for_work(self, *, wait_s: float = 0.0) -> Assignment | None:
        """The next piece of work, waiting up to `wait_s` for one (long poll); None if none."""
        response = self._request(
            "GET",
            "/v1/work",
            params={"wait_s": wait_s},
            timeout_s=wait_s + 10.0,
        )
        if response.status_code == 204:
            return None
        try:
            return Assignment.model_validate(response.json())
        except (ValidationError, ValueError) as exc:
            raise SchedulerApiError(
                f"scheduler {self.base_url} sent an invalid assignment: {_first_error(exc)}"
            ) from exc

    def report(self, task_id: str, report: StatusReport) -> StatusAck:
        response = self._request(
            "POST", f"/v1/tasks/{task_id}/status", json=report.model_dump(mode="json")
        )
        return StatusAck.model_validate(response.json())

    def task_logs(
        self, task_id: str, signer: LocalAccount, *, timestamp: int | None = None
    ) -> TaskLogs:
        """A task's status and app logs, for its requester (signed request)."""
        stamp = int(time.time()) if timestamp is None else timestamp
        message = encode_defunct(text=task_logs_message(task_id, stamp))
        signature = bytes(signer.sign_message(message).signature)
        headers = {
            ADDRESS_HEADER: signer.address,
            TIMESTAMP_HEADER: str(stamp),
            SIGNATURE_HEADER: "0x" + signature.hex(),
        }
        response = self._request("GET", f"/v1/tasks/{task_id.lower()}/logs", headers=headers)
        return TaskLogs.model_validate(response.json())
