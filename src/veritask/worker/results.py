"""The result of a run: its digest and callback data (from computed.json). The archive
of /iexec_out and the result pointer are `veritask.domain.result_archive`'s."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from veritask.domain.digest import computed_digest, read_computed
from veritask.errors import InvalidInput

__all__ = ["RunResult", "read_result"]


@dataclass(frozen=True)
class RunResult:
    digest: bytes
    callback_data: bytes  # empty unless computed.json names callback-data


def read_result(out_dir: Path) -> RunResult:
    """The digest and callback data named by `out_dir/computed.json`; InvalidInput when the
    app wrote none, or wrote one that points nowhere."""
    digest = computed_digest(out_dir)
    callback = read_computed(out_dir).get("callback-data") or ""
    try:
        data = bytes.fromhex(str(callback).removeprefix("0x")) if callback else b""
    except ValueError as exc:
        raise InvalidInput(f"computed.json: callback-data {callback!r} is not hex") from exc
    return RunResult(digest, data)
