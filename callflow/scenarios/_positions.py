"""Where each key and array item of a TOML document was written (tomllib gives no positions).

`key_positions` scans text that `tomllib` has already accepted, so it only has to follow
the structure, never to judge it: table headers, arrays of tables, dotted keys, inline
tables, arrays and the four kinds of string. Each key gets the path tomllib's data gives it
(``("call", 0, "expect", "heard")``) and each array item its index under its key. One pass
over the text; nesting is followed with an explicit stack, so deep input cannot exhaust the
interpreter's recursion.
"""

from __future__ import annotations

Path = tuple[str | int, ...]
Position = tuple[int, int]  # 1-based line and column

_BARE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0
        self.line = 1
        self.line_start = 0
        self.positions: dict[Path, Position] = {}
        self.table_arrays: dict[Path, int] = {}

    # -- characters ---------------------------------------------------------------

    def peek(self, ahead: int = 0) -> str:
        index = self.at + ahead
        return self.text[index] if index < len(self.text) else ""

    def advance(self, count: int = 1) -> None:
        for _ in range(count):
            if self.at < len(self.text) and self.text[self.at] == "\n":
                self.line += 1
                self.line_start = self.at + 1
            self.at += 1

    def here(self) -> Position:
        return self.line, self.at - self.line_start + 1

    def skip_blank(self, *, newlines: bool) -> None:
        """Spaces, tabs, comments, and (with ``newlines``) line ends."""
        while self.at < len(self.text):
            char = self.text[self.at]
            if char in " \t\r" or (newlines and char == "\n"):
                self.advance()
            elif char == "#":
                end = self.text.find("\n", self.at)
                self.at = len(self.text) if end < 0 else end
            else:
                return

    # -- pieces -----------------------------------------------------------------

    def string(self) -> str:
        quote = self.peek()
        if self.text.startswith(quote * 3, self.at):
            self.advance(3)
            end = self.text.find(quote * 3, self.at)
            end = len(self.text) if end < 0 else end
            # A multi-line string may end with up to two extra quotes before the closing three.
            while self.text.startswith(quote, end + 3):
                end += 1
            value = self.text[self.at : end]
            self.advance(end + 3 - self.at)
            return value
        self.advance()
        start = self.at
        while self.at < len(self.text) and self.text[self.at] != quote:
            if quote == '"' and self.text[self.at] == "\\":
                self.advance()
            self.advance()
        value = self.text[start : self.at]
        self.advance()
        if quote == '"' and "\\" in value:
            import tomllib

            try:
                decoded: str = tomllib.loads(f"k = {quote}{value}{quote}")["k"]
            except tomllib.TOMLDecodeError:
                return value
            return decoded
        return value

    def key(self) -> list[tuple[str, Position]]:
        """A dotted key: its parts, each with where it starts."""
        parts: list[tuple[str, Position]] = []
        while True:
            self.skip_blank(newlines=False)
            position = self.here()
            if self.peek() in ('"', "'"):
                parts.append((self.string(), position))
            else:
                start = self.at
                while self.peek() and self.peek() in _BARE:
                    self.advance()
                parts.append((self.text[start : self.at], position))
            self.skip_blank(newlines=False)
            if self.peek() != ".":
                return parts
            self.advance()

    def scalar(self) -> None:
        while self.at < len(self.text) and self.text[self.at] not in ",]}\n#":
            self.advance()

    # -- structure ----------------------------------------------------------------

    def resolve(self, parts: list[str], position: Position) -> Path:
        """A header's path with the current index of every array of tables on the way;
        tables the header implies (``a`` for ``[a.b]``) are placed at it when first seen."""
        path: Path = ()
        for part in parts:
            path = (*path, part)
            self.positions.setdefault(path, position)
            if path in self.table_arrays:
                path = (*path, self.table_arrays[path])
        return path

    def value(self, path: Path) -> None:
        """The value at ``path``; arrays and inline tables are followed with a stack."""
        # Each frame: (container path, kind, next index for arrays).
        stack: list[tuple[Path, str, list[int]]] = []
        pending: Path | None = path
        while True:
            if pending is not None:
                char = self.peek()
                if char == "[":
                    self.advance()
                    stack.append((pending, "array", [0]))
                elif char == "{":
                    self.advance()
                    stack.append((pending, "table", [0]))
                elif char in ('"', "'"):
                    self.string()
                else:
                    self.scalar()
                pending = None
            if not stack:
                return
            container, kind, counter = stack[-1]
            self.skip_blank(newlines=True)
            char = self.peek()
            if char == "":
                return
            if char == ",":
                self.advance()
                continue
            if char in "]}":
                self.advance()
                stack.pop()
                continue
            if kind == "array":
                index = counter[0]
                counter[0] += 1
                pending = (*container, index)
                self.positions.setdefault(pending, self.here())
                continue
            pending = self.assignment(container)

    def assignment(self, table: Path) -> Path:
        """``key = `` inside ``table``: records each dotted part, returns the value's path."""
        parts = self.key()
        path = table
        for name, position in parts:
            path = (*path, name)
            self.positions.setdefault(path, position)
        self.skip_blank(newlines=False)
        if self.peek() == "=":
            self.advance()
        self.skip_blank(newlines=False)
        return path

    def document(self) -> dict[Path, Position]:
        table: Path = ()
        while True:
            self.skip_blank(newlines=True)
            if self.at >= len(self.text):
                return self.positions
            if self.peek() == "[":
                array = self.peek(1) == "["
                position = self.here()
                self.advance(2 if array else 1)
                parts = [name for name, _ in self.key()]
                self.advance(2 if array else 1)
                if array:
                    base = (*self.resolve(parts[:-1], position), parts[-1])
                    index = self.table_arrays.get(base, -1) + 1
                    self.table_arrays[base] = index
                    self.positions.setdefault(base, position)
                    table = (*base, index)
                else:
                    table = self.resolve(parts, position)
                self.positions.setdefault(table, position)
                continue
            path = self.assignment(table)
            self.value(path)


def key_positions(text: str) -> dict[Path, Position]:
    """Line and column of every key, table and array item of valid TOML ``text``.

    A table header's path maps to the header's line; ``[[call]]`` number N (from 0) is
    ``("call", N)``.
    """
    return _Scanner(text).document()
