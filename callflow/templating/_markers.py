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
        skip_depth = 0  # inside {% set %}/{% filter %} bodies: text becomes a value
        blocks: list[bool] = []  # open {% block %} tags: True when it takes markers
        index = 0
        while index < len(tokens):
            token = tokens[index]
            if token.type == "data":
                yield self.data(index) if skip_depth == 0 else token
                index += 1
                continue
            if token.type == "variable_begin":
                # Text right before it on the same line already marks where the value
                # starts (its segment's column runs up to the "{{"); otherwise mark it.
                previous = tokens[index - 1] if index else None
                adjacent = (
                    previous is not None
                    and previous.type == "data"
                    and previous.value.rpartition("\n")[2].strip() != ""
                    and previous.value[-1:] not in (" ", "\t")
                )
                if skip_depth == 0 and not adjacent:
                    yield self.mark("e", index)
                yield token
                index += 1
                continue
            if token.type != "block_begin":
                yield token
                index += 1
                continue
            end = index
            while end < len(tokens) and tokens[end].type != "block_end":
                end += 1
            statement = tokens[index : end + 1]
            name = tokens[index + 1].value if len(statement) > 1 else None
            before: list[Token] = []
            after: list[Token] = []
            lineno = token.lineno
            active = skip_depth == 0
            if name == "set" and not any(t.type == "assign" for t in statement):
                skip_depth += 1
            elif name == "filter":
                if active:
                    before.append(self.mark("t", index))
                skip_depth += 1
            elif name in ("endset", "endfilter"):
                skip_depth = max(0, skip_depth - 1)
            elif not active:
                if name == "block":
                    blocks.append(False)
                elif name == "endblock" and blocks:
                    blocks.pop()
            elif name == "include":
                line, column = self.where(index)
                before.append(self.frame(lineno, f"i{self.file_id}.{line}.{column}"))
                after.append(self.frame(lineno, "x"))
            elif name == "call":
                line, column = self.where(index)
                before.append(self.mark("t", index))
                after.append(self.frame(lineno, f"c{self.file_id}.{line}.{column}"))
            elif name in ("endcall", "endmacro"):
                before.append(self.frame(lineno, "x"))
            elif name == "macro" and len(statement) > 2:
                after.append(self.frame(lineno, f"m{statement[2].value}"))
            elif name == "block" and len(statement) > 2:
                takes_markers = not any(
                    t.type == "name" and t.value == "required" for t in statement[3:]
                )
                blocks.append(takes_markers)
                if takes_markers:
                    before.append(self.mark("t", index))
                    after.append(self.frame(lineno, f"b{self.file_id}.{statement[2].value}"))
            elif name == "endblock" and blocks and blocks.pop():
                before.append(self.frame(lineno, "x"))
            yield from before
            yield from statement
            yield from after
            index = end + 1


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
        files = self._files
        extra = self._extra_chain
        shown: dict[str, str] = {}
        library: dict[str, str] = {}  # shown name of a library file -> callflow/NAME

        def show(file_id: str) -> str:
            found = shown.get(file_id)
            if found is None:
                found = shown[file_id] = files.display(int(file_id))
                name = files.library_name(int(file_id))
                if name is not None:
                    library[found] = name
            return found

        def redirected(file: str, source_line: int) -> SourceLocation | None:
            """Text a library macro wrote is reported at the user's line that called it."""
            steps: list[str] = []
            where = f"{library[file]}:{source_line}"
            for frame in reversed(stack):
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
                if site_file not in library:
                    column = None
                    if site is not None and frame.kind == "m" and not site.literal:
                        column = site.source_column or None
                    site_chain = site.chain if site is not None else extra
                    return SourceLocation(site_file, site_line, column, (*steps, *site_chain))
                where = f"{library[site_file]}:{site_line}"
            return None

        stack: list[_Frame] = []
        chain_cache: tuple[str, ...] | None = extra
        active: _Segment | None = None
        line, column = 1, 1
        position = 0
        marked = self._marked
        positions = self._positions
        segments = self._segments

        def chain() -> tuple[str, ...]:
            steps: list[str] = []
            index = len(stack) - 1
            while index >= 0:
                frame = stack[index]
                if frame.kind == "c":
                    # A {% call %} body is the caller's own text: its chain is the one of
                    # the {% call %} tag, below the macro that tag called.
                    site = frame.site
                    index -= 1
                    while index >= 0 and not (
                        stack[index].kind == "m"
                        and stack[index].active is not None
                        and site is not None
                        and (stack[index].active.file, stack[index].active.source_line)  # type: ignore[union-attr]
                        == (site.file, site.line)
                    ):
                        index -= 1
                    index -= 1
                    continue
                if frame.kind == "m":
                    steps += [f"in macro `{frame.name}`", f"called from {_site(frame.active)}"]
                elif frame.kind == "i":
                    site = frame.site
                    steps.append(f"included from {site.file}:{site.line}" if site else "included")
                elif (
                    frame.kind == "b"
                    and frame.active is not None
                    and frame.body_file != frame.active.file
                ):
                    steps += [f"in block `{frame.name}`", f"extending {_site(frame.active)}"]
                index -= 1
            return tuple(steps) + extra

        for match in MARKER.finditer(marked):
            chunk = marked[position : match.start()]
            newlines = chunk.count("\n")
            if newlines:
                line += newlines
                column = len(chunk) - chunk.rfind("\n")
            else:
                column += len(chunk)
            position = match.end()
            payload = files.payload(match.group()[1:-1])
            kind = payload[:1]
            if kind in ("d", "e", "t"):
                file_id, source_line, source_column = payload[1:].split(".")
                if chain_cache is None:
                    chain_cache = chain()
                active = _Segment(
                    column,
                    show(file_id),
                    int(source_line),
                    int(source_column),
                    kind == "d",
                    chain_cache,
                )
                if active.file in library and stack:
                    active.redirect = redirected(active.file, active.source_line)
                positions.append((line, column))
                segments.append(active)
            elif kind == "x":
                if stack:
                    frame = stack.pop()
                    if frame.active is not None and frame.active is not active:
                        active = _Segment(
                            column,
                            frame.active.file,
                            frame.active.source_line,
                            frame.active.source_column,
                            False,
                            frame.active.chain,
                        )
                        positions.append((line, column))
                        segments.append(active)
                chain_cache = None
            elif kind == "i":
                file_id, source_line, source_column = payload[1:].split(".")
                site = SourceLocation(show(file_id), int(source_line))
                stack.append(_Frame("i", "", site, active))
                chain_cache = None
            elif kind == "b":
                file_id, _, block = payload[1:].partition(".")
                stack.append(_Frame("b", block, None, active, show(file_id)))
                chain_cache = None
            elif kind == "c":
                file_id, source_line, _ = payload[1:].split(".")
                site = SourceLocation(show(file_id), int(source_line))
                stack.append(_Frame("c", "", site, active))
                chain_cache = None
            elif kind == "m":
                stack.append(_Frame(kind, payload[1:], None, active))
                chain_cache = None
