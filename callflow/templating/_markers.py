"""Output-line source mapping for templates: invisible markers in, a `SourceMap` out.

Jinja's ``debug_info`` maps lines of the *compiled Python code* to template lines; nothing
maps lines of the *rendered text*. `LineMarkerExtension` rewrites the token stream at
compile time so that the rendered text carries invisible markers: one before every piece
of template text (one per template line), one before every ``{{ … }}`` output, and frame
markers around macro bodies, ``{% call %}`` bodies, blocks and includes. Markers are
control characters that XML 1.0 forbids and that values can never contain (the renderer
refuses or strips them in values), so they are unambiguous. After rendering, `strip_markers`
removes them (one regex pass); `TemplateSourceMap` decodes them only when a diagnostic
actually asks where something came from, so a successful render pays almost nothing.

The markers are part of what a macro returns, so a filter that measures or trims a macro's
output (``{{ m()|length }}``, ``{{ m()|trim }}``) sees them; values are never affected.
"""

from __future__ import annotations

import bisect
import os
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from jinja2.ext import Extension
from jinja2.lexer import TOKEN_RAW_BEGIN, TOKEN_RAW_END, Token, TokenStream, ignored_tokens

from callflow.sourcemap import SourceLocation, SourceMap

if TYPE_CHECKING:
    from jinja2 import Environment

# SOH and STX: XML 1.0 forbids them, and unlike \x1c-\x1f they are neither line breaks
# for str.splitlines() (the `indent` filter) nor whitespace for str.strip() (`trim`).
MARK_START = "\x01"
MARK_END = "\x02"
MARKER = re.compile("\x01[^\x02]*\x02")
_NEWLINE = re.compile(r"(\r\n|\r|\n)")


def strip_markers(marked: str) -> str:
    """The rendered text as the author meant it: every marker removed."""
    if MARK_START not in marked:
        return marked
    return MARKER.sub("", marked)


class FileTable:
    """Numbers the template files of one environment; markers carry the number, not the path."""

    def __init__(self, display: Callable[[str], str]) -> None:
        self._display = display
        #: Folder of the bundled library; its files are shown as callflow/NAME in chains.
        self.library_root: str | None = None
        self._lock = threading.Lock()
        self._ids: dict[str, int] = {}
        self._filenames: list[str] = []
        self._overrides: dict[str, str] = {}
        self._payloads: list[str] = []
        self._payload_ids: dict[str, int] = {}

    def marker(self, payload: str) -> str:
        """The marker text for ``payload``: a short number standing for it (keeps output small)."""
        with self._lock:
            found = self._payload_ids.get(payload)
            if found is None:
                found = self._payload_ids[payload] = len(self._payloads)
                self._payloads.append(payload)
        return f"{MARK_START}{found:x}{MARK_END}"

    def payload(self, marker_body: str) -> str:
        """What a marker stands for; "" for a marker a filter has mangled (it is skipped)."""
        try:
            return self._payloads[int(marker_body, 16)]
        except (ValueError, IndexError):
            return ""

    def id_for(self, filename: str) -> int:
        with self._lock:
            found = self._ids.get(filename)
            if found is None:
                found = self._ids[filename] = len(self._filenames)
                self._filenames.append(filename)
            return found

    def show_as(self, filename: str, shown: str) -> None:
        """Show ``filename`` as ``shown`` in locations (the path as the user typed it)."""
        if self._overrides.get(filename) == shown:
            return  # the usual case, a template rendered again: no lock taken
        with self._lock:
            self._overrides[filename] = shown

    def library_name(self, file_id: int) -> str | None:
        """``callflow/NAME`` for a file of the bundled library, else None."""
        filename = self._filenames[file_id]
        return self.chain_name(filename) if self.is_library(filename) else None

    def is_library(self, filename: str) -> bool:
        root = self.library_root
        return root is not None and filename.startswith(root.rstrip(os.sep) + os.sep)

    def chain_name(self, filename: str) -> str:
        """How a file appears in a chain: ``callflow/NAME`` for library files."""
        if self.is_library(filename) and self.library_root is not None:
            return "callflow/" + os.path.relpath(filename, self.library_root).replace(os.sep, "/")
        return self.display_filename(filename)

    def knows(self, filename: str) -> bool:
        """Whether ``filename`` is a template this environment compiled."""
        return filename in self._ids

    def display(self, file_id: int) -> str:
        filename = self._filenames[file_id]
        return self._overrides.get(filename) or self._display(filename)

    def display_filename(self, filename: str) -> str:
        return self._overrides.get(filename) or self._display(filename)


