"""`Document`: a call flow as an lxml tree plus the source map back to its author's file.

Parsing is safe by construction: no entity expansion, no DTD loading, no network, a size
limit, and any DOCTYPE is refused with a diagnostic before lxml sees the text.
"""

from __future__ import annotations

import bisect
import functools
import re
import threading
from collections.abc import Iterator
from pathlib import Path

from lxml import etree

from callflow.diagnostics import Diagnostic, Severity
from callflow.errors import ValidationError
from callflow.sourcemap import SourceLocation, SourceMap

#: Largest document read, in bytes. Call flows are small; a larger file is refused unread.
MAX_DOCUMENT_BYTES = 1_048_576

_local = threading.local()


def safe_parser() -> etree.XMLParser:
    """The one XML parser configuration callflow uses (one instance per thread)."""
    parser: etree.XMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,
            collect_ids=False,
            remove_comments=False,
        )
        _local.parser = parser
    return parser


# ---------------------------------------------------------------- positions in the text


@functools.cache
def _token_pattern() -> re.Pattern[str]:
    return re.compile(
        r"<!--.*?-->"
        r"|<!\[CDATA\[.*?\]\]>"
        r"|<\?.*?\?>"
        r"|<!DOCTYPE(?:[^\[>]|\[.*?\])*>"
        r"|</[^>]*>"
        r"""|<(?P<name>[^\s/>!?]+)(?P<attrs>(?:[^>"']|"[^"]*"|'[^']*')*)>""",
        re.DOTALL,
    )


def _line_starts(text: str) -> list[int]:
    return [0] + [m.end() for m in re.finditer(r"\n", text)]


def _line_column(line_starts: list[int], offset: int) -> tuple[int, int]:
    """1-based (line, column) of a character offset."""
    index = bisect.bisect_right(line_starts, offset) - 1
    return index + 1, offset - line_starts[index] + 1


