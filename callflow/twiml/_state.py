"""The conversion's working state: what was mapped, reported and emitted, and from where.

Also the markers a template's placeholders are made of, shared by the walk and the template
pass, and the limits the conversion approximates TwiML's unbounded values with.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from lxml import etree

from callflow.diagnostics import Diagnostic, Severity
from callflow.document import Document
from callflow.sourcemap import SourceLocation

#: Private-use characters around a template placeholder's number (see `_template`).
MARK_OPEN = "\ue000"
MARK_CLOSE = "\ue001"
MARKER = re.compile(MARK_OPEN + r"(\d+)\s*" + MARK_CLOSE)

#: How many digits a TwiML ``<Gather>`` without ``numDigits`` (no limit) may take here.
UNLIMITED_DIGITS = 20
#: A TwiML ``loop="0"`` (for ever) becomes this many repeats (the lint's loop limit).
FOREVER_LOOP = 20

Element = etree._Element


@dataclass
class Origin:
    """The TwiML place an output element came from."""

    element: Element
    attribute: str | None = None


@dataclass
class State:
    """One conversion's state: the TwiML read, the report so far, the tree's origins."""

    source: Document
    base_url: str | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: (element, attribute or None) of each TwiML part converted, and of each reported.
    mapped: set[tuple[Element, str | None]] = field(default_factory=set)
    reported: set[tuple[Element, str | None]] = field(default_factory=set)
    origins: dict[Element, Origin] = field(default_factory=dict)
    #: Template placeholders holding seconds, to be scaled to milliseconds in Jinja.
    scaled: set[int] = field(default_factory=set)
    #: Generated tags whose lint findings the report already explains (a menu's Callbacks).
    explained: set[Element] = field(default_factory=set)
    _paths: dict[Element, str] | None = None

    def xpath(self, element: Element) -> str:
        # One walk for all paths: getpath() per element counts siblings, quadratic overall.
        if self._paths is None:
            self._paths = element_paths(self.source.root)
        return self._paths.get(element) or self.source.xpath_of(element)

    # -- report ------------------------------------------------------------------

    def where(self, element: Element, attribute: str | None = None) -> SourceLocation:
        return self.source.locate(element, attribute)

    def report(
        self,
        code: str,
        severity: Severity,
        element: Element,
        message: str,
        *,
        attribute: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.diagnostics.append(
            Diagnostic(
                code,
                severity,
                message,
                self.where(element, attribute),
                xpath=self.xpath(element),
                hint=hint,
            )
        )
        self.reported.add((element, attribute))

    def mark(self, element: Element, attribute: str | None = None) -> None:
        self.mapped.add((element, attribute))

    def cover(self, element: Element) -> None:
        """``element`` was dropped whole (and reported): all its parts are accounted for."""
        for inner in element.iter(etree.Element):
            self.reported.add((inner, None))
            for name in inner.attrib:
                self.reported.add((inner, str(name)))

    # -- output ------------------------------------------------------------------

    def emit(
        self, parent: Element, tag: str, element: Element, attribute: str | None = None
    ) -> Element:
        made = etree.SubElement(parent, tag)
        self.origins[made] = Origin(element, attribute)
        return made


def element_paths(root: Element) -> dict[Element, str]:
    """Every element's path (as lxml's ``getpath`` writes it), in one linear walk."""
    paths = {root: f"/{root.tag!s}"}
    for parent in root.iter(etree.Element):
        counts: dict[str, int] = {}
        totals: dict[str, int] = {}
        children = [c for c in parent if isinstance(c.tag, str)]
        for child in children:
            totals[str(child.tag)] = totals.get(str(child.tag), 0) + 1
        for child in children:
            tag = str(child.tag)
            counts[tag] = counts.get(tag, 0) + 1
            step = f"{tag}[{counts[tag]}]" if totals[tag] > 1 else tag
            paths[child] = f"{paths[parent]}/{step}"
    return paths


#: A verb's (or noun's) converter: (state, the TwiML element, the output parent).
Handler = Callable[[State, Element, Element], None]
