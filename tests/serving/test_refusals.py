"""The services' one refusal vocabulary: every code has an error status, every code the
source raises is in it, and `install_refusals` answers every kind of error in the one
envelope `{"error": code, "message": ...}`, never with a traceback or an exception's text."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from veritask.errors import InvalidInput, Refusal
from veritask.serving import REFUSAL_STATUS, BodyLimitMiddleware, install_refusals

SRC = Path(__file__).resolve().parents[2] / "src" / "veritask"


def _raised_codes() -> set[str]:
    """The first argument of every `Refusal("code", ...)` (or its alias) in the source."""
    codes = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("Refusal", "Rejection")
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                codes.add(node.args[0].value)
    return codes


def test_every_code__has_an_error_status() -> None:
    assert all(400 <= status < 600 for status in REFUSAL_STATUS.values())


def test_every_code_raised_in_the_source__is_in_the_vocabulary() -> None:
    raised = _raised_codes()
    assert raised, "the scan found no Refusal(...) call"
    assert raised <= set(REFUSAL_STATUS), raised - set(REFUSAL_STATUS)


class _Body(BaseModel):
    n: int


@pytest.fixture
def seen() -> list[str]:
    return []


@pytest.fixture
def client(seen: list[str]) -> Iterator[TestClient]:
    app = FastAPI()
    app.add_middleware(BodyLimitMiddleware, max_bytes=100)
    install_refusals(
        app,
        service="test",
        bad_body="malformed_order",
        bad_query="invalid_query",
        too_large_advice="send less",
        translate={InvalidInput: lambda exc: Refusal("bad_request", str(exc))},
        on_refusal=seen.append,
    )

    @app.get("/refused")
    def refused() -> None:
        raise Refusal("order_not_found", "no such order")

    @app.get("/unknown-code")
    def unknown_code() -> None:
        raise Refusal("no_such_code", "secret detail")

    @app.get("/bug")
    def bug() -> None:
        raise RuntimeError("secret detail")

    @app.get("/invalid")
    def invalid() -> None:
        raise InvalidInput("change this")

    @app.get("/query")
    def query(n: int) -> int:
        return n

    @app.post("/body")
    def body(value: _Body) -> int:
        return value.n

    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def _refused(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "message"}
    assert body["error"] == code
    assert "Traceback" not in body["message"]
    assert "secret" not in body["message"]
    return str(body["message"])


def test_refusal__status_of_its_code_and_counted(client: TestClient, seen: list[str]) -> None:
    assert _refused(client.get("/refused"), 404, "order_not_found") == "no such order"
    assert seen == ["order_not_found"]


def test_unknown_code__500_internal(client: TestClient) -> None:
    _refused(client.get("/unknown-code"), 500, "internal")


def test_unexpected_exception__500_internal_without_its_text(
    client: TestClient, seen: list[str]
) -> None:
    assert "test failed" in _refused(client.get("/bug"), 500, "internal")
    assert seen == []


def test_translated_exception__its_refusal(client: TestClient) -> None:
    assert _refused(client.get("/invalid"), 400, "bad_request") == "change this"


def test_invalid_query__bad_query_code(client: TestClient) -> None:
    assert "n" in _refused(client.get("/query?n=x"), 400, "invalid_query")


def test_invalid_body__bad_body_code(client: TestClient) -> None:
    _refused(client.post("/body", json={"n": "x"}), 422, "malformed_order")
    _refused(
        client.post("/body", content=b"{", headers={"content-type": "application/json"}),
        422,
        "malformed_order",
    )


def test_unknown_route_and_method__not_found_and_method_not_allowed(client: TestClient) -> None:
    _refused(client.get("/nowhere"), 404, "not_found")
    _refused(client.delete("/refused"), 405, "method_not_allowed")


def test_body_over_the_limit__413_too_large_with_advice(client: TestClient) -> None:
    message = _refused(client.post("/body", content=b"x" * 101), 413, "too_large")
    assert message.endswith(": send less")
