"""HTTP GET of URLs a requester or an asset owner gave (security H4): only to public
addresses, or to the networks of an explicit allow-list. The host is resolved once, every
address it resolves to is checked, and the connection goes to a checked address (no second
resolution: no DNS rebinding); redirects are followed by hand, each hop checked the same way.
Errors name what was fetched (`what`), never a host, address or port.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import httpx

from veritask.errors import InvalidInput, StorageError

__all__ = [
    "MAX_REDIRECTS",
    "Network",
    "Resolver",
    "address_is_public",
    "get",
    "parse_networks",
    "system_resolver",
]

MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_TRANSIENT_STATUSES = frozenset({408, 425, 429})  # 4xx that say "not now", not "no"
ALLOW_SETTING = "VERITASK_WORKER_FETCH_ALLOW"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
# (host, port) -> the addresses it resolves to, as text; tests inject their own.
Resolver = Callable[[str, int], Sequence[str]]

# Not all of these are caught by `is_global` on every Python (multicast is "global").
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses of `host` from the system resolver, in its order, without repeats."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def parse_networks(text: str) -> tuple[Network, ...]:
    """Comma-separated networks (`127.0.0.1/32,::1/128`); a bare address is a /32 or /128.
    Raises ValueError (it parses a setting, for pydantic to report)."""
    try:
        return tuple(
            ipaddress.ip_network(part.strip(), strict=False)
            for part in text.split(",")
            if part.strip()
        )
    except ValueError as exc:
        raise ValueError(
            f"{ALLOW_SETTING}: {exc}; give comma-separated networks like 127.0.0.1/32,::1/128"
        ) from None


def address_is_public(address: Address) -> bool:
    """True for a globally reachable unicast address: not loopback, private, link-local
    (169.254.169.254, the cloud metadata service, is link-local), CGNAT (100.64/10),
    multicast, reserved or unspecified; an IPv6 address embedding an IPv4 one (mapped,
    NAT64) is judged by the IPv4 address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address_is_public(address.ipv4_mapped)
        if address in _NAT64:
            return address_is_public(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return address.is_global and not (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def _allowed(address: Address, allow: Sequence[Network]) -> bool:
    return address_is_public(address) or any(address in network for network in allow)


def _checked_addresses(
    url: httpx.URL, what: str, resolve: Resolver, allow: Sequence[Network]
) -> list[str]:
    """The addresses to dial for `url`, once every address its host resolves to passed."""
    host = url.raw_host.decode("ascii")
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        answers = list(resolve(host, port))
        addresses = [ipaddress.ip_address(answer.split("%", 1)[0]) for answer in answers]
    except (OSError, UnicodeError) as exc:
        raise StorageError(
            f"{what}: the URL's host does not resolve; check the URL", code="unavailable"
        ) from exc
    except ValueError:
        raise StorageError(
            f"{what}: the resolver gave a malformed address", code="unavailable"
        ) from None
    if not addresses:
        raise StorageError(f"{what}: the URL's host does not resolve; check the URL", "unavailable")
    if not all(_allowed(address, allow) for address in addresses):
        # A StorageError, not InvalidInput: the allow-list is this worker's own policy, so
        # the work is reported as fetch_failed (another worker may take it), never as a
        # verdict on the app.
        raise StorageError(
            f"{what}: the URL's host resolves to a non-public address; refused (set "
            f"{ALLOW_SETTING} for a devnet)",
            code="non_public",
        )
    return [str(address) for address in addresses]


def _parse(url: str | httpx.URL, what: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise InvalidInput(f"{what}: not a valid URL") from None
    if parsed.scheme not in ("http", "https"):
        raise InvalidInput(f"{what}: only http and https URLs are fetched")
    if parsed.userinfo:
        raise InvalidInput(f"{what}: URLs with a user name or password are refused")
    if not parsed.host:
        raise InvalidInput(f"{what}: the URL names no host")
    return parsed


def _redirect_target(current: httpx.URL, location: str, what: str) -> httpx.URL:
    try:
        target = current.join(location)
    except httpx.InvalidURL:
        raise InvalidInput(f"{what}: not a valid URL") from None
    return _parse(target, what)


def _failure(exc: httpx.HTTPError, timeout_s: float) -> str:
    """Why a request failed, in words that carry no address (httpx texts may)."""
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer within {timeout_s:g} s"
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS certificate refused: {cause.verify_message}"
        if isinstance(cause, ssl.SSLError):
            return "TLS failed"
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpx.ConnectError):
        return "could not connect"
    return f"the transfer failed ({type(exc).__name__})"


@contextmanager
def _pinned_stream(
    url: httpx.URL, address: str, timeout_s: float, verify: ssl.SSLContext | bool
) -> Iterator[httpx.Response]:
    """GET `url` over a connection to `address`. The request URL carries the address, so
    nothing resolves the host again; the Host header and the TLS server name (SNI, and the
    name the certificate is verified against) stay the URL's host. A new client per hop, so
    no connection verified for one host is reused for another."""
    host = url.raw_host.decode("ascii")
    headers = {"Host": url.netloc.decode("ascii")}
    with httpx.Client(verify=verify, trust_env=False, timeout=timeout_s) as client:
        request = client.build_request(
            "GET",
            url.copy_with(host=address),
            headers=headers,
            extensions={"sni_hostname": host},
        )
        reply = client.send(request, stream=True, follow_redirects=False)
        try:
            yield reply
        finally:
            reply.close()


def get(
    url: str,
    max_bytes: int,
    *,
    what: str,
    timeout_s: float,
    allow: Sequence[Network] = (),
    resolve: Resolver = system_resolver,
    verify: ssl.SSLContext | bool = True,
) -> bytes:
    """The body of `url` (at most `max_bytes`), following up to MAX_REDIRECTS redirects.
    `what` names the download in errors ("input file 2"). `trust_env` is off: a proxy
    would resolve the host itself, past the check."""
    current = _parse(url, what)
    for hop in range(MAX_REDIRECTS + 1):
        place = what if hop == 0 else f"{what}, redirect {hop}"
        addresses = _checked_addresses(current, place, resolve, allow)
        location = _fetch_hop(current, addresses, max_bytes, place, timeout_s, verify)
        if isinstance(location, bytes):
            return location
        current = _redirect_target(current, location, f"{what}, redirect {hop + 1}")
    raise StorageError(f"{what}: more than {MAX_REDIRECTS} redirects; refused", code="not_found")


def _fetch_hop(
    url: httpx.URL,
    addresses: list[str],
    max_bytes: int,
    what: str,
    timeout_s: float,
    verify: ssl.SSLContext | bool,
) -> bytes | str:
    """The body, or the Location of a redirect; tries the checked addresses in order."""
    for position, address in enumerate(addresses):
        try:
            with _pinned_stream(url, address, timeout_s, verify) as reply:
                return _read(reply, max_bytes, what)
        except httpx.ConnectError as exc:
            if position + 1 < len(addresses):
                continue
            raise StorageError(f"{what}: {_failure(exc, timeout_s)}", "unavailable") from exc
        except httpx.HTTPError as exc:
            raise StorageError(f"{what}: {_failure(exc, timeout_s)}", "unavailable") from exc
    raise AssertionError("unreachable: _checked_addresses returns at least one address")


def _read(reply: httpx.Response, max_bytes: int, what: str) -> bytes | str:
    if reply.status_code in REDIRECT_STATUSES:
        location = reply.headers.get("location")
        if not location:
            raise StorageError(f"{what}: a redirect without a Location", code="not_found")
        return str(location)
    if reply.status_code != 200:
        # A 4xx is the server's answer about the URL, the same for every worker (a failure
        # record); a 5xx, 408 or 429 may pass: another worker may try later.
        transient = reply.status_code >= 500 or reply.status_code in _TRANSIENT_STATUSES
        code = "unavailable" if transient else "not_found"
        raise StorageError(f"{what}: GET answered {reply.status_code}", code=code)
    chunks: list[bytes] = []
    size = 0
    for chunk in reply.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise StorageError(f"{what} is larger than the {max_bytes}-byte limit", "too_large")
        chunks.append(chunk)
    return b"".join(chunks)
