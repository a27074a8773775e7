"""What a lint rule is made of: findings and fixes, the rule registry, and the per-document context.

A rule declares the tags it visits and is called once per element of those tags by the one walk
(`callflow.lint._walk`). What several rules need to know about the same element (the branches of a
menu, the tags of an element's children) is a *fact*: a plain function of one element, computed at
most once per element and document, and only when a rule asks for it.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from lxml import etree

from callflow.diagnostics import Severity, register_code

if TYPE_CHECKING:
    from callflow.document import Document
    from callflow.lint._config import LintConfig
    from callflow.vocabulary import Vocabulary

Element = etree._Element
T = TypeVar("T")
_UNKNOWN: Any = object()


# ---------------------------------------------------------------- fixes (what to change)


class AddAttribute:
    """Add ``name="value"`` at the end of an element's start tag."""

    __slots__ = ("element", "name", "value")

    def __init__(self, element: Element, name: str, value: str) -> None:
        self.element, self.name, self.value = element, name, value


class RenameAttribute:
    """Rename one attribute, keeping its value and quoting as written."""

    __slots__ = ("element", "new", "old")

    def __init__(self, element: Element, old: str, new: str) -> None:
        self.element, self.old, self.new = element, old, new


class ReplaceElement:
    """Replace an element (start tag to end tag) by new markup."""

    __slots__ = ("element", "markup")

    def __init__(self, element: Element, markup: str) -> None:
        self.element, self.markup = element, markup


class BranchesToSwitch:
    """Legacy ``<DTMF value>`` branches (and a next ``<Default>``) → ``<Switch><Case dtmf>``."""

    __slots__ = ("branches", "default", "gather")

    def __init__(self, gather: Element, branches: list[Element], default: Element | None) -> None:
        self.gather, self.branches, self.default = gather, branches, default


Fix = AddAttribute | RenameAttribute | ReplaceElement | BranchesToSwitch


class Finding:
    """One rule's verdict on one element, before it becomes a located Diagnostic."""

    __slots__ = ("attribute", "code", "element", "fix", "hint", "message", "text")

    def __init__(
        self,
        code: str,
        element: Element,
        message: str,
        *,
        hint: str | None = None,
        attribute: str | None = None,
        text: bool = False,
        fix: Fix | None = None,
    ) -> None:
        self.code = code
        self.element = element
        self.message = message
        self.hint = hint
        self.attribute = attribute
        self.text = text
        self.fix = fix

    def __repr__(self) -> str:
        return f"Finding({self.code}, <{self.element.tag!s}>: {self.message!r})"


# ---------------------------------------------------------------- the vocabulary lint reads


class Kinds:
    """The tag sets the rules need, read from the schema's vocabulary (never written by hand)."""

    __slots__ = ("actions", "blocks", "durations_of", "tags")

    def __init__(self, vocabulary: Vocabulary) -> None:
        #: Tags that run as steps of a call (the schema's ``Action`` group).
        self.actions = vocabulary.members("Action")
        #: Tags whose children are a sequence of actions run top to bottom.
        self.blocks = vocabulary.holding("Action")
        #: Tag → its attributes whose value is a number of milliseconds.
        self.durations_of: dict[str, tuple[str, ...]] = {}
        for tag, attribute in vocabulary.typed("Milliseconds"):
            self.durations_of[tag] = (*self.durations_of.get(tag, ()), attribute)
        #: Every tag the schema knows.
        self.tags = frozenset(vocabulary.elements)


@functools.cache
def kinds() -> Kinds:
    """The tag sets of the bundled schema, read on first use (not at import)."""
    from callflow.vocabulary import load_vocabulary

    return Kinds(load_vocabulary())


# ---------------------------------------------------------------- the context of one document


