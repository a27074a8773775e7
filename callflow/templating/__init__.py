"""Jinja2 templates for call XML: safe rendering, errors at template lines, a bundled library.

`TemplateRenderer` renders templates (cached compilation, autoescaping, undefined
variables as errors, an optional sandbox) to `Document`\\s whose source maps point every
output line at the template line that produced it, through includes, macros and blocks.
`load_template_sources` is what ``callflow validate`` calls for ``*.xml.j2`` files: it
renders each sample context a template declares in its header.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path

import jinja2

from callflow.diagnostics import Diagnostic, Severity
from callflow.document import Document
from callflow.sourcemap import SourceLocation
from callflow.sources import DEFAULT_POLICY, LoadedSource, ReadPolicy
from callflow.templating._header import TemplateHeader, TemplateVariable, parse_header
from callflow.templating._output import ControlCharacters
from callflow.templating._prepared import PreparedRender
from callflow.templating._render import (
    LIBRARY_PREFIX,
    MAIN_TEMPLATE_KEY,
    Rendered,
    TemplateRenderer,
    library_path,
)

__all__ = [
    "LIBRARY_PREFIX",
    "MAIN_TEMPLATE_KEY",
    "LibraryTemplate",
    "PreparedTemplate",
    "TemplateHeader",
    "TemplateRenderer",
    "TemplateVariable",
    "library_path",
    "library_templates",
    "load_template_sources",
    "parse_header",
    "prepare_template",
    "render_template",
    "search_path_for",
]

#: Extra template folders for every render, separated like PATH (os.pathsep).
SEARCH_PATH_VARIABLE = "CALLFLOW_TEMPLATE_PATH"


def search_path_for(template: Path, extra: Sequence[Path] = ()) -> tuple[Path, ...]:
    """Where a template's includes and imports are looked up: its folder, ``extra``, then
    the folders in ``$CALLFLOW_TEMPLATE_PATH`` (the library comes last, as ``callflow/``)."""
    folders = [template.resolve().parent, *(p.resolve() for p in extra)]
    for entry in os.environ.get(SEARCH_PATH_VARIABLE, "").split(os.pathsep):
        if entry.strip():
            folders.append(Path(entry).resolve())
    return tuple(dict.fromkeys(folders))


@functools.lru_cache(maxsize=32)
def _renderer(
    search_path: tuple[Path, ...],
    trusted: bool,
    control_characters: ControlCharacters,
    follow_links: bool = False,
) -> TemplateRenderer:
    return TemplateRenderer(
        search_path,
        trusted=trusted,
        follow_links=follow_links,
        control_characters=control_characters,
    )


@functools.lru_cache(maxsize=32)
def _unsaved_renderer(
    search_path: tuple[Path, ...], trusted: bool, follow_links: bool
) -> tuple[TemplateRenderer, threading.Lock]:
    renderer = TemplateRenderer(search_path, trusted=trusted, follow_links=follow_links, unsaved={})
    return renderer, threading.Lock()


def render_template(
    template: str | os.PathLike[str],
    context: Mapping[str, object] | None = None,
    *,
    search_path: Sequence[str | os.PathLike[str]] = (),
    trusted: bool = False,
    sandboxed: bool | None = None,
    follow_links: bool = False,
    control_characters: ControlCharacters = "reject",
    sample: str | None = None,
    validate: bool = True,
) -> Document:
    """Render a template file (a path) or a name found in ``search_path`` or the library.

    Returns the Document (source map at template lines); raises `TemplateError` when the
    template cannot render and `ValidationError` when the XML breaks the schema. The
    renderer behind it is cached, so repeated calls reuse compiled templates. Rendering is
    sandboxed, with bounded memory and time, unless ``trusted=True`` (``sandboxed=False``
    is the older spelling of it); ``follow_links`` lets includes follow symbolic links
    out of the search folders.
    """
    if sandboxed is not None:
        trusted = not sandboxed
    folders = tuple(Path(p).resolve() for p in search_path)
    path = Path(template)
    is_file = not isinstance(template, str) or (
        path.suffix == ".j2" and path.is_file() and not template.startswith(LIBRARY_PREFIX + "/")
    )
    if is_file:
        folders = search_path_for(path, folders)
        renderer = _renderer(folders, trusted, control_characters, follow_links)
        name: str | Path = path.resolve()
    else:
        renderer = _renderer(folders, trusted, control_characters, follow_links)
        name = str(template)
    return renderer.render(name, context, sample=sample, validate=validate)


def load_template_sources(
    path: Path,
    *,
    context: Mapping[str, object] | None = None,
    sample: str | None = None,
    policy: ReadPolicy = DEFAULT_POLICY,
    text: str | None = None,
) -> list[LoadedSource]:
    """Render a template file for checking: once per sample it declares, or once with
    ``context`` and/or the sample named ``sample`` (its values, ``context`` on top).

    Never raises for a bad template: syntax errors, undefined variables, missing includes,
    forbidden characters, sandbox refusals, runaway renders and malformed output come back
    as CF6xx diagnostics at the template line. A template without samples is only
    syntax-checked, with a warning. ``policy`` decides sandboxing (``trusted``), links
    (``follow_links``) and the size limit; ``text`` (an unsaved editor buffer) is checked
    instead of the file, with includes still read from disk next to ``path``.
    """
    shown = str(path)
    where = SourceLocation(shown, 1, None)
    try:
        source = path.read_text(encoding="utf-8") if text is None else text
    except FileNotFoundError:
        return [
            LoadedSource(path, shown, None, [_error("CF001", "no such file or directory", where)])
        ]
    except UnicodeDecodeError as error:
        return [
            LoadedSource(
                path,
                shown,
                None,
                [
                    _error(
                        "CF005",
                        f"template is not UTF-8 text (byte 0x{error.object[error.start]:02x})",
                        where,
                    )
                ],
            )
        ]
    except OSError as error:
        return [
            LoadedSource(
                path,
                shown,
                None,
                [_error("CF007", f"cannot read the template: {error.strerror}", where)],
            )
        ]
    guard: AbstractContextManager[object] = contextlib.nullcontext()
    if text is None:
        renderer = _renderer(search_path_for(path), policy.trusted, "reject", policy.follow_links)
    else:
        # One renderer per folder set, kept: a text seen before is not compiled again (an
        # editor renders on each keystroke; the flow server keeps its own compiled template).
        renderer, guard = _unsaved_renderer(
            search_path_for(path), policy.trusted, policy.follow_links
        )
    with guard:
        if text is not None:
            renderer.set_unsaved(path.resolve(), text)
        max_bytes = policy.max_bytes
        header = parse_header(source)
        problems = [
            _error("CF609", message, SourceLocation(shown, line, None))
            for line, message in header.problems
        ]
        resolved = path.resolve()
        if sample is not None and sample not in header.samples:
            declared = ", ".join(f"`{name}`" for name in header.samples) or "none"
            return [
                LoadedSource(
                    path,
                    shown,
                    None,
                    [
                        _error(
                            "CF610",
                            f"the template declares no sample `{sample}` (samples: {declared})",
                            SourceLocation(shown, header.line or 1, None),
                        )
                    ],
                )
            ]
        if context is not None or sample is not None:
            document, found = renderer.render_document(
                resolved, context or {}, sample=sample, shown=shown, max_bytes=max_bytes
            )
            label = shown if sample is None else f"{shown} [sample: {sample}]"
            return [LoadedSource(path, label, document, found)]
        if header.partial or not header.samples:
            found = renderer.check_syntax(resolved)
            if not header.partial:
                found.append(
                    Diagnostic(
                        "CF608",
                        Severity.WARNING,
                        "template declares no sample context, so its output was not checked",
                        SourceLocation(shown, header.line or 1, None),
                        hint="add a header with a sample as the first line, e.g. "
                        '{# callflow samples.basic = { greeting = "Hello" } #} (each key a '
                        "variable the template uses); or mark a file that is only included or "
                        "imported with {# callflow partial = true #}",
                    )
                )
            return [LoadedSource(path, shown, None, problems + found)]
        syntax = renderer.check_syntax(resolved)
        if syntax:  # the same for every sample: report it once
            return [LoadedSource(path, shown, None, problems + syntax)]
        sources = []
        for number, sample in enumerate(header.samples):
            document, found = renderer.render_document(
                resolved, sample=sample, shown=shown, check_header=number == 0, max_bytes=max_bytes
            )
            sources.append(LoadedSource(path, f"{shown} [sample: {sample}]", document, found))
        return sources


class PreparedTemplate:
    """A template file compiled once, to render again and again (the flow server's replies).

    `render` and `parse` are the two halves of what `load_template_sources` does with a
    ``context`` for the same file and text: the same renderer, the same diagnostics. The
    caller decides when the file changed (`prepare_template` takes the text it read);
    includes, imports and layouts are still looked up, and reloaded when their files change,
    on every render. `generation` changes whenever one of them was (re)loaded.
    """

    __slots__ = ("_loader", "_prepared", "_renderer", "compiled", "max_bytes", "shown")

    def __init__(
        self, renderer: TemplateRenderer, compiled: jinja2.Template, shown: str, max_bytes: int
    ) -> None:
        self._renderer = renderer
        self.compiled = compiled
        self.shown = shown
        self.max_bytes = max_bytes
        self._prepared = PreparedRender(renderer, compiled, shown, max_bytes)
        self._loader = renderer.counting_loader

    def __repr__(self) -> str:
        return f"PreparedTemplate({self.shown!r})"

    @property
    def generation(self) -> int:
        """`TemplateRenderer.generation`, read from its loader (one property less)."""
        return self._loader.generation

    def render(self, context: Mapping[str, object]) -> Rendered:
        """The marked text for ``context`` (None in it when the render failed), by the fast
        path of `callflow.templating._prepared`: what `render_marked` gives."""
        return self._prepared.render(context)

    def render_marked(self, context: Mapping[str, object]) -> Rendered:
        """`render`'s plain path: `TemplateRenderer.render_marked` itself."""
        return self._prepared.render_marked(context)

    def parse(self, rendered: Rendered) -> tuple[Document | None, list[Diagnostic]]:
        """The Document (source map at template lines) and the template's problems."""
        return self._renderer.parse_marked(rendered, max_bytes=self.max_bytes)


def prepare_template(
    path: Path, text: str, *, policy: ReadPolicy = DEFAULT_POLICY
) -> PreparedTemplate | None:
    """``text`` (the file ``path``'s contents, read and vetted by the front door) compiled in
    the renderer `load_template_sources` uses for it, ready to render again; None when it
    does not compile (the front door reports why)."""
    renderer, guard = _unsaved_renderer(search_path_for(path), policy.trusted, policy.follow_links)
    resolved = path.resolve()
    with guard:
        renderer.set_unsaved(resolved, text)
        compiled = renderer.compiled(renderer.template_name(resolved), str(path))
        if isinstance(compiled, Diagnostic):
            return None
        detached = renderer.detached(compiled)
    return PreparedTemplate(renderer, detached, str(path), policy.max_bytes)


def _error(code: str, message: str, location: SourceLocation) -> Diagnostic:
    return Diagnostic(code, Severity.ERROR, message, location)


class LibraryTemplate:
    """One template of the bundled library: its loader name, file, header and macros."""

    __slots__ = ("header", "macros", "name", "path")

    def __init__(
        self, name: str, path: Path, header: TemplateHeader, macros: dict[str, tuple[str, ...]]
    ) -> None:
        self.name = name
        self.path = path
        self.header = header
        self.macros = macros

    def __repr__(self) -> str:
        return f"LibraryTemplate({self.name!r})"

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "title": self.header.title,
            "description": self.header.description,
            "variables": [v.to_dict() for v in self.header.variables.values()],
            "samples": list(self.header.samples),
            "macros": {name: list(args) for name, args in self.macros.items()},
        }


def library_templates() -> list[LibraryTemplate]:
    """The bundled templates, by name (``callflow/…``), with variables, samples and macros."""
    renderer = _renderer((), False, "reject")  # the library renders in the sandbox too
    found = []
    for path in sorted(library_path().glob("*.xml.j2")):
        name = f"{LIBRARY_PREFIX}/{path.name}"
        header = parse_header(path.read_text(encoding="utf-8"))
        compiled = renderer.environment.get_template(name)
        module = compiled.make_module({})
        macros = {
            key: tuple(value.arguments)
            for key, value in sorted(vars(module).items())
            if not key.startswith("_") and hasattr(value, "arguments")
        }
        found.append(LibraryTemplate(name, path, header, macros))
    return found
