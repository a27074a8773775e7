"""Safe fixes: rewriting legacy forms and implicit defaults in an XML file, byte for byte.

The tree says *what* is wrong; the change is made on the author's text by character
offsets, so comments, indentation, quoting, attribute order and line endings all stay as
written. Every result is re-parsed and re-validated before it is kept: a fix that would
make the document unreadable, or add a schema error, is refused and nothing is written.
"""

from __future__ import annotations

import bisect
import collections
import difflib
import itertools
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from lxml import etree

from callflow._files import LOCK_TIMEOUT, LeftoverCleaner, read_regular_file, rewriting
from callflow._text import LINE_BREAK
from callflow.document import MAX_DOCUMENT_BYTES, Document, TagSpan, load_bytes
from callflow.errors import InputError
from callflow.lint import (
    DEFAULT_CONFIG,
    AddAttribute,
    BranchesToSwitch,
    Finding,
    Fix,
    LintConfig,
    RenameAttribute,
    ReplaceElement,
    iter_active_findings,
    quote_attribute,
)

#: Fix rounds before giving up (one normally suffices; a second finds nothing).
MAX_ROUNDS = 4

Element = etree._Element


# ---------------------------------------------------------------- the text, tag by tag


def tag_spans(document: Document) -> list[TagSpan] | None:
    """One TagSpan per element, in document order; None if the text and tree disagree."""
    spans = document.spans()
    if not spans.balanced:
        return None
    elements = list(document.iter_elements())
    if len(elements) != len(spans.tags):
        return None
    if any(element.tag != span.name for element, span in zip(elements, spans.tags, strict=True)):
        return None
    return spans.tags


# ---------------------------------------------------------------- fixes → text edits


class Edit:
    """Replace ``text[start:end]`` by ``replacement``."""

    __slots__ = ("end", "replacement", "start")

    def __init__(self, start: int, end: int, replacement: str) -> None:
        self.start, self.end, self.replacement = start, end, replacement

    def __repr__(self) -> str:
        return f"Edit({self.start}:{self.end} -> {self.replacement!r})"


def edits_for(fix: Fix, spans: dict[Element, TagSpan], text: str) -> list[Edit] | None:
    """The text edits that carry out ``fix``; None when the text is not as expected."""
    if isinstance(fix, AddAttribute):
        span = spans[fix.element]
        quote = next(iter(span.attributes.values()))[2] if span.attributes else '"'
        value = quote_attribute(fix.value)
        if quote == "'":
            value = value.replace("'", "&apos;")
        where = span.attributes_end
        return [Edit(where, where, f" {fix.name}={quote}{value}{quote}")]
    if isinstance(fix, RenameAttribute):
        span = spans[fix.element]
        found = span.attributes.get(fix.old)
        if found is None or fix.new in span.attributes:
            return None
        return [Edit(found[0], found[0] + len(fix.old), fix.new)]
    if isinstance(fix, ReplaceElement):
        span = spans[fix.element]
        return [Edit(span.start, span.end, fix.markup)]
    return _branches_to_switch(fix, spans, text)


def _branches_to_switch(
    fix: BranchesToSwitch, spans: dict[Element, TagSpan], text: str
) -> list[Edit] | None:
    edits: list[Edit] = []
    for branch in fix.branches:
        span = spans[branch]
        value = span.attributes.get("value")
        if value is None or "dtmf" in span.attributes:
            return None
        edits.append(Edit(span.start + 1, span.name_end, "Case"))
        edits.append(Edit(value[0], value[0] + len("value"), "dtmf"))
        if span.end_name is not None:
            edits.append(Edit(span.end_name[0], span.end_name[1], "Case"))
    first = spans[fix.branches[0]]
    last = spans[fix.default if fix.default is not None else fix.branches[-1]]
    found = LINE_BREAK.search(text)  # the file's own line ending: CRLF, CR or LF
    newline = found.group(0) if found is not None else "\n"
    line_start = max(text.rfind("\n", 0, first.start), text.rfind("\r", 0, first.start)) + 1
    indent = text[line_start : first.start]
    if indent.strip():  # the branches share a line with something else: stay on it
        edits.append(Edit(first.start, first.start, "<Switch>"))
        edits.append(Edit(last.end, last.end, "</Switch>"))
    else:
        edits.append(Edit(first.start, first.start, f"<Switch>{newline}{indent}"))
        edits.append(Edit(last.end, last.end, f"{newline}{indent}</Switch>"))
    return edits


def _self_consistent(edits: Sequence[Edit]) -> bool:
    ordered = sorted((edit.start, edit.end) for edit in edits)
    return all(end <= start for (_, end), (start, _) in itertools.pairwise(ordered))


