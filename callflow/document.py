"""`Document`: a call flow as an lxml tree plus the source map back to its author's file.

Parsing is safe by construction: no entity expansion, no DTD loading, no network, a size
limit, and any DOCTYPE is refused with a diagnostic before lxml sees the text.
"""

from __future__ import annotations

import _thread
import functools
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from lxml import etree

from callflow._spans import TagSpan as TagSpan  # (re-exported: callflow.fix edits by them)
from callflow._spans import TextSpans as TextSpans
from callflow._text import (
    WIDE_ENCODINGS,
    decode_xml,
    line_column,
    line_starts,
    sniff_encoding,
    split_lines,
    strip_encoding_declaration,
)
from callflow.diagnostics import Diagnostic, Severity
from callflow.errors import ValidationError
from callflow.sourcemap import SourceLocation, SourceMap

if TYPE_CHECKING:
    from pathlib import Path

#: Largest document read, in bytes. Call flows are small; a larger file is refused unread.
MAX_DOCUMENT_BYTES = 1_048_576

# threading.local itself, without importing the threading module (a cold start counts it).
_local = _thread._local()

#: XPaths asked of a Document one by one before they are all computed in one walk of the tree.
_DIRECT_PATH_LOOKUPS = 8
#: Elements found by counting up to them before every element is indexed (one count costs
#: about what the index does, so a large document with one finding pays no more).
_DIRECT_INDEX_LOOKUPS = 2


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


@functools.lru_cache(maxsize=8)
def schema_tree(path: str) -> etree._ElementTree:
    """The XSD at ``path``, parsed once with the safe parser and shared by the compiled
    schema and the vocabulary (neither modifies it). Raises what `etree.parse` raises."""
    return etree.parse(path, safe_parser())


# ---------------------------------------------------------------- the Document


