"""Text helpers every module shares: line breaks, offsets to lines, encodings, safe output.

One definition of each: a line ends at CR, LF or CRLF (as XML itself says, and unlike
``str.splitlines``, which also splits at form feeds and U+2028); the encoding of XML bytes is
found from the BOM, then the first bytes' pattern, then the declaration (XML 1.0, appendix
F); text shown to a person or a terminal shows control characters as visible escapes; JSON
and SARIF hold no lone surrogates (a file name read with ``surrogateescape`` shows its bad
byte as the text ``\\xff``). Imports nothing heavy: reporters use it.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Sequence

#: A line break: CRLF, a lone CR or a lone LF.
LINE_BREAK = re.compile(r"\r\n|\r|\n")

#: The encoding an XML declaration names (the one pattern for it in callflow), on text.
ENCODING_DECLARATION = re.compile(
    r"""^(?P<head>\s*<\?xml\b[^>]*?)(?P<attribute>\s+encoding\s*=\s*(?P<quote>["'])"""
    r"""(?P<name>[^"'>]*)(?P=quote))"""
)


def split_lines(text: str) -> list[str]:
    """The lines of ``text`` without their line breaks (line n is item n - 1)."""
    if "\r" not in text:  # only LF breaks: the same lines, without the regex
        return text.split("\n")
    return LINE_BREAK.split(text)


def line_starts(text: str) -> list[int]:
    """The offset where each line of ``text`` starts."""
    return [0, *(match.end() for match in LINE_BREAK.finditer(text))]


def line_column(starts: list[int], offset: int) -> tuple[int, int]:
    """1-based (line, column) of a character offset, given `line_starts`."""
    index = bisect.bisect_right(starts, max(0, offset)) - 1
    return index + 1, offset - starts[index] + 1


def offset_line_column(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of one offset in ``text`` (for a single look-up)."""
    return line_column(line_starts(text[: max(0, offset)]), offset)


# ---------------------------------------------------------------- encodings

_BOMS = (
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xfe\xff", "utf-16"),
    (b"\xff\xfe", "utf-16"),
)
# Without a BOM, the first four bytes of '<?xml' (or '<') say the family (appendix F).
_PATTERNS = (
    (b"\x00\x00\x00\x3c", "utf-32-be"),
    (b"\x3c\x00\x00\x00", "utf-32-le"),
    (b"\x00\x3c\x00\x3f", "utf-16-be"),
    (b"\x3c\x00\x3f\x00", "utf-16-le"),
    (b"\x4c\x6f\xa7\x94", "cp037"),
)
#: Encodings whose text a byte search for ASCII markup would miss.
WIDE_ENCODINGS = frozenset({"utf-32", "utf-32-be", "utf-32-le", "utf-16", "utf-16-be", "utf-16-le"})


def sniff_encoding(data: bytes) -> str:
    """The Python codec for XML bytes: by BOM, by the first bytes, then by the declaration."""
    if data[:1] == b"<":  # the common case, answered without the tables below
        if data.startswith(b"<?xml"):
            end = data.find(b"?>", 0, 1024)
            head = data[: end if end > 0 else 512]
            known = _BY_DECLARATION.get(head)
            if known is None:
                known = _declared(head.decode("latin-1")) or "utf-8"
                if len(_BY_DECLARATION) >= _DECLARATIONS_KEPT:
                    _BY_DECLARATION.clear()
                _BY_DECLARATION[head] = known
            return known
        if data[1:2] != b"\x00":
            return "utf-8"
    for bom, codec in _BOMS:
        if data.startswith(bom):
            if codec == "utf-8-sig":
                declared = _declared(data[3:512].decode("latin-1"))
                if declared is not None and declared.replace("_", "-") not in ("utf-8", "utf8"):
                    return declared
            return codec
    for pattern, codec in _PATTERNS:
        if data.startswith(pattern):
            if codec == "cp037":
                return _declared(data[:512].decode("cp037")) or codec
            return codec
    return _declared(data[:512].decode("latin-1")) or "utf-8"


#: The codec of each XML declaration already read (its bytes up to ``?>``): the files of a
#: batch mostly share one or two. A function of those bytes alone; a few kept.
_BY_DECLARATION: dict[bytes, str] = {}
_DECLARATIONS_KEPT = 64


def _declared(head: str) -> str | None:
    found = ENCODING_DECLARATION.match(head)
    return found.group("name").lower() if found and found.group("name") else None


def decode_xml(data: bytes) -> str:
    """The text of XML bytes, bad bytes replaced (for positions and quoting, not parsing)."""
    try:
        return data.decode(sniff_encoding(data), errors="replace")
    except LookupError:  # an encoding libxml2 knows and Python does not
        return data.decode("utf-8", errors="replace")


def strip_encoding_declaration(text: str) -> str:
    """``text`` without the encoding in its XML declaration (it is text, not bytes, now)."""
    return ENCODING_DECLARATION.sub(lambda match: match.group("head"), text, count=1)


def declare_utf8(text: str) -> str:
    """``text`` with its XML declaration (if it names an encoding) saying UTF-8."""

    def utf8(match: re.Match[str]) -> str:
        attribute, quote = match.group("attribute"), match.group("quote")
        return match.group("head") + attribute[: attribute.index(quote) + 1] + "UTF-8" + quote

    return ENCODING_DECLARATION.sub(utf8, text, count=1)


# ---------------------------------------------------------------- output a person can trust

# The two character classes below are compiled on first use: with their ranges up to the
# surrogates, compiling them is most of what importing this module costs (a command's
# start-up), and a run that shows nothing may never need them.


@functools.cache
def _unsafe() -> re.Pattern[str]:
    """C0 and C1 controls, DEL, line and paragraph separators, bidirectional marks, overrides
    and isolates (they reorder what a terminal shows; the Arabic letter mark U+061C is one),
    and surrogates (undecodable file names)."""
    return re.compile(
        "[\x00-\x1f\x7f-\x9f\u061c\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
    )


@functools.cache
def _surrogate() -> re.Pattern[str]:
    """A lone surrogate."""
    return re.compile("[\ud800-\udfff]")


_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte surrogateescape could not decode
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def visible(text: str) -> str:
    """``text`` with every control character shown as a visible escape (``\\x1b``, ``\\n``)."""
    unsafe = _unsafe()
    if unsafe.search(text) is None:
        return text
    return unsafe.sub(_escape, text)


def shows_as_is(lines: Sequence[str]) -> bool:
    """Whether `visible` would leave each of ``lines`` as it is."""
    # Every character `visible` escapes is a control, a format character, a line or paragraph
    # separator or a surrogate, none of which Python calls printable: a printable text needs
    # no escape, and `str.isprintable` says so several times faster than a search (it is
    # stricter: a text it refuses, say with a no-break space, is searched).
    if "".join(lines).isprintable():
        return True
    unsafe = _unsafe()
    return not any(map(unsafe.search, lines))


def _escape_in_json(match: re.Match[str]) -> str:
    # Inside a JSON string: the backslash of the visible escape is itself escaped.
    return "\\" + _escape(match)


def json_safe(serialised: str) -> str:
    """JSON text made valid UTF-8: each lone surrogate becomes the visible text ``\\xff``."""
    surrogate = _surrogate()
    if surrogate.search(serialised) is None:
        return serialised
    return surrogate.sub(_escape_in_json, serialised)


def utf8_safe(text: str) -> str:
    """``text`` with each lone surrogate shown as a visible escape (so it encodes as UTF-8)."""
    surrogate = _surrogate()
    if surrogate.search(text) is None:
        return text
    return surrogate.sub(_escape, text)
