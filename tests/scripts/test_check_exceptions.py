"""scripts/check_exceptions.py: passes on the source tree, fails on exception classes
planted outside errors.py (direct, through another exception class, through a builtin)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "check_exceptions.py"


def _check(src: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(src)], capture_output=True, text=True, check=False
    )


def _package(tmp_path: Path, module: str) -> Path:
    root = tmp_path / "veritask"
    (root / "market").mkdir(parents=True)
    (root / "errors.py").write_text(
        "class VeritaskError(Exception): ...\nclass ServiceError(VeritaskError): ...\n"
    )
    (root / "market" / "api.py").write_text(module)
    return root


def test_check_exceptions__source_tree__passes() -> None:
    result = _check(ROOT / "src" / "veritask")
    assert result.returncode == 0, result.stdout


def test_check_exceptions__planted_classes__fails_naming_each(tmp_path: Path) -> None:
    module = (
        "from veritask.errors import ServiceError\n"
        "class Refused(ServiceError): ...\n"
        "class Worse(Refused): ...\n"
        "class Lookup(KeyError): ...\n"
        "class Plain: ...\n"
    )
    result = _check(_package(tmp_path, module))
    assert result.returncode == 1
    named = [
        line.split(": exception class ")[1].split()[0] for line in result.stdout.splitlines()[:-1]
    ]
    assert named == ["Refused", "Worse", "Lookup"]


def test_check_exceptions__only_errors_module__passes(tmp_path: Path) -> None:
    result = _check(_package(tmp_path, "class Plain:\n    pass\n"))
    assert result.returncode == 0, result.stdout
