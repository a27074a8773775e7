"""Turning a path the user named into Documents, whatever the authoring path.

``*.xml`` files are parsed directly; ``*.xml.j2`` templates are rendered (callflow.templating)
and ``*.py`` builder scripts are run (callflow.dsl.script). Every command that takes a
SOURCE (validate, execute, simulate, graph, …) goes through `load_path`, so each kind of
source works everywhere. Loading never raises for bad input: problems come back as
diagnostics on the `LoadedSource`.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from callflow.diagnostics import Diagnostic, Severity
from callflow.document import MAX_DOCUMENT_BYTES, Document, load_path
from callflow.sourcemap import SourceLocation

#: Suffixes found when a directory is named, and what they are.
XML_SUFFIXES = (".xml",)
TEMPLATE_SUFFIXES = (".xml.j2",)
SCRIPT_SUFFIXES = (".py",)


class LoadedSource:
    """One Document (or the reasons there is none) from one source.

    ``label`` names it for people: the path, plus e.g. the sample context's name for a
    template rendered once per sample.
    """

    __slots__ = ("diagnostics", "document", "label", "path")

    def __init__(
        self,
        path: Path,
        label: str,
        document: Document | None,
        diagnostics: Sequence[Diagnostic] = (),
    ) -> None:
        self.path = path
        self.label = label
        self.document = document
        self.diagnostics: list[Diagnostic] = list(diagnostics)

    def __repr__(self) -> str:
        state = "ok" if self.document is not None else f"{len(self.diagnostics)} problem(s)"
        return f"LoadedSource({self.label!r}, {state})"


def source_kind(path: Path) -> str | None:
    """'xml', 'template', 'script', or None for a file callflow does not read."""
    name = path.name.lower()
    if name.endswith(TEMPLATE_SUFFIXES):
        return "template"
    if name.endswith(XML_SUFFIXES):
        return "xml"
    if name.endswith(SCRIPT_SUFFIXES):
        return "script"
    return None


def load_path_sources(
    path: Path,
    *,
    context: Mapping[str, object] | None = None,
    sample: str | None = None,
    max_bytes: int = MAX_DOCUMENT_BYTES,
) -> list[LoadedSource]:
    """Load one file of any supported kind into LoadedSources (templates may give several).

    A template renders once per sample it declares, or once with ``context`` and/or the
    sample named ``sample`` (its values, with ``context`` on top).
    """
    shown = str(path)
    kind = source_kind(path)
    if kind == "template":
        return _loader("callflow.templating", "load_template_sources")(
            path, context=context, sample=sample
        )
    if kind == "script":
        return _loader("callflow.dsl.script", "load_script_sources")(path)
    # XML, and any other name the user insisted on: read it as XML.
    document, diagnostics = load_path(path, display=shown, max_bytes=max_bytes)
    return [LoadedSource(path, shown, document, diagnostics)]


def single_document(path: Path, sources: Sequence[LoadedSource]) -> Document | None:
    """The one Document ``sources`` hold (None if none loaded), for commands that need one flow.

    Raises `InputError` naming the samples when a template rendered once per sample gave
    several: the caller must choose a sample or give the variables.
    """
    documents = [source for source in sources if source.document is not None]
    if len(documents) > 1:
        from callflow.errors import InputError

        labels = ", ".join(source.label for source in documents)
        raise InputError(
            f"{path} gives {len(documents)} documents ({labels}); choose one with --sample NAME, "
            "or give the variables with --var/--context (sample= or context= from Python)"
        )
    return documents[0].document if documents else None


def _loader(module: str, name: str) -> Callable[..., list[LoadedSource]]:
    # Imported on demand: rendering templates and running scripts need heavier modules.
    function: Callable[..., list[LoadedSource]] = getattr(importlib.import_module(module), name)
    return function


def _walk_flow_files(top: str) -> list[str]:
    """Sorted paths of XML and template files below ``top``, skipping hidden folders."""
    found: list[str] = []
    for folder, subfolders, files in os.walk(top):
        subfolders[:] = [d for d in subfolders if not d.startswith(".")]
        found.extend(
            os.path.join(folder, name)
            for name in files
            if not name.startswith(".") and name.lower().endswith(XML_SUFFIXES + TEMPLATE_SUFFIXES)
        )
    found.sort()
    return found


def expand_path_names(
    paths: Sequence[Path], *, include_scripts: bool = True
) -> Iterator[tuple[str, Diagnostic | None]]:
    """Files to check for the paths named, as strings: directories are searched for XML and
    templates.

    Yields (file, None) for each file, or (path, diagnostic) where a path is missing or a
    directory holds nothing callflow reads. Builder scripts are checked only when named
    one by one (a directory holds many Python files that are not flows). Strings, because a
    batch of ten thousand files costs noticeably more as Path objects (and to pickle).
    """
    for path in paths:
        shown = str(path)
        if not path.exists():
            yield (
                shown,
                Diagnostic(
                    "CF001",
                    Severity.ERROR,
                    "no such file or directory",
                    SourceLocation(shown, 1, None),
                ),
            )
            continue
        if path.is_dir():
            found = _walk_flow_files(shown)
            if not found:
                yield (
                    shown,
                    Diagnostic(
                        "CF002",
                        Severity.ERROR,
                        "directory holds no call flow files (*.xml, *.xml.j2)",
                        SourceLocation(shown, 1, None),
                    ),
                )
            for file in found:
                yield file, None
            continue
        kind = source_kind(path)
        if kind is None or (kind == "script" and not include_scripts):
            yield (
                shown,
                Diagnostic(
                    "CF008",
                    Severity.ERROR,
                    "not a call flow file: expected *.xml, *.xml.j2 or a *.py builder script",
                    SourceLocation(shown, 1, None),
                ),
            )
            continue
        yield shown, None


def expand_paths(
    paths: Sequence[Path], *, include_scripts: bool = True
) -> Iterator[tuple[Path, Diagnostic | None]]:
    """`expand_path_names`, with Path objects."""
    for name, problem in expand_path_names(paths, include_scripts=include_scripts):
        yield Path(name), problem
