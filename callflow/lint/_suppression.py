"""Inline suppression: ``callflow: ignore CODES`` comments in the author's source.

The directive is read from the lines the author edited, in whatever comment syntax the
file has: ``<!-- callflow: ignore CF301 -->`` in XML, ``{# callflow: ignore CF301 #}`` in a
Jinja template, ``# callflow: ignore CF301`` in a builder script.

* A directive after code on a line applies to findings on that line.
* A directive alone on its line (nothing but the comment) applies to the next line.
* In XML, a comment standing on its own line(s) just before an element (blank lines
  allowed) applies to that element wherever its findings point.
* ``callflow: ignore-file CODES`` anywhere in a file applies to the whole file.
* Without codes, the directive silences every lint code; codes are prefixes
  (``CF30`` covers CF301-CF309), separated by commas or spaces.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from lxml import etree

_DIRECTIVE = re.compile(
    r"callflow:\s*(?P<kind>ignore-file|ignore)\b(?P<codes>(?:[\s,]+CF\d{1,3})*)", re.IGNORECASE
)
_CODE = re.compile(r"CF\d{1,3}", re.IGNORECASE)


def mentions_directive(text: str) -> bool:
    """Whether ``text`` says ``callflow:`` in any case, as every directive does (a text
    without it holds none, on a line or in a comment). The same answer as a case-insensitive
    search for it (no letter of the word has a case-insensitive twin outside ASCII), from a
    lower-cased copy, which is faster."""
    return "callflow:" in text.lower()


# What a line holds when it is nothing but a comment, in the three source kinds.
_COMMENT_ONLY = re.compile(r"^\s*(?:<!--.*-->|\{#.*#\}|#.*)\s*$")

ALL_CODES: tuple[str, ...] = ("CF",)

LineReader = Callable[[str], list[str] | None]


class Suppressions:
    """Answers "is this code silenced at this line of this file?", reading each file once."""

    def __init__(self, read_lines: LineReader) -> None:
        self._read_lines = read_lines
        self._by_file: dict[str, tuple[dict[int, tuple[str, ...]], tuple[str, ...]]] = {}

    def has_directives(self, file: str) -> bool:
        """Whether ``file`` holds any directive at all (most files hold none)."""
        per_line, whole_file = self._directives(file)
        return bool(per_line or whole_file)

    def is_suppressed(self, code: str, file: str, lines: Iterable[int]) -> bool:
        per_line, whole_file = self._directives(file)
        if whole_file and code.startswith(whole_file):
            return True
        return any(code.startswith(per_line.get(line, ())) for line in lines if line in per_line)

    def _directives(self, file: str) -> tuple[dict[int, tuple[str, ...]], tuple[str, ...]]:
        cached = self._by_file.get(file)
        if cached is None:
            cached = self._by_file[file] = parse_directives(self._read_lines(file) or [])
        return cached


def parse_directives(
    lines: list[str],
) -> tuple[dict[int, tuple[str, ...]], tuple[str, ...]]:
    """(line → silenced code prefixes, prefixes silenced in the whole file) for a file."""
    per_line: dict[int, tuple[str, ...]] = {}
    whole_file: tuple[str, ...] = ()
    for number, line in enumerate(lines, start=1):
        if "callflow:" not in line.lower():
            continue
        for match in _DIRECTIVE.finditer(line):
            codes = tuple(c.upper() for c in _CODE.findall(match.group("codes"))) or ALL_CODES
            if match.group("kind").lower() == "ignore-file":
                whole_file += codes
                continue
            target = number + 1 if _COMMENT_ONLY.match(line) else number
            per_line[target] = per_line.get(target, ()) + codes
    return per_line, whole_file


def directive_codes(comment: str) -> tuple[str, ...] | None:
    """The codes an ``ignore`` directive in ``comment`` silences (None if there is none)."""
    for match in _DIRECTIVE.finditer(comment):
        if match.group("kind").lower() == "ignore":
            return tuple(c.upper() for c in _CODE.findall(match.group("codes"))) or ALL_CODES
    return None


def comment_before(element: etree._Element) -> str | None:
    """The text of an XML comment alone on its line(s) right before ``element``, if any."""
    comment = element.getprevious()
    if not isinstance(comment, etree._Comment) or (comment.tail or "").strip():
        return None
    before = comment.getprevious()
    parent = comment.getparent()
    leading = before.tail if before is not None else parent.text if parent is not None else ""
    leading = leading or ""
    if before is not None and "\n" not in leading:
        return None  # the comment ends the previous element's line: it belongs to that line
    if leading.rsplit("\n", 1)[-1].strip():
        return None
    return comment.text or ""


def file_line_reader(overrides: dict[str, str]) -> LineReader:
    """Lines of a file: from ``overrides`` (name → text) first, else read from disk."""

    from callflow._text import split_lines
    from callflow.reporters import read_quotable_lines

    def read(file: str) -> list[str] | None:
        if file in overrides:
            text = overrides[file]
            return split_lines(text) if mentions_directive(text) else []
        return read_quotable_lines(file)

    return read
