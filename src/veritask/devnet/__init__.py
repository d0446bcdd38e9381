"""A whole local marketplace on loopback (anvil, the contracts, storage, market, scheduler,
worker subprocesses): the composition root behind `veritask devnet`, `./scripts/demo`, the
end-to-end tests and the benchmarks.

    from veritask.devnet.stack import Stack
"""
