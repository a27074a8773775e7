"""The one walk: each element of a document, once, handed to the enabled rules that want it.

The plan (tag → the visits that want it) is built once per select/ignore pair from the rules'
declarations: the tags each visits and, per tag, the attributes one of which an element must
carry for the rule to find anything there; and the attributes that bring any element to a rule
whatever its tag. The walk reads an element's tag, and its attribute names when a visit depends
on them; a lint-clean document costs one pass over its tree and a few calls per element.

libxml2 cannot select for less: one compiled XPath union of the declared tags and attributes
costs more per document than this walk (libxml2's XPath evaluation builds node sets of every
node, whitespace text included), and ``iter(*tags)`` costs more than ``iter()`` at the ten tags
the rules name (its matcher is set up per call), measured in ``tests/benchmarks/bench_lint.py``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING

from lxml import etree

from callflow.lint._config import DEFAULT_CONFIG, LintConfig
from callflow.lint._model import RULES, Finding, LintContext, Rule, Visit

if TYPE_CHECKING:
    from callflow.document import Document

Element = etree._Element
#: The visits an element of one tag always gets.
Visits = tuple[Visit, ...]
#: The visits it gets for carrying an attribute: attribute name → the visits that name it.
Brought = dict[str, Visits]
#: What one tag gets: (visits, the attribute names that bring some, brought).
Plan = tuple[Visits, frozenset[str], Brought]
#: A rule's declaration: tag → the attributes one of which an element must carry (None: any).
Carrying = dict[str, frozenset[str] | None]


class DispatchTable:
    """Tag → the plan for its elements, for the enabled rules; ``other`` is the plan for the
    tags no rule names (the rules that visit every element, and those brought by an attribute
    whatever the tag), None when no rule wants such an element."""

    __slots__ = ("by_tag", "other")

    def __init__(self, by_tag: dict[str, Plan], other: Plan | None) -> None:
        self.by_tag = by_tag
        self.other = other

    def __bool__(self) -> bool:
        return bool(self.by_tag or self.other)


@functools.lru_cache(maxsize=64)
def dispatch_table(select: tuple[str, ...] | None, ignore: tuple[str, ...]) -> DispatchTable:
    """The table for one select/ignore pair (rules register at import: it never changes)."""
    settings = LintConfig(select=select, ignore=ignore)
    enabled = [rule for rule in RULES.values() if settings.enabled(rule.code)]
    declared = [(rule, rule.carrying) for rule in enabled]
    wanted = sorted({tag for _, carrying in declared for tag in carrying or ()})
    by_tag = {tag: _plan(tag, declared) for tag in wanted}
    other = _plan(None, declared)
    return DispatchTable(by_tag, other if other[0] or other[1] else None)


def _plan(tag: str | None, declared: list[tuple[Rule, Carrying | None]]) -> Plan:
    """What an element of ``tag`` gets (None: a tag no rule names), in the order of `RULES`."""
    visits: list[Visit] = []
    brought: dict[str, list[Visit]] = {}
    for rule, carrying in declared:
        if carrying is None or (tag in carrying and carrying[tag] is None):
            visits.append(rule.visit)  # every element, or every element of the tag
            continue
        needed = carrying.get(tag) or frozenset()  # type: ignore[arg-type]
        for name in sorted(needed | frozenset(rule.attributes)):
            brought.setdefault(name, []).append(rule.visit)
    return tuple(visits), frozenset(brought), {name: tuple(v) for name, v in brought.items()}


def iter_findings(document: Document, config: LintConfig = DEFAULT_CONFIG) -> Iterator[Finding]:
    """Every finding of every enabled rule, unlocated and unsuppressed, rule by rule (each
    rule's in document order)."""
    table = dispatch_table(config.select, config.ignore)
    if not table:
        return
    context = LintContext(document, config)
    plan_for = table.by_tag.get
    other = table.other
    names_of = Element.keys
    found: list[Finding] = []
    for element in document.iter_elements():
        plan = plan_for(element.tag, other)  # type: ignore[arg-type]
        if plan is None:
            continue
        visits, named, brought = plan
        for visit in visits:
            findings = visit(element, context)
            if findings:
                found.extend(findings)
        if not named:
            continue
        carried = names_of(element)  # one call for all the attributes that bring visits
        if not carried or named.isdisjoint(carried):
            continue  # the usual case: it carries none of them
        wanted: list[Visit] = []
        for name in carried:
            wanted.extend(brought.get(name, ()))
        for visit in dict.fromkeys(wanted) if len(wanted) > 1 else wanted:
            findings = visit(element, context)  # once, however many of its attributes it carries
            if findings:
                found.extend(findings)
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
