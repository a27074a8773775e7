"""Snapshots of flows and calls: canonical XML, stable transcript text, a syrupy extension.

``assert flow == callflow_snapshot`` stores a `Document` as canonical XML (attributes
sorted, comments and whitespace-only text dropped, runs of whitespace in text read as one
space, then indented two spaces a level), so reformatting a flow or reordering attributes
never breaks a snapshot while a changed word does. ``assert transcript == callflow_snapshot``
stores a `Transcript` as one line per event with its source line, paths written relative to
the project (library templates as ``callflow/NAME``), so the text is the same on every
machine. ``pytest --snapshot-update`` rewrites them as syrupy does. Scenario files keep
their transcripts in ``__call_snapshots__/FILE/CALL.txt`` beside the file (a folder of its
own: syrupy removes files it does not know from ``__snapshots__``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lxml import etree

from callflow.document import Document, safe_parser
from callflow.simulate import Transcript

if TYPE_CHECKING:
    from callflow._snapshot_extension import CallflowSnapshotExtension

__all__ = [
    "CallflowSnapshotExtension",
    "canonical_xml",
    "check_scenario_snapshot",
    "scenario_snapshot_path",
    "transcript_text",
]

_SPACES = re.compile(r"\s+")


def canonical_xml(flow: Document | str | bytes) -> str:
    """``flow`` as canonical, indented XML text (see the module docstring for the rules)."""
    if isinstance(flow, Document):
        root = flow.root
    else:
        data = flow.encode("utf-8") if isinstance(flow, str) else flow
        root = etree.fromstring(data, safe_parser())
    copy = etree.Element(root.tag)
    stack: list[tuple[etree._Element, etree._Element]] = [(root, copy)]
    while stack:
        source, target = stack.pop()
        for name, value in source.attrib.items():
            target.set(name, value)
        text = _SPACES.sub(" ", source.text or "").strip()
        target.text = text or None
        for child in source:
            if not isinstance(child.tag, str):  # comments and processing instructions
                continue
            made = etree.SubElement(target, child.tag)
            stack.append((child, made))
    # C14N 2.0 orders attributes; parsing its output keeps that order for indenting.
    ordered = etree.fromstring(
        etree.tostring(copy, method="c14n2", with_comments=False), safe_parser()
    )
    etree.indent(ordered, space="  ")
    return etree.tostring(ordered, encoding="unicode") + "\n"


def _library_folder() -> str | None:
    try:
        from callflow.templating import library_path

        return os.path.realpath(library_path())
    except (ImportError, FileNotFoundError):
        return None


def stable_file(file: str, base: str | os.PathLike[str] | None = None) -> str:
    """``file`` as the same text on every machine: library templates as ``callflow/NAME``,
    files below ``base`` (default: the working folder) relative to it, anything else as is."""
    if "://" in file or file.startswith("<"):
        return file
    real = os.path.realpath(file)
    library = _library_folder()
    if library is not None and os.path.commonpath([library, real]) == library:
        return "callflow/" + Path(os.path.relpath(real, library)).as_posix()
    root = os.path.realpath(base if base is not None else os.getcwd())
    if os.path.commonpath([root, real]) == root:
        return Path(os.path.relpath(real, root)).as_posix()
    return file


def transcript_text(transcript: Transcript, *, base: str | os.PathLike[str] | None = None) -> str:
    """``transcript`` as stable, readable text: how it ended, each event and its source line,
    then the diagnostics."""
    from callflow.scenarios._run import printable

    files: dict[str, str] = {}

    def where(file: str, line: int) -> str:
        shown = files.get(file)
        if shown is None:
            shown = files[file] = stable_file(file, base)
        return f"{shown}:{line}"

    lines = [
        f"ended by {transcript.ended_by} after {transcript.duration_ms} ms, "
        f"{transcript.steps} steps"
    ]
    for event in transcript:
        location = event.location
        lines.append(
            printable(
                f"{event.at_ms:>8} ms  {event.kind:<12} {event.summary()}  "
                f"@ {where(location.file, location.line)}"
            )
        )
    for diagnostic in transcript.diagnostics:
        location = diagnostic.location
        lines.append(
            printable(
                f"{diagnostic.severity.value}: {diagnostic.code} {diagnostic.message}  "
                f"@ {where(location.file, location.line)}"
            )
        )
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ scenario snapshots

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def scenario_snapshot_path(scenario_file: str | os.PathLike[str], call_name: str) -> Path:
    """Where a scenario call's transcript snapshot lives: ``__call_snapshots__/FILE/CALL.txt``."""
    path = Path(scenario_file)
    stem = path.name.removesuffix(".calls.toml")
    safe = _UNSAFE.sub("_", call_name).strip("._") or "call"
    return path.parent / "__call_snapshots__" / stem / f"{safe[:120]}.txt"


def check_scenario_snapshot(
    scenario_file: str | os.PathLike[str],
    call_name: str,
    transcript: Transcript,
    *,
    update: bool = False,
) -> tuple[str | None, bool]:
    """Compare a scenario call's transcript with its snapshot, or write it with ``update``.

    Returns (problem, written): problem is None when the snapshot matches (or was written).
    """
    from callflow._files import write_atomically

    path = scenario_snapshot_path(scenario_file, call_name)
    text = transcript_text(transcript, base=Path(scenario_file).parent)
    try:
        stored: str | None = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        stored = None
    if stored == text:
        return None, False
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, text.encode("utf-8"))
        return None, True
    if stored is None:
        return f"no snapshot yet ({path})", False
    import difflib

    diff = "".join(
        difflib.unified_diff(
            stored.splitlines(keepends=True),
            text.splitlines(keepends=True),
            "snapshot",
            "this run",
            n=1,
        )
    )
    return f"the transcript differs from its snapshot {path}:\n{diff}", False


# ------------------------------------------------------------------ syrupy


def __getattr__(name: str) -> Any:
    # The syrupy extension is imported on first use: syrupy imports pytest, which commands
    # such as `callflow test` have no need for.
    if name == "CallflowSnapshotExtension":
        from callflow._snapshot_extension import CallflowSnapshotExtension

        return CallflowSnapshotExtension
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
