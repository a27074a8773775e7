"""The spans of a Document's text: one tokenizer finds where each tag and attribute is written.

`TextSpans` scans a text once (on the common path, only as far as someone asks), and gives a
`TagSpan` per start tag, in document order, and the line and column of an offset.
`callflow.document.Document` owns one per text; `callflow.fix` edits the author's text by them.
"""

from __future__ import annotations

import itertools
import re
import weakref
from collections.abc import Iterator

from callflow._text import line_column, line_starts

#: Line numbers asked of a text one by one before the table of line starts is made.
_DIRECT_LOOKUPS = 8


#: The one tokenizer of XML text in callflow: comments, CDATA, processing instructions and
#: the DOCTYPE are skipped whole; start tags give their name and attributes, end tags their name.
#: The attributes' quantifiers are possessive: giving characters back could never complete a
#: tag (none of them is a '>'), and not keeping the places to give back halves the scan's cost.
_TOKEN = re.compile(
    r"<!--.*?-->"
    r"|<!\[CDATA\[.*?\]\]>"
    r"|<\?.*?\?>"
    r"|<!DOCTYPE(?:[^\[>]|\[.*?\])*>"
    r"|</\s*(?P<end>[^\s>]+)\s*>"
    r"""|<(?P<name>[^\s/>!?]+)(?P<attrs>(?:[^>"'/]++|/(?!>)|"[^"]*+"|'[^']*+')*+)(?P<slash>/?)>""",
    re.DOTALL,
)
#: The start-tag alternative of `_TOKEN` alone: the same matches, in a text that holds no
#: comment, CDATA section, processing instruction or DOCTYPE whose content could look like a tag.
_START_TAG = re.compile(
    r"""<(?P<name>[^\s/>!?]+)(?P<attrs>(?:[^>"'/]++|/(?!>)|"[^"]*+"|'[^']*+')*+)(?P<slash>/?)>"""
)
_ATTRIBUTE = re.compile(r"""\s+(?P<name>[^\s=/>]+)\s*=\s*(?P<value>"[^"]*"|'[^']*')""")


class TagSpan:
    """Where one element is written: its start tag, attributes and end tag, as offsets.

    ``attributes`` (name -> (name offset, end of value, quote char)) is read from the start
    tag on first use: most tags are never asked about their attributes. So is the end tag
    (``end``, ``end_name``): pairing end tags with start tags takes a scan of the whole text,
    which locating a finding never needs (only `callflow.fix` does).
    """

    __slots__ = (
        "_attributes",
        "_attrs_end",
        "_attrs_start",
        "_end",
        "_end_name",
        "_index",
        "_spans",
        "_text",
        "name",
        "name_end",
        "start",
        "start_end",
    )

    def __init__(
        self,
        name: str,
        start: int,
        name_end: int,
        start_end: int,
        text: str,
        attrs_end: int,
        *,
        spans: TextSpans | None = None,
        index: int = 0,
    ) -> None:
        self.name = name
        self.start = start  # the '<'
        self.name_end = name_end
        self.start_end = start_end  # just after the start tag's '>'
        self._text = text
        self._attrs_start = name_end
        self._attrs_end = attrs_end
        self._attributes: dict[str, tuple[int, int, str]] | None = None
        # Where the end tag is looked up (None: there is none). A weak reference: the
        # document's spans hold this span, and a cycle would keep every located document's
        # text alive while the collector is paused (a batch pauses it for a whole share).
        self._spans = None if spans is None else weakref.ref(spans)
        self._index = index
        self._end = start_end
        self._end_name: tuple[int, int] | None = None

    def __repr__(self) -> str:
        return f"TagSpan(<{self.name}> {self.start}:{self.end})"

    def _pair(self) -> None:
        reference, self._spans = self._spans, None
        if reference is not None:
            # The document's scan, or the same scan made again if its spans have gone.
            spans = reference()
            if spans is None:  # (not `or`: a TextSpans's truth is its length, a full scan)
                spans = TextSpans(self._text)
            match = spans._end_of(self._index)
            if match is not None:
                self._end = match.end()
                self._end_name = (match.start("end"), match.end("end"))

    @property
    def end(self) -> int:
        """Just after the end tag (a self-closing tag, or one never closed: the start tag)."""
        if self._spans is not None:
            self._pair()
        return self._end

    @property
    def end_name(self) -> tuple[int, int] | None:
        """Where the name in the end tag is written (None without an end tag)."""
        if self._spans is not None:
            self._pair()
        return self._end_name

    @property
    def attributes(self) -> dict[str, tuple[int, int, str]]:
        """Each attribute written in the start tag: (name offset, end of value, quote)."""
        if self._attributes is None:
            self._attributes = {
                found.group("name"): (found.start("name"), found.end("value"), found["value"][0])
                for found in _ATTRIBUTE.finditer(self._text, self._attrs_start, self._attrs_end)
            }
        return self._attributes

    @property
    def attributes_end(self) -> int:
        """Where a new attribute goes: after the last one (or after the tag name)."""
        return max((end for _, end, _ in self.attributes.values()), default=self.name_end)