class Document:
    """A parsed call flow: ``root`` (lxml element), ``text`` (the XML), ``source_map``."""

    __slots__ = (
        "_by_path",
        "_data",
        "_index",
        "_index_lookups",
        "_lines",
        "_path_lookups",
        "_paths",
        "_spans",
        "_strict",
        "_text",
        "name",
        "root",
        "source_map",
    )

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
        #: Whether ``_text`` is ``_data`` decoded strictly in its encoding (as a reporter
        #: decodes the file), not with bad bytes replaced or from elsewhere.
        self._strict = False
        self._spans: TextSpans | None = None
        self._index: dict[etree._Element, int] | None = None
        self._index_lookups = 0
        self._paths: dict[etree._Element, str] | None = None
        self._path_lookups = 0
        self._by_path: dict[str, etree._Element] | None = None
        self._lines: list[str] | None = None

    @property
    def text(self) -> str:
        """The XML text. A file's bytes are decoded on first use: a clean document that
        nobody asks a location of never pays for it."""
        if self._text is None:
            data = self._data
            assert data is not None
            try:  # the bytes as a reporter reads them, when they decode strictly
                self._text = data.decode(sniff_encoding(data)).removeprefix("\ufeff")
                self._strict = True
            except (LookupError, UnicodeDecodeError):
                self._text = decode_xml(data).removeprefix("\ufeff")
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
        data = strip_encoding_declaration(text).encode("utf-8")
        return cls.from_bytes(data, name, source_map=source_map)

    @classmethod
    def from_path(cls, path: str | Path) -> Document:
        """Read an XML file through the front door (`callflow.sources.load_flow`)."""
        from pathlib import Path

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

    def spans(self) -> TextSpans:
        """The spans of every tag and attribute in ``text``, from one scan, made on first use."""
        if self._spans is None:
            self._spans = TextSpans(self.text)
        return self._spans

    def _element_index(self) -> dict[etree._Element, int]:
        if self._index is None:
            self._index = {el: i for i, el in enumerate(self.root.iter(etree.Element))}
        return self._index

    def _index_of(self, element: etree._Element) -> int | None:
        """``element``'s place among the tree's elements in document order (None: not in it)."""
        if self._index is None and self._index_lookups < _DIRECT_INDEX_LOOKUPS:
            # A few look-ups are cheaper counted in place (up to the element) than an index
            # of every element; the index bounds the cost of many.
            self._index_lookups += 1
            for index, candidate in enumerate(self.root.iter(etree.Element)):
                if candidate is element:
                    return index
            return None
        return self._element_index().get(element)

    def tag_span(self, element: etree._Element) -> TagSpan | None:
        """Where ``element`` is written in ``text`` (None if the text does not show it)."""
        index = self._index_of(element)
        span = self.spans().tag_at(index) if index is not None else None
        if span is None:
            return None
        if span.name != element.tag and span.name.rpartition(":")[2] != _local_name(element):
            return None
        return span

    def _path_index(self) -> dict[etree._Element, str]:
        # Every element's XPath from one walk: a child's step counts its same-named siblings
        # once per parent (lxml's getpath counts them again for every element asked about).
        if self._paths is None:
            paths: dict[etree._Element, str] = {}
            root = self.root
            tree = root.getroottree()
            stack = [(root, tree.getpath(root))]
            while stack:
                parent, path = stack.pop()
                paths[parent] = path
                children = [child for child in parent if isinstance(child.tag, str)]
                if not children:
                    continue
                totals: dict[str, int] = {}
                for child in children:
                    name = str(child.tag)
                    totals[name] = totals.get(name, 0) + 1
                seen: dict[str, int] = {}
                for child in children:
                    tag = str(child.tag)
                    if tag[0] == "{":  # a namespaced step: lxml spells those its own way
                        stack.append((child, tree.getpath(child)))
                        continue
                    if totals[tag] == 1:
                        stack.append((child, f"{path}/{tag}"))
                    else:
                        seen[tag] = number = seen.get(tag, 0) + 1
                        stack.append((child, f"{path}/{tag}[{number}]"))
            self._paths = paths
        return self._paths

    def xpath_of(self, element: etree._Element) -> str:
        """The element's XPath (``/Response/Say[2]``), as lxml's ``getpath`` spells it."""
        if self._paths is None and self._path_lookups < _DIRECT_PATH_LOOKUPS:
            # A few look-ups are cheaper one by one than an index of every element; the
            # index bounds the cost of many (getpath counts siblings anew each time).
            self._path_lookups += 1
            return str(element.getroottree().getpath(element))
        path = self._path_index().get(element)
        return path if path is not None else str(element.getroottree().getpath(element))

    def element_at_path(self, path: str) -> etree._Element | None:
        """The element an XPath from `xpath_of` (or libxml2's error log) names, if any."""
        if self._by_path is None:
            self._by_path = {value: key for key, value in self._path_index().items()}
        found = self._by_path.get(path)
        if found is not None:
            return found
        try:
            matches = self.root.getroottree().xpath(path)
        except etree.XPathError:
            return None
        if isinstance(matches, list) and matches and isinstance(matches[0], etree._Element):
            return matches[0]
        return None

    def position(
        self, element: etree._Element, attribute: str | None = None, *, text: bool = False
    ) -> tuple[int | None, int | None]:
        """1-based (line, column) in ``self.text`` of an element's tag, attribute or text."""
        index = self._index_of(element)
        if index is not None:
            spans = self._spans if self._spans is not None else self.spans()
            place = spans.place(index, attribute, text=text)
            if place is not None:
                name = place[0]
                if name == element.tag or name.rpartition(":")[2] == _local_name(element):
                    return spans.line_column(place[1])
        return element.sourceline, None  # the text does not show this element there

    def locate(
        self, element: etree._Element, attribute: str | None = None, *, text: bool = False
    ) -> SourceLocation:
        """Where the author wrote ``element`` (or one of its attributes, or its text)."""
        line, column = self.position(element, attribute, text=text)
        source_map = self.source_map
        # The XPath only matters to a source map that maps elements (templates, builders).
        xpath = self.xpath_of(element) if source_map.elements else None
        return source_map.resolve(line, column, xpath)

    def locate_line(self, line: int | None, column: int | None = None) -> SourceLocation:
        return self.source_map.resolve(line, column)

    def line_text(self, line: int) -> str | None:
        """Line ``line`` (1-based) of the XML text, without its newline."""
        if self._lines is None:
            self._lines = split_lines(self.text)
        lines = self._lines
        return lines[line - 1] if 0 < line <= len(lines) else None

    def file_lines(self) -> list[str] | None:
        """The lines of the bytes this Document was parsed from, as a reporter quotes them
        from the file: None when those bytes do not decode strictly in their encoding (a
        reporter then quotes nothing), or when the Document was made from text."""
        if self._data is None:
            return None
        if self._strict:  # `text` was decoded strictly: the same text, decoded once
            text = self._text
            assert text is not None
        else:
            data = self._data
            try:
                text = data.decode(sniff_encoding(data)).removeprefix("\ufeff")
            except (LookupError, UnicodeDecodeError):
                return None
            if self._text is None:  # the same text `text` decodes (nothing was replaced)
                self._text = text
                self._strict = True
        if self._lines is None:
            self._lines = split_lines(text)
        return self._lines

    def iter_elements(self) -> Iterator[etree._Element]:
        return self.root.iter(etree.Element)


