"""Context-aware escaping of template values that land in URLs.

Autoescaping makes a value safe as XML text, not as part of a URL: ``{{ request.from }}``
holding ``&x=1`` inside ``url="https://x/next?from=…"`` silently adds a query parameter, and
one holding a space makes the URL invalid. `UrlContextExtension` does what Go's
``html/template`` does: at compile time it follows the template's text through the XML
markup (tags, attribute names, quoted values, comments), and for each ``{{ … }}`` that lands
inside an attribute (or element text) whose XSD type is a URL, it wraps the expression in a
filter that percent-encodes the value for the part of the URL it lands in:

=============  ======================================  ============================
part           where                                   kept as they are
=============  ======================================  ============================
``url``        the value starts the URL                 every URL character
``path``       before any ``?`` or ``#``                path characters and ``/``
``query``      a query name or value (after ``?``)      all but ``& = + ; # %``
``fragment``   after ``#``                              fragment characters
=============  ======================================  ============================

A value made only of characters allowed there and well-formed ``%XX`` escapes is taken as
already encoded and left alone; ``|urlencode`` output is trusted as encoded; ``|safe`` (any
`Markup`, macro output) opts out. Lone surrogates, which no URL can carry, follow the
renderer's control-character policy (an error, or dropped with ``strip``).

Trade-offs: the analysis is of the template's text in source order, so a value whose
context depends on which branch of an ``{% if %}`` ran gets the context of the text just
before it in the source; text made by expressions (``url="{{ base }}{{ path }}"``) counts as
"somewhere before the query". Which tags and attributes are URLs is read from the XSD
(`callflow.vocabulary`) the first time a template puts a value inside an attribute.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable, Generator, Iterator
from urllib.parse import quote

import jinja2
import markupsafe
from jinja2.ext import Extension
from jinja2.filters import do_urlencode
from jinja2.lexer import Token, TokenStream

from callflow.templating._markers import MARKER
from callflow.templating._output import escaped

#: The filter the extension wraps values in (a name no template would choose).
URL_FILTER = "_callflow_url"

_UNRESERVED = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~"
#: What each part of a URL keeps unencoded.
SAFE = {
    "url": _UNRESERVED + ":/?#[]@!$&'()*+,;=",
    "path": _UNRESERVED + "!$&'()*+,;=:@/",
    "query": _UNRESERVED + "!$'()*,:@/?",
    "fragment": _UNRESERVED + "!$&'()*+,;=:@/?",
}
_ENCODED = {
    part: re.compile(f"(?:[{re.escape(safe)}]|%[0-9A-Fa-f]{{2}})*") for part, safe in SAFE.items()
}
#: `quote` for ASCII text: a character outside the part's safe set (and not one `quote` always
#: leaves) is found by the part's pattern and replaced by its ``%XX`` from the table (a
#: substitution per such character: ``str.translate`` by a table of longer strings looks up,
#: and misses, every character of the value).
_ASCII_TABLES = {
    part: {
        chr(code): f"%{code:02X}"
        for code in range(128)
        if chr(code) not in safe and chr(code) not in "_.-~" and not chr(code).isalnum()
    }
    for part, safe in SAFE.items()
}
_ASCII_UNSAFE = {
    part: re.compile("[" + re.escape("".join(table)) + "]") for part, table in _ASCII_TABLES.items()
}
_SURROGATES = re.compile("[\ud800-\udfff]+")
_EXPRESSION = "\x00"  # stands for an expression's output in the text seen so far


class PercentEncoded(str):
    """A string ``|urlencode`` made: already encoded for any part of a URL."""

    __slots__ = ()


def encode_for_url(value: str, part: str) -> str:
    """``value`` percent-encoded for ``part`` (``url``, ``path``, ``query``, ``fragment``),
    or as it is when it is already encoded for it."""
    if value.isascii():
        # What `quote` gives, by a table: each character outside the part's safe set as
        # its %XX. Without a `%`, a value is already encoded exactly when the table
        # leaves it unchanged.
        if "%" in value and _ENCODED[part].fullmatch(value):
            return value
        table = _ASCII_TABLES[part]
        return _ASCII_UNSAFE[part].sub(lambda found: table[found.group()], value)
    if _ENCODED[part].fullmatch(value):
        return value
    return quote(value, safe=SAFE[part], encoding="utf-8", errors="strict")


@jinja2.pass_environment
def url_filter(environment: jinja2.Environment, value: object, part: str) -> object:
    """The filter the extension wraps each URL value in: an escaped `Markup`."""
    if isinstance(value, markupsafe.Markup):
        return value  # |safe, macro output: the author's choice
    if isinstance(value, PercentEncoded):
        return escaped(str(value))
    if isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = value if isinstance(value, str) else str(value)
    if not text.isascii() and _SURROGATES.search(text):
        # No URL can carry them: the renderer's policy for characters XML forbids decides
        # (its finalizer raises, or gives "" when stripping).
        finalize = environment.finalize
        assert finalize is not None
        text = _SURROGATES.sub(lambda m: str(finalize(m.group())), text)
    return escaped(encode_for_url(text, part))


def urlencode_filter(value: object) -> PercentEncoded:
    """Jinja's ``|urlencode``, marked as already encoded."""
    return PercentEncoded(do_urlencode(value))  # type: ignore[arg-type]


