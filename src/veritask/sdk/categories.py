"""The hub's categories (PROTOCOL.md A4, docs/spec.md): a category fixes the reference time
C of its deals' deadlines. Anyone reads them; only the hub owner creates one, and a refused
creation sends nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass

from veritask.errors import InvalidInput

from .receipts import TxSummary
from .session import ChainSession

__all__ = ["MAX_TIME_REF_S", "Categories", "CategoryView", "CreatedCategory"]

MAX_TIME_REF_S = 2**24 - 1  # deals store C in 24 bits
_MAX_NAME_BYTES = 64
_MAX_DESCRIPTION_BYTES = 1_024


@dataclass(frozen=True)
class CategoryView:
    category_id: int
    name: str
    description: str
    time_ref_s: int  # the reference time C, in seconds


@dataclass(frozen=True)
class CreatedCategory:
    category: CategoryView
    tx: TxSummary


class Categories:
    def __init__(self, session: ChainSession) -> None:
        self.session = session

    def count(self) -> int:
        return self.session.hub.category_count()

    def show(self, category_id: int) -> CategoryView:
        count = self.count()
        if not 0 <= category_id < count:
            raise InvalidInput(
                f"unknown category {category_id}: there are {count} categories (0 to {count - 1})"
            )
        category = self.session.hub.category(category_id)
        return CategoryView(category_id, category.name, category.description, category.time_ref)

    def list(self) -> list[CategoryView]:
        return [self.show(category_id) for category_id in range(self.count())]

    def hub_owner(self) -> str:
        return self.session.hub.owner()

    def create(self, name: str, time_ref_s: int, description: str = "{}") -> CreatedCategory:
        """Creates a category; only the hub owner may. `description` is JSON text."""
        if not name.strip():
            raise InvalidInput("the category name is empty: give one")
        if len(name.encode()) > _MAX_NAME_BYTES:
            raise InvalidInput(f"the category name is too long: at most {_MAX_NAME_BYTES} bytes")
        if not 0 < time_ref_s <= MAX_TIME_REF_S:
            raise InvalidInput(
                f"--time-ref must be between 1 and {MAX_TIME_REF_S} seconds, got {time_ref_s}"
            )
        try:
            json.loads(description)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"--description is not JSON: {exc.msg}") from None
        if len(description.encode()) > _MAX_DESCRIPTION_BYTES:
            raise InvalidInput(f"--description is too long: at most {_MAX_DESCRIPTION_BYTES} bytes")
        sender = self.session.require_signer("creating a category")
        owner = self.hub_owner()
        if owner != sender.address:
            raise InvalidInput(
                f"only the hub owner {owner} may create a category; the wallet is {sender.address}"
            )
        category_id = self.count()
        tx = TxSummary.of(self.session.hub.create_category(sender, name, description, time_ref_s))
        return CreatedCategory(CategoryView(category_id, name, description, time_ref_s), tx)