class TextSpans:
    """One scan of a Document's text: a `TagSpan` per start tag, in order, and line starts.

    ``balanced`` says whether every end tag closed the start tag open before it (the text
    is then exactly the tree, tag for tag). The scan keeps only the tokenizer's matches; a
    `TagSpan` is made when its tag is asked about (`tag`), and the line starts when a
    position is, so a document with one finding pays for one tag, not for all of them.
    """

    __slots__ = (
        "__weakref__",
        "_all",
        "_balanced",
        "_ends",
        "_line_starts",
        "_lookups",
        "_matches",
        "_pending",
        "_spans",
        "_text",
    )

    def __init__(self, text: str) -> None:
        self._text = text
        self._line_starts: list[int] | None = None
        self._lookups = 0
        self._spans: dict[int, TagSpan] = {}
        self._ends: dict[int, re.Match[str]] | None = None
        self._balanced: bool | None = None
        self._all: list[TagSpan] | None = None
        self._matches: list[re.Match[str]] = []
        #: The start tags not yet found, on the fast path: found as far as someone asks.
        self._pending: Iterator[re.Match[str]] | None = None
        if "<!" not in text and text.find("<?", 1) < 0:
            # Nothing to skip (no comment, CDATA, DOCTYPE, or processing instruction past
            # the declaration): the start tags are found without a loop in Python, as far
            # as the last one asked about, and end tags are paired only if someone asks
            # (`balanced`, a span's ``end``).
            self._pending = _START_TAG.finditer(text)
        else:
            self._scan()

    def _found(self, index: int) -> bool:
        """Whether the text holds an ``index``-th start tag (found now if need be)."""
        matches = self._matches
        pending = self._pending
        if pending is not None and index >= len(matches):
            if index == len(matches):
                match = next(pending, None)
                if match is not None:
                    matches.append(match)
                    return True
            else:
                matches.extend(itertools.islice(pending, index + 1 - len(matches)))
            if index >= len(matches):
                self._pending = None  # every start tag is found
        return 0 <= index < len(matches)

    def _scan(self) -> None:
        text = self._text
        matches: list[re.Match[str]] = []  # the start tags' matches, in document order
        ends: dict[int, re.Match[str]] = {}  # a start tag's index -> its end tag's match
        balanced = True
        open_tags: list[tuple[str, int]] = []
        for match in _TOKEN.finditer(text):
            name, end = match.group("name", "end")
            if name is not None:
                # A '/' just before the closing '>' is always the self-closing slash: the
                # attributes never end with one.
                if text[match.end() - 2] != "/":
                    open_tags.append((name, len(matches)))
                matches.append(match)
            elif end is not None:
                if not open_tags or open_tags[-1][0] != end:
                    balanced = False
                    continue
                ends[open_tags.pop()[1]] = match
        self._balanced = balanced and not open_tags
        self._matches = matches
        self._pending = None
        self._ends = ends

    @property
    def balanced(self) -> bool:
        """Whether every end tag closed the start tag open before it."""
        if self._balanced is None:
            self._scan()
        assert self._balanced is not None
        return self._balanced

    def _end_of(self, index: int) -> re.Match[str] | None:
        if self._ends is None:
            self._scan()
        assert self._ends is not None
        return self._ends.get(index)

    def __len__(self) -> int:
        """How many start tags the text holds."""
        if self._pending is not None:
            self._matches.extend(self._pending)
            self._pending = None
        return len(self._matches)

    def tag_at(self, index: int) -> TagSpan | None:
        """The `TagSpan` of the ``index``-th start tag, or None if the text holds fewer."""
        return self.tag(index) if self._found(index) else None

    def tag(self, index: int) -> TagSpan:
        """The `TagSpan` of the ``index``-th start tag (0-based, document order)."""
        span = self._spans.get(index)
        if span is None:
            if not self._found(index):
                raise IndexError(index)
            match = self._matches[index]
            span = TagSpan(
                match.group("name"),
                match.start(),
                match.end("name"),
                match.end(),
                self._text,
                match.end("attrs"),
                spans=self,
                index=index,
            )
            self._spans[index] = span
        return span

    def place(
        self, index: int, attribute: str | None = None, *, text: bool = False
    ) -> tuple[str, int] | None:
        """The ``index``-th start tag's name, and the offset a finding about it points at:
        its name (after the '<'), ``attribute``'s name where it is written, or, with
        ``text``, just after the tag. None if the text holds fewer start tags. The offsets
        its `TagSpan` gives; a tag's own place is read from the tokenizer's match without
        making one (an attribute's is looked up in the span's table of them, read once)."""
        if attribute is not None:
            span = self.tag_at(index)
            if span is None:
                return None
            found = span.attributes.get(attribute)
            return span.name, span.start + 1 if found is None else found[0]
        span = self._spans.get(index)
        if span is not None:
            return span.name, span.start_end if text else span.start + 1
        if not self._found(index):
            return None
        match = self._matches[index]
        return match.group("name"), match.end() if text else match.start() + 1

    @property
    def tags(self) -> list[TagSpan]:
        """Every start tag's `TagSpan`, in document order (one list, made once)."""
        if self._all is None:
            self._all = [self.tag(index) for index in range(len(self))]
        return self._all

    @property
    def line_starts(self) -> list[int]:
        """The offset where each line of the text starts."""
        if self._line_starts is None:
            self._line_starts = line_starts(self._text)
        return self._line_starts

    def line_column(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset."""
        text = self._text
        if self._line_starts is None and self._lookups < _DIRECT_LOOKUPS and "\r" not in text:
            # A few look-ups are cheaper counted in place than a table of every line; the
            # table bounds the cost of many.
            self._lookups += 1
            before = max(0, offset)
            return text.count("\n", 0, before) + 1, offset - text.rfind("\n", 0, before)
        return line_column(self.line_starts, offset)
