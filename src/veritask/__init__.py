"""Veritask: a decentralized marketplace for computing, compatible with iExec PoCo."""

__version__ = "0.1.0"
