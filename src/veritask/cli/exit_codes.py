"""The CLI's exit codes, one per branch of the exception tree of `veritask.errors`: the
one list of them, explained in docs/cli.md ("Errors and exit codes"), which must match."""

from __future__ import annotations

from enum import IntEnum

from veritask.errors import (
    ChainError,
    IntegrityError,
    InvalidInput,
    ServiceError,
    ToolError,
    VeritaskError,
)

__all__ = ["ExitCode", "exit_code_for"]


class ExitCode(IntEnum):
    OK = 0
    UNEXPECTED = 1  # a bug: the traceback is printed
    BAD_INPUT = 2  # InvalidInput, and command-line usage errors
    CHAIN = 3  # ChainError, ContractRevert: the node refused, reverted or did not answer
    TOOL = 4  # ToolError: a local tool (anvil, vyper) is missing or failed
    TASKS_UNFINISHED = 5  # a watch ended with tasks failed, claimable or still running
    SERVICE = 6  # ServiceError: a Veritask service (storage, market, scheduler) failed or refused
    INTEGRITY = 7  # IntegrityError: downloaded data does not match its on-chain digest


def exit_code_for(exc: VeritaskError) -> ExitCode:
    if isinstance(exc, InvalidInput):
        return ExitCode.BAD_INPUT
    if isinstance(exc, ChainError):
        return ExitCode.CHAIN
    if isinstance(exc, ToolError):
        return ExitCode.TOOL
    if isinstance(exc, ServiceError):
        return ExitCode.SERVICE
    if isinstance(exc, IntegrityError):
        return ExitCode.INTEGRITY
    return ExitCode.UNEXPECTED
