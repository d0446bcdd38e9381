"""`TxSummary`: what the SDK reports of a transaction it sent."""

from __future__ import annotations

from dataclasses import dataclass

from veritask.chain.records import Receipt
from veritask.domain.ids import to_hex

__all__ = ["TxSummary"]


@dataclass(frozen=True)
class TxSummary:
    tx_hash: str
    block_number: int
    gas_used: int

    @classmethod
    def of(cls, receipt: Receipt) -> TxSummary:
        return cls(
            tx_hash=to_hex(receipt.tx_hash),
            block_number=receipt.block_number,
            gas_used=receipt.gas_used,
        )
