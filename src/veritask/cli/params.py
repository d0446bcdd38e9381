"""Commands made from a table of parameters, for the commands that exist once per order
kind (`orderbook app|dataset|workerpool|request`, `order init app|dataset|workerpool`).
typer reads a command's parameters from its function's signature, so `table_command`
gives one closure the signature that a table row declares."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import typer

__all__ = ["Param", "table_command"]


@dataclass(frozen=True)
class Param:
    """One parameter of a generated command, as it would be written in a `def`."""

    name: str  # the function parameter: typer derives --the-name from it unless declared
    annotation: Any  # Annotated[type, typer.Option(...)] or Annotated[type, typer.Argument(...)]
    default: Any = inspect.Parameter.empty  # empty: required


def table_command(
    name: str,
    doc: str,
    params: Sequence[Param],
    body: Callable[[typer.Context, dict[str, Any]], None],
) -> Callable[..., None]:
    """A command function named `name`, whose help is `doc` and whose parameters are
    `ctx: typer.Context` then `params`; typer calls it with each value by name, and it
    passes them on to `body` as one dict."""

    def command(ctx: typer.Context, **values: Any) -> None:
        body(ctx, values)

    parameters = [
        inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)
    ]
    parameters += [
        inspect.Parameter(
            param.name,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            annotation=param.annotation,
            default=param.default,
        )
        for param in params
    ]
    signature = inspect.Signature(parameters, return_annotation=None)
    command.__signature__ = signature  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": None}
    command.__name__ = command.__qualname__ = name
    command.__doc__ = doc
    return command