# ---------------------------------------------------------------- compile time


class LineMarkerExtension(Extension):
    """Jinja extension that plants source markers in the text a template renders.

    Markers are skipped inside ``{% set %}…{% endset %}`` and ``{% filter %}`` bodies,
    whose text becomes a value rather than output; that text maps to the tag's line.
    """

    priority = 10_000  # last, so that it sees the final source and token stream

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        self.files = FileTable(_default_display)
        self._pending = threading.local()

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        # filter_stream sees tokens but not the source; keep it for exact columns.
        self._pending.source = (name, filename, source)
        return source

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        pending = getattr(self._pending, "source", None)
        self._pending.source = None
        source = pending[2] if pending and pending[:2] == (stream.name, stream.filename) else None
        file_id = self.files.id_for(stream.filename or stream.name or "<template>")
        tokens = list(stream)
        offsets: list[int] | None = None
        line_starts: list[int] = [0]
        if source is not None:
            normalized = self._normalize(source)
            offsets = self._offsets(source, normalized, stream.name, stream.filename)
            if len(offsets) != len(tokens):
                offsets = None
            line_starts += [m.end() for m in re.finditer("\n", normalized)]
        yield from _MarkingPass(self.files, file_id, tokens, offsets, line_starts).run()

    def _normalize(self, source: str) -> str:
        lines = _NEWLINE.split(source)[::2]
        if not self.environment.keep_trailing_newline and lines[-1] == "":
            del lines[-1]
        return "\n".join(lines)

    def _offsets(
        self, source: str, normalized: str, name: str | None, filename: str | None
    ) -> list[int]:
        """Source offset of every token the parser sees (the lexer's own walk, re-traced)."""
        offsets: list[int] = []
        position = 0
        for _, kind, value in self.environment.lexer.tokeniter(source, name, filename):
            found = normalized.find(value, position)
            if found < 0:
                return []
            position = found + len(value)
            if kind in ignored_tokens or kind in (TOKEN_RAW_BEGIN, TOKEN_RAW_END):
                continue
            offsets.append(found)
        return offsets


def _default_display(filename: str) -> str:
    try:
        relative = os.path.relpath(filename)
    except ValueError:
        return filename
    return filename if relative.startswith("..") else relative


