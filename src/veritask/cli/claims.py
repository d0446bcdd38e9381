"""Refunds of a deal's unfinished tasks after its final deadline, shared by `veritask deal
claim` and `veritask task claim`: the deals acting as the wallet, and the claim's report."""

from __future__ import annotations

from veritask.sdk import ClaimReport, Deals, Veritask, format_rlc, to_hex

from .output import emit_json, show
from .state import CliState

__all__ = ["claim_report", "signing_deals"]


def signing_deals(state: CliState, deal_id: bytes, from_block: int) -> Deals:
    """Deals acting as the wallet, once the claim is known to be possible: a refused claim
    costs no password prompt."""
    profile = state.profile()
    wallet = state.find_wallet(profile)
    client: Veritask = state.client(profile)
    deals = client.deals(from_block=from_block)
    deals.check_claimable(deal_id)
    client.signer = state.unlock(wallet)
    return deals


def claim_report(state: CliState, json_flag: bool, report: ClaimReport) -> None:
    if state.as_json(json_flag):
        emit_json(
            {
                "deal_id": to_hex(report.deal_id),
                "indices": list(report.indices),
                "refunded_nrlc": report.refunded_nrlc,
                "refunded_rlc": format_rlc(report.refunded_nrlc),
                "requester": report.requester,
                "compensated_nrlc": report.compensated_nrlc,
                "tasks_left": report.left,
                "tx_hash": report.tx.tx_hash,
                "block_number": report.tx.block_number,
                "gas_used": report.tx.gas_used,
            }
        )
        return
    indices = ", ".join(str(i) for i in report.indices)
    plural = "s" if len(report.indices) > 1 else ""
    show(f"claimed task{plural} {indices} of deal {to_hex(report.deal_id)}: tx {report.tx.tx_hash}")
    show(f"block {report.tx.block_number}, gas {report.tx.gas_used:,}")
    show(
        f"refunded {format_rlc(report.refunded_nrlc)} RLC to the requester {report.requester} "
        "(frozen to free)"
    )
    if report.compensated_nrlc:
        show(
            f"and {format_rlc(report.compensated_nrlc)} RLC of the scheduler's stake, for the "
            "tasks nobody ran"
        )
    if report.left:
        show(f"{report.left} tasks left to claim: run the command again")
