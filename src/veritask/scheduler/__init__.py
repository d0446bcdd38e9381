"""The scheduler service, one per workerpool: follows the chain for the pool's deals, hands
replicates to workers by the consensus rule, signs their authorizations, drives reveal,
upload, finalize and reopen, and claims refunds of failed tasks (docs/scheduler.md)."""
