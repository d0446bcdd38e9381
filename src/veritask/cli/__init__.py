"""Command-line entry points: thin commands over the SDK that also compose services."""
