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


# ---------------------------------------------------------------- the front door
#
# `load_flows` / `load_flow` are the one way in for every command, API, the editor server,
# the flow server and the test runners. (First cut: the signature is settled; the reading
# policy, stdin and library names are filled in behind it.)

from dataclasses import dataclass  # noqa: E402
from typing import Protocol, runtime_checkable  # noqa: E402

#: Seconds a builder script may run before it is stopped (CF7xx).
DEFAULT_SCRIPT_TIMEOUT = 10.0


@runtime_checkable
class SupportsToDocument(Protocol):
    """A builder flow: anything with ``to_document()`` returning a `Document`."""

    def to_document(self) -> Document: ...


@dataclass(frozen=True)
class ReadPolicy:
    """How the front door treats what it reads (written down once; see the docs).

    ``follow_links``: follow symbolic links that leave the folder the user named.
    ``trusted``: render templates outside Jinja's sandbox (the default is sandboxed).
    ``script_timeout``: seconds a builder script may run in its child process.
    """

    follow_links: bool = False
    trusted: bool = False
    max_bytes: int = MAX_DOCUMENT_BYTES
    script_timeout: float = DEFAULT_SCRIPT_TIMEOUT


DEFAULT_POLICY = ReadPolicy()

#: Everything a user may call a flow.
FlowInput = "str | os.PathLike[str] | bytes | Document | SupportsToDocument | LoadedSource"


def load_flows(
    flow: object,
    *,
    context: Mapping[str, object] | None = None,
    sample: str | None = None,
    filename: str | None = None,
    policy: ReadPolicy = DEFAULT_POLICY,
) -> list[LoadedSource]:
    """Turn anything a user calls a flow into LoadedSources; never raises for bad input.

    ``flow`` is a path or directory (str or PathLike), ``"-"`` (standard input), a library
    template name (``callflow/ivr_menu.xml.j2``), XML text (a str starting with ``<``) or
    bytes, a template's text (with ``filename`` ending in ``.xml.j2``), a `Document`, a
    builder node (anything with ``to_document()``) or a `LoadedSource`. ``filename`` names
    text, bytes and stdin in locations and decides their kind (as ``--stdin-filename``).
    ``context``/``sample`` choose a template's variables.
    """
    if isinstance(flow, LoadedSource):
        return [flow]
    if isinstance(flow, Document):
        return [LoadedSource(Path(flow.name), flow.name, flow)]
    if isinstance(flow, SupportsToDocument):
        document = flow.to_document()
        return [LoadedSource(Path(document.name), document.name, document)]
    if isinstance(flow, bytes):
        name = filename or "<bytes>"
        parsed, diagnostics = _load_bytes(flow, name, policy.max_bytes)
        return [LoadedSource(Path(name), name, parsed, diagnostics)]
    if isinstance(flow, str) and flow.lstrip("\ufeff \t\r\n").startswith("<"):
        name = filename or "<text>"
        parsed, diagnostics = _load_bytes(
            flow.encode("utf-8", "surrogatepass"), name, policy.max_bytes
        )
        return [LoadedSource(Path(name), name, parsed, diagnostics)]
    if isinstance(flow, str | os.PathLike):
        path = Path(flow)
        sources: list[LoadedSource] = []
        for name, problem in expand_path_names([path]):
            if problem is not None:
                sources.append(LoadedSource(Path(name), name, None, [problem]))
            else:
                sources.extend(
                    load_path_sources(
                        Path(name), context=context, sample=sample, max_bytes=policy.max_bytes
                    )
                )
        return sources
    raise TypeError(
        f"cannot read a {type(flow).__name__} as a call flow: pass a path, '-', a library "
        "template name, XML text or bytes, a Document or a builder node"
    )


def load_flow(
    flow: object,
    *,
    context: Mapping[str, object] | None = None,
    sample: str | None = None,
    filename: str | None = None,
    policy: ReadPolicy = DEFAULT_POLICY,
) -> Document:
    """The one Document ``flow`` gives, for callers that need exactly one flow.

    Raises `ValidationError` (with the diagnostics) when it does not load, and `InputError`
    naming the samples when a template gives several documents.
    """
    from callflow.errors import ValidationError

    sources = load_flows(flow, context=context, sample=sample, filename=filename, policy=policy)
    problems = [d for source in sources for d in source.diagnostics if d.is_error]
    label = sources[0].label if sources else str(flow)
    document = None if problems else single_document(Path(label), sources)
    if document is None:
        first = problems[0] if problems else "nothing to load"
        raise ValidationError(f"{label}: the call flow does not load; first: {first}", problems)
    return document


def _load_bytes(data: bytes, name: str, max_bytes: int) -> tuple[Document | None, list[Diagnostic]]:
    from callflow.document import load_bytes

    document, diagnostics = load_bytes(data, name, max_bytes=max_bytes)
    return document, list(diagnostics)