class _MarkingPass:
    """One walk over a template's tokens, inserting marker text as data tokens."""

    def __init__(
        self,
        files: FileTable,
        file_id: int,
        tokens: Sequence[Token],
        offsets: Sequence[int] | None,
        line_starts: Sequence[int],
    ) -> None:
        self.files = files
        self.file_id = file_id
        self.tokens = tokens
        self.offsets = offsets
        self.line_starts = line_starts
        self.skip_depth = 0  # inside {% set %}/{% filter %} bodies: text becomes a value
        self.blocks: list[bool] = []  # open {% block %} tags: True when it takes markers

    def where(self, index: int) -> tuple[int, int]:
        """(line, column) of token ``index``; column 0 when unknown."""
        token = self.tokens[index]
        if self.offsets is None:
            return token.lineno, 0
        offset = self.offsets[index]
        line = bisect.bisect_right(self.line_starts, offset)
        return line, offset - self.line_starts[line - 1] + 1

    def mark(self, kind: str, index: int) -> Token:
        line, column = self.where(index)
        return Token(
            self.tokens[index].lineno,
            "data",
            self.files.marker(f"{kind}{self.file_id}.{line}.{column}"),
        )

    def frame(self, lineno: int, payload: str) -> Token:
        return Token(lineno, "data", self.files.marker(payload))

    def data(self, index: int) -> Token:
        token = self.tokens[index]
        line, column = self.where(index)
        pieces = token.value.split("\n")
        marked = []
        for number, piece in enumerate(pieces):
            if piece.strip():
                col = column if number == 0 else 1
                piece = self.files.marker(f"d{self.file_id}.{line + number}.{col}") + piece.replace(
                    MARK_START, "\x1b"
                ).replace(MARK_END, "\x1b")
            marked.append(piece)
        return Token(token.lineno, "data", "\n".join(marked))

    def run(self) -> Iterator[Token]:
        tokens = self.tokens
        index = 0
        while index < len(tokens):
            token = tokens[index]
            if token.type == "block_begin":
                end = self.statement_end(index)
                yield from self.statement(index, tokens[index : end + 1])
                index = end + 1
                continue
            if token.type == "data":
                yield self.data(index) if self.skip_depth == 0 else token
            elif token.type == "variable_begin":
                if self.skip_depth == 0 and not self.follows_text(index):
                    yield self.mark("e", index)
                yield token
            else:
                yield token
            index += 1

    def follows_text(self, index: int) -> bool:
        """Whether text right before ``{{`` on the same line already marks where the value starts.

        Its segment's column runs up to the ``{{``; otherwise the value gets its own marker.
        """
        previous = self.tokens[index - 1] if index else None
        return (
            previous is not None
            and previous.type == "data"
            and previous.value.rpartition("\n")[2].strip() != ""
            and previous.value[-1:] not in (" ", "\t")
        )

    def statement_end(self, index: int) -> int:
        """Index of the ``%}`` that closes the statement opened at ``index``."""
        end = index
        while end < len(self.tokens) and self.tokens[end].type != "block_end":
            end += 1
        return end

    def statement(self, index: int, statement: Sequence[Token]) -> Iterator[Token]:
        """The statement's tokens, with the markers its tag takes before and after them."""
        name = self.tokens[index + 1].value if len(statement) > 1 else None
        handler = _ALWAYS.get(name) or (_ACTIVE if self.skip_depth == 0 else _SKIPPED).get(name)
        before, after = handler(self, index, statement) if handler else _NO_MARKS
        yield from before
        yield from statement
        yield from after

    # One handler per statement tag: (markers before the statement, markers after it).

    def set_tag(self, index: int, statement: Sequence[Token]) -> _Marks:
        if not any(t.type == "assign" for t in statement):
            self.skip_depth += 1  # a {% set x %}…{% endset %} body is a value
        return _NO_MARKS

    def filter_tag(self, index: int, statement: Sequence[Token]) -> _Marks:
        before = [self.mark("t", index)] if self.skip_depth == 0 else []
        self.skip_depth += 1
        return before, []

    def end_value_tag(self, index: int, statement: Sequence[Token]) -> _Marks:
        self.skip_depth = max(0, self.skip_depth - 1)
        return _NO_MARKS

    def skipped_block_tag(self, index: int, statement: Sequence[Token]) -> _Marks:
        self.blocks.append(False)
        return _NO_MARKS

    def skipped_endblock_tag(self, index: int, statement: Sequence[Token]) -> _Marks:
        if self.blocks:
            self.blocks.pop()
        return _NO_MARKS

    def include_tag(self, index: int, statement: Sequence[Token]) -> _Marks:
        lineno = self.tokens[index].lineno
        line, column = self.where(index)
        return [self.frame(lineno, f"i{self.file_id}.{line}.{column}")], [self.frame(lineno, "x")]

    def call_tag(self, index: int, statement: Sequence[Token]) -> _Marks:
        line, column = self.where(index)
        body = self.frame(self.tokens[index].lineno, f"c{self.file_id}.{line}.{column}")
        return [self.mark("t", index)], [body]

    def end_body_tag(self, index: int, statement: Sequence[Token]) -> _Marks:
        return [self.frame(self.tokens[index].lineno, "x")], []

    def macro_tag(self, index: int, statement: Sequence[Token]) -> _Marks:
        if len(statement) <= 2:
            return _NO_MARKS
        return [], [self.frame(self.tokens[index].lineno, f"m{statement[2].value}")]

    def block_tag(self, index: int, statement: Sequence[Token]) -> _Marks:
        if len(statement) <= 2:
            return _NO_MARKS
        takes_markers = not any(t.type == "name" and t.value == "required" for t in statement[3:])
        self.blocks.append(takes_markers)
        if not takes_markers:
            return _NO_MARKS
        body = self.frame(self.tokens[index].lineno, f"b{self.file_id}.{statement[2].value}")
        return [self.mark("t", index)], [body]

    def endblock_tag(self, index: int, statement: Sequence[Token]) -> _Marks:
        if self.blocks and self.blocks.pop():
            return [self.frame(self.tokens[index].lineno, "x")], []
        return _NO_MARKS