class _Positions:
    """Character offsets of every start tag, computed once, on the first diagnostic."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.line_starts = _line_starts(text)
        self.tags: list[tuple[str, int, int, int]] = []  # (name, start, attrs_start, end)
        for match in _token_pattern().finditer(text):
            name = match.group("name")
            if name is not None:
                self.tags.append((name, match.start(), match.start("attrs"), match.end()))

    def line_column(self, offset: int) -> tuple[int, int]:
        return _line_column(self.line_starts, offset)


# ---------------------------------------------------------------- the Document


class Document:
    """A parsed call flow: ``root`` (lxml element), ``text`` (the XML), ``source_map``."""

    __slots__ = ("_data", "_index", "_positions", "_text", "name", "root", "source_map")

    def __init__(
        self,
        root: etree._Element,
        text: str | None,
        source_map: SourceMap,
        *,
        data: bytes | None = None,
    ) -> None:
        if text is None and data is None:
            raise ValueError("a Document needs its XML text or the bytes it was parsed from")
        self.root = root
        self.source_map = source_map
        self.name = source_map.file
        self._text = text
        self._data = data
        self._positions: _Positions | None = None
        self._index: dict[etree._Element, int] | None = None

    @property
    def text(self) -> str:
        """The XML text. A file's bytes are decoded on first use: a clean document that
        nobody asks a location of never pays for it."""
        if self._text is None:
            assert self._data is not None
            self._text = _decode_parsed(self._data)
        return self._text

    def __repr__(self) -> str:
        return f"Document({self.name!r}, root=<{self.root.tag!s}>)"

    # -- construction -------------------------------------------------------------

    @classmethod
    def from_bytes(
        cls, data: bytes, name: str = "<bytes>", *, source_map: SourceMap | None = None
    ) -> Document:
        """Parse XML bytes safely; raise `ValidationError` with diagnostics if impossible."""
        document, diagnostics = load_bytes(data, name, source_map=source_map)
        if document is None:
            raise ValidationError(f"{name}: cannot read the call flow", diagnostics)
        return document

    @classmethod
    def from_text(
        cls, text: str, name: str = "<string>", *, source_map: SourceMap | None = None
    ) -> Document:
        """Parse XML text; an encoding declaration in it is ignored (the text is decoded)."""
        data = _strip_encoding_declaration(text).encode("utf-8")
        return cls.from_bytes(data, name, source_map=source_map)

    @classmethod
    def from_path(cls, path: str | Path) -> Document:
        """Read an XML file through the front door (`callflow.sources.load_flow`)."""
        from callflow.sources import load_flow

        return load_flow(Path(path))

    # -- serialisation ------------------------------------------------------------

    def to_bytes(self, *, pretty: bool = False, declaration: bool = True) -> bytes:
        return etree.tostring(
            self.root, encoding="UTF-8", xml_declaration=declaration, pretty_print=pretty
        )

    def to_string(self, *, pretty: bool = False) -> str:
        return self.to_bytes(pretty=pretty, declaration=False).decode("utf-8")

    # -- locations ----------------------------------------------------------------

    def xpath_of(self, element: etree._Element) -> str:
        return str(element.getroottree().getpath(element))

    def position(
        self, element: etree._Element, attribute: str | None = None, *, text: bool = False
    ) -> tuple[int | None, int | None]:
        """1-based (line, column) in ``self.text`` of an element's tag, attribute or text."""
        positions = self._positions
        if positions is None:
            positions = self._positions = _Positions(self.text)
        if self._index is None:
            self._index = {el: i for i, el in enumerate(self.root.iter(etree.Element))}
        index = self._index.get(element)
        fallback_line = element.sourceline
        if index is None or index >= len(positions.tags):
            return fallback_line, None
        name, start, attrs_start, end = positions.tags[index]
        if name != element.tag and name.rpartition(":")[2] != etree.QName(element).localname:
            return fallback_line, None
        offset = start + 1  # the tag name, after '<'
        if attribute is not None:
            found = re.search(
                r"(?:^|\s)(" + re.escape(attribute) + r")\s*=", self.text[attrs_start:end]
            )
            if found is not None:
                offset = attrs_start + found.start(1)
        elif text:
            offset = end
        return positions.line_column(offset)

    def locate(
        self, element: etree._Element, attribute: str | None = None, *, text: bool = False
    ) -> SourceLocation:
        """Where the author wrote ``element`` (or one of its attributes, or its text)."""
        line, column = self.position(element, attribute, text=text)
        # The XPath only matters to a source map that maps elements (templates, builders).
        xpath = self.xpath_of(element) if self.source_map.elements else None
        return self.source_map.resolve(line, column, xpath)

    def locate_line(self, line: int | None, column: int | None = None) -> SourceLocation:
        return self.source_map.resolve(line, column)

    def line_text(self, line: int) -> str | None:
        """Line ``line`` (1-based) of the XML text, without its newline."""
        lines = self.text.splitlines()
        return lines[line - 1] if 0 < line <= len(lines) else None

    def iter_elements(self) -> Iterator[etree._Element]:
        return self.root.iter(etree.Element)


# ---------------------------------------------------------------- loading with diagnostics


def _diag(code: str, message: str, location: SourceLocation, hint: str | None = None) -> Diagnostic:
    return Diagnostic(code, Severity.ERROR, message, location, hint=hint)


def load_path(
    path: Path, *, display: str | None = None, max_bytes: int = MAX_DOCUMENT_BYTES
) -> tuple[Document | None, list[Diagnostic]]:
    """Read and parse one XML file through the front door's reading policy
    (`callflow.sources.read_flow_file`); never raises for bad input, returns diagnostics."""
    from callflow.sources import ReadPolicy, load_data, read_flow_file

    name = display if display is not None else str(path)
    policy = ReadPolicy(max_bytes=max_bytes)
    data = read_flow_file(str(path), policy=policy)
    if isinstance(data, Diagnostic):
        location = SourceLocation(name, 1, None)
        return None, [
            Diagnostic(data.code, data.severity, data.message, location, hint=data.hint, snippet="")
        ]
    [source] = load_data(data, name, policy=policy, on_disk=True, kind="xml")
    return source.document, source.diagnostics


