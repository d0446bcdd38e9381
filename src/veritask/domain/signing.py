"""Signatures over orders (EIP-712), with eth-account's standard typed-data encoder."""

from __future__ import annotations

from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data

from .orders import Domain, Order, typed_data

__all__ = ["compact_signature", "sign_hash_eip191", "sign_order"]


def sign_order(order: Order, domain: Domain, private_key: bytes | str) -> Order:
    """The order with `sign` set to its owner's 65-byte ECDSA signature."""
    signable = encode_typed_data(full_message=typed_data(order, domain))
    signed = Account.sign_message(signable, private_key)
    return order.with_sign(bytes(signed.signature))


def compact_signature(signature: bytes) -> bytes:
    """The EIP-2098 64-byte form (r ‖ yParity·2²⁵⁵ + s) of a 65-byte signature."""
    if len(signature) != 65:
        raise ValueError(f"expected a 65-byte signature, got {len(signature)} bytes")
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    y_parity = v - 27 if v >= 27 else v
    return r + ((y_parity << 255) | s).to_bytes(32, "big")


def sign_hash_eip191(message_hash: bytes, private_key: bytes | str) -> bytes:
    """The 65-byte personal-message (EIP-191) signature of a 32-byte hash."""
    signed = Account.sign_message(encode_defunct(primitive=message_hash), private_key)
    return bytes(signed.signature)
