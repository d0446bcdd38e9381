"""A `ChainView` in memory, for the market's store and HTTP tests (the chain-backed checks
run against anvil in test_on_chain.py), and signed orders of named owners."""

from __future__ import annotations

from dataclasses import dataclass, field

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from veritask.domain.orders import Domain, Order
from veritask.domain.signing import sign_order
from veritask.errors import ChainError

DOMAIN = Domain(31337, to_checksum_address("0x" + "11" * 20))
RLC = 10**9


def account(name: str) -> LocalAccount:
    key: LocalAccount = Account.from_key(keccak(text=f"veritask market test {name}"))
    return key


def address(name: str) -> str:
    """A deterministic asset address."""
    return to_checksum_address(keccak(text=f"asset {name}")[:20])


@dataclass
class FakeChain:
    """Owners, consumed volumes, presignatures, contract wallets and balances, settable."""

    domain: Domain = DOMAIN
    block: int = 100
    owners: dict[tuple[str, str], str] = field(default_factory=dict)
    consumed_volume: dict[bytes, int] = field(default_factory=dict)
    presignatures: dict[bytes, str] = field(default_factory=dict)
    wallets: dict[str, set[bytes]] = field(default_factory=dict)  # contract -> vouched digests
    balances: dict[str, int] = field(default_factory=dict)
    down: bool = False

    def register(self, kind: str, asset: str, owner: str) -> str:
        self.owners[(kind, asset)] = owner
        return asset

    def _up(self) -> None:
        if self.down:
            raise ChainError("http://127.0.0.1:1 did not answer: connection refused")

    def head(self) -> int:
        self._up()
        return self.block

    def asset_owner(self, kind: str, asset: str, block: int) -> str | None:
        self._up()
        return self.owners.get((kind, asset))

    def consumed(self, order_hash: bytes, block: int) -> int:
        return self.consumed_volume.get(order_hash, 0)

    def presigned(self, order_hash: bytes, block: int) -> str:
        return self.presignatures.get(order_hash, "0x" + "00" * 20)

    def is_contract(self, address: str, block: int) -> bool:
        return address in self.wallets

    def erc1271_valid(self, signer: str, digest: bytes, signature: bytes, block: int) -> bool:
        return digest in self.wallets.get(signer, set())

    def free_balance(self, address: str, block: int) -> int:
        return self.balances.get(address, 0)


def signed(order: Order, owner: LocalAccount) -> Order:
    return sign_order(order, DOMAIN, owner.key)