def load_bytes(
    data: bytes,
    name: str,
    *,
    source_map: SourceMap | None = None,
    max_bytes: int = MAX_DOCUMENT_BYTES,
) -> tuple[Document | None, list[Diagnostic]]:
    """Check and parse XML bytes; return the Document or the reasons there is none."""
    smap = source_map if source_map is not None else SourceMap(name)
    if len(data) > max_bytes:
        return None, [
            _diag(
                "CF006",
                f"file is larger than the {max_bytes:,}-byte limit; not parsed",
                smap.whole_document(),
                hint="call flows are small documents; split the flow or raise --max-bytes",
            )
        ]
    if not data.strip():
        return None, [
            _diag(
                "CF003",
                "file is empty",
                smap.whole_document(),
                hint="a call flow starts with <Response>",
            )
        ]
    text: str | None = None
    if data.startswith(_UTF16_BOMS) or b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        # UTF-16 hides the markup from a byte search; a DTD must be refused before parsing.
        text, problem = _decode(data, smap)
        if problem is not None:
            return None, [problem]
        assert text is not None
        if "<!DOCTYPE" in text or "<!ENTITY" in text:
            refused = _doctype_diagnostics(text, smap)
            if refused:
                return None, refused
    elif b"\x00" in data[:8192]:
        return None, [_binary(smap)]
    parser = safe_parser()
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        # Decoding errors get their own code and the bad byte's place; lxml's says less.
        _, problem = _decode(data, smap) if text is None else (text, None)
        return None, [problem] if problem is not None else _syntax_diagnostics(error, parser, smap)
    if root is None:  # pragma: no cover - lxml raises instead for empty input
        return None, [_diag("CF101", "no root element", smap.whole_document())]
    return Document(root, text, smap, data=data), []


_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def _binary(smap: SourceMap) -> Diagnostic:
    return _diag(
        "CF004", "file is binary (it contains NUL bytes), not XML text", smap.whole_document()
    )


def _encoding_of(data: bytes) -> str:
    if data.startswith(_UTF16_BOMS):
        return "utf-16"
    declared = re.match(_DECLARED_ENCODING, data[:512]) if data.lstrip()[:5] == b"<?xml" else None
    encoding = declared.group(1).decode("ascii") if declared else "utf-8"
    if encoding.lower().replace("_", "-") in ("utf-8", "utf8") and data.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    return encoding


def _decode_parsed(data: bytes) -> str:
    """The text of bytes lxml has already parsed (so they are valid in their encoding)."""
    try:
        return data.decode(_encoding_of(data), errors="replace")
    except LookupError:  # an encoding libxml2 knows and Python does not
        return data.decode("utf-8", errors="replace")


_DECLARED_ENCODING = rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']"""


def _decode(data: bytes, smap: SourceMap) -> tuple[str | None, Diagnostic | None]:
    if not data.startswith(_UTF16_BOMS) and b"\x00" in data[:8192]:
        return None, _binary(smap)
    encoding = _encoding_of(data)
    try:
        return data.decode(encoding), None
    except LookupError:
        return None, _diag(
            "CF005",
            f"unknown encoding {encoding!r} in the XML declaration",
            smap.resolve(1, 1),
            hint="write call XML in UTF-8",
        )
    except UnicodeDecodeError as error:
        before = data[: error.start]
        line = before.count(b"\n") + 1
        column = len(before) - (before.rfind(b"\n") + 1) + 1
        return None, _diag(
            "CF005",
            f"byte 0x{data[error.start]:02x} is not valid {encoding.upper()}",
            smap.resolve(line, column),
            hint="save the file as UTF-8 (or declare its real encoding)",
        )


def _strip_encoding_declaration(text: str) -> str:
    return re.sub(r"""^(\s*<\?xml[^>]*?)\sencoding\s*=\s*["'][^"']*["']""", r"\1", text, count=1)


_COMMENT = r"(?s)<!--.*?-->"
_DOCTYPE = r"(?s)<!DOCTYPE\s+[^\s\[>]+(?P<external>\s+(?:SYSTEM|PUBLIC)\b[^\[>]*)?"
_ENTITY = r"(?s)<!ENTITY\s+(?:%\s+)?(?P<name>[^\s>]+)(?P<external>\s+(?:SYSTEM|PUBLIC)\b)?"
_URL = r"""["']([a-zA-Z][a-zA-Z0-9+.-]*://[^"']*)["']"""


