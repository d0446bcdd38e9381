"""Reading a Veritask service's refusal on the client side: every service answers a
refused request with `{"error": code, "message": what to do}` (`veritask.serving`), and
every client reads it here, once, before raising its own `ServiceError`."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

__all__ = ["ServiceRefusal", "read_refusal"]


@dataclass(frozen=True)
class ServiceRefusal:
    """A non-2xx answer: its HTTP `status`, the envelope's `code` ("" when the body is not
    the envelope: a proxy's page, a crash) and `message` (then `HTTP <status> from <url>`,
    never the foreign body, which may be large or hold anything)."""

    status: int
    code: str
    message: str


def read_refusal(response: httpx.Response) -> ServiceRefusal:
    """The refusal `response` carries, in the services' one envelope."""
    try:
        body = response.json()
    except ValueError:
        body = None
    code = message = ""
    if isinstance(body, dict):
        code = str(body.get("error") or "")
        message = str(body.get("message") or "")
    if not message:
        message = f"HTTP {response.status_code} from {response.request.url}"
    return ServiceRefusal(response.status_code, code, message)
