"""The only code that talks to a node: compile and deploy the contracts, run anvil."""