_Marks = tuple[Sequence[Token], Sequence[Token]]
_StatementHandler = Callable[[_MarkingPass, int, Sequence[Token]], _Marks]
_NO_MARKS: _Marks = ((), ())

#: Tags that open or close a value body: handled whether or not markers are being planted.
_ALWAYS: dict[str | None, _StatementHandler] = {
    "set": _MarkingPass.set_tag,
    "filter": _MarkingPass.filter_tag,
    "endset": _MarkingPass.end_value_tag,
    "endfilter": _MarkingPass.end_value_tag,
}
#: Tags that take markers, outside value bodies.
_ACTIVE: dict[str | None, _StatementHandler] = {
    "include": _MarkingPass.include_tag,
    "call": _MarkingPass.call_tag,
    "endcall": _MarkingPass.end_body_tag,
    "endmacro": _MarkingPass.end_body_tag,
    "macro": _MarkingPass.macro_tag,
    "block": _MarkingPass.block_tag,
    "endblock": _MarkingPass.endblock_tag,
}
#: Inside a value body no marker is planted, but blocks still open and close.
_SKIPPED: dict[str | None, _StatementHandler] = {
    "block": _MarkingPass.skipped_block_tag,
    "endblock": _MarkingPass.skipped_endblock_tag,
}


# ---------------------------------------------------------------- after rendering


class _Frame:
    __slots__ = ("active", "body_file", "kind", "name", "site")

    def __init__(
        self,
        kind: str,
        name: str,
        site: SourceLocation | None,
        active: _Segment | None,
        body_file: str | None = None,
    ) -> None:
        self.kind = kind
        self.name = name
        self.site = site
        self.active = active
        self.body_file = body_file


class _Segment:
    """A run of output that starts at (line, column) and came from one template place."""

    __slots__ = (
        "chain",
        "column",
        "file",
        "literal",
        "redirect",
        "source_column",
        "source_line",
    )

    def __init__(
        self,
        column: int,
        file: str,
        source_line: int,
        source_column: int,
        literal: bool,
        chain: tuple[str, ...],
    ) -> None:
        self.column = column
        self.file = file
        self.source_line = source_line
        self.source_column = source_column
        self.literal = literal
        self.chain = chain
        #: For text from a library macro: the user's line that called it (what they edit).
        self.redirect: SourceLocation | None = None

    def location(self, column: int | None = None) -> SourceLocation:
        if self.redirect is not None:
            return self.redirect
        source_column: int | None = self.source_column or None
        if source_column is not None and self.literal and column is not None:
            source_column += column - self.column
        return SourceLocation(self.file, self.source_line, source_column, self.chain)


def _site(segment: _Segment | None) -> str:
    return "?" if segment is None else f"{segment.file}:{segment.source_line}"


class TemplateSourceMap(SourceMap):
    """The source map of a rendered template, decoded from its markers on first use.

    Resolving a (line, column) of the rendered XML gives the template file, line and
    column that produced it, with the way there as a chain ("in macro `x`", "called from
    ivr.xml.j2:12"). ``lines`` maps every output line to the place that produced its
    first non-blank character.
    """

    __slots__ = ("_decoded", "_extra_chain", "_files", "_marked", "_positions", "_segments")

    def __init__(
        self, file: str, marked: str, files: FileTable, extra_chain: tuple[str, ...] = ()
    ) -> None:
        self._decoded: dict[int, SourceLocation] | None = None  # the line map, once built
        self._marked = marked
        self._files = files
        self._extra_chain = extra_chain
        self._positions: list[tuple[int, int]] = []
        self._segments: list[_Segment] = []
        super().__init__(file, identity=False)

    @property
    def lines(self) -> dict[int, SourceLocation]:
        if self._decoded is None:
            self._decode_segments()
            clean = strip_markers(self._marked).split("\n")
            self._decoded = {
                number: self._line_location(text, number)
                for number, text in enumerate(clean, start=1)
            }
        return self._decoded

    @lines.setter
    def lines(self, value: dict[int, SourceLocation]) -> None:
        # SourceMap.__init__ assigns an empty map; the real one is decoded lazily.
        if value:
            self._decoded = dict(value)

    def resolve(
        self, line: int | None, column: int | None = None, xpath: str | None = None
    ) -> SourceLocation:
        if xpath is not None and xpath in self.elements:
            return self.elements[xpath]
        if line is None:
            return self.whole_document()
        self._decode_segments()
        if column is None:
            if self._decoded is not None and line in self._decoded:
                return self._decoded[line]
            texts = strip_markers(self._marked).split("\n")
            return self._line_location(texts[line - 1] if 0 < line <= len(texts) else "", line)
        return self._at(line, column)

    def _line_location(self, text: str, line: int) -> SourceLocation:
        """Where the first non-blank character of output line ``line`` (``text``) came from."""
        blank = len(text) - len(text.lstrip())
        return self._at(line, blank + 1 if blank < len(text) else 1)

    def _at(self, line: int, column: int) -> SourceLocation:
        index = bisect.bisect_right(self._positions, (line, column)) - 1
        if index < 0:
            return self.whole_document()
        segment = self._segments[index]
        if self._positions[index][0] != line:
            return segment.location(None)  # a later line of a multi-line value or tag output
        return segment.location(column)

    def _decode_segments(self) -> None:
        if self._segments or MARK_START not in self._marked:
            return
        _SegmentDecoder(self._files, self._extra_chain, self._positions, self._segments).decode(
            self._marked
        )


