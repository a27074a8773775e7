"""Reading the platform's error text for places (line, path, name) and mapping them to source.

The OpenTact API reports a rejected call flow in one free-text ``message``, worded by whatever
XML parser or validator the platform used. `parse_error_message` finds the clues in many such
wordings; `map_error_message` turns them into diagnostics at the author's file and line
through the Document's source map, degrading from a line to an element path to a tag or
attribute name to the whole document, and always keeping the platform's own words.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass

from lxml import etree

from callflow._text import offset_line_column
from callflow.diagnostics import Diagnostic, Severity, register_code
from callflow.document import Document
from callflow.sourcemap import SourceLocation

CODE_BY_LINE = "CF801"
CODE_BY_PATH = "CF802"
CODE_BY_NAME = "CF803"
CODE_UNLOCATED = "CF804"

register_code(CODE_BY_LINE, "the platform rejected the call flow at a line")
register_code(CODE_BY_PATH, "the platform rejected the call flow at an element path")
register_code(CODE_BY_NAME, "the platform rejected the call flow, naming an element or attribute")
register_code(CODE_UNLOCATED, "the platform rejected the call flow without saying where")


@dataclass(frozen=True)
class ErrorClue:
    """What one problem in the platform's message says about where it is.

    ``text`` is the part of the message the clue was read from, verbatim. Every other field
    is None when the message does not say it. ``offset`` is a 0-based character offset into
    the posted XML (some parsers report that instead of a line).
    """

    text: str
    line: int | None = None
    column: int | None = None
    offset: int | None = None
    xpath: str | None = None
    element: str | None = None
    attribute: str | None = None

    @property
    def has_place(self) -> bool:
        return any(
            value is not None
            for value in (self.line, self.offset, self.xpath, self.element, self.attribute)
        )


# ---------------------------------------------------------------- line and column

_NUMBER = r"(\d{1,9})"

# Line and column together, most specific wordings first.
_LINE_AND_COLUMN = tuple(
    re.compile(pattern, re.IGNORECASE | re.MULTILINE)
    for pattern in (
        # Java SAXParseException: "lineNumber: 5; columnNumber: 3; ..."
        rf"lineNumber\s*[:=]\s*{_NUMBER}\s*;\s*columnNumber\s*[:=]\s*{_NUMBER}",
        # JavaScript sax: "...\nLine: 3\nColumn: 10\nChar: >"
        rf"\bLine:\s*{_NUMBER}\s*[\n,;]?\s*Column:\s*{_NUMBER}",
        # Saxon: "Error on line 5 column 3 of flow.xml"
        rf"\bon line {_NUMBER},? column {_NUMBER}",
        # .NET: "Line 5, position 3." and libxml2 via lxml: ", line 5, column 3"
        rf"\bline\s*[:=]?\s*{_NUMBER}\s*(?:,|;)?\s*(?:column|col|position|pos|char)\.?\s*[:=]?\s*{_NUMBER}",
        rf"\brow\s*[:=]?\s*{_NUMBER}\s*,?\s*(?:column|col)\s*[:=]?\s*{_NUMBER}",
        # xmllint and compilers: "flow.xml:5:3: ..." at the start of a line
        rf"^[^\s:]*:{_NUMBER}:{_NUMBER}:",
        rf"\[{_NUMBER}:{_NUMBER}\]",
        rf"\(\s*{_NUMBER}\s*,\s*{_NUMBER}\s*\)",
        rf"\bat {_NUMBER}:{_NUMBER}\b",
    )
)

# A line alone.
_LINE_ONLY = tuple(
    re.compile(pattern, re.IGNORECASE | re.MULTILINE)
    for pattern in (
        # xmllint: "-:5: parser error : ..." / "flow.xml:5: element Gather: Schemas validity error"
        rf"^[^\s:]*:{_NUMBER}:\s",
        # Xerces: "Error on line 11 of document : ..."
        rf"\bon line {_NUMBER}\b",
        rf"\blineNumber\s*[:=]\s*{_NUMBER}",
        rf"\bline\s*(?:number|no\.?)?\s*[:=#]?\s*{_NUMBER}",
        rf"\brow\s*[:=]?\s*{_NUMBER}",
        rf"\bln\s*[:=]?\s*{_NUMBER}",
    )
)

# A character offset into the document (some JSON-ish and streaming parsers).
_OFFSET = re.compile(rf"\b(?:at\s+)?(?:offset|char(?:acter)?)\s*[:=]?\s*{_NUMBER}\b", re.I)

# ---------------------------------------------------------------- element paths and names

_STEP = r"[A-Za-z_][\w.-]*(?:\[\d+\])?"
_XPATH = re.compile(
    rf"(?:^|(?<=[\s'\"(=,]))(?P<path>(?:/{_STEP})+)(?:/@(?P<attribute>[A-Za-z_][\w.:-]*))?"
)

_NAME = r"(?:\{[^}]*\})?([A-Za-z_][\w.-]*)"
_ELEMENT_PATTERNS = tuple(
    re.compile(pattern)
    for pattern in (
        # libxml2: "Element 'Gather', attribute 'numDigts': ..."
        rf"\bElement '{_NAME}'",
        # Xerces: 'The element type "Say" must be terminated ...'
        rf"\belement type [\"']{_NAME}[\"']",
        rf"\b[Ee]lement [\"'<]{_NAME}[\"'>]",
        rf"\b(?:in|on|of) element [\"'<]?{_NAME}[\"'>]?",
        # Xerces: "Invalid content was found starting with element 'Foo'."
        rf"\bstarting with element [\"'<]?{_NAME}",
        rf"\b(?:closing|close|end|start|opening|unclosed|unmatched|unexpected) tag"
        rf"(?::\s*[\"'<]?/?|\s+[\"'<]/?){_NAME}",
        rf"\btag [\"'<]{_NAME}[\"'>]",
        # .NET: "The 'Say' start tag on line 3 ..."
        rf"[\"'<]{_NAME}[\"'>] (?:start|end|closing|opening) tag",
        # "<Gather>" or "</Gather>" or "<Gather/>" quoted in prose
        rf"</?{_NAME}\s*/?>",
    )
)

_ATTRIBUTE_PATTERNS = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"\battribute [\"'`]([A-Za-z_][\w.:-]*)[\"'`]",
        r"[\"'`]([A-Za-z_][\w.:-]*)[\"'`] attribute\b",
        r"(?<![\w/])@([A-Za-z_][\w.:-]*)",
    )
)

_WORD = re.compile(r"[A-Za-z_][\w-]*")

# A line of the message that continues the one before it rather than starting a problem.
_CONTINUATION = re.compile(r"^(?:\s|Line\s*:|Column\s*:|Char\s*:|\^|<|$)")


def split_problems(message: str) -> list[str]:
    """The message cut into one piece per problem (a piece may span several lines)."""
    pieces: list[str] = []
    for raw_line in message.replace("\r\n", "\n").split("\n"):
        if pieces and _CONTINUATION.match(raw_line):
            pieces[-1] += "\n" + raw_line
        elif pieces and pieces[-1].rstrip().endswith(":") and not _has_clue(pieces[-1]):
            pieces[-1] += "\n" + raw_line  # a heading such as "Validation failed:"
        else:
            pieces.append(raw_line)
    return [piece.strip("\n") for piece in pieces if piece.strip()]


def _has_clue(text: str) -> bool:
    return parse_problem(text).has_place


def parse_problem(text: str) -> ErrorClue:
    """Read the clues out of one problem's text (see `ErrorClue`)."""
    line = column = offset = None
    for pattern in _LINE_AND_COLUMN:
        # The last pair: .NET and libxml2 name other places first and the error's own last.
        pairs = [(int(m.group(1)), int(m.group(2))) for m in pattern.finditer(text)]
        if pairs:
            line, column = pairs[-1]
            break
    else:
        for pattern in _LINE_ONLY:
            found = pattern.search(text)
            if found:
                line = int(found.group(1))
                break
        else:
            found = _OFFSET.search(text)
            if found:
                offset = int(found.group(1))
    xpath = attribute = element = None
    path_match = _XPATH.search(text)
    if path_match:
        xpath = path_match.group("path")
        attribute = path_match.group("attribute")
    for pattern in _ELEMENT_PATTERNS:
        found = pattern.search(text)
        if found:
            element = found.group(1)
            break
    if attribute is None:
        for pattern in _ATTRIBUTE_PATTERNS:
            found = pattern.search(text)
            if found:
                attribute = found.group(1)
                break
    return ErrorClue(text, line, column or None, offset, xpath, element, attribute)


