"""The one walk: each element of a document, once, handed to the enabled rules that want it.

The dispatch table (tag → the visits that want it, in rule order) is built once per
select/ignore pair. Most visits return at their first test, so a lint-clean document costs
one pass over its tree and a few calls per element.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from lxml import etree

from callflow.lint._config import DEFAULT_CONFIG, LintConfig
from callflow.lint._model import RULES, Finding, LintContext, Visit

if TYPE_CHECKING:
    from callflow.document import Document

Element = etree._Element
#: The visits for one tag, in the order of `RULES`.
Visits = tuple[Visit, ...]
#: Rules brought by attributes: (the attribute names, the visit), in the order of `RULES`.
Checks = tuple[tuple[tuple[str, ...], Visit], ...]


class DispatchTable:
    """Tag → (visits, checks) for the enabled rules: the visits of the rules that name the
    tag or visit every element, and the attribute checks of the rules that an element
    brings by carrying one of their attributes (and that do not name its tag). ``other``
    serves the tags no rule names; ``select`` finds the elements wanted (None: every
    element is)."""

    __slots__ = ("by_tag", "other", "select")

    def __init__(
        self,
        by_tag: dict[str, tuple[Visits, Checks]],
        other: tuple[Visits, Checks],
        select: Callable[[Element], Iterable[Element]] | None,
    ) -> None:
        self.by_tag = by_tag
        self.other = other
        self.select = select

    def __bool__(self) -> bool:
        return bool(self.by_tag or self.other[0] or self.other[1])


@functools.lru_cache(maxsize=64)
def dispatch_table(select: tuple[str, ...] | None, ignore: tuple[str, ...]) -> DispatchTable:
    """The table for one select/ignore pair (rules register at import: it never changes)."""
    settings = LintConfig(select=select, ignore=ignore)
    enabled = [rule for rule in RULES.values() if settings.enabled(rule.code)]
    every = tuple(rule.visit for rule in enabled if rule.tags is None)
    by_attribute = [rule for rule in enabled if rule.attributes and rule.tags is not None]
    wanted = sorted({tag for rule in enabled for tag in rule.tags or ()})
    by_tag = {
        tag: (
            tuple(rule.visit for rule in enabled if rule.tags is None or tag in (rule.tags or ())),
            tuple(
                (rule.attributes, rule.visit)
                for rule in by_attribute
                if tag not in (rule.tags or ())
            ),
        )
        for tag in wanted
    }
    other = (every, tuple((rule.attributes, rule.visit) for rule in by_attribute))
    # Without a rule for every element or attribute, libxml2 skips the elements no rule wants.
    chooser = None if other[0] or other[1] else _selector(wanted)
    return DispatchTable(by_tag, other, chooser)


def _selector(tags: list[str]) -> Callable[[Element], Iterable[Element]]:
    """The elements with one of ``tags``, in document order."""
    return lambda root: root.iter(*tags)


def iter_findings(document: Document, config: LintConfig = DEFAULT_CONFIG) -> Iterator[Finding]:
    """Every finding of every enabled rule, unlocated and unsuppressed, rule by rule (each
    rule's in document order)."""
    table = dispatch_table(config.select, config.ignore)
    if not table:
        return
    context = LintContext(document, config)
    plan_for = table.by_tag.get
    other = table.other
    select = table.select
    attribute_names = Element.keys
    elements = document.iter_elements() if select is None else select(document.root)
    found: list[Finding] = []
    for element in elements:
        visits, checks = plan_for(element.tag, other)  # type: ignore[arg-type]
        for visit in visits:
            findings = visit(element, context)
            if findings:
                found.extend(findings)
        if not checks:
            continue
        carried = attribute_names(element)  # one call for all the checks (mostly: none)
        if not carried:
            continue
        for names, visit in checks:  # a rule brought by an attribute the element carries
            for name in names:
                if name in carried:
                    findings = visit(element, context)
                    if findings:
                        found.extend(findings)
                    break
    if len(found) > 1:
        found.sort(key=_rule_place)  # stable: each rule's findings stay in document order
    yield from found


def _rule_place(finding: Finding) -> int:
    return _PLACES[finding.code]


class _Places(dict[str, int]):
    """A rule's place in `RULES` by code (rules register at import, before any walk)."""

    def __missing__(self, code: str) -> int:
        self.update((known, index) for index, known in enumerate(RULES))
        return self[code]


_PLACES = _Places()
