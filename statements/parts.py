"""The statement page as a list of typed parts, each drawn by its own template.

The view builds the list; the page template loops over it. Other apps add parts
(signing adds its count, form and signatories) through STATEMENT_PAGE_PARTS in
statements.views, so this app never names their templates.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.http import HttpRequest

    from statements.models import Statement


class Slot(IntEnum):
    """Where a part stands on the page, top to bottom."""

    HEADING = 10
    # Right under the title: what must be on a phone's first screen (the count and
    # the way to the form), whatever the length of the text.
    LEAD = 20
    TEXT = 30
    ACTION = 40
    RECORD = 50
    # The "about" column: other languages, links, contacts, topics, sharing.
    ABOUT = 60


@dataclass(frozen=True, kw_only=True)
class PagePart:
    """One part of the statement page: the template that draws it, and its values."""

    name: str
    slot: Slot
    template: str
    context: Mapping[str, Any] = field(default_factory=dict)

    def replacing(self, values: Mapping[str, Any]) -> PagePart:
        """This part with those of its values that `values` names replaced.

        A form sent back with errors replaces the empty one in the part that shows
        it; the other parts are left as they are.
        """
        replaced = {key: values[key] for key in self.context if key in values}
        if not replaced:
            return self
        return dataclasses.replace(self, context={**self.context, **replaced})


# Takes (request, statement, preview) and returns the parts it adds to the page.
PartMaker = Callable[["HttpRequest", "Statement", bool], list[PagePart]]


def in_page_order(parts: list[PagePart]) -> list[PagePart]:
    """Parts sorted by slot; within a slot, in the order they were made."""
    return sorted(parts, key=lambda part: part.slot)
