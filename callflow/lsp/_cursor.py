"""Where the cursor stands in call XML (or a template's XML): in text, a tag name, an
attribute name or value, and inside which open elements.

One forward scan of the text before the cursor (linear in it). In a template, Jinja
constructs (``{{ … }}``, ``{% … %}``, ``{# … #}``) are blanked first, so the XML scan sees
only markup; a cursor inside one of them is `JINJA`, where nothing is offered.
"""

from __future__ import annotations

import re

TEXT = "text"
TAG = "tag"  # typing a tag name after '<'
ATTRIBUTE = "attribute"  # inside a start tag, between attributes
VALUE = "value"  # inside an attribute's quotes
JINJA = "jinja"
COMMENT = "comment"
CLOSING = "closing"  # typing an end tag after '</'

_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_OPEN_JINJA = re.compile(r"\{\{|\{%|\{#")
_MARKUP = re.compile(
    r"<!--.*?-->"
    r"|<!\[CDATA\[.*?\]\]>"
    r"|<\?.*?\?>"
    r"|</\s*(?P<end>[^\s>]+)\s*>"
    r"""|<(?P<name>[^\s/>!?]+)(?:[^>"']|"[^"]*"|'[^']*')*?(?P<slash>/?)>""",
    re.DOTALL,
)
_ATTRIBUTE = re.compile(r"""([^\s=/>"']+)\s*(?:=\s*(?:"[^"]*"|'[^']*'|[^\s>]*))?""")
_NAME_CHARS = re.compile(r"[\w:.-]*$")


def blank_jinja(text: str) -> str:
    """``text`` with every Jinja construct replaced by spaces (newlines kept): same offsets."""
    if "{" not in text:
        return text
    return _JINJA.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


class Cursor:
    """What the cursor is in: ``kind``, the open elements around it (outermost first), the
    tag whose start tag it is in, the attributes that tag already has, the attribute whose
    value it is in, and the partial word typed before it."""

    __slots__ = ("attribute", "attributes", "kind", "open", "prefix", "tag")

    def __init__(
        self,
        kind: str,
        open_elements: list[str],
        *,
        tag: str | None = None,
        attributes: tuple[str, ...] = (),
        attribute: str | None = None,
        prefix: str = "",
    ) -> None:
        self.kind = kind
        self.open = open_elements
        self.tag = tag
        self.attributes = attributes
        self.attribute = attribute
        self.prefix = prefix

    @property
    def parent(self) -> str | None:
        return self.open[-1] if self.open else None

    def __repr__(self) -> str:
        return f"Cursor({self.kind}, open={self.open}, tag={self.tag}, attribute={self.attribute})"


def cursor_at(text: str, offset: int, *, template: bool = False) -> Cursor:
    """The cursor at character ``offset`` of ``text``."""
    before = text[:offset]
    if template:
        unclosed = _unclosed_jinja(before)
        if unclosed:
            return Cursor(JINJA, [])
        before = blank_jinja(before)
    stack: list[str] = []
    position = 0
    for match in _MARKUP.finditer(before):
        position = match.end()
        name = match.group("name")
        if name is not None:
            if not match.group("slash"):
                stack.append(name)
        elif match.group("end") is not None:
            end = match.group("end")
            if end in stack:  # tolerate broken nesting: close up to the matching tag
                while stack and stack.pop() != end:
                    pass
    rest = before[position:]
    start = rest.rfind("<")
    if start < 0:
        return Cursor(TEXT, stack, prefix="")
    fragment = rest[start:]
    if fragment.startswith("<!--"):
        return Cursor(COMMENT, stack)
    if fragment.startswith("</"):
        return Cursor(CLOSING, stack, prefix=fragment[2:].strip())
    if fragment.startswith(("<!", "<?")):
        return Cursor(COMMENT, stack)
    head = re.match(r"<([^\s/>]*)", fragment)
    assert head is not None
    tag = head.group(1)
    if head.end() == len(fragment):  # still typing the name
        return Cursor(TAG, stack, prefix=tag)
    inside = fragment[head.end() :]
    # An odd number of quotes of one kind: the cursor is inside a value.
    value = re.search(r"""([^\s=/>"']+)\s*=\s*(["'])([^"']*)$""", inside)
    attributes = tuple(m.group(1) for m in _ATTRIBUTE.finditer(inside) if m.group(1))
    if value is not None and _in_quotes(inside):
        return Cursor(
            VALUE,
            stack,
            tag=tag,
            attributes=attributes,
            attribute=value.group(1),
            prefix=value.group(3),
        )
    word = _NAME_CHARS.search(inside)
    prefix = word.group(0) if word else ""
    if prefix and attributes and attributes[-1] == prefix:
        attributes = attributes[:-1]
    return Cursor(ATTRIBUTE, stack, tag=tag, attributes=attributes, prefix=prefix)


def _in_quotes(inside: str) -> bool:
    quote: str | None = None
    for character in inside:
        if quote is None and character in "\"'":
            quote = character
        elif character == quote:
            quote = None
    return quote is not None


def _unclosed_jinja(before: str) -> bool:
    """Whether ``before`` ends inside a Jinja construct (opened, not yet closed)."""
    openers = list(_OPEN_JINJA.finditer(before))
    if not openers:
        return False
    last = openers[-1]
    closer = {"{{": "}}", "{%": "%}", "{#": "#}"}[last.group(0)]
    return closer not in before[last.end() :]


def word_at(text: str, offset: int) -> tuple[str, int, int]:
    """The XML name (tag or attribute) around ``offset``: (word, start, end)."""
    start = offset
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_-:."):
        start -= 1
    end = offset
    while end < len(text) and (text[end].isalnum() or text[end] in "_-:."):
        end += 1
    return text[start:end], start, end
