"""The storage service's HTTP API (`create_app`): signed uploads of content-addressed
blobs within each signer's limits, an IPFS-gateway-style download that re-hashes every
blob before serving it, health and Prometheus metrics. Holds no state but its `BlobStore`
and its upload ledger (`ledger.py`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    generate_latest,
)
from starlette.concurrency import run_in_threadpool

from veritask import __version__
from veritask.domain.cid import cid_of, parse_cid
from veritask.errors import InvalidInput, Refusal, StorageError
from veritask.serving import REFUSAL_STATUS, install_refusals

from .auth import check_allowed, check_fresh, check_signature, read_claim
from .blobs import BlobStore, FilesystemBlobStore
from .kubo import KuboBlobStore
from .ledger import UploadLedger
from .limits import UploadLimits
from .settings import StorageSettings

__all__ = ["StorageMetrics", "create_app", "open_store"]

logger = logging.getLogger("veritask.storage")

# One year, as IPFS gateways do: a CID's content never changes.
_IMMUTABLE = "public, max-age=29030400, immutable"


class StorageMetrics:
    """The service's counters, in a registry of its own (no process-wide singleton)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.uploads = Counter(
            "veritask_storage_uploads",
            "Upload requests by outcome (ok or an error code)",
            ["outcome"],
            registry=self.registry,
        )
        self.downloads = Counter(
            "veritask_storage_downloads",
            "Download requests by outcome (ok or an error code)",
            ["outcome"],
            registry=self.registry,
        )
        self.uploaded_bytes = Counter(
            "veritask_storage_uploaded_bytes", "Bytes accepted by uploads", registry=self.registry
        )
        self.served_bytes = Counter(
            "veritask_storage_served_bytes", "Bytes served by downloads", registry=self.registry
        )
        self.stored_bytes = Gauge(
            "veritask_storage_stored_bytes",
            "Bytes of the blobs in the upload ledger (each blob once), reservations included",
            registry=self.registry,
        )


def open_store(settings: StorageSettings) -> BlobStore:
    """The backend that `settings.backend` names."""
    if settings.backend == "kubo":
        return KuboBlobStore(settings.kubo_rpc_url, timeout_s=settings.kubo_timeout_s)
    return FilesystemBlobStore(settings.root)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    too_large = StorageError(
        f"the body is over this storage's limit of {limit} bytes: upload less, or ask its "
        "operator to raise VERITASK_STORAGE_MAX_UPLOAD_BYTES",
        code="too_large",
    )
    # ASCII digits only: str.isdigit() also accepts "²", which int() refuses.
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _storage_refusal(exc: Exception) -> Refusal:
    # A backend's own code when the vocabulary has it; else the backend failed: internal.
    code = getattr(exc, "code", "")
    return Refusal(code if code in REFUSAL_STATUS else "internal", str(exc))


def _invalid_input(exc: Exception) -> Refusal:
    return Refusal("bad_request", str(exc))


def create_app(
    settings: StorageSettings | None = None,
    *,
    store: BlobStore | None = None,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    """The storage service; `store` defaults to `open_store(settings)`, `clock` gives unix
    seconds (the upload timestamp window and the upload rate are checked against it). The
    upload ledger is opened, and what a stopped process left in it settled, first."""
    settings = settings or StorageSettings()
    blobs = store if store is not None else open_store(settings)
    ledger = UploadLedger(settings.resolved_ledger_path(), exempt=settings.exempt_uploaders)
    ledger.heal(blobs.has)
    free_bytes = blobs.free_bytes if isinstance(blobs, FilesystemBlobStore) else None
    limits = UploadLimits(settings, ledger, blobs, free_bytes)
    metrics = StorageMetrics()
    metrics.stored_bytes.set_function(lambda: ledger.total_bytes)
    app = FastAPI(title="Veritask storage", version=__version__)
    app.state.settings = settings
    app.state.store = blobs
    app.state.ledger = ledger
    app.state.metrics = metrics
    install_refusals(
        app,
        service="storage",
        translate={StorageError: _storage_refusal, InvalidInput: _invalid_input},
    )

    @app.post("/upload")
    async def upload(request: Request) -> dict[str, object]:
        """Stores the raw body; needs the X-Veritask-Address/-Timestamp/-Signature headers
        and room in the signer's limits."""
        try:
            claim = read_claim(request.headers)
            check_fresh(claim, clock(), settings.max_clock_skew_s)
            check_allowed(claim, settings.allowed_uploaders)
            limits.check_rate(claim.address, clock())
            body = await _read_body(request, settings.max_upload_bytes)
            cid = cid_of(body)
            check_signature(claim, cid)
            limits.take_upload(claim.address, clock())
            stored = await run_in_threadpool(limits.store_blob, body, cid, claim.address)
        except (StorageError, Refusal) as exc:
            metrics.uploads.labels(outcome=exc.code or "internal").inc()
            raise
        if stored != cid:
            raise StorageError(f"the backend stored {cid} as {stored}", code="internal")
        metrics.uploads.labels(outcome="ok").inc()
        metrics.uploaded_bytes.inc(len(body))
        logger.info("stored %s (%d bytes) from %s", cid, len(body), claim.address)
        return {"cid": cid, "size": len(body)}

    @app.api_route("/ipfs/{cid}", methods=["GET", "HEAD"])
    async def download(cid: str, request: Request) -> Response:
        """The blob `cid` as application/octet-stream, checked against its CID first."""
        try:
            try:
                parse_cid(cid)
            except InvalidInput as exc:
                raise StorageError(str(exc), code="bad_cid") from exc
            data = await run_in_threadpool(blobs.get, cid)
            if cid_of(data) != cid:
                logger.error("blob %s is corrupted: its bytes hash to another CID", cid)
                raise StorageError(
                    f"the stored copy of {cid} is corrupted and will not be served: "
                    "upload the content again to repair it",
                    code="corrupted",
                )
        except StorageError as exc:
            metrics.downloads.labels(outcome=exc.code or "internal").inc()
            raise
        metrics.downloads.labels(outcome="ok").inc()
        headers = {
            "ETag": f'"{cid}"',
            "Cache-Control": _IMMUTABLE,
            "X-Ipfs-Path": f"/ipfs/{cid}",
            "Content-Length": str(len(data)),
        }
        if request.headers.get("if-none-match", "").strip() in (f'"{cid}"', cid):
            headers.pop("Content-Length")
            return Response(status_code=304, headers=headers)
        if request.method == "HEAD":
            return Response(headers=headers, media_type="application/octet-stream")
        metrics.served_bytes.inc(len(data))
        return Response(content=data, headers=headers, media_type="application/octet-stream")

    @app.get("/health")
    def health() -> dict[str, object]:
        """Liveness: the service answers, with its backend and each signer's limits."""
        return {
            "status": "ok",
            "version": __version__,
            "backend": settings.backend,
            "max_upload_bytes": settings.max_upload_bytes,
            "max_uploads_per_window": settings.max_uploads_per_window,
            "upload_window_s": settings.upload_window_s,
            "max_bytes_per_uploader": settings.max_bytes_per_uploader,
        }

    @app.get("/metrics")
    def prometheus() -> Response:
        """Prometheus text exposition of the service's counters."""
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app
