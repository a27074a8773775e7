"""Rendering diagnostics: text (with the quoted source line), json, github, sarif.

Reporters only format: they take the collected diagnostics and return a string. Kept apart
from `callflow.diagnostics` so that the data types import nothing they do not need.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar

from callflow._text import (
    WIDE_ENCODINGS,
    json_safe,
    shows_as_is,
    sniff_encoding,
    split_lines,
    visible,
)
from callflow.diagnostics import CODES, Diagnostic, Severity, cap_repeats

__all__ = [
    "COLOR",
    "FORMATS",
    "MAX_PER_CODE",
    "QUOTES_LINES",
    "SHOWS_XPATH",
    "WINDOW",
    "FileLines",
    "LineSource",
    "format_github",
    "format_json",
    "format_sarif",
    "format_text",
    "read_quotable_lines",
    "render",
    "strip_color",
]

FORMATS = ("text", "json", "github", "sarif")
#: The formats that show a diagnostic's XPath, and those that quote its source line (a
#: producer may leave out what the report will not show).
SHOWS_XPATH = frozenset({"json", "sarif"})
QUOTES_LINES = frozenset({"text"})

LineSource = Callable[[str, int], str | None]


#: Characters of a quoted line shown on each side of the column (the rest is cut with "…").
WINDOW = 60
#: Reports of one code in one file shown in text and github output before a count of the rest.
MAX_PER_CODE = 20
#: Files larger than this are not read for quoting.
_MAX_QUOTED_FILE = 4_194_304


#: Whether text output is coloured when `format_text` is not told (the command line sets it
#: for the streams that are terminals; library callers get plain text).
COLOR: ContextVar[bool] = ContextVar("callflow_color", default=False)

# Select Graphic Rendition codes: bold red, bold yellow, bold cyan, bold green, cyan, bold.
_STYLES = {
    "error": "1;31",
    "warning": "1;33",
    "info": "1;36",
    "caret": "1;32",
    "hint": "36",
    "location": "1",
}
_SGR = re.compile("\x1b\\[[0-9;]*m")


def _paint(text: str, style: str, color: bool) -> str:
    """``text`` (already escaped) in ``style`` when ``color``; colour codes are added after
    escaping, so they are the only control characters in the output."""
    return f"\x1b[{_STYLES[style]}m{text}\x1b[0m" if color else text


def strip_color(text: str) -> str:
    """``text`` without the colour codes `_paint` adds (any other ESC was escaped already)."""
    return _SGR.sub("", text) if "\x1b" in text else text


class FileLines:
    """Reads source lines for quoting, once per file; unknown or unreadable files give None.

    A file is decoded by its BOM or XML declaration (UTF-8 otherwise); a file with NUL bytes
    (binary) or bytes invalid in its encoding is never quoted.
    """

    def __init__(self, overrides: dict[str, str] | None = None) -> None:
        self._cache: dict[str, list[str] | None] = {
            name: split_lines(text) for name, text in (overrides or {}).items()
        }

    def add(self, name: str, text: str) -> None:
        self._cache[name] = split_lines(text)

    def __call__(self, file: str, line: int) -> str | None:
        if file not in self._cache:
            self._cache[file] = read_quotable_lines(file)
        lines = self._cache[file]
        if lines is None or not 0 < line <= len(lines):
            return None
        return lines[line - 1]


def read_quotable_lines(file: str) -> list[str] | None:
    """The lines of ``file`` if it may be quoted: a regular, small, decodable text file."""
    from pathlib import Path  # a file not checked from memory is rare

    path = Path(file)
    try:
        if not path.is_file() or path.stat().st_size > _MAX_QUOTED_FILE:
            return None
        data = path.read_bytes()
    except (OSError, ValueError):
        return None
    encoding = sniff_encoding(data)
    if encoding not in WIDE_ENCODINGS and b"\x00" in data:
        return None
    try:
        text = data.decode(encoding)
    except (LookupError, UnicodeDecodeError):
        return None
    return split_lines(text.removeprefix("\ufeff"))


def _quote_window(
    line: str, column: int | None, escape: Callable[[str], str] = visible
) -> tuple[str, int | None]:
    """The part of ``line`` shown for ``column`` (escaped) and the caret's 1-based place in it.

    A long line is cut to `WINDOW` characters either side of the column, with "…" where it
    was cut, so a diagnostic's size never grows with the line's.
    """
    line = line.replace("\t", " ")
    index = None if column is None or column > len(line) + 1 else column - 1
    if len(line) <= WINDOW:  # the usual line: shown whole, the window's bounds are its own
        shown = escape(line)
        return shown, None if index is None else len(escape(line[:index])) + 1
    centre = index if index is not None else 0
    start = max(0, centre - WINDOW)
    end = min(len(line), centre + WINDOW + (WINDOW if index is None else 0))
    head = "…" if start > 0 else ""
    tail = "…" if end < len(line) else ""
    shown = head + escape(line[start:end]) + tail
    if index is None:
        return shown, None
    return shown, len(head) + len(escape(line[start:index])) + 1


#: What follows the code in a report's first line: nothing for an error, else the severity.
#: (By the severity's ``_value_``: a member's hash is a call of Enum's Python method.)
_SEVERITY_TAGS = {
    severity._value_: "" if severity is Severity.ERROR else f" {severity.value}:"
    for severity in Severity
}

#: Every printable ASCII character: the ASCII text `visible` leaves as it is (it escapes
#: C0 controls and DEL, and nothing else below U+0080).
_PRINTABLE_ASCII = bytes(range(0x20, 0x7F))


def _shown_as_is(lines: list[str]) -> bool:
    """Whether `visible` would leave each of ``lines`` as it is (`shows_as_is`, with a
    quicker answer for the ASCII lines, most of a report: deleting their printable
    characters leaves nothing)."""
    import itertools

    plain = "".join(filter(str.isascii, lines))
    if plain.encode("ascii").translate(None, _PRINTABLE_ASCII):
        return False
    return shows_as_is(list(itertools.filterfalse(str.isascii, lines)))


def _text_lines(
    shown: Iterable[Diagnostic],
    source: LineSource,
    colored: bool,
    escape: Callable[[str], str],
) -> list[str]:
    """The lines of the text report, each field of a diagnostic passed through ``escape``
    (`str` leaves a field as it is, at the cost of a C call)."""
    out: list[str] = []
    append = out.append
    tags = _SEVERITY_TAGS
    quoted_before: tuple[str, int | None] | None = None  # the last line quoted, and its column
    window_before: tuple[str, int | None] = ("", None)
    for d in shown:
        where = d.location
        severity = d.severity
        column = where.column
        if column is None:
            place = f"{where.file}:{where.line}"
        else:  # (what `str(where)` gives, without a call of its method)
            place = f"{where.file}:{where.line}:{column}"
        if colored:
            style = severity.value if severity.value in _STYLES else "error"
            append(
                _paint(escape(f"{place}:"), "location", True)
                + " "
                + _paint(escape(f"{d.code}{tags[severity._value_]}"), style, True)
                + " "
                + escape(d.message)
            )
        else:  # the same line: escaping is character by character
            append(escape(f"{place}: {d.code}{tags[severity._value_]} {d.message}"))
        quoted = d.snippet
        if quoted is None:
            quoted = source(where.file, where.line)
        if quoted and not quoted.isspace():
            # Reports about one place (a tag with two problems) quote its line once.
            if quoted_before != (quoted, column):
                quoted_before = (quoted, column)
                window_before = _quote_window(quoted, column, escape)
            window, caret = window_before
            append("    " + window)
            if caret is not None:
                append("    " + " " * (caret - 1) + _paint("^", "caret", colored))
        for step in where.chain:
            append("    " + escape(step))
        if d.hint:
            append(f"    {_paint('hint:', 'hint', colored)} {escape(d.hint)}")
    return out


def format_text(
    diagnostics: Sequence[Diagnostic],
    lines: LineSource | None = None,
    *,
    max_per_code: int | None = MAX_PER_CODE,
    color: bool | None = None,
) -> str:
    """``path:line:col: CODE message``, the quoted line with a caret, the hint, the chain.

    Everything printed passes through `visible` (no raw control character reaches the
    terminal); quoted lines are cut to a window around the column; past ``max_per_code``
    reports of one code in one file, a count stands for the rest. With ``color`` (default:
    `COLOR`), the severity and code, the caret and the hint are coloured for a terminal.
    """
    colored = COLOR.get() if color is None else color
    source = lines or FileLines()
    # A list: the report may be built twice (below), and an iterator would be spent by then.
    shown = cap_repeats(diagnostics, max_per_code) if max_per_code is not None else [*diagnostics]
    if not colored:
        # Built once without escaping, then its lines checked at once: when none holds a
        # character `visible` would escape, no field held one, and escaping each would have
        # changed nothing (the usual case, for a fraction of the cost). Otherwise it is built
        # again, each field escaped.
        out = _text_lines(shown, source, False, str)
        if _shown_as_is(out):
            return "\n".join(out) + ("\n" if out else "")
    out = _text_lines(shown, source, colored, visible)
    return "\n".join(out) + ("\n" if out else "")


def format_json(diagnostics: Sequence[Diagnostic]) -> str:
    import json

    serialised = json.dumps([d.to_dict() for d in diagnostics], indent=2, ensure_ascii=False)
    return json_safe(serialised) + "\n"


def _github_escape(value: str, *, property_value: bool = False) -> str:
    # Visible escapes first (ESC would reach the log's terminal emulation), then GitHub's own.
    value = visible(value).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        value = value.replace(":", "%3A").replace(",", "%2C")
    return value


def format_github(
    diagnostics: Sequence[Diagnostic], *, max_per_code: int | None = MAX_PER_CODE
) -> str:
    """GitHub Actions workflow commands: ``::error file=…,line=…,col=…,title=…::message``."""
    out = []
    shown = cap_repeats(diagnostics, max_per_code) if max_per_code is not None else diagnostics
    for d in shown:
        command = {"error": "error", "warning": "warning", "info": "notice"}[d.severity.value]
        props = [
            f"file={_github_escape(d.location.file, property_value=True)}",
            f"line={d.location.line}",
        ]
        if d.location.column is not None:
            props.append(f"col={d.location.column}")
        props.append(f"title={_github_escape(d.code, property_value=True)}")
        message = d.message + (f" (hint: {d.hint})" if d.hint else "")
        out.append(f"::{command} {','.join(props)}::{_github_escape(message)}")
    return "\n".join(out) + ("\n" if out else "")


def _file_uri(file: str) -> str:
    """A file name as a SARIF URI reference: ``/`` kept, every other byte that is not
    unreserved or a sub-delimiter percent-encoded (a ``#``, ``?``, ``%`` or space in a name
    would otherwise point at another file; a ``:`` in the first segment would read as a
    scheme). A byte that was not UTF-8 (kept by ``surrogateescape``) is encoded as itself;
    any other lone surrogate as its UTF-8 form, so the URI is always ASCII."""
    from pathlib import Path
    from urllib.parse import quote

    name = Path(file).as_posix()
    try:
        data = name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        data = b"".join(
            char.encode("utf-8", "surrogatepass" if _lone(char) else "surrogateescape")
            for char in name
        )
    return quote(data, safe="/!$&'()*+,;=@")


def _lone(char: str) -> bool:
    """A surrogate that ``surrogateescape`` did not make from a byte."""
    return 0xD800 <= ord(char) <= 0xDFFF and not 0xDC80 <= ord(char) <= 0xDCFF


def format_sarif(diagnostics: Sequence[Diagnostic], *, version: str = "0") -> str:
    """SARIF 2.1.0, one run, one rule per code seen."""
    import json

    codes = sorted({d.code for d in diagnostics})
    rules = [
        {
            "id": code,
            "name": code,
            "shortDescription": {"text": CODES.get(code, code)},
        }
        for code in codes
    ]
    index = {code: i for i, code in enumerate(codes)}
    results = []
    for d in diagnostics:
        region: dict[str, int] = {"startLine": d.location.line}
        if d.location.column is not None:
            region["startColumn"] = d.location.column
        message = d.message + (f"\nhint: {d.hint}" if d.hint else "")
        results.append(
            {
                "ruleId": d.code,
                "ruleIndex": index[d.code],
                "level": {"error": "error", "warning": "warning", "info": "note"}[d.severity.value],
                "message": {"text": message},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": _file_uri(d.location.file)},
                            "region": region,
                        },
                        **(
                            {
                                "logicalLocations": [
                                    {"fullyQualifiedName": d.xpath, "kind": "element"}
                                ]
                            }
                            if d.xpath
                            else {}
                        ),
                    }
                ],
            }
        )
    sarif = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "callflow",
                        "version": version,
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    return json_safe(json.dumps(sarif, indent=2, ensure_ascii=False)) + "\n"


def render(
    diagnostics: Sequence[Diagnostic],
    fmt: str,
    *,
    lines: LineSource | None = None,
    version: str = "0",
    color: bool | None = None,
) -> str:
    """Diagnostics in ``fmt``; only text is ever coloured (``color``, default: `COLOR`)."""
    if fmt == "text":
        return format_text(diagnostics, lines, color=color)
    if fmt == "json":
        return format_json(diagnostics)
    if fmt == "github":
        return format_github(diagnostics)
    if fmt == "sarif":
        return format_sarif(diagnostics, version=version)
    raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
