"""Security H4: the connection goes to the checked address, but TLS still names and
verifies the URL's host (SNI and the certificate check), on a loopback HTTPS server whose
certificate (from a throwaway CA made with the openssl tool) is for files.example only."""

from __future__ import annotations

import http.server
import ipaddress
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from veritask.errors import StorageError
from veritask.sdk.storage import StorageClient
from veritask.worker.fetch import Fetcher

BODY = b"served over TLS"


def _openssl(folder: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True, timeout=30)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pki")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ca = ["-subj", "/CN=veritask test CA", "-addext", "basicConstraints=critical,CA:TRUE"]
    ca += ["-addext", "keyUsage=critical,keyCertSign"]
    _openssl(folder, "req", "-x509", *ec, *ca, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2")
    leaf = ["-subj", "/CN=files.example", "-keyout", "leaf.key", "-out", "leaf.csr"]
    _openssl(folder, "req", *ec, *leaf)
    (folder / "ext.cnf").write_text("subjectAltName=DNS:files.example\n")
    sign = ["-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-extfile", "ext.cnf"]
    _openssl(folder, "x509", "-req", "-in", "leaf.csr", *sign, "-out", "leaf.pem", "-days", "2")
    return folder


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def https_server(pki: Path) -> Iterator[tuple[int, list[str | None]]]:
    """(port, the server names clients sent) of an HTTPS server on 127.0.0.1."""
    names: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki / "leaf.pem", pki / "leaf.key")
    context.sni_callback = lambda sock, name, ctx: names.append(name)  # type: ignore[func-returns-value]
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield int(httpd.server_address[1]), names
    httpd.shutdown()
    httpd.server_close()


def _fetcher(pki: Path) -> Fetcher:
    trust = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    return Fetcher(
        StorageClient("http://127.0.0.1:9"),
        timeout_s=5,
        allow=[ipaddress.ip_network("127.0.0.1/32")],
        resolve=lambda host, port: ["127.0.0.1"],
        verify=trust,
    )


def test_fetch__https_to_the_pinned_address__verifies_the_url_host(
    pki: Path, https_server: tuple[int, list[str | None]]
) -> None:
    port, names = https_server
    assert _fetcher(pki).fetch(f"https://files.example:{port}/x", 1_000) == BODY
    assert names == ["files.example"]


def test_fetch__certificate_for_another_host__refused(
    pki: Path, https_server: tuple[int, list[str | None]]
) -> None:
    port, names = https_server
    with pytest.raises(StorageError, match="TLS certificate refused: Hostname mismatch") as refused:
        _fetcher(pki).fetch(f"https://other.example:{port}/x", 1_000, what="input file 1")
    assert names == ["other.example"]
    assert "127.0.0.1" not in str(refused.value)
    assert str(port) not in str(refused.value)
