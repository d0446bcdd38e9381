"""read_refusal: the services' one envelope read back, and what a foreign body becomes."""

from __future__ import annotations

import httpx

from veritask.sdk.http import ServiceRefusal, read_refusal

URL = "http://service.test/v1/thing"


def _response(status: int, **kwargs: object) -> httpx.Response:
    return httpx.Response(status, request=httpx.Request("GET", URL), **kwargs)


def test_read_refusal__envelope__its_code_and_message() -> None:
    response = _response(404, json={"error": "unknown_task", "message": "no task 0x1"})
    assert read_refusal(response) == ServiceRefusal(404, "unknown_task", "no task 0x1")


def test_read_refusal__foreign_body__no_code_and_the_status_not_the_body() -> None:
    refusal = read_refusal(_response(502, text="<html>bad gateway</html>"))
    assert refusal == ServiceRefusal(502, "", f"HTTP 502 from {URL}")


def test_read_refusal__json_that_is_not_the_envelope__no_code() -> None:
    assert read_refusal(_response(500, json=["error"])).code == ""
    assert read_refusal(_response(400, json={"detail": "x"})).message == f"HTTP 400 from {URL}"
