"""The market's refusals: one table of machine-readable codes, each with its HTTP status and
what the caller should do. Every refusal is answered as
`{"error": "<code>", "message": "<what to do>"}` and stores nothing."""

from __future__ import annotations

from typing import Final

from veritask.errors import VeritaskError

__all__ = ["REASONS", "Rejection"]

# code -> (HTTP status, what it means for the caller)
REASONS: Final[dict[str, tuple[int, str]]] = {
    "malformed_order": (422, "the body is not a well-formed order"),
    "invalid_query": (400, "a query parameter is not valid"),
    "bad_signature": (422, "the order's signature is not valid for its owner"),
    "not_owner": (403, "the order is signed by someone who does not own its asset"),
    "unknown_asset": (422, "the order's asset is not registered on this hub"),
    "order_consumed": (410, "the order has no volume left: used by deals or cancelled"),
    "insufficient_balance": (422, "the requester's free balance cannot pay one task"),
    "insufficient_stake": (422, "the workerpool owner cannot lock the scheduler stake"),
    "duplicate_order": (409, "the order is already in the book"),
    "too_many_orders": (429, "the signer has too many open orders"),
    "body_too_large": (413, "the request body is over the market's limit"),
    "too_many_streams": (503, "the market serves as many live streams as it can"),
    "order_not_found": (404, "no order with this hash is known"),
    "order_not_open": (409, "the order is no longer in the book"),
    "route_not_found": (404, "no such route"),
    "method_not_allowed": (405, "the route does not take this method"),
    "chain_unavailable": (503, "the market cannot read the chain right now"),
    "internal_error": (500, "the market failed; nothing was stored"),
}


class Rejection(VeritaskError):
    """A request the market refuses; `code` is a key of `REASONS`."""

    def __init__(self, code: str, message: str) -> None:
        if code not in REASONS:
            raise ValueError(f"unknown rejection code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def status(self) -> int:
        return REASONS[self.code][0]

    def body(self) -> dict[str, str]:
        return {"error": self.code, "message": self.message}
