"""Source capture: where the author's code built a node, kept raw until it is asked for.

A node records its *site*: the code object and instruction offset of the innermost frame
that is the author's (neither callflow's nor the standard library's), then of up to
`MAX_CHAIN` author callers. Turning a site into a `SourceLocation` (reading line tables,
formatting "called from …") costs more than building the node, and only errors and
`to_document` need it, so `site_location` runs then. `keyword_location` finds the line and
column of one keyword argument of the call, for errors about that keyword.
"""

from __future__ import annotations

import ast
import bisect
import functools
import linecache
import os
import sysconfig
from types import CodeType, FrameType

from callflow.sourcemap import SourceLocation

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _install_dirs(*keys: str) -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    return tuple(sorted({os.path.abspath(paths[key]) + os.sep for key in keys if paths.get(key)}))


_STDLIB_DIRS = _install_dirs("stdlib", "platstdlib")
_INSTALLED_DIRS = _install_dirs("purelib", "platlib")

#: What a frame's file is: the author's own code, callflow itself, the standard library, or
#: an installed package (the author's too when it builds flows, but never a "caller" worth
#: naming in a chain: test runners and frameworks live there).
USER, OURS, STDLIB, INSTALLED = 0, 1, 2, 3
_AUTHOR_KINDS = (USER, INSTALLED)

#: How many author callers of a fragment function a location records ("called from …").
MAX_CHAIN = 3

#: The (code, instruction offset) of each author caller of a site, innermost first.
Chain = tuple[tuple[CodeType, int], ...]

#: A raw site: the code and instruction offset of the author's frame, and its `Chain`; empty
#: when no author frame was found. Flat, so that building one is a single small tuple.
Site = tuple[CodeType, int, Chain] | tuple[()]


def _classify(filename: str) -> int:
    if filename.startswith("<frozen"):
        return STDLIB
    if filename.startswith("<"):
        return USER  # exec'd strings, doctests: the author's code
    absolute = os.path.abspath(filename)
    if absolute.startswith(_PACKAGE_DIR):
        return OURS
    if absolute.startswith(_INSTALLED_DIRS):  # site-packages may sit inside stdlib
        return INSTALLED
    if absolute.startswith(_STDLIB_DIRS):
        return STDLIB
    return USER


class _FileKinds(dict[str, int]):
    """Each file's kind, worked out the first time the file is met (`clear` forgets them)."""

    def __missing__(self, filename: str) -> int:
        kind = self[filename] = _classify(filename)
        return kind


_FILE_KINDS = _FileKinds()


def file_kind(filename: str) -> int:
    """`USER`, `OURS`, `STDLIB` or `INSTALLED` for a code object's file name."""
    return _FILE_KINDS[filename]


def author_site(frame: FrameType | None) -> Site:
    """The raw site of the author's code at or above ``frame``: the innermost frame that is
    neither callflow's nor the standard library's, then up to `MAX_CHAIN` user callers."""
    author = author_frame(frame)
    if author is None:
        return ()
    return (author.f_code, author.f_lasti, callers(author))


def author_frame(frame: FrameType | None) -> FrameType | None:
    """The innermost frame at or above ``frame`` that is the author's (None if there is none)."""
    kinds = _FILE_KINDS
    while frame is not None and kinds[frame.f_code.co_filename] not in _AUTHOR_KINDS:
        frame = frame.f_back
    return frame


def callers(frame: FrameType) -> Chain:
    """The sites of up to `MAX_CHAIN` user frames calling ``frame``, innermost first."""
    kinds = _FILE_KINDS
    site: list[tuple[CodeType, int]] = []
    caller = frame.f_back
    while caller is not None and len(site) < MAX_CHAIN and kinds[caller.f_code.co_filename] == USER:
        site.append((caller.f_code, caller.f_lasti))
        caller = caller.f_back
    return tuple(site)


@functools.lru_cache(maxsize=512)
def _line_table(code: CodeType) -> tuple[list[int], list[int], list[int | None]]:
    """A code object's instruction ranges (starts, ends) and their lines, for bisecting."""
    starts: list[int] = []
    ends: list[int] = []
    lines: list[int | None] = []
    for start, end, line in code.co_lines():
        starts.append(start)
        ends.append(end)
        lines.append(line)
    return starts, ends, lines


def _line_of(code: CodeType, offset: int) -> int | None:
    """The line of the instruction at ``offset`` (what the frame's ``f_lineno`` said)."""
    starts, ends, lines = _line_table(code)
    index = bisect.bisect_right(starts, offset) - 1
    if index < 0 or offset >= ends[index]:
        return None
    return lines[index]


def site_location(site: Site) -> SourceLocation:
    """The `SourceLocation` of a raw site (the chain reads "called from file:line")."""
    if not site:
        return SourceLocation("<unknown>", 1)
    code, offset, callers = site
    chain = tuple(
        f"called from {caller.co_filename}:{_line_of(caller, at)}" for caller, at in callers
    )
    return SourceLocation(code.co_filename, _line_of(code, offset) or 1, None, chain)


def keyword_location(site: Site, keyword: str) -> SourceLocation | None:
    """Where the keyword argument ``keyword`` is written in the call the site's frame is
    making (1-based line and column, as editors count), or None when the source is not at
    hand or the keyword is not written there (it came through ``**mapping``, say)."""
    if not site:
        return None
    code, offset, _ = site
    call = _call_at(code, offset)
    if call is None:
        return None
    first_line, first_column, source = call
    for argument in source.keywords:
        if argument.arg == keyword:
            line = first_line + argument.lineno - 1
            # On the call's first line the parsed text began at the call's own column.
            column = argument.col_offset + (first_column if argument.lineno == 1 else 0)
            text = linecache.getline(code.co_filename, line).encode("utf-8")
            characters = len(text[:column].decode("utf-8", "replace"))
            where = site_location(site)
            return SourceLocation(where.file, line, characters + 1, where.chain)
    return None


def _call_at(code: CodeType, offset: int) -> tuple[int, int, ast.Call] | None:
    """The call expression the instruction at ``offset`` makes, parsed from the source, with
    the line and byte column where it starts; None when the source is not at hand."""
    positions = list(code.co_positions())
    if not 0 <= offset // 2 < len(positions):
        return None
    line, end_line, column, end_column = positions[offset // 2]
    if line is None or end_line is None or column is None or end_column is None:
        return None
    lines = [
        linecache.getline(code.co_filename, number).encode("utf-8")
        for number in range(line, end_line + 1)
    ]
    lines[-1] = lines[-1][:end_column]
    lines[0] = lines[0][column:]
    try:
        tree = ast.parse(b"".join(lines).decode("utf-8"), mode="eval")
    except (SyntaxError, UnicodeDecodeError, ValueError):
        return None  # no source at hand, or not the text that was compiled
    if not isinstance(tree.body, ast.Call):
        return None
    return line, column, tree.body
