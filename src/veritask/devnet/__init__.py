"""A whole local marketplace on loopback (anvil, the contracts, storage, market, scheduler,
worker subprocesses): the composition root behind `veritask devnet`, `./scripts/demo`, the
end-to-end tests and the benchmarks. It composes services and registers assets but matches
no orders: requesters go through the SDK's `Runs` and the market, as users do.

    from veritask.devnet.stack import Stack
"""
