"""The one walk: each element of a document, once, handed to the enabled rules that visit its tag.

The dispatch table (tag → the visits that want it, in rule order) is built once per
select/ignore pair. Most elements are wanted by no rule or by one whose visit returns at its
first test, so a lint-clean document costs one pass over its tree and a few calls per element.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING

from callflow.lint._config import DEFAULT_CONFIG, LintConfig
from callflow.lint._model import RULES, Finding, LintContext, Visit

if TYPE_CHECKING:
    from callflow.document import Document

#: The visits for one tag: (the rule's place in `RULES`, its visit), in that order.
Visits = tuple[tuple[int, Visit], ...]


class DispatchTable:
    """Tag → visits for the enabled rules; ``every`` holds the rules that visit every element."""

    __slots__ = ("by_tag", "every")

    def __init__(self, by_tag: dict[str, Visits], every: Visits) -> None:
        self.by_tag = by_tag
        self.every = every

    def __bool__(self) -> bool:
        return bool(self.by_tag or self.every)


@functools.lru_cache(maxsize=64)
def dispatch_table(select: tuple[str, ...] | None, ignore: tuple[str, ...]) -> DispatchTable:
    """The table for one select/ignore pair (rules register at import: it never changes)."""
    settings = LintConfig(select=select, ignore=ignore)
    wanted: dict[str, list[tuple[int, Visit]]] = {}
    every: list[tuple[int, Visit]] = []
    for index, rule in enumerate(RULES.values()):
        if not settings.enabled(rule.code):
            continue
        tags = rule.tags
        if tags is None:
            every.append((index, rule.visit))
            continue
        for tag in tags:
            wanted.setdefault(tag, []).append((index, rule.visit))
    by_tag = {
        tag: tuple(sorted([*visits, *every], key=lambda pair: pair[0]))
        for tag, visits in wanted.items()
    }
    return DispatchTable(by_tag, tuple(every))


def iter_findings(document: Document, config: LintConfig = DEFAULT_CONFIG) -> Iterator[Finding]:
    """Every finding of every enabled rule, unlocated and unsuppressed, rule by rule (each
    rule's in document order)."""
    table = dispatch_table(config.select, config.ignore)
    if not table:
        return
    context = LintContext(document, config)
    visits_for = table.by_tag.get
    every = table.every
    root = document.root
    # Without a rule for every element, libxml2 skips the elements no rule wants.
    elements = root.iter(*table.by_tag) if not every else document.iter_elements()
    found: list[tuple[int, Finding]] = []
    for element in elements:
        for index, visit in visits_for(element.tag, every):  # type: ignore[arg-type]
            findings = visit(element, context)
            if findings:
                found.extend([(index, finding) for finding in findings])
    if len(found) > 1:
        found.sort(key=_rule_place)
    for _, finding in found:
        yield finding


def _rule_place(pair: tuple[int, Finding]) -> int:
    return pair[0]