@functools.cache
def url_typed() -> tuple[frozenset[tuple[str, str]], frozenset[str]]:
    """(element, attribute) pairs and elements whose text are URLs, read from the XSD:
    a type whose name ends in ``Url``/``Uri`` or that derives from ``anyURI``."""
    from callflow.vocabulary import load_vocabulary

    def is_url(type_name: str, base: str) -> bool:
        return type_name.lower().endswith(("url", "uri")) or base == "anyURI"

    attributes: set[tuple[str, str]] = set()
    texts: set[str] = set()
    for name, element in load_vocabulary().elements.items():
        for attribute in element.attributes.values():
            if is_url(attribute.type_name, attribute.base):
                attributes.add((name, attribute.name))
        if element.text is not None and is_url(element.text.type_name, element.text.base):
            texts.add(name)
    return frozenset(attributes), frozenset(texts)


def url_part(before: str) -> str:
    """The part of a URL a value lands in, from the URL text before it."""
    text = html.unescape(before.replace(_EXPRESSION, "x")) if "&" in before else before
    if not text.strip():
        return "url"
    if "#" in text:
        return "fragment"
    if "?" in text:
        return "query"
    return "path"


class _Markup:
    """Where the text so far has left us in the XML: inside which tag, attribute, value."""

    def __init__(self) -> None:
        self.state = "text"
        self.tag = ""
        self.attribute = ""
        self.quote = ""
        self.value: list[str] = []
        self.open_tag = ""  # the element whose text we are in (after its start tag)
        self.tag_closed = False

    def feed(self, text: str) -> None:
        # Text and quoted values are most of a template: skipped to their end in one step.
        index, end = 0, len(text)
        while index < end:
            if self.state == "text" or self.state == "value":
                stop = "<" if self.state == "text" else self.quote
                found = text.find(stop, index)
                upto = end if found < 0 else found
                if self.state == "value" or self.open_tag:
                    self.value.append(text[index:upto])
                index = upto
                if found < 0:
                    break
            self._char(text[index])
            index += 1

    def _char(self, char: str) -> None:
        _STATES[self.state](self, char)

    # One handler per state of the scan, found by name in `_STATES`.

    def _in_text(self, char: str) -> None:
        if char == "<":
            self.state, self.tag = "tagname", ""
        elif self.open_tag:
            self.value.append(char)

    def _in_tag_name(self, char: str) -> None:
        if char in "!?/" and not self.tag:
            # A comment, CDATA section, processing instruction or end tag: skipped whole.
            self.state = "skip"
            self.tag = char
            self.open_tag = ""
        elif char.isspace():
            self.state = "tag"
        elif char == "/":  # <Play/>: the element ends with its start tag
            self.state, self.tag_closed = "tag", True
        elif char == ">":
            self._opened()
        else:
            self.tag += char

    def _in_skipped(self, char: str) -> None:
        self.tag += char
        for opener, closer in _SKIPPED_SECTIONS:
            if self.tag.startswith(opener):
                if self.tag.endswith(closer):
                    self.state = "text"
                return
        if char == ">":
            self.state = "text"

    def _in_tag(self, char: str) -> None:
        if char == ">":
            self._opened()
        elif char == "/":
            self.open_tag = ""
            self.tag_closed = True
        elif not char.isspace():
            self.state, self.attribute = "attribute", char

    def _in_attribute(self, char: str) -> None:
        if char == "=" or char.isspace():
            self.state = "equals"
        elif char in "/>":
            self.state = "tag"
            self._char(char)
        else:
            self.attribute += char

    def _in_equals(self, char: str) -> None:
        if char in "\"'":
            self.state, self.quote, self.value = "value", char, []

    def _in_value(self, char: str) -> None:
        if char == self.quote:
            self.state = "tag"
        else:
            self.value.append(char)

    def _opened(self) -> None:
        self.state = "text"
        closed, self.tag_closed = self.tag_closed, False
        self.open_tag = "" if closed else self.tag
        self.value = []

    def expression(self) -> str | None:
        """The URL part of an expression output here, or None when not in a URL."""
        attributes, texts = url_typed()
        part: str | None = None
        in_attribute = self.state == "value" and (self.tag, self.attribute) in attributes
        if in_attribute or (self.state == "text" and self.open_tag in texts):
            part = url_part("".join(self.value))
        if self.state in ("value", "text"):
            self.value.append(_EXPRESSION)
        return part