def parse_error_message(message: str) -> list[ErrorClue]:
    """One `ErrorClue` per problem in the platform's message, in the message's order."""
    return [parse_problem(piece) for piece in split_problems(message)]


# ---------------------------------------------------------------- error bodies


@dataclass(frozen=True)
class ErrorBody:
    """A saved or received error: the platform's ``message`` and, if known, its HTTP status."""

    message: str
    status: int | None = None


def read_error_body(data: bytes | str) -> ErrorBody:
    """The message of an API error body: the JSON envelope's ``message``, else the text itself."""
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    text = text.lstrip("\ufeff")
    try:
        parsed = json.loads(text)
    except ValueError:
        return ErrorBody(text.strip())
    if isinstance(parsed, dict):
        status = parsed.get("status")
        message = parsed.get("message")
        if message is None and isinstance(parsed.get("error"), dict):
            message = parsed["error"].get("message")
        if message is None:
            message = parsed.get("error") or parsed.get("detail")
        if isinstance(message, str):
            return ErrorBody(message, status if isinstance(status, int) else None)
        if message is not None:
            return ErrorBody(json.dumps(message), status if isinstance(status, int) else None)
    if isinstance(parsed, str):
        return ErrorBody(parsed)
    return ErrorBody(text.strip())


# ---------------------------------------------------------------- mapping to the source


