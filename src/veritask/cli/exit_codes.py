"""The CLI's exit codes, one per branch of the exception tree (see docs/cli.md)."""

from __future__ import annotations

from enum import IntEnum

from veritask.errors import ChainError, InvalidInput, ToolError, VeritaskError

__all__ = ["ExitCode", "exit_code_for"]


class ExitCode(IntEnum):
    OK = 0
    UNEXPECTED = 1  # a bug: the traceback is printed
    BAD_INPUT = 2  # InvalidInput, and command-line usage errors
    CHAIN = 3  # ChainError, ContractRevert: the node refused, reverted or did not answer
    TOOL = 4  # ToolError: a local tool (anvil, vyper) is missing or failed
    TASKS_UNFINISHED = 5  # a watch ended with tasks failed, claimable or still running


def exit_code_for(exc: VeritaskError) -> ExitCode:
    if isinstance(exc, InvalidInput):
        return ExitCode.BAD_INPUT
    if isinstance(exc, ChainError):
        return ExitCode.CHAIN
    if isinstance(exc, ToolError):
        return ExitCode.TOOL
    return ExitCode.UNEXPECTED