#: Sections that end at their own closer rather than at the first ">".
_SKIPPED_SECTIONS = (("!--", "-->"), ("![CDATA[", "]]>"))

#: State of the scan -> what one character does in it.
_STATES: dict[str, Callable[[_Markup, str], None]] = {
    "text": _Markup._in_text,
    "tagname": _Markup._in_tag_name,
    "skip": _Markup._in_skipped,
    "tag": _Markup._in_tag,
    "attribute": _Markup._in_attribute,
    "equals": _Markup._in_equals,
    "value": _Markup._in_value,
}


class UrlContextExtension(Extension):
    """Percent-encodes template values for the part of a URL they land in (see module)."""

    priority = 20_000  # after the line markers: their offsets are of the untouched stream

    def __init__(self, environment: jinja2.Environment) -> None:
        super().__init__(environment)
        environment.filters[URL_FILTER] = url_filter
        environment.filters["urlencode"] = urlencode_filter

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        yield from _UrlPass(list(stream)).run()


class _UrlPass:
    """One walk over a template's tokens: each ``{{ … }}`` in a URL gets the URL filter."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.markup = _Markup()
        self.skip_depth = 0  # inside {% set %}/{% filter %} bodies: text becomes a value

    def run(self) -> Iterator[Token]:
        tokens = self.tokens
        index = 0
        while index < len(tokens):
            token = tokens[index]
            if token.type == "data":
                if self.skip_depth == 0:
                    self.feed(token.value)
                yield token
            elif token.type == "block_begin" and index + 1 < len(tokens):
                index = yield from self.statement(index)
            elif token.type == "variable_begin" and self.skip_depth == 0:
                index = yield from self.expression(index)
            else:
                yield token
            index += 1

    def feed(self, text: str) -> None:
        self.markup.feed(MARKER.sub("", text) if "\x01" in text else text)

    def end_of(self, index: int, kind: str) -> int:
        """Index of the first token of ``kind`` from ``index`` on (or past the end)."""
        end = index
        while end < len(self.tokens) and self.tokens[end].type != kind:
            end += 1
        return end

    def statement(self, index: int) -> Generator[Token, None, int]:
        """The statement at ``index`` as it is; the index of its last token."""
        tokens = self.tokens
        name = tokens[index + 1].value
        statement_end = self.end_of(index, "block_end")
        statement = tokens[index : statement_end + 1]
        assigns = any(t.type == "assign" for t in statement)
        if (name == "set" and not assigns) or name == "filter":
            self.skip_depth += 1
        elif name in ("endset", "endfilter"):
            self.skip_depth = max(0, self.skip_depth - 1)
        yield from statement
        return statement_end

    def expression(self, index: int) -> Generator[Token, None, int]:
        """The ``{{ … }}`` at ``index``, filtered for the URL part it lands in; its end index."""
        tokens = self.tokens
        end = self.end_of(index, "variable_end")
        part = self.markup.expression()
        inner = tokens[index + 1 : end]
        if part is None or not inner:
            yield from tokens[index : end + 1]
            return end
        line = tokens[index].lineno
        yield tokens[index]
        yield Token(line, "lparen", "(")
        yield from inner
        yield Token(line, "rparen", ")")
        yield Token(line, "pipe", "|")
        yield Token(line, "name", URL_FILTER)
        yield Token(line, "lparen", "(")
        yield Token(line, "string", part)
        yield Token(line, "rparen", ")")
        if end < len(tokens):
            yield tokens[end]
        return end
