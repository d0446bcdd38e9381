"""The storage service: content-addressed blobs (IPFS CIDv1 raw) behind signed uploads,
limited per signer, and an IPFS-gateway-style download. It talks to no other service;
see docs/storage.md.

    from veritask.storage import StorageSettings, serve_in_thread

    with serve_in_thread(StorageSettings(root=tmp)) as server:
        print(server.url)
"""

from .app import StorageMetrics, create_app, open_store
from .blobs import BlobStore, FilesystemBlobStore
from .kubo import KUBO_MAX_BLOB_BYTES, KuboBlobStore
from .ledger import UploadLedger, Usage
from .limits import UploadLimits
from .rates import UploadRate
from .server import RunningServer, serve_app_in_thread, serve_in_thread
from .settings import StorageSettings

__all__ = [
    "KUBO_MAX_BLOB_BYTES",
    "BlobStore",
    "FilesystemBlobStore",
    "KuboBlobStore",
    "RunningServer",
    "StorageMetrics",
    "StorageSettings",
    "UploadLedger",
    "UploadLimits",
    "UploadRate",
    "Usage",
    "create_app",
    "open_store",
    "serve_app_in_thread",
    "serve_in_thread",
]
