"""Security H4, exploit tests: a task's URLs must not reach loopback, private, link-local
(cloud metadata) or other non-public addresses, directly, through a redirect or by DNS
rebinding. Traffic stays on loopback: the servers are real ones on 127.0.0.x, other
addresses come from an injected resolver and every dial is watched (`dials`), so a refusal
is shown to happen before any connection."""

from __future__ import annotations

import http.server
import ipaddress
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pydantic
import pytest

from veritask.errors import InvalidInput, StorageError
from veritask.sdk.storage import StorageClient
from veritask.worker.fetch import Fetcher
from veritask.worker.public_http import Network, address_is_public
from veritask.worker.settings import WorkerSettings

SECRET = b"secret: an internal service's answer"
TIMEOUT_S = 5.0


class _Server(http.server.ThreadingHTTPServer):
    """A loopback server that records the requests it gets; `/redirect?<url>` answers 302
    to <url>, anything else the secret."""

    def __init__(self, host: str, port: int = 0) -> None:
        super().__init__((host, port), _Handler)
        self.requests: list[tuple[str, str]] = []  # (path, Host header)

    @property
    def url(self) -> str:
        return f"http://{self.server_address[0]}:{self.server_address[1]}"

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self.server.requests.append((self.path, self.headers.get("Host", "")))
        if self.path.startswith("/redirect?"):
            self.send_response(302)
            self.send_header("Location", self.path.split("?", 1)[1])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(SECRET)))
        self.end_headers()
        self.wfile.write(SECRET)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def serve() -> Iterator[Callable[..., _Server]]:
    servers: list[_Server] = []

    def start(host: str = "127.0.0.1", port: int = 0) -> _Server:
        server = _Server(host, port)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def dials(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every (address, port) httpx dials; anything but loopback is refused unsent."""
    real = socket.create_connection
    dialled: list[tuple[str, int]] = []

    def watched(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        dialled.append((address[0], address[1]))
        try:
            loopback = ipaddress.ip_address(address[0]).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ConnectionRefusedError("test: no traffic leaves loopback")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", watched)
    return dialled


def _resolver(answers: dict[str, Sequence[Sequence[str]]]) -> Callable[[str, int], list[str]]:
    """Answers for each host name, one list per call (the last one repeats)."""
    calls: dict[str, int] = {}

    def resolve(host: str, port: int) -> list[str]:
        count = calls.get(host, 0)
        calls[host] = count + 1
        replies = answers[host]
        return list(replies[min(count, len(replies) - 1)])

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


def _fetcher(
    allow: Sequence[str] = (), resolve: Callable[[str, int], list[str]] | None = None
) -> Fetcher:
    networks: list[Network] = [ipaddress.ip_network(text) for text in allow]
    storage = StorageClient("http://127.0.0.1:9")
    if resolve is None:
        return Fetcher(storage, timeout_s=TIMEOUT_S, allow=networks)
    return Fetcher(storage, timeout_s=TIMEOUT_S, allow=networks, resolve=resolve)


def _leaks_nothing(message: str, *secrets: object) -> None:
    for secret in secrets:
        assert str(secret) not in message


def test_fetch__loopback_url_by_default__refused_before_connecting(
    serve: Callable[..., _Server], dials: list[tuple[str, int]]
) -> None:
    server = serve()
    with pytest.raises(StorageError, match="non-public address; refused") as refused:
        _fetcher().fetch(f"{server.url}/secret", 10_000, what="input file 1")
    assert str(refused.value).startswith("input file 1: ")
    assert refused.value.code == "non_public"  # fetch_failed: another worker may take it
    assert "VERITASK_WORKER_FETCH_ALLOW" in str(refused.value)
    _leaks_nothing(str(refused.value), "127.0.0.1", server.port)
    assert server.requests == []
    assert dials == []


@pytest.mark.parametrize("host", ["2130706433", "0x7f000001", "127.1", "localhost"])
def test_fetch__loopback_in_another_spelling__refused_before_connecting(
    host: str, serve: Callable[..., _Server], dials: list[tuple[str, int]]
) -> None:
    server = serve()
    with pytest.raises(StorageError, match="non-public address"):
        _fetcher().fetch(f"http://{host}:{server.port}/secret", 10_000)
    assert server.requests == []
    assert dials == []


@pytest.mark.parametrize(
    "answers",
    [
        ["127.0.0.1"],
        ["10.0.0.5"],
        ["172.16.0.1"],
        ["192.168.1.1"],
        ["169.254.169.254"],
        ["100.64.0.1"],
        ["0.0.0.0"],
        ["224.0.0.1"],
        ["240.0.0.1"],
        ["::1"],
        ["::"],
        ["fd00::1"],
        ["fe80::1"],
        ["::ffff:127.0.0.1"],
        ["::ffff:169.254.169.254"],
        ["64:ff9b::a9fe:a9fe"],
        ["93.184.216.34", "10.0.0.5"],
    ],
)
def test_fetch__host_resolving_to_a_non_public_address__refused_before_connecting(
    answers: list[str], dials: list[tuple[str, int]]
) -> None:
    resolve = _resolver({"files.example": [answers]})
    with pytest.raises(StorageError, match="non-public address; refused") as refused:
        _fetcher(resolve=resolve).fetch("http://files.example:8080/x", 10_000, what="dataset")
    _leaks_nothing(str(refused.value), *answers, 8080)
    assert dials == []


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_address_is_public__global_unicast__true(address: str) -> None:
    assert address_is_public(ipaddress.ip_address(address))


def test_fetch__public_host__dials_the_checked_address_only(
    dials: list[tuple[str, int]],
) -> None:
    resolve = _resolver({"files.example": [["93.184.216.34"], ["127.0.0.1"]]})
    with pytest.raises(StorageError, match="could not connect") as failed:
        _fetcher(resolve=resolve).fetch("http://files.example/x", 10_000, what="input file 1")
    assert dials == [("93.184.216.34", 80)]  # refused by `dials`: nothing was sent
    assert resolve.calls == {"files.example": 1}  # type: ignore[attr-defined]
    _leaks_nothing(str(failed.value), "93.184.216.34", ":80")


def test_fetch__dns_rebinding__connects_to_the_checked_address(
    serve: Callable[..., _Server], dials: list[tuple[str, int]]
) -> None:
    checked = serve("127.0.0.2")
    rebound = serve("127.0.0.3", checked.port)
    resolve = _resolver({"files.example": [["127.0.0.2"], ["127.0.0.3"]]})
    fetcher = _fetcher(allow=["127.0.0.2/32"], resolve=resolve)
    assert fetcher.fetch(f"http://files.example:{checked.port}/secret", 10_000) == SECRET
    assert checked.requests == [("/secret", f"files.example:{checked.port}")]
    assert rebound.requests == []
    assert dials == [("127.0.0.2", checked.port)]


def test_fetch__redirect_to_a_disallowed_address__refused_before_connecting(
    serve: Callable[..., _Server], dials: list[tuple[str, int]]
) -> None:
    allowed, internal = serve("127.0.0.1"), serve("127.0.0.2")
    url = f"{allowed.url}/redirect?{internal.url}/secret"
    with pytest.raises(StorageError, match="redirect 1: the URL's host resolves to a non-public"):
        _fetcher(allow=["127.0.0.1/32"]).fetch(url, 10_000, what="input file 1")
    assert len(allowed.requests) == 1
    assert internal.requests == []
    assert dials == [("127.0.0.1", allowed.port)]


def test_fetch__redirect_to_the_metadata_service__refused_and_not_named(
    serve: Callable[..., _Server], dials: list[tuple[str, int]]
) -> None:
    allowed = serve("127.0.0.1")
    resolve = _resolver({"127.0.0.1": [["127.0.0.1"]], "metadata.internal": [["169.254.169.254"]]})
    url = f"{allowed.url}/redirect?http://metadata.internal/latest/meta-data/"
    with pytest.raises(StorageError, match="non-public address") as refused:
        _fetcher(allow=["127.0.0.1/32"], resolve=resolve).fetch(url, 10_000, what="dataset")
    _leaks_nothing(str(refused.value), "metadata.internal", "169.254")
    assert dials == [("127.0.0.1", allowed.port)]


def test_fetch__relative_redirect_within_the_allow_list__followed(
    serve: Callable[..., _Server], dials: list[tuple[str, int]]
) -> None:
    server = serve()
    data = _fetcher(allow=["127.0.0.1/32"]).fetch(f"{server.url}/redirect?/data", 10_000)
    assert data == SECRET
    assert [path for path, _ in server.requests] == ["/redirect?/data", "/data"]


def test_fetch__redirect_loop__stops_after_five_redirects(
    serve: Callable[..., _Server], dials: list[tuple[str, int]]
) -> None:
    server = serve()
    loop = "/redirect?/redirect?/redirect?/redirect?/redirect?/redirect?/data"
    with pytest.raises(StorageError, match="more than 5 redirects"):
        _fetcher(allow=["127.0.0.1/32"]).fetch(f"{server.url}{loop}", 10_000)
    assert len(server.requests) == 6


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://user:password@files.example/x", "user name or password"),
        ("http://files.example@127.0.0.1/x", "user name or password"),
        ("http:///x", "names no host"),
    ],
)
def test_fetch__url_with_userinfo_or_no_host__refused(
    url: str, reason: str, dials: list[tuple[str, int]]
) -> None:
    resolve = _resolver({"files.example": [["93.184.216.34"]]})
    with pytest.raises(InvalidInput, match=reason):
        _fetcher(resolve=resolve).fetch(url, 10_000)
    assert dials == []


def test_fetch__redirect_to_another_scheme__refused(
    serve: Callable[..., _Server], dials: list[tuple[str, int]]
) -> None:
    server = serve()
    with pytest.raises(InvalidInput, match="redirect 1: only http and https"):
        _fetcher(allow=["127.0.0.1/32"]).fetch(f"{server.url}/redirect?file:///etc/passwd", 100)


def test_fetch__devnet_allow_list_from_settings__fetches_loopback(
    serve: Callable[..., _Server], dials: list[tuple[str, int]]
) -> None:
    server = serve()
    settings = WorkerSettings(fetch_allow="127.0.0.1/32,::1/128")
    fetcher = Fetcher(StorageClient("http://127.0.0.1:9"), timeout_s=5, allow=settings.fetch_allow)
    assert fetcher.fetch(f"{server.url}/secret", 10_000) == SECRET


def test_settings__default_allow_list__is_empty() -> None:
    assert WorkerSettings().fetch_allow == ()


def test_settings__malformed_allow_list__names_the_setting() -> None:
    with pytest.raises(pydantic.ValidationError, match="VERITASK_WORKER_FETCH_ALLOW: 'nope'"):
        WorkerSettings(fetch_allow="127.0.0.1/32,nope")
