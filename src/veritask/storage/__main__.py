"""`python -m veritask.storage`: runs the storage service in the foreground and prints the
bound URL on one line first (so `--port 0` can be used by scripts)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pydantic import ValidationError

from veritask.errors import VeritaskError

from .app import create_app
from .server import bind_socket, serve_forever, socket_url
from .settings import StorageSettings

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Parses arguments (defaults from VERITASK_STORAGE_* variables) and serves."""
    parser = argparse.ArgumentParser(prog="python -m veritask.storage", description=__doc__)
    parser.add_argument("--host", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="TCP port; 0 picks a free one (default 0)")
    parser.add_argument("--root", type=Path, help="folder of the filesystem blob store")
    parser.add_argument("--backend", choices=["filesystem", "kubo"])
    parser.add_argument("--kubo-rpc-url", help="kubo RPC, e.g. http://127.0.0.1:5001")
    parser.add_argument("--max-upload-bytes", type=int)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    overrides = {
        key: value for key, value in vars(args).items() if value is not None and key != "log_level"
    }
    try:
        settings = StorageSettings(**overrides)
        sock = bind_socket(settings.host, settings.port)
        app = create_app(settings)
    except ValidationError as exc:
        print(f"error: invalid storage settings: {exc}", file=sys.stderr)
        return 2
    except VeritaskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(socket_url(sock), flush=True)
    serve_forever(app, sock, log_level=args.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
