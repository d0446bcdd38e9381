"""Command-line entry points: thin commands over the SDK (the local marketplace they start
is `veritask.devnet`)."""