class _SegmentDecoder:
    """One walk over the markers of a rendered text: the segments it is made of, in order.

    Each marker kind has its handler in `_MARKER_KINDS`: text and value markers start a
    segment; frame markers (include, block, call, macro) push a frame whose way there becomes
    the chain of the segments inside; ``x`` pops the frame and resumes the text around it.
    """

    def __init__(
        self,
        files: FileTable,
        extra_chain: tuple[str, ...],
        positions: list[tuple[int, int]],
        segments: list[_Segment],
    ) -> None:
        self.files = files
        self.extra = extra_chain
        self.shown: dict[str, str] = {}
        self.library: dict[str, str] = {}  # shown name of a library file -> callflow/NAME
        self.stack: list[_Frame] = []
        self.chain_cache: tuple[str, ...] | None = extra_chain
        self.active: _Segment | None = None
        self.line, self.column = 1, 1
        self.positions = positions  # filled in place: the map's own lists
        self.segments = segments

    def decode(self, marked: str) -> None:
        position = 0
        for match in MARKER.finditer(marked):
            self.advance(marked[position : match.start()])
            position = match.end()
            payload = self.files.payload(match.group()[1:-1])
            handler = _MARKER_KINDS.get(payload[:1])
            if handler is not None:
                handler(self, payload[1:])

    def advance(self, chunk: str) -> None:
        """Move the output position past ``chunk``, the text between two markers."""
        newlines = chunk.count("\n")
        if newlines:
            self.line += newlines
            self.column = len(chunk) - chunk.rfind("\n")
        else:
            self.column += len(chunk)

    def show(self, file_id: str) -> str:
        found = self.shown.get(file_id)
        if found is None:
            found = self.shown[file_id] = self.files.display(int(file_id))
            name = self.files.library_name(int(file_id))
            if name is not None:
                self.library[found] = name
        return found

    def start(self, segment: _Segment) -> None:
        self.active = segment
        self.positions.append((self.line, self.column))
        self.segments.append(segment)

    def push(self, frame: _Frame) -> None:
        self.stack.append(frame)
        self.chain_cache = None

    # One handler per marker kind; ``body`` is the payload after its kind letter.

    def text(self, body: str, literal: bool) -> None:
        file_id, source_line, source_column = body.split(".")
        if self.chain_cache is None:
            self.chain_cache = self.chain()
        segment = _Segment(
            self.column,
            self.show(file_id),
            int(source_line),
            int(source_column),
            literal,
            self.chain_cache,
        )
        if segment.file in self.library and self.stack:
            segment.redirect = self.redirected(segment.file, segment.source_line)
        self.start(segment)

    def template_text(self, body: str) -> None:
        self.text(body, literal=True)

    def output(self, body: str) -> None:
        self.text(body, literal=False)

    def frame_end(self, body: str) -> None:
        if self.stack:
            frame = self.stack.pop()
            resumed = frame.active
            if resumed is not None and resumed is not self.active:
                self.start(
                    _Segment(
                        self.column,
                        resumed.file,
                        resumed.source_line,
                        resumed.source_column,
                        False,
                        resumed.chain,
                    )
                )
        self.chain_cache = None

    def include(self, body: str) -> None:
        file_id, source_line, _ = body.split(".")
        site = SourceLocation(self.show(file_id), int(source_line))
        self.push(_Frame("i", "", site, self.active))

    def block(self, body: str) -> None:
        file_id, _, block = body.partition(".")
        self.push(_Frame("b", block, None, self.active, self.show(file_id)))

    def call(self, body: str) -> None:
        file_id, source_line, _ = body.split(".")
        site = SourceLocation(self.show(file_id), int(source_line))
        self.push(_Frame("c", "", site, self.active))

    def macro(self, body: str) -> None:
        self.push(_Frame("m", body, None, self.active))

    # The way there.

    def chain(self) -> tuple[str, ...]:
        stack = self.stack
        steps: list[str] = []
        index = len(stack) - 1
        while index >= 0:
            frame = stack[index]
            if frame.kind == "c":
                # A {% call %} body is the caller's own text: its chain is the one of
                # the {% call %} tag, below the macro that tag called.
                index = self.below_called_macro(index) - 1
                continue
            steps += _frame_steps(frame)
            index -= 1
        return tuple(steps) + self.extra

    def below_called_macro(self, index: int) -> int:
        """Index of the macro frame that the {% call %} frame at ``index`` called (or -1)."""
        site = self.stack[index].site
        index -= 1
        while index >= 0 and not _is_call_of(self.stack[index], site):
            index -= 1
        return index

    def redirected(self, file: str, source_line: int) -> SourceLocation | None:
        """Text a library macro wrote is reported at the user's line that called it."""
        steps: list[str] = []
        where = f"{self.library[file]}:{source_line}"
        for frame in reversed(self.stack):
            site = frame.active
            if frame.kind == "c":
                return None
            if frame.kind == "i" and frame.site is not None:
                steps.append(f"in {where}")
                site_file, site_line = frame.site.file, frame.site.line
            elif site is None:
                return None
            else:
                steps.append(
                    f"in {'macro' if frame.kind == 'm' else 'block'} `{frame.name}` ({where})"
                )
                site_file, site_line = site.file, site.source_line
            if site_file not in self.library:
                return self.user_site(frame, site, site_file, site_line, steps)
            where = f"{self.library[site_file]}:{site_line}"
        return None

    def user_site(
        self, frame: _Frame, site: _Segment | None, file: str, line: int, steps: list[str]
    ) -> SourceLocation:
        """The user's own place a library frame was entered from, with the way below it."""
        column = None
        if site is not None and frame.kind == "m" and not site.literal:
            column = site.source_column or None
        site_chain = site.chain if site is not None else self.extra
        return SourceLocation(file, line, column, (*steps, *site_chain))


