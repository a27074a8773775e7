"""What the rules read from the tree: helpers, and the facts several rules share.

A fact is a function of one element (or of the root, for the whole document) that a rule asks
for through `LintContext.fact`, so that it is computed at most once per document.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lxml import etree

if TYPE_CHECKING:
    from callflow.lint._model import LintContext

Element = etree._Element

#: Below this many milliseconds a duration was almost surely written in seconds.
SECONDS_THRESHOLD = 100
#: The Gather attribute sets (see the language reference).
GATHER_CANONICAL = ("numDigits", "attempts", "timeout", "finishOnKey")
GATHER_LEGACY_A = ("dtmf_length", "dtmf_stop", "length", "url")
GATHER_LEGACY_B = ("callback", "method")
#: Legacy set A attributes with a canonical twin of the same meaning.
GATHER_RENAMES = {"dtmf_length": "numDigits", "length": "numDigits", "dtmf_stop": "finishOnKey"}
DEFAULT_FINISH_KEY = "*"
LEGACY_A = "legacy set A"
LEGACY_B = "legacy set B"
#: The three sets by name, in the order the messages list them.
GATHER_SETS = (
    ("canonical", GATHER_CANONICAL),
    (LEGACY_A, GATHER_LEGACY_A),
    (LEGACY_B, GATHER_LEGACY_B),
)
#: The branches of a menu, and the attribute holding each one's keys.
BRANCH_KEY_ATTRIBUTE = {"Case": "dtmf", "DTMF": "value"}
BRANCH_TAGS = tuple(BRANCH_KEY_ATTRIBUTE)
#: The keys that can end input.
FINISH_KEYS = frozenset("#*+")
MENU_TAGS = ("Switch", "Gather")


# ---------------------------------------------------------------- tree helpers


def name_of(element: Element) -> str:
    """An element's tag name as text (call XML has no namespaces)."""
    return str(element.tag)


def int_or_none(value: str | None) -> int | None:
    """An attribute value read as a whole number, as the rules read it (None if it is not)."""
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def stripped_text(element: Element) -> str:
    """An element's own text, without surrounding whitespace."""
    return (element.text or "").strip()


def short(text: str, limit: int = 40) -> str:
    """``text`` on one line, cut to ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quote_attribute(value: str) -> str:
    """``value`` escaped for a double-quoted XML attribute."""
    return (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace('"', "&quot;")
        .replace("\n", "&#10;")
        .replace("\t", "&#9;")
    )


def gather_of(branch: Element) -> Element | None:
    """The `<Gather>` a `<Case>` (through its `<Switch>`) or a `<DTMF>` belongs to."""
    parent = branch.getparent()
    if parent is not None and parent.tag == "Switch":
        parent = parent.getparent()
    return parent if parent is not None and parent.tag == "Gather" else None


def gather_digits(gather: Element) -> tuple[int, str | None]:
    """(digits expected, the attribute that says so or None for the default of 1)."""
    for name in ("numDigits", "dtmf_length", "length"):
        value = int_or_none(gather.get(name))
        if value is not None:
            return value, name
    return 1, None


def gather_finish_key(gather: Element) -> tuple[str, str | None]:
    """(the key that ends input, the attribute that says so or None for the default ``*``)."""
    for name in ("finishOnKey", "dtmf_stop"):
        value = gather.get(name)
        if value is not None and value.strip():
            return value.strip(), name
    return DEFAULT_FINISH_KEY, None


def branch_value(branch: Element) -> tuple[str, str]:
    """(the keys a `<Case>` or `<DTMF>` branch matches, the attribute holding them)."""
    attribute = "dtmf" if branch.tag == "Case" else "value"
    return (branch.get(attribute) or "").strip(), attribute


def default_callback_method(callback: Element) -> str:
    """The method `--fix` writes on a `<Callback>` without one (see the README for why)."""
    return "POST" if (callback.get("body") or "").strip() == "true" else "GET"


# ---------------------------------------------------------------- facts (once per element)


class Children:
    """An element's child elements (comments left out), in order, read in one pass: each one
    with its tag, the set of their tags, and the branches among them (each `<Case>`/`<DTMF>`
    child, the keys it matches, the attribute holding them)."""

    __slots__ = ("branches", "elements", "tags", "written")

    def __init__(self, parent: Element) -> None:
        elements: list[Element] = []
        written: list[str] = []
        branches: list[tuple[Element, str, str]] = []
        for child in parent:
            tag = child.tag
            if not isinstance(tag, str):
                continue  # a comment or a processing instruction
            elements.append(child)
            written.append(tag)
            attribute = BRANCH_KEY_ATTRIBUTE.get(tag)
            if attribute is not None:
                branches.append((child, (child.get(attribute) or "").strip(), attribute))
        #: The child elements, and each one's tag (in the same order).
        self.elements = elements
        self.written = written
        self.tags = frozenset(written)
        self.branches = branches


def children(parent: Element) -> Children:
    """The child elements of ``parent``, their tags and the branches among them."""
    return Children(parent)


def attribute_sets(gather: Element) -> dict[str, list[str]]:
    """The `<Gather>` attribute sets in use: set name → its attributes written, in set order."""
    written = set(gather.keys())
    sets = {}
    for name, names in GATHER_SETS:
        used = [attribute for attribute in names if attribute in written]
        if used:
            sets[name] = used
    return sets


def menu_branches(gather: Element, context: LintContext) -> list[tuple[Element, str, str]]:
    """The branches a `<Gather>` chooses between: its own and those of its `<Switch>` (the
    `children` fact, which the `<Switch>`'s own visits read too)."""
    own = context.fact(children, gather)
    tags = own.tags
    if "Switch" not in tags:
        return own.branches
    found = []
    for child, tag in zip(own.elements, own.written, strict=True):
        if tag == "Switch":
            found.extend(context.fact(children, child).branches)
        elif tag in BRANCH_KEY_ATTRIBUTE:
            found.append((child, *branch_value(child)))
    return found


def first_hangup(block: Element) -> Element | None:
    """A block's first `<Hangup>` child."""
    return next((child for child in block if child.tag == "Hangup"), None)


def finish_keys_below(root: Element) -> dict[Element, frozenset[str]]:
    """For each `<Gather>`, the keys among ``#*+`` that its branches (or those of a menu
    inside it) use; one pass from the leaves up, however deep menus nest."""
    below: dict[Element, set[str]] = {}
    used_by: dict[Element, frozenset[str]] = {}
    for element in reversed(list(root.iter(etree.Element))):
        keys = below.pop(element, set())
        if element.tag in BRANCH_KEY_ATTRIBUTE:
            keys.update(FINISH_KEYS.intersection(branch_value(element)[0]))
        if element.tag == "Gather":
            used_by[element] = frozenset(keys)
        parent = element.getparent()
        if keys and parent is not None:
            below.setdefault(parent, set()).update(keys)
    return used_by


def free_key(used: frozenset[str]) -> str:
    """A finish key no branch uses."""
    return next((key for key in "#*+" if key not in used), "#")


def first_recordings(root: Element) -> dict[str, Element]:
    """Each recording name's first `<Record tag>` in the document."""
    first: dict[str, Element] = {}
    for record in root.iter("Record"):
        if record.get("tag"):
            first.setdefault((record.get("tag") or "").strip(), record)
    return first


def document_order(root: Element) -> dict[Element, int]:
    """Each element's position in document order."""
    return {element: index for index, element in enumerate(root.iter(etree.Element))}


# ---------------------------------------------------------------- vocabulary choices