def map_error_message(message: str, document: Document | None) -> list[Diagnostic]:
    """Diagnostics for the platform's message, each at the author's location when possible.

    Without a document every diagnostic is unlocated (``<api>``); with one, each clue is
    mapped through the document's source map. The platform's text is kept in every message.
    """
    clues = parse_error_message(message) or [ErrorClue(message.strip() or "(empty message)")]
    index = _Index(document) if document is not None else None
    return [_diagnostic(clue, document, index) for clue in clues]


class _Index:
    """What the clues ask of a document, computed once per message (not once per clue)."""

    def __init__(self, document: Document) -> None:
        self.document = document
        # Lines as callflow counts them (CR, LF and CRLF alike), not as libxml2 does.
        self.lines = len(document.spans().line_starts)
        self.written: list[tuple[int, etree._Element]] = [
            (document.position(el)[0] or el.sourceline or 0, el) for el in document.iter_elements()
        ]
        self.written.sort(key=lambda pair: pair[0])  # stable: document order within a line
        self._line_keys = [line for line, _ in self.written]
        self.by_tag: dict[str, list[etree._Element]] = {}
        self.attributes: set[str] = set()
        for element in document.iter_elements():
            self.by_tag.setdefault(str(element.tag), []).append(element)
            self.attributes.update(str(name) for name in element.attrib)

    def on_line(self, line: int) -> list[etree._Element]:
        low = bisect.bisect_left(self._line_keys, line)
        high = bisect.bisect_right(self._line_keys, line)
        return [element for _, element in self.written[low:high]]

    def last_before(self, line: int) -> etree._Element | None:
        low = bisect.bisect_left(self._line_keys, line)
        return self.written[low - 1][1] if low > 0 else None


def _words(text: str) -> str:
    return " ".join(text.split())


def _diagnostic(clue: ErrorClue, document: Document | None, index: _Index | None) -> Diagnostic:
    said = f"rejected by the platform: {_words(clue.text)}"
    if document is None or index is None:
        return Diagnostic(
            CODE_UNLOCATED,
            Severity.ERROR,
            said,
            SourceLocation("<api>", 1, None),
            hint="give the source of the flow to map this message to its lines",
        )
    line, column = clue.line, clue.column
    if line is None and clue.offset is not None:
        line, column = offset_line_column(document.text, clue.offset)
    if line is not None and 0 < line <= index.lines:
        return _at_line(document, index, clue, said, line, column)
    if clue.xpath is not None:
        element = _element_at_path(document, clue.xpath)
        if element is not None:
            attribute = _attribute_on(element, clue.attribute)
            return Diagnostic(
                CODE_BY_PATH,
                Severity.ERROR,
                said,
                document.locate(element, attribute),
                xpath=document.xpath_of(element),
                hint=f"the platform named the element {clue.xpath}",
            )
    names = clue
    if clue.element is None and clue.attribute is None:
        names = _bare_names(index, clue)
    named = _elements_named(index, names)
    if named:
        element = named[0]
        attribute = _attribute_on(element, names.attribute)
        what = _describe_name(element, attribute)
        more = f"; it is the first of {len(named)} such elements" if len(named) > 1 else ""
        return Diagnostic(
            CODE_BY_NAME,
            Severity.ERROR,
            said,
            document.locate(element, attribute),
            xpath=document.xpath_of(element),
            hint=f"the platform named {what} but not where{more}",
        )
    return Diagnostic(
        CODE_UNLOCATED,
        Severity.ERROR,
        said,
        document.source_map.whole_document(),
        hint="the platform's message names no line, element or attribute of this document",
    )


