"""Pure types and rules: orders and their EIP-712 digests, ids, tags. No I/O here."""