def _local_name(element: etree._Element) -> str:
    tag = str(element.tag)
    return tag.rpartition("}")[2]


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
    if not data or data.isspace():  # (no copy of the data, as strip() would make)
        return None, [
            _diag(
                "CF003",
                "file is empty",
                smap.whole_document(),
                hint="a call flow starts with <Response>",
            )
        ]
    encoding = sniff_encoding(data)
    wide = encoding in WIDE_ENCODINGS
    if not wide:
        nul = data.find(b"\x00")
        if nul >= 0:
            return None, [_binary(smap, nul)]
    text: str | None = None
    if wide or b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        # UTF-16 and UTF-32 hide the markup from a byte search: decode, then look.
        text, problem = _decode(data, encoding, smap)
        if problem is not None:
            return None, [problem]
        assert text is not None
        if "<!DOCTYPE" in text or "<!ENTITY" in text:
            refused = _doctype_diagnostics(text, smap)
            if refused:
                return None, refused
    parser = safe_parser()
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        # Decoding errors get their own code and the bad byte's place; lxml's says less.
        if text is None:
            text, problem = _decode(data, encoding, smap)
            if problem is not None:
                return None, [problem]
            assert text is not None
            if "<!DOCTYPE" in text or "<!ENTITY" in text:
                return None, _doctype_diagnostics(text, smap) or [_doctype_refused(smap)]
        return None, _syntax_diagnostics(error, parser, smap)
    if root is None:  # pragma: no cover - lxml raises instead for empty input
        return None, [_diag("CF101", "no root element", smap.whole_document())]
    if encoding in _ASCII_FAMILY and text is None:
        # A DOCTYPE in these encodings is the bytes searched above: there is none.
        return Document(root, None, smap, data=data), []
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.doctype:
        # Any encoding lxml reads and the text check above could not (say, one declared in
        # the prolog that Python decodes differently): the DTD is refused all the same.
        text = text if text is not None else decode_xml(data).removeprefix("\ufeff")
        return None, _doctype_diagnostics(text, smap) or [_doctype_refused(smap)]
    return Document(root, text, smap, data=data), []


#: Encodings that write ASCII markup (``<!DOCTYPE``) as its ASCII bytes.
_ASCII_FAMILY = frozenset({"utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "latin-1"})


def _binary(smap: SourceMap, offset: int) -> Diagnostic:
    # Never quoted (snippet ""): a binary file's "line" may be anything, secrets included.
    return Diagnostic(
        "CF004",
        Severity.ERROR,
        f"file is binary (a NUL byte at byte offset {offset}), not XML text",
        smap.whole_document(),
        snippet="",
    )


def _doctype_refused(smap: SourceMap) -> Diagnostic:
    return _diag(
        "CF102",
        "DOCTYPE declarations are not allowed in call XML",
        smap.whole_document(),
        hint="remove the DOCTYPE line",
    )


def _decode(data: bytes, encoding: str, smap: SourceMap) -> tuple[str | None, Diagnostic | None]:
    try:
        return data.decode(encoding).removeprefix("\ufeff"), None
    except LookupError:
        return None, _diag(
            "CF005",
            f"unknown encoding {encoding!r} in the XML declaration",
            smap.resolve(1, 1),
            hint="write call XML in UTF-8",
        )
    except UnicodeDecodeError as error:
        before = data[: error.start].decode(encoding, errors="replace").removeprefix("\ufeff")
        starts = line_starts(before)
        line, column = line_column(starts, len(before))
        return None, Diagnostic(
            "CF005",
            Severity.ERROR,
            f"byte 0x{data[error.start]:02x} at byte offset {error.start} is not valid "
            f"{encoding.upper()}",
            smap.resolve(line, column),
            hint="save the file as UTF-8 (or declare its real encoding)",
            snippet="",  # an undecodable line is not quoted
        )


_COMMENT = r"(?s)<!--.*?-->"
_DOCTYPE = r"(?s)<!DOCTYPE\s+[^\s\[>]+(?P<external>\s+(?:SYSTEM|PUBLIC)\b[^\[>]*)?"
_ENTITY = r"(?s)<!ENTITY\s+(?:%\s+)?(?P<name>[^\s>]+)(?P<external>\s+(?:SYSTEM|PUBLIC)\b)?"
_URL = r"""["']([a-zA-Z][a-zA-Z0-9+.-]*://[^"']*)["']"""


def _doctype_diagnostics(text: str, smap: SourceMap) -> list[Diagnostic]:
    """Refuse DTDs: call XML needs none, and they carry XXE and expansion-bomb attacks."""
    # Blank out comments (keeping offsets) so that a commented-out DOCTYPE is not refused.
    scan = re.sub(_COMMENT, lambda m: " " * len(m.group(0)), text)
    starts = line_starts(text)

    def where(offset: int) -> SourceLocation:
        return smap.resolve(*line_column(starts, offset))

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