def apply_edits(text: str, edits: Sequence[Edit]) -> str:
    """Apply non-overlapping edits (any order) to ``text``."""
    out: list[str] = []
    position = 0
    for edit in sorted(edits, key=lambda e: (e.start, e.end)):
        out.append(text[position : edit.start])
        out.append(edit.replacement)
        position = edit.end
    out.append(text[position:])
    return "".join(out)


class _Claimed:
    """Text ranges already being edited, kept sorted; two fixes never edit one place."""

    def __init__(self) -> None:
        self._ranges: list[tuple[int, int]] = []

    def free(self, edits: Sequence[Edit]) -> bool:
        for edit in edits:
            # Claimed ranges never conflict with each other, so only the neighbours of the
            # new range's position can conflict with it.
            index = bisect.bisect_left(self._ranges, (edit.end, edit.end))
            for start, end in self._ranges[max(0, index - 2) : index + 2]:
                if edit.start < end and start < edit.end:
                    return False
                if edit.start == edit.end == start == end:  # two insertions at one point
                    return False
        return True

    def claim(self, edits: Sequence[Edit]) -> None:
        for edit in edits:
            bisect.insort(self._ranges, (edit.start, edit.end))


# ---------------------------------------------------------------- fixing a text


class FixResult:
    """The outcome of fixing one text: the new text and what was fixed, or why not."""

    __slots__ = ("applied", "fixed", "original", "refused")

    def __init__(
        self, original: str, fixed: str, applied: Sequence[Finding], refused: str | None = None
    ) -> None:
        self.original = original
        self.fixed = fixed
        self.applied: list[Finding] = list(applied)
        self.refused = refused

    @property
    def changed(self) -> bool:
        return self.fixed != self.original

    def __repr__(self) -> str:
        state = f"refused: {self.refused}" if self.refused else f"{len(self.applied)} fix(es)"
        return f"FixResult({state})"

    def diff(self, name: str) -> str:
        """The change as a unified diff (empty when nothing changed)."""
        lines = difflib.unified_diff(
            self.original.splitlines(keepends=True),
            self.fixed.splitlines(keepends=True),
            fromfile=name,
            tofile=name,
        )
        out = []
        for line in lines:
            out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
        return "".join(out)


def fixable_findings(document: Document, config: LintConfig = DEFAULT_CONFIG) -> list[Finding]:
    """The active (enabled, unsuppressed) findings that carry a fix."""
    return [finding for finding, _ in iter_active_findings(document, config) if finding.fix]


def fix_document(document: Document, config: LintConfig = DEFAULT_CONFIG) -> FixResult:
    """Apply every safe fix to ``document.text``, round after round until none is left."""
    original = document.text
    applied: list[Finding] = []
    current = document
    baseline = _schema_error_codes(document)
    for _ in range(MAX_ROUNDS):
        findings = fixable_findings(current, config)
        if not findings:
            break
        spans = tag_spans(current)
        if spans is None:
            return FixResult(original, original, [], "the text could not be matched to its tags")
        by_element = dict(zip(current.iter_elements(), spans, strict=True))
        edits: list[Edit] = []
        claimed = _Claimed()
        done: list[Finding] = []
        for finding in findings:
            assert finding.fix is not None
            planned = edits_for(finding.fix, by_element, current.text)
            if not planned or not claimed.free(planned) or not _self_consistent(planned):
                continue  # left for the next round (or unfixable as written)
            edits.extend(planned)
            claimed.claim(planned)
            done.append(finding)
        if not done:
            break
        text = apply_edits(current.text, edits)
        reparsed, problems = load_bytes(
            text.encode("utf-8"), document.name, source_map=document.source_map
        )
        if reparsed is None or _worse(baseline, _schema_error_codes(reparsed)):
            reason = problems[0].message if problems else "it would add schema errors"
            return FixResult(original, original, [], f"the fix was not safe ({reason})")
        applied.extend(done)
        current = reparsed
    return FixResult(original, current.text, applied)


def _schema_error_codes(document: Document) -> collections.Counter[str]:
    from callflow.schema import load_schema

    return collections.Counter(d.code for d in load_schema().iter_diagnostics(document))


def _worse(before: collections.Counter[str], after: collections.Counter[str]) -> bool:
    return any(count > before.get(code, 0) for code, count in after.items())


# ---------------------------------------------------------------- fixing a file


