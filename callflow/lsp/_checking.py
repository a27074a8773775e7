"""What the editor shows for one buffer: the checks of ``callflow validate``, grouped by file.

A buffer is checked through the front door with its unsaved text (`load_flows` with a
``filename``), then each Document through the same pipeline as ``callflow validate``
(schema, lint, the ``[tool.callflow]`` table of the nearest pyproject.toml, inline
suppressions). The result maps each file a problem is located in to its diagnostics: a
template's problem inside an included partial belongs to the partial, and is repeated at
the include line of the buffer (found in the location's chain) so that it is seen there.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from callflow.diagnostics import Diagnostic, Severity, collapse_repeats, in_order, register_code
from callflow.errors import CallflowError
from callflow.sourcemap import SourceLocation
from callflow.sources import ReadPolicy, source_kind

register_code("CF011", "the [tool.callflow] settings cannot be read")
register_code("CF799", "builder script could not be checked (time limit, or the check failed)")

#: Seconds the child process checking a builder script gets beyond the script's own limit
#: (its start, importing callflow, takes seconds on a loaded machine).
SCRIPT_MARGIN = 10.0

#: A step of a location's chain that names a line of a template: "included from a.xml.j2:4".
_CHAIN_STEP = re.compile(
    r"^(?P<verb>included from|imported from|called from|extended by) (?P<file>.+):(?P<line>\d+)$"
)


class Related:
    """A problem found elsewhere that is shown at ``location`` of the checked buffer too."""

    __slots__ = ("diagnostic", "location")

    def __init__(self, diagnostic: Diagnostic, location: SourceLocation) -> None:
        self.diagnostic = diagnostic
        self.location = location


class BufferReport:
    """The problems of one check: by absolute file path; ``related``: those shown at a
    line of the buffer because of a problem located in another file."""

    __slots__ = ("by_file", "related")

    def __init__(self) -> None:
        self.by_file: dict[str, list[Diagnostic]] = {}
        self.related: list[Related] = []


def absolute(file: str) -> str:
    """A location's file as an absolute path (locations may be relative to the working folder)."""
    return os.path.normpath(os.path.abspath(file))


def buffer_kind(path: str) -> str | None:
    """'xml', 'template', 'script' or None for a file the server does not check."""
    return source_kind(path)


def check_buffer(path: str, text: str | None, *, policy: ReadPolicy | None = None) -> BufferReport:
    """Check the buffer of ``path`` (``text``; None: the file on disk, for builder scripts,
    which run in a child process). Never raises: a failure becomes a diagnostic."""
    report = BufferReport()
    report.by_file[path] = []
    try:
        found = _diagnostics(path, text, policy or ReadPolicy())
    except CallflowError as error:  # a broken [tool.callflow] table, for instance
        found = list(getattr(error, "diagnostics", ())) or [
            Diagnostic("CF011", Severity.ERROR, str(error), SourceLocation(path, 1, None))
        ]
    for diagnostic in collapse_repeats(in_order(found)):
        file = absolute(diagnostic.location.file)
        report.by_file.setdefault(file, []).append(diagnostic)
        if file != path:
            site = include_site(diagnostic.location, path)
            if site is not None:
                report.related.append(Related(diagnostic, site))
    return report


def include_site(location: SourceLocation, path: str) -> SourceLocation | None:
    """The line of ``path`` a location's chain passes through (the include, import or call)."""
    for step in location.chain:
        match = _CHAIN_STEP.match(step)
        if match is not None and absolute(match.group("file")) == path:
            return SourceLocation(path, int(match.group("line")), None)
    return None


