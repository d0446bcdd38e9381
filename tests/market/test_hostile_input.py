"""The market against hostile and clumsy clients: bodies that crashed the process (deep
JSON nesting) or answered 500 (numbers beyond 64 bits in queries and page tokens, bodies
the standard library could not decode), concurrent duplicate publishes and unpublishes,
too many live streams. Every refusal is a 4xx `{"error", "message"}` and stores nothing.
SQLite and PostgreSQL; random JSON bodies (hypothesis) never get a 5xx."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.market.fakes import RLC, FakeChain, account, address, signed
from veritask.domain.orders import AppOrder, Order, order_digest
from veritask.market import MarketSettings, create_app, serve_in_thread
from veritask.sdk import order_to_json
from veritask.sdk.market import sign_unpublish

DEVELOPER = account("hostile developer")
APP = address("hostile app")
TIMEOUT_S = 10.0


@pytest.fixture
def chain() -> FakeChain:
    fake = FakeChain()
    fake.register("app", APP, DEVELOPER.address)
    return fake


@pytest.fixture
def client(database_url: str, chain: FakeChain) -> Iterator[TestClient]:
    config = MarketSettings(database_url=database_url, follow_chain=False)
    with TestClient(create_app(config, chain=chain), raise_server_exceptions=False) as http:
        yield http
        http.app.state.market.close()  # type: ignore[attr-defined]


def app_order(salt: int = 1) -> Order:
    return signed(AppOrder(APP, RLC, 10, salt=salt.to_bytes(32, "big")), DEVELOPER)


def hash_of(order: Order) -> str:
    return "0x" + order_digest(order, FakeChain().domain).hex()


def assert_refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "message"}
    assert body["error"] == code
    assert body["message"]
    assert "Traceback" not in response.text


def stored(client: TestClient) -> list[str]:
    page = client.get("/books/app", params={"include_restricted": True, "page_size": 1000})
    return [item["order_hash"] for item in page.json()["orders"]]


ORDER = order_to_json(app_order(salt=7))


def _json(**changes: Any) -> bytes:
    return json.dumps({**ORDER, **changes}).encode()


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        # Regression: py_ecc raises the recursion limit to 100 000 and the standard
        # library's decoder then overflowed the C stack: the process died (SIGSEGV).
        (b"[" * 100_000 + b"]" * 100_000, "application/json", 422, "malformed_order"),
        (b"[" * 4_000 + b"]" * 4_000, "application/json", 422, "malformed_order"),
        (b'{"a":' * 3_000 + b"1" + b"}" * 3_000, "application/json", 422, "malformed_order"),
        (b"[" * 4_000 + b"]" * 4_000, "", 422, "malformed_order"),
        # Regression: these answered 400 with the code "method_not_allowed".
        (
            _json().replace(b'"volume": 10', b'"volume": ' + b"9" * 5_000),
            "",
            422,
            "malformed_order",
        ),
        (b"\xff\xfe\x00{", "application/json", 422, "malformed_order"),
        (json.dumps(ORDER).encode("utf-16"), "application/json", 422, "malformed_order"),
        (_json(volume=float("nan")), "application/json", 422, "malformed_order"),
        (_json(appprice="1e400").replace(b'"1e400"', b"1e400"), "", 422, "malformed_order"),
        (_json(params="\\ud800").replace(b"\\\\ud800", b"\\ud800"), "", 422, "malformed_order"),
        (_json(appprice=2**256), "application/json", 422, "malformed_order"),
        (_json(appprice=-1), "application/json", 422, "malformed_order"),
        (_json(salt="0x123"), "application/json", 422, "malformed_order"),
        (_json(sign="0x" + "00" * 3_000), "application/json", 422, "bad_order_signature"),
        (_json(params="p" * 300_000), "application/json", 413, "too_large"),
        (_json(), "text/plain", 422, "malformed_order"),
        (_json(), "application/x-www-form-urlencoded", 422, "malformed_order"),
        (b"", "application/json", 422, "malformed_order"),
        (b"null", "application/json", 422, "malformed_order"),
    ],
    ids=[
        "nested-100k",
        "nested-4k",
        "objects-3k",
        "nested-no-content-type",
        "number-5000-digits",
        "not-utf8",
        "utf16",
        "nan",
        "inf",
        "lone-surrogate",
        "uint256-overflow",
        "negative",
        "odd-hex",
        "huge-signature",
        "too-large",
        "text-plain",
        "form",
        "empty",
        "null",
    ],
)
def test_publish__hostile_body__refused_and_nothing_stored(
    client: TestClient, body: bytes, content_type: str, status: int, code: str
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    assert_refused(client.post("/orders", content=body, headers=headers), status, code)
    assert stored(client) == []
    assert client.get("/health").status_code == 200  # still alive


@pytest.mark.parametrize(
    "query",
    [
        "after=99999999999999999999999:1",
        "after=1:99999999999999999999999",
        "after=-99999999999999999999999:1",
        "after=" + "9" * 5_000 + ":1",
        "after=1:2:3",
        "after=%E2%91%A0:1",
        "after=",
        "category=99999999999999999999999",
        "min_trust=9223372036854775808",
        "max_trust=-1",
        "min_volume=99999999999999999999999",
        "min_volume=0",
        "page_size=99999999999999999999999",
        "page_size=-1",
        "category=nan",
        "tag=0x" + "f" * 65,
        "asset=../../etc/passwd",
        "signer=%00",
        "include_restricted=perhaps",
        "asset=" + "a" * 20_000,
    ],
)
def test_book__hostile_query__refused_as_invalid_query(client: TestClient, query: str) -> None:
    """Regression: numbers beyond 64 bits reached the database and answered 500."""
    assert_refused(client.get(f"/books/app?{query}"), 400, "invalid_query")


@pytest.mark.parametrize(
    "path",
    ["/orders/0x" + "zz" * 32, "/orders/0x" + "00 " * 21 + "0", "/orders/%C3%A9", "/orders/../x"],
)
def test_order__hostile_hash__refused_in_the_error_shape(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert 400 <= response.status_code < 500
    assert set(response.json()) == {"error", "message"}


@pytest.mark.parametrize(
    "body",
    [b'{"sign": "0x123"}', b'{"sign": 5}', b"{}", b'{"sign": "\\u00e9"}', b"[" * 50_000],
)
def test_unpublish__hostile_body__refused_and_order_kept(client: TestClient, body: bytes) -> None:
    order = app_order()
    assert client.post("/orders", json=order_to_json(order)).status_code == 201
    response = client.post(
        f"/orders/{hash_of(order)}/unpublish",
        content=body,
        headers={"content-type": "application/json"},
    )
    assert 400 <= response.status_code < 500, response.text
    assert set(response.json()) == {"error", "message"}
    assert stored(client) == [hash_of(order)]


def _in_parallel(count: int, call: Callable[[], httpx.Response]) -> list[int]:
    barrier = threading.Barrier(count)
    statuses: list[int] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait()
        status = call().status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT_S * 3)
    return sorted(statuses)


def test_publish__same_order_concurrently__stored_once(database_url: str, chain: FakeChain) -> None:
    """Two identical publishes in parallel: one 201, the others 409, one row, one event;
    and again after an unpublish (the row is updated, not inserted)."""
    config = MarketSettings(database_url=database_url, follow_chain=False, port=0)
    order = app_order(salt=42)
    body = order_to_json(order)
    with serve_in_thread(config, chain=chain) as server:
        with httpx.Client(base_url=server.url, timeout=TIMEOUT_S) as http:
            publish = lambda: http.post("/orders", json=body)  # noqa: E731
            assert _in_parallel(6, publish) == [201, 409, 409, 409, 409, 409]
            published_at = http.get(f"/orders/{hash_of(order)}").json()["published_at"]
            raw_hash = bytes.fromhex(hash_of(order)[2:])
            sign = "0x" + sign_unpublish(raw_hash, published_at, DEVELOPER.key).hex()
            unpublish = lambda: http.post(  # noqa: E731
                f"/orders/{hash_of(order)}/unpublish", json={"sign": sign}
            )
            assert _in_parallel(4, unpublish) == [200, 409, 409, 409]
            assert _in_parallel(6, publish) == [201, 409, 409, 409, 409, 409]
            book = http.get("/books/app").json()
        assert [item["order_hash"] for item in book["orders"]] == [hash_of(order)]
        assert server.market.store.count_open(DEVELOPER.address) == 1


def test_stream__beyond_the_limit__refused(sqlite_url: str, chain: FakeChain) -> None:
    config = MarketSettings(
        database_url=sqlite_url, follow_chain=False, port=0, max_stream_subscribers=1
    )
    with (
        serve_in_thread(config, chain=chain) as server,
        httpx.Client(base_url=server.url, timeout=TIMEOUT_S) as http,
        http.stream("GET", "/orders/stream") as first,
    ):
        lines = first.iter_lines()  # kept: a collected iterator closes the stream
        assert next(lines) == ": connected"
        assert_refused(http.get("/orders/stream"), 503, "too_many_streams")


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=12,
)
_ORDER_LIKE = st.fixed_dictionaries(
    {}, optional=dict.fromkeys(ORDER, _JSON) | {"kind": st.sampled_from(["app", "x", 1])}
)


def test_publish__random_json__never_a_5xx(sqlite_url: str, chain: FakeChain) -> None:
    config = MarketSettings(database_url=sqlite_url, follow_chain=False)
    with TestClient(create_app(config, chain=chain), raise_server_exceptions=False) as http:

        @settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(body=st.one_of(_JSON, _ORDER_LIKE))
        def check(body: object) -> None:
            response = http.post("/orders", json=body)
            assert 400 <= response.status_code < 500, response.text
            assert set(response.json()) == {"error", "message"}

        check()
        assert stored(http) == []
        http.app.state.market.close()  # type: ignore[attr-defined]