class FileFix:
    """The outcome for one file: the fix computed (or refused), whether it was written, and
    notes to show (an owner that could not be kept, leftovers removed)."""

    __slots__ = ("notes", "path", "result", "written")

    def __init__(
        self, path: Path, result: FixResult, written: bool, notes: Sequence[str] = ()
    ) -> None:
        self.path = path
        self.result = result
        self.written = written
        self.notes: list[str] = list(notes)

    def __repr__(self) -> str:
        return f"FileFix({str(self.path)!r}, {self.result!r}, written={self.written})"


def fix_file(
    path: Path,
    *,
    config: LintConfig = DEFAULT_CONFIG,
    write: bool = True,
    display: str | None = None,
    max_bytes: int = MAX_DOCUMENT_BYTES,
    force: bool = False,
    cleaner: LeftoverCleaner | None = None,
    lock_timeout: float = LOCK_TIMEOUT,
    replace: Callable[[str, str], None] = os.replace,
    before_replace: Callable[[], None] | None = None,
) -> FileFix:
    """Fix one XML file in place, or only compute the fix when ``write`` is False.

    The file is locked, read, fixed and replaced as one step, and replaced only if it is
    still exactly what was read (see `callflow._files.rewriting`). Never raises for a bad
    or unwritable file: a file that cannot be read or parsed, is not UTF-8, is read-only
    (unless ``force``), has several hard links, changed meanwhile, cannot be written, or
    whose fix would not re-validate is left untouched, and ``result.refused`` says why.
    ``cleaner`` removes temporary files left by killed runs (one per run saves rescanning
    folders); ``before_replace`` runs just before the final check (a seam for tests).
    """
    name = display if display is not None else str(path)
    if not write:
        try:
            data = read_regular_file(path, max_bytes=max_bytes)
        except InputError as error:
            return FileFix(path, _refused(f"not fixed: {error}"), False)
        except OSError as error:
            return FileFix(path, _refused(f"not fixed: cannot read{_why(error)}"), False)
        result, _ = _fix_bytes(data, name, config, max_bytes)
        return FileFix(path, result, False)
    try:
        with rewriting(path, max_bytes=max_bytes, lock_timeout=lock_timeout) as handle:
            removed = (cleaner or LeftoverCleaner()).clean(Path(handle.target).parent)
            notes = [f"removed {found}, left behind by an interrupted run" for found in removed]
            result, new_data = _fix_bytes(handle.data, name, config, max_bytes)
            if new_data is None:
                return FileFix(path, result, False, notes)
            try:
                notes += handle.replace(
                    new_data, force=force, replace=replace, before_replace=before_replace
                )
            except InputError as error:
                return FileFix(path, _refused(f"not fixed: {error}", result), False, notes)
            except OSError as error:
                reason = f"not fixed: cannot write{_why(error)}; the file is unchanged"
                return FileFix(path, _refused(reason, result), False, notes)
    except InputError as error:
        return FileFix(path, _refused(f"not fixed: {error}"), False)
    except OSError as error:
        return FileFix(path, _refused(f"not fixed: cannot read{_why(error)}"), False)
    return FileFix(path, result, True, notes)


def _why(error: OSError) -> str:
    """`` (reason)``, or `` in FOLDER (reason)`` when a folder is what refused."""
    reason = error.strerror or str(error)
    if error.filename is not None and os.path.isdir(error.filename):
        return f" in {error.filename} ({reason})"
    return f" ({reason})"


def _refused(reason: str, result: FixResult | None = None) -> FixResult:
    original = result.original if result is not None else ""
    return FixResult(original, original, [], reason)


def _fix_bytes(
    data: bytes, name: str, config: LintConfig, max_bytes: int
) -> tuple[FixResult, bytes | None]:
    """The fix of a file's bytes, and the bytes to write (None when nothing is to be written)."""
    document, problems = load_bytes(data, name, max_bytes=max_bytes)
    if document is None:
        message = problems[0].message if problems else "cannot be read"
        return _refused(f"not fixed: {message}"), None
    result = fix_document(document, config)
    if result.refused:
        return FixResult(result.original, result.original, [], f"not fixed: {result.refused}"), None
    if not result.changed:
        return result, None
    bom = data.startswith(b"\xef\xbb\xbf")
    try:
        as_utf8 = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        as_utf8 = None
    if as_utf8 != document.text:
        return _refused("not fixed: only UTF-8 files are rewritten", result), None
    return result, (b"\xef\xbb\xbf" if bom else b"") + result.fixed.encode("utf-8")


def iter_fix_paths(paths: Sequence[Path]) -> Iterator[Path]:
    """The XML files among ``paths`` (templates and scripts are never rewritten)."""
    from callflow.sources import source_kind

    for path in paths:
        if source_kind(path) == "xml":
            yield path