class LintContext:
    """What a rule may look at: the Document, the settings, the vocabulary, and shared facts."""

    __slots__ = ("_facts", "config", "document", "kinds")

    def __init__(self, document: Document, config: LintConfig) -> None:
        self.document = document
        self.config = config
        self.kinds = kinds()
        self._facts: dict[Callable[..., Any], dict[Element, Any]] = {}

    def fact(self, compute: Callable[[Element], T], element: Element) -> T:
        """``compute(element)``, computed once per element for this document."""
        known = self._facts.get(compute)
        if known is None:
            value: T = compute(element)
            self._facts[compute] = {element: value}
            return value
        value = known.get(element, _UNKNOWN)
        if value is _UNKNOWN:
            value = known[element] = compute(element)
        return value

    def derived(self, compute: Callable[[Element, LintContext], T], element: Element) -> T:
        """``compute(element, self)``, computed once per element for this document: a fact
        made of other facts (read through this context, so that each is computed once)."""
        known = self._facts.get(compute)
        if known is None:
            known = self._facts[compute] = {}
        value: T = known.get(element, _UNKNOWN)
        if value is _UNKNOWN:
            value = known[element] = compute(element, self)
        return value

    def where(self, element: Element) -> str:
        """``line N`` of the author's file, or ``file:N`` when another file made it."""
        location = self.document.locate(element)
        if location.file == self.document.source_map.file:
            return f"line {location.line}"
        return f"{os.path.basename(location.file)}:{location.line}"


#: What a rule's visit returns: its findings on one element (an empty tuple, mostly).
Findings = Sequence[Finding]
Visit = Callable[[Element, LintContext], Findings]
#: What a rule reads on one tag: attribute names, and None for the element's text.
Reads = Iterable[str | None]
#: The tags a rule visits: names; or tag → what the rule reads there, when an element of that
#: tag is visited only if it carries one of those attributes (always, if the rule also reads the
#: text or names nothing); a choice of either from the vocabulary; or None for every element.
TagChoice = (
    Iterable[str]
    | Mapping[str, Reads]
    | Callable[[Kinds], Iterable[str] | Mapping[str, Reads]]
    | None
)


class Rule:
    """A lint rule: code, short name, one-line title, default severity, fixable or not, what it
    visits (tags, None for every element, and/or attributes carried by any element), the facts
    it reads, and its visit of one element."""

    __slots__ = (
        "_tags",
        "attributes",
        "code",
        "fixable",
        "name",
        "needs",
        "severity",
        "title",
        "visit",
    )

    def __init__(
        self,
        code: str,
        name: str,
        title: str,
        severity: Severity,
        fixable: bool,
        visit: Visit,
        *,
        tags: TagChoice = None,
        attributes: tuple[str, ...] = (),
        needs: tuple[Callable[..., object], ...] = (),
    ) -> None:
        self.code = code
        self.name = name
        self.title = title
        self.severity = severity
        self.fixable = fixable
        self.visit = visit
        self.needs = needs
        self._tags = tags
        #: Attributes that bring any element carrying one to this rule, whatever its tag. The
        #: walk may also hand it other elements (of its tags or another rule's): it must find
        #: nothing on an element without them.
        self.attributes = attributes

    @property
    def tags(self) -> frozenset[str] | None:
        """The tag names this rule visits; None when it visits every element."""
        chosen = self.carrying
        return None if chosen is None else frozenset(chosen)

    @property
    def carrying(self) -> dict[str, frozenset[str] | None] | None:
        """Tag → the attributes one of which an element of that tag carries when the rule is
        handed it (None: every element of the tag); None when it visits every element. The
        rule must find nothing on an element of its tags that carries none of them."""
        chosen = self._tags
        if chosen is None:
            return None
        if callable(chosen):
            chosen = chosen(kinds())
        if not isinstance(chosen, Mapping):
            return dict.fromkeys(chosen)
        wanted: dict[str, frozenset[str] | None] = {}
        for tag, reads in chosen.items():
            names = tuple(reads)
            plain = names and None not in names
            wanted[tag] = frozenset(name for name in names if name is not None) if plain else None
        return wanted

    def __repr__(self) -> str:
        return f"Rule({self.code} {self.name}, {self.severity.value})"


RULES: dict[str, Rule] = {}


def rule(
    code: str,
    name: str,
    title: str,
    severity: Severity,
    *,
    tags: TagChoice,
    attributes: tuple[str, ...] = (),
    needs: tuple[Callable[..., object], ...] = (),
    fixable: bool = False,
) -> Callable[[Visit], Visit]:
    """Register a visit function as the rule ``code`` (see the module docstring)."""

    def register(visit: Visit) -> Visit:
        register_code(code, title)
        RULES[code] = Rule(
            code,
            name,
            title,
            severity,
            fixable,
            visit,
            tags=tags,
            attributes=attributes,
            needs=needs,
        )
        return visit

    return register