def _diagnostics(
    path: str, text: str | None, policy: ReadPolicy, *, in_child: bool = False
) -> list[Diagnostic]:
    from callflow.check import iter_document_diagnostics
    from callflow.lint import config_for
    from callflow.schema import load_schema
    from callflow.sources import load_flows

    if text is None and buffer_kind(path) == "script" and not in_child:
        return _script_diagnostics(path, policy)
    config = config_for(Path(path))
    schema = load_schema()
    flow: object = Path(path) if text is None else text
    sources = load_flows(flow, filename=None if text is None else path, policy=policy)
    found: list[Diagnostic] = []
    for source in sources:
        found.extend(source.diagnostics)
        if source.document is not None:
            found.extend(iter_document_diagnostics(source.document, schema=schema, config=config))
    if text is not None and buffer_kind(path) == "template":
        found = _unsuppressed(found, path, text)
    return found


def _unsuppressed(found: list[Diagnostic], path: str, text: str) -> list[Diagnostic]:
    """Lint findings at lines of the buffer silenced by a directive in the buffer's own text
    (the lint pass reads a template's directives from the file on disk, which may be older)."""
    from callflow.lint import RULES, Suppressions, file_line_reader, mentions_directive

    if not mentions_directive(text):
        return found

    suppressions = Suppressions(file_line_reader({path: text}))
    return [
        d
        for d in found
        if not (
            d.code in RULES
            and absolute(d.location.file) == path
            and suppressions.is_suppressed(d.code, path, {d.location.line})
        )
    ]


_IMPORTS_CALLFLOW = re.compile(r"^\s*(?:from|import)\s+callflow\b", re.MULTILINE)


def is_builder_script(text: str) -> bool:
    """Whether a Python file uses callflow (only those are run, in a child process, to check
    them: an editor sends every Python file it opens)."""
    return _IMPORTS_CALLFLOW.search(text) is not None


def _script_diagnostics(path: str, policy: ReadPolicy) -> list[Diagnostic]:
    """``callflow validate`` of a builder script, run in a child process: the script's code
    (its prints, exits, endless loops) never runs in the server, whose standard output is
    the editor's channel."""
    import json
    import subprocess
    import sys

    command = [sys.executable, "-c", _CHILD, path, str(policy.script_timeout)]
    where = SourceLocation(path, 1, None)
    try:
        done = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=policy.script_timeout + SCRIPT_MARGIN,
            cwd=os.path.dirname(path) or None,
            check=False,
        )
    except subprocess.TimeoutExpired:
        message = f"the check did not finish within {policy.script_timeout + SCRIPT_MARGIN:g} s"
        return [Diagnostic("CF799", Severity.ERROR, message, where)]
    try:
        entries = json.loads(done.stdout)
        return [_from_json(entry, path) for entry in entries]
    except (ValueError, TypeError, KeyError):
        last = (done.stderr.decode("utf-8", "replace").strip().splitlines() or ["no output"])[-1]
        return [Diagnostic("CF799", Severity.ERROR, f"the check failed: {last[:200]}", where)]


# The child keeps its real standard output for the result and points file descriptor 1 at
# standard error, so that whatever the script prints cannot be taken for the result.
_CHILD = "from callflow.lsp._checking import child_main; child_main()"


def child_main() -> None:
    """The child process's side of `_script_diagnostics`: check ``argv[1]``, print JSON."""
    import json
    import sys

    result = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    path, timeout = sys.argv[1], float(sys.argv[2])
    found = _diagnostics(path, None, ReadPolicy(script_timeout=timeout), in_child=True)
    result.write(json.dumps([d.to_dict() for d in found]))
    result.close()


def _from_json(entry: dict[str, object], path: str) -> Diagnostic:
    file = str(entry["file"])
    line = entry.get("line")
    column = entry.get("column")
    chain = entry.get("chain") or []
    return Diagnostic(
        str(entry["code"]),
        Severity(str(entry["severity"])),
        str(entry["message"]),
        SourceLocation(
            file if os.path.isabs(file) else os.path.join(os.path.dirname(path), file),
            line if isinstance(line, int) else 1,
            column if isinstance(column, int) else None,
            tuple(str(step) for step in chain) if isinstance(chain, list) else (),
        ),
        xpath=str(entry["xpath"]) if entry.get("xpath") else None,
        hint=str(entry["hint"]) if entry.get("hint") else None,
    )