def _at_line(
    document: Document, index: _Index, clue: ErrorClue, said: str, line: int, column: int | None
) -> Diagnostic:
    element = _element_on_line(index, line, clue.element)
    hint = f"the platform reported line {line}" + (
        f", column {column}" if column is not None else ""
    )
    hint += " of the XML it received"
    if element is None:
        return Diagnostic(
            CODE_BY_LINE, Severity.ERROR, said, document.locate_line(line, column), hint=hint
        )
    xpath = document.xpath_of(element)
    attribute = _attribute_on(element, clue.attribute)
    if document.position(element)[0] == line and (attribute is not None or column is None):
        location = document.locate(element, attribute)
    else:
        location = document.source_map.resolve(line, column, xpath)
    return Diagnostic(CODE_BY_LINE, Severity.ERROR, said, location, xpath=xpath, hint=hint)


def _element_on_line(index: _Index, line: int, tag: str | None) -> etree._Element | None:
    """The element written on ``line`` (the named tag if there is one), else the one open there."""
    starting = index.on_line(line)
    if tag is not None:
        tagged = [el for el in starting if el.tag == tag]
        if tagged:
            return tagged[0]
    if starting:
        return starting[-1] if tag is None else starting[0]
    return index.last_before(line)


def _element_at_path(document: Document, path: str) -> etree._Element | None:
    try:
        found = document.root.getroottree().xpath(path)
    except etree.XPathError:
        found = None
    if isinstance(found, list) and found and isinstance(found[0], etree._Element):
        return found[0]
    # Some platforms number every step ("/Response[1]/Say[3]"); others leave the root out.
    steps = [step for step in path.split("/") if step]
    if steps and steps[0].split("[")[0] != document.root.tag:
        return _element_at_path(document, "/" + str(document.root.tag) + path)
    return None


def _elements_named(index: _Index, clue: ErrorClue) -> list[etree._Element]:
    if clue.element is None and clue.attribute is None:
        return []
    if clue.element is not None:
        candidates = index.by_tag.get(clue.element, [])
    else:
        candidates = [element for _, element in index.written]
    found = []
    for element in candidates:
        if clue.element is not None and element.tag != clue.element:
            continue
        if clue.attribute is not None and clue.attribute not in element.attrib:
            if clue.element is None:
                continue
            found.append((1, element))  # the element, without the attribute: a weaker match
            continue
        found.append((0, element))
    best = min((rank for rank, _ in found), default=None)
    return [element for rank, element in found if rank == best]


def _bare_names(index: _Index, clue: ErrorClue) -> ErrorClue:
    """A clue from words of the message that are tags or attribute names of this document."""
    tags = index.by_tag
    attributes = index.attributes
    element = attribute = None
    for word in _WORD.findall(clue.text):
        if element is None and word in tags:
            element = word
        elif attribute is None and word in attributes and len(word) > 2:
            attribute = word
    return ErrorClue(clue.text, element=element, attribute=attribute)


def _attribute_on(element: etree._Element, name: str | None) -> str | None:
    """``name`` if ``element`` carries that attribute (so its column can be shown)."""
    return name if name is not None and name in element.attrib else None


def _describe_name(element: etree._Element, attribute: str | None) -> str:
    if attribute is not None:
        return f"the attribute '{attribute}' of <{element.tag!s}>"
    return f"<{element.tag!s}>"
