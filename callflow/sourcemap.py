"""Where the author wrote each part of a call flow: `SourceLocation` and `SourceMap`."""

from __future__ import annotations

from collections.abc import Mapping


class SourceLocation:
    """A place in a file the author edited: file, 1-based line, optional 1-based column.

    ``chain`` holds the way there, outermost last, e.g. ``("in macro `menu_option`",
    "called from ivr.xml.j2:12")`` or ``("called from flows/support.py:30",)``.
    """

    __slots__ = ("chain", "column", "file", "line")

    file: str
    line: int
    column: int | None
    chain: tuple[str, ...]

    def __init__(
        self, file: str, line: int, column: int | None = None, chain: tuple[str, ...] = ()
    ) -> None:
        object.__setattr__(self, "file", file)
        object.__setattr__(self, "line", max(1, int(line)))
        object.__setattr__(self, "column", None if column is None else max(1, int(column)))
        object.__setattr__(self, "chain", tuple(chain))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("SourceLocation is immutable")

    def _key(self) -> tuple[str, int, int, tuple[str, ...]]:
        return (self.file, self.line, self.column or 0, self.chain)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SourceLocation):
            return NotImplemented
        return self._key() == other._key()

    def __lt__(self, other: SourceLocation) -> bool:
        return self._key() < other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"SourceLocation(file={self.file!r}, line={self.line}, column={self.column!r}" + (
            f", chain={self.chain!r})" if self.chain else ")"
        )

    def __str__(self) -> str:
        """The editor form: ``path:line:col`` (or ``path:line`` without a column)."""
        if self.column is None:
            return f"{self.file}:{self.line}"
        return f"{self.file}:{self.line}:{self.column}"

    def __reduce__(self) -> tuple[type[SourceLocation], tuple[object, ...]]:
        # Immutable: rebuild through __init__ when unpickled (validate's worker processes).
        return (SourceLocation, (self.file, self.line, self.column, self.chain))

    def with_column(self, column: int | None) -> SourceLocation:
        return SourceLocation(self.file, self.line, column, self.chain)


class SourceMap:
    """Maps places in a Document's XML text back to where the author wrote them.

    Three layers, most specific first:

    * ``elements``: element path (``/Response/Gather[1]``) → location. The builder uses
      this: each element points at the ``.py`` line that created it.
    * ``lines``: 1-based line of the XML text → location. Templates use this: each
      output line points at the template line (through includes and macros).
    * identity: when the XML text *is* the author's file, line n is line n of ``file``.

    Without identity, a line with no entry resolves to the nearest mapped line above it,
    else to line 1 of ``file``.
    """

    __slots__ = ("_sorted_lines", "elements", "file", "identity", "lines")

    def __init__(
        self,
        file: str,
        *,
        identity: bool = True,
        lines: Mapping[int, SourceLocation] | None = None,
        elements: Mapping[str, SourceLocation] | None = None,
    ) -> None:
        self.file = file
        self.identity = identity
        self.lines: dict[int, SourceLocation] = dict(lines or {})
        self.elements: dict[str, SourceLocation] = dict(elements or {})
        self._sorted_lines: list[int] | None = None

    def __repr__(self) -> str:
        return (
            f"SourceMap(file={self.file!r}, identity={self.identity}, "
            f"lines={len(self.lines)}, elements={len(self.elements)})"
        )

    def resolve(
        self, line: int | None, column: int | None = None, xpath: str | None = None
    ) -> SourceLocation:
        """The author's location for a place in the XML text (line/column) or an element."""
        if xpath is not None and xpath in self.elements:
            return self.elements[xpath]
        if line is not None and line in self.lines:
            return self.lines[line]
        if line is not None and self.identity:
            return SourceLocation(self.file, line, column)
        if line is not None and self.lines:
            nearest = self._nearest_line(line)
            if nearest is not None:
                return self.lines[nearest]
        return SourceLocation(self.file, 1, None)

    def _nearest_line(self, line: int) -> int | None:
        if self._sorted_lines is None or len(self._sorted_lines) != len(self.lines):
            self._sorted_lines = sorted(self.lines)
        import bisect

        index = bisect.bisect_right(self._sorted_lines, line) - 1
        return self._sorted_lines[index] if index >= 0 else None

    def whole_document(self) -> SourceLocation:
        """The fallback location when nothing better is known: the file itself."""
        return SourceLocation(self.file, 1, None)
