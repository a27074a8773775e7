"""The XML writer: a node tree as compact XML text, or as an lxml tree.

`write` gives the compact form byte for byte as lxml serialises the tree `to_lxml` builds
(tests/dsl/test_writer.py holds the two together), without building that tree: flows are
written far more often than they are pretty-printed. Both check each node complete first.
`write` remembers the values it found need no escaping (`_clean`, bounded): flows repeat
their prompts, URLs and keys.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from lxml import etree

from callflow.sourcemap import SourceLocation

if TYPE_CHECKING:
    from callflow.dsl._nodes import Node

COMMENT_TAG = "#comment"


def write(node: Node, out: list[str]) -> None:
    """Append the compact XML of ``node`` and everything below it to ``out``."""
    final = node._final  # `_check_complete`, asked only when the state is not final
    if final is not None:
        state = node._state
        if state < 0 or not final[state]:
            node._check_complete()
    tag = node._tag
    text = node._text
    if tag == COMMENT_TAG:
        out.append(f"<!--{text}-->")
        return
    start = "<" + tag
    attributes = node._attributes
    if attributes:
        out.append(start)
        start = ""
        for name, value in attributes.items():
            if value not in _clean:  # most values are written again and again
                value = _attribute(value)
            out.append(f' {name}="{value}"')
    children = node._children
    if text is None:
        if not children:
            out.append(start + "/>")
            return
        out.append(start + ">")
    else:
        if text not in _clean_texts:
            if "&" in text or "<" in text or ">" in text or "\r" in text:
                text = escape_text(text)
            elif len(_clean_texts) < LIMIT and len(text) <= LENGTH:
                _clean_texts.add(text)
        if not children:
            out.append(f"{start}>{text}</{tag}>")
            return
        out.append(f"{start}>{text}")
    for child in children:
        write(child, out)
    out.append(f"</{tag}>")


#: Attribute values the writer has found need no escaping (nothing `escape_attribute`
#: replaces), and texts (nothing `escape_text` replaces): a set lookup, with the string's hash
#: already known, costs a sixth of the `in` tests. Each holds at most `LIMIT` strings of at
#: most `LENGTH` characters.
_clean: set[str] = set()
_clean_texts: set[str] = set()
LIMIT = 4096
LENGTH = 200


def _attribute(value: str) -> str:
    """``value`` escaped for an attribute, remembered in `_clean` when nothing needs it."""
    # A few `in` tests find out, cheaper than a search.
    if (
        "&" in value
        or "<" in value
        or ">" in value
        or '"' in value
        or "\t" in value
        or "\n" in value
        or "\r" in value
    ):
        return escape_attribute(value)
    if len(_clean) < LIMIT and len(value) <= LENGTH:
        _clean.add(value)
    return value


# What each escape replaces (`write` tests for these characters one `in` at a time).
_TEXT_SPECIAL = re.compile("[&<>\r]")
_ATTRIBUTE_SPECIAL = re.compile('[&<>"\t\n\r]')


def escape_text(text: str) -> str:
    """Element text as lxml writes it: ``& < >`` and carriage returns escaped."""
    if _TEXT_SPECIAL.search(text) is None:
        return text
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("\r", "&#13;")


def escape_attribute(value: str) -> str:
    """An attribute value as lxml writes it between double quotes: ``& < > "`` and the
    whitespace an XML parser would otherwise normalise (tab, newline, return) escaped."""
    if _ATTRIBUTE_SPECIAL.search(value) is None:
        return value
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = value.replace('"', "&quot;").replace("\t", "&#9;").replace("\n", "&#10;")
    return value.replace("\r", "&#13;")


def to_lxml(
    node: Node,
    parent: etree._Element | None,
    located: list[tuple[etree._Element, SourceLocation]],
) -> etree._Element:
    """``node`` as an lxml element (appended to ``parent`` when given); each element built
    is added to ``located`` with the node's location."""
    node._check_complete()
    tag = node._tag
    if tag == COMMENT_TAG:
        comment = etree.Comment(node._text)
        if parent is not None:
            parent.append(comment)
        return comment
    element = etree.Element(tag) if parent is None else etree.SubElement(parent, tag)
    for name, value in node._attributes.items():
        element.set(name, value)
    if node._text is not None:
        element.text = node._text
    located.append((element, node.location))
    for child in node._children:
        to_lxml(child, element, located)
    return element