def _is_call_of(frame: _Frame, site: SourceLocation | None) -> bool:
    """Whether ``frame`` is the macro that the {% call %} tag at ``site`` called."""
    active = frame.active
    return (
        frame.kind == "m"
        and active is not None
        and site is not None
        and (active.file, active.source_line) == (site.file, site.line)
    )


def _macro_steps(frame: _Frame) -> list[str]:
    return [f"in macro `{frame.name}`", f"called from {_site(frame.active)}"]


def _include_steps(frame: _Frame) -> list[str]:
    site = frame.site
    return [f"included from {site.file}:{site.line}" if site else "included"]


def _block_steps(frame: _Frame) -> list[str]:
    if frame.active is None or frame.body_file == frame.active.file:
        return []  # a block of the template itself, not one it overrides
    return [f"in block `{frame.name}`", f"extending {_site(frame.active)}"]


_FRAME_STEPS: dict[str, Callable[[_Frame], list[str]]] = {
    "m": _macro_steps,
    "i": _include_steps,
    "b": _block_steps,
}


def _frame_steps(frame: _Frame) -> list[str]:
    """The chain steps one frame adds ("in macro `x`", "called from f:3")."""
    steps = _FRAME_STEPS.get(frame.kind)
    return steps(frame) if steps is not None else []


#: Marker kind letter -> the decoder's handler for the rest of its payload.
_MARKER_KINDS: dict[str, Callable[[_SegmentDecoder, str], None]] = {
    "d": _SegmentDecoder.template_text,
    "e": _SegmentDecoder.output,
    "t": _SegmentDecoder.output,
    "x": _SegmentDecoder.frame_end,
    "i": _SegmentDecoder.include,
    "b": _SegmentDecoder.block,
    "c": _SegmentDecoder.call,
    "m": _SegmentDecoder.macro,
}