def _doctype_diagnostics(text: str, smap: SourceMap) -> list[Diagnostic]:
    """Refuse DTDs: call XML needs none, and they carry XXE and expansion-bomb attacks."""
    # Blank out comments (keeping offsets) so that a commented-out DOCTYPE is not refused.
    scan = re.sub(_COMMENT, lambda m: " " * len(m.group(0)), text)
    line_starts = _line_starts(text)

    def where(offset: int) -> SourceLocation:
        return smap.resolve(*_line_column(line_starts, offset))

    found: list[Diagnostic] = []
    for entity in re.finditer(_ENTITY, scan):
        if entity.group("external"):
            found.append(
                _diag(
                    "CF103",
                    f"external entity '{entity.group('name')}' refused: it could read local "
                    "files or the network (XXE); nothing was read",
                    where(entity.start()),
                    hint="remove the DOCTYPE; call XML needs no entities",
                )
            )
        else:
            found.append(
                _diag(
                    "CF104",
                    f"entity declaration '{entity.group('name')}' refused; entities are not "
                    "expanded (they enable expansion bombs)",
                    where(entity.start()),
                    hint="remove the DOCTYPE; write the text out instead",
                )
            )
    doctype = re.search(_DOCTYPE, scan)
    if doctype is not None:
        if doctype.group("external"):
            url = re.search(_URL, doctype.group("external"))
            target = f" {url.group(1)}" if url else ""
            found.insert(
                0,
                _diag(
                    "CF105",
                    f"DOCTYPE refers to an external DTD{target}; refused, nothing was fetched",
                    where(doctype.start()),
                    hint="remove the DOCTYPE line; call XML has no DTD",
                ),
            )
        elif not found:
            found.append(
                _diag(
                    "CF102",
                    "DOCTYPE declarations are not allowed in call XML",
                    where(doctype.start()),
                    hint="remove the DOCTYPE line",
                )
            )
    return found


_SYNTAX_REWRITES: tuple[tuple[str, str], ...] = (
    (
        r"Opening and ending tag mismatch: (\S+) line (\d+) and (\S+)",
        r"closing tag </\3> does not match the open <\1> (opened on line \2)",
    ),
    (
        r"Premature end of data in tag (\S+) line (\d+)",
        r"the document ends before <\1> (opened on line \2) is closed",
    ),
    (r"EndTag: '</' not found", "the document ends before a closing tag"),
    (
        r"Extra content at the end of the document",
        "content after the root element; a document has exactly one <Response>",
    ),
    (r"Start tag expected, '<' not found", "no XML here: expected a start tag '<'"),
    (
        r"Entity '([^']+)' not defined",
        r"undefined entity &\1;: write &amp; for a literal '&'",
    ),
    (r"xmlParseEntityRef: no name", "a bare '&': write &amp; for a literal '&'"),
    (r"AttValue: \" or ' expected", "attribute value must be quoted"),
    (r"attributes construct error", "malformed attribute"),
    (r"Attribute (\S+) redefined", r"attribute '\1' appears twice"),
    (r"Couldn't find end of Start Tag (\S+)", r"start tag <\1> is not closed"),
    (r"StartTag: invalid element name", "invalid element name after '<'"),
    (
        r"Specification mandates value for attribute (\S+)",
        r"attribute '\1' has no value (write \1=\"…\")",
    ),
)


def _rewrite_syntax(message: str) -> str:
    message = re.sub(r", line \d+, column \d+$", "", message.strip())
    for pattern, replacement in _SYNTAX_REWRITES:
        if re.search(pattern, message):
            return re.sub(pattern, replacement, message)
    return message[:1].lower() + message[1:]


def _syntax_diagnostics(
    error: etree.XMLSyntaxError, parser: etree.XMLParser, smap: SourceMap
) -> list[Diagnostic]:
    entries = [e for e in parser.error_log if e.level >= etree.ErrorLevels.ERROR] or [
        e for e in error.error_log
    ]
    found: list[Diagnostic] = []
    seen: set[tuple[int, str]] = set()
    for entry in entries:
        message = _rewrite_syntax(entry.message)
        key = (entry.line, message)
        if key in seen:
            continue
        seen.add(key)
        found.append(
            _diag(
                "CF101",
                message,
                smap.resolve(entry.line or 1, entry.column or None),
            )
        )
    if not found:
        line, column = error.position if error.position else (1, 0)
        found.append(
            _diag("CF101", _rewrite_syntax(str(error)), smap.resolve(line, column or None))
        )
    return found
