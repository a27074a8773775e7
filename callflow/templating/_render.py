"""Rendering call XML templates: the Jinja environment, contexts, and errors as diagnostics."""

from __future__ import annotations

import functools
import itertools
import os
import posixpath
import re
import stat
import traceback
import typing
import weakref
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.loaders import split_template_path

from callflow._text import declare_utf8
from callflow.diagnostics import Diagnostic, Severity, register_code
from callflow.document import MAX_DOCUMENT_BYTES, Document, load_bytes
from callflow.errors import TemplateError, ValidationError
from callflow.sourcemap import SourceLocation
from callflow.templating._header import TemplateHeader, apply_types, parse_header
from callflow.templating._markers import (
    MARK_START,
    FileTable,
    LineMarkerExtension,
    TemplateSourceMap,
    strip_markers,
)
from callflow.templating._output import ControlCharacters, FinalizedOutputGenerator, finalizer
from callflow.templating._sandbox import (
    MAX_OUTPUT_FACTOR,
    BoundedSandbox,
    RenderLimitExceeded,
    ValueTooLarge,
    render_bounded,
)

CODES = {
    "CF601": "Jinja syntax error in a template",
    "CF602": "undefined variable in a template",
    "CF603": "template not found (include, import or extends)",
    "CF604": "error while rendering a template",
    "CF605": "sandboxed template tried an unsafe operation",
    "CF606": "template value holds a character XML 1.0 forbids",
    "CF607": "rendered template is not well-formed XML",
    "CF608": "template declares no sample context",
    "CF609": "template header is invalid",
    "CF610": "no sample context of that name",
    "CF611": "template include, import or extends refused (a link out, or not a regular file)",
    "CF612": "sandboxed template passed its time, memory or output limit",
    "CF613": "template variable is not of the type its header declares",
}
for _code, _title in CODES.items():
    register_code(_code, _title)

#: Context key naming the template being rendered; `is_main()` compares it with its own name.
MAIN_TEMPLATE_KEY = "__callflow_main__"
#: The loader prefix of the bundled library: ``{% import "callflow/ivr_menu.xml.j2" … %}``.
LIBRARY_PREFIX = "callflow"


def library_path() -> Path:
    """The folder of the bundled template library."""
    from callflow.resources import resource_path

    return resource_path("templates")


class Rendered(NamedTuple):
    """A template rendered but not yet parsed: its ``marked`` text (None when the render
    failed), how its file is shown, the chain a sample adds, and the problems so far."""

    marked: str | None
    display: str
    extra_chain: tuple[str, ...]
    problems: list[Diagnostic]


def rendered_bytes(marked: str) -> bytes:
    """The bytes a marked render stands for: markers stripped, a declaration said UTF-8."""
    text = strip_markers(marked) if MARK_START in marked else marked
    if text.lstrip().startswith("<?xml"):
        text = declare_utf8(text)
    return text.encode("utf-8", "surrogateescape")


class TemplateRenderer:
    """Renders call XML templates to `Document`\\s whose source maps point at template lines.

    One renderer holds one Jinja environment: templates compile once and are cached (and
    recompiled when their file changes, unless ``auto_reload=False``), so a webhook
    handler can keep a renderer and call `render` per request. Templates are looked up in
    ``search_path`` and then in the bundled library under ``callflow/``.

    Autoescaping is always on, undefined variables are errors, and every value is checked
    for characters XML cannot hold (``control_characters``: ``"reject"`` makes them an
    error, ``"strip"`` drops them).

    Templates render in Jinja's sandbox with bounded memory and time (see
    `callflow.templating._sandbox`) unless ``trusted=True``: no access to Python
    internals, no oversized values, no render running away. (``sandboxed=`` is the older
    spelling: ``sandboxed=False`` is ``trusted=True``.) Includes, imports and extends read
    only regular files, and never through a symbolic link that leaves the search folders
    unless ``follow_links=True``. ``unsaved`` maps template paths to text (an editor's
    buffer) rendered instead of the file on disk; everything else is still read from disk.
    """

    def __init__(
        self,
        search_path: Iterable[str | os.PathLike[str]] = (),
        *,
        trusted: bool = False,
        sandboxed: bool | None = None,
        follow_links: bool = False,
        library: bool = True,
        control_characters: ControlCharacters = "reject",
        auto_reload: bool = True,
        unsaved: Mapping[str | os.PathLike[str], str] | None = None,
    ) -> None:
        if control_characters not in ("reject", "strip"):
            raise ValueError("control_characters must be 'reject' or 'strip'")
        if sandboxed is not None:
            trusted = not sandboxed
        self.search_path = [Path(p).resolve() for p in search_path]
        self.trusted = trusted
        self.sandboxed = not trusted
        self.follow_links = follow_links
        self.control_characters = control_characters
        loaders: list[jinja2.BaseLoader] = [
            _PolicyLoader([str(p) for p in self.search_path], follow_links=follow_links)
        ]
        self._unsaved: _UnsavedLoader | None = None
        if unsaved is not None:
            self._unsaved = _UnsavedLoader(self.search_path, unsaved)
            loaders.insert(0, self._unsaved)
        if library:
            loaders.append(_LibraryLoader(str(library_path())))
        environment_class = jinja2.Environment if trusted else BoundedSandbox
        self.environment: jinja2.Environment = environment_class(
            loader=_CountingLoader(loaders),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=auto_reload,
            finalize=finalizer(control_characters),
            extensions=[LineMarkerExtension, "callflow.templating._urls.UrlContextExtension"],
        )
        self.environment.code_generator_class = FinalizedOutputGenerator
        self.environment.globals["is_main"] = _is_main
        self.environment.globals["fail"] = _fail
        marker = self.environment.extensions[LineMarkerExtension.identifier]
        assert isinstance(marker, LineMarkerExtension)
        self.files: FileTable = marker.files
        if library:
            self.files.library_root = str(library_path())
        self._headers: weakref.WeakKeyDictionary[jinja2.Template, TemplateHeader] = (
            weakref.WeakKeyDictionary()
        )

    @property
    def generation(self) -> int:
        """A number that changes whenever a template file is (re)loaded: a template, include,
        import or layout seen for the first time, or again after its file changed."""
        return self.counting_loader.generation

    @property
    def counting_loader(self) -> _CountingLoader:
        """The loader that keeps `generation`."""
        loader = self.environment.loader
        assert isinstance(loader, _CountingLoader)
        return loader

    def set_unsaved(self, path: str | os.PathLike[str], text: str) -> None:
        """Render ``text`` for the template file ``path`` from now on (a renderer made with
        ``unsaved``); compiled templates stay cached while their text is unchanged."""
        if self._unsaved is None:
            raise ValueError("this renderer was made without unsaved texts")
        self._unsaved.set(path, text)

    def __repr__(self) -> str:
        mode = ", trusted" if self.trusted else ""
        return f"TemplateRenderer({[str(p) for p in self.search_path]!r}{mode})"

    # -- names ------------------------------------------------------------------

    def template_name(self, template: str | os.PathLike[str]) -> str:
        """The loader name of ``template``: a name as given, or a path inside the search path."""
        if isinstance(template, str) and not os.path.isabs(template):
            return template.replace(os.sep, "/")
        path = Path(template).resolve()
        for folder in self.search_path:
            if path.is_relative_to(folder):
                return path.relative_to(folder).as_posix()
        raise TemplateError(f"{template}: not inside the template search path")

    def header(self, template: str | os.PathLike[str]) -> TemplateHeader:
        """The ``{# callflow … #}`` header of a template (variables, samples)."""
        return self._header_of(self._load(self.template_name(template)))

    def detached(self, compiled: jinja2.Template) -> jinja2.Template:
        """A private copy of ``compiled`` to render many times, its header known: its globals
        one plain dict (Jinja copies them into each render's context, and from the chain of
        mappings a template is given that costs a small template as much as half its
        render). Call it while the text ``compiled`` was made from is the loader's."""
        copy = object.__new__(type(compiled))
        copy.__dict__.update(compiled.__dict__)
        copy.globals = dict(compiled.globals)
        self._headers[copy] = self._header_of(compiled)
        return copy

    def _load(self, name: str) -> jinja2.Template:
        return self.environment.get_template(name)

    def _header_of(self, compiled: jinja2.Template) -> TemplateHeader:
        header = self._headers.get(compiled)
        if header is None:
            loader = self.environment.loader
            assert loader is not None
            source, _, _ = loader.get_source(self.environment, compiled.name or "")
            header = self._headers[compiled] = parse_header(source)
        return header

    # -- rendering --------------------------------------------------------------

    def render(
        self,
        template: str | os.PathLike[str],
        context: Mapping[str, object] | None = None,
        *,
        sample: str | None = None,
        validate: bool = True,
    ) -> Document:
        """Render to a Document; raise `TemplateError` or (schema errors) `ValidationError`.

        ``context`` is laid over the header's defaults (and over sample ``sample``'s
        values when given). With ``validate`` the result is checked against the schema.
        """
        document, diagnostics = self.render_document(template, context, sample=sample)
        if document is None or any(d.is_error for d in diagnostics):
            first = diagnostics[0] if diagnostics else None
            raise TemplateError(
                f"cannot render {template}" + (f": {first}" if first else ""), diagnostics
            )
        if validate:
            from callflow.schema import load_schema

            found = list(load_schema().iter_diagnostics(document))
            if found:
                raise ValidationError(
                    f"{document.name}: rendered XML breaks the schema; first: {found[0]}", found
                )
        return document

    def render_document(
        self,
        template: str | os.PathLike[str],
        context: Mapping[str, object] | None = None,
        *,
        sample: str | None = None,
        shown: str | None = None,
        max_bytes: int = MAX_DOCUMENT_BYTES,
        check_header: bool = True,
    ) -> tuple[Document | None, list[Diagnostic]]:
        """Render and parse; a bad template never raises: its problems come back as diagnostics.

        ``shown`` is how the top template's path appears in locations (default: relative to
        the working directory). Problems in the template's header come first (CF609;
        ``check_header=False`` leaves them out). Only an unknown ``sample`` name raises
        `TemplateError`.
        """
        name = self.template_name(template)
        compiled = self.compiled(name, shown)
        if isinstance(compiled, Diagnostic):
            return None, [compiled]
        rendered = self.render_marked(
            compiled, context, sample=sample, shown=shown, max_bytes=max_bytes,
            check_header=check_header,
        )  # fmt: skip
        return self.parse_marked(rendered, max_bytes=max_bytes)

    def compiled(self, name: str, shown: str | None = None) -> jinja2.Template | Diagnostic:
        """The compiled template of loader name ``name``, or the diagnostic saying why
        there is none (CF601 syntax, CF611 refused, CF603 not found)."""
        where = SourceLocation(shown or name, 1, None)
        try:
            return self._load(name)
        except jinja2.TemplateSyntaxError as error:
            return self._syntax_diagnostic(error)
        except TemplateRefused as error:
            return _refused_diagnostic(error, where)
        except jinja2.TemplateNotFound:
            return Diagnostic(
                "CF603",
                Severity.ERROR,
                f"template `{name}` not found",
                where,
                hint=self._search_hint(),
            )

    def render_marked(
        self,
        compiled: jinja2.Template,
        context: Mapping[str, object] | None = None,
        *,
        sample: str | None = None,
        shown: str | None = None,
        max_bytes: int = MAX_DOCUMENT_BYTES,
        check_header: bool = True,
    ) -> Rendered:
        """Render a compiled template to its marked text (the first half of
        `render_document`, before any parsing): ``Rendered.marked`` is None when the
        render failed, with the reasons in ``Rendered.problems``."""
        if compiled.filename and shown:
            self.files.show_as(compiled.filename, shown)
        header = self._header_of(compiled)
        display = shown or self.files.display_filename(compiled.filename or compiled.name or "")
        header_problems = [
            Diagnostic("CF609", Severity.ERROR, message, SourceLocation(display, line, None))
            for line, message in (header.problems if check_header else ())
        ]
        layers: list[tuple[str, Mapping[str, object]]] = [("its default", header.defaults)]
        extra_chain: tuple[str, ...] = ()
        if sample is not None:
            if sample not in header.samples:
                declared = ", ".join(f"`{n}`" for n in header.samples) or "none"
                raise TemplateError(
                    f"{display}: the template declares no sample `{sample}` (samples: {declared})"
                )
            layers.append((f"sample `{sample}`", header.samples[sample]))
            extra_chain = (f"with sample `{sample}`",)
        layers.append(("the context", context or {}))
        values, mistyped = apply_types(header, layers)
        if mistyped:
            problems = [
                *header_problems,
                *(
                    Diagnostic(
                        "CF613",
                        Severity.ERROR,
                        message,
                        SourceLocation(display, line, None, extra_chain),
                        hint=hint,
                    )
                    for line, message, hint in mistyped
                ),
            ]
            return Rendered(None, display, extra_chain, problems)
        values[MAIN_TEMPLATE_KEY] = compiled.name
        try:
            if self.trusted:
                marked = compiled.render(values)
            else:
                marked = render_bounded(compiled, values, max_output=max_bytes * MAX_OUTPUT_FACTOR)
        except Exception as error:  # every failure inside a template becomes a diagnostic
            problem = self._render_diagnostic(error, compiled, extra_chain)
            return Rendered(None, display, extra_chain, [*header_problems, problem])
        return Rendered(marked, display, extra_chain, header_problems)

    def parse_marked(
        self, rendered: Rendered, *, max_bytes: int = MAX_DOCUMENT_BYTES
    ) -> tuple[Document | None, list[Diagnostic]]:
        """The Document a `render_marked` result makes (the second half of
        `render_document`): markers stripped, the source map attached, the XML parsed."""
        if rendered.marked is None:
            return None, list(rendered.problems)
        marked = rendered.marked
        source_map = TemplateSourceMap(rendered.display, marked, self.files, rendered.extra_chain)
        document, diagnostics = load_bytes(
            rendered_bytes(marked),
            rendered.display,
            source_map=source_map,
            max_bytes=max_bytes,
        )
        return document, list(rendered.problems) + [_as_template_problem(d) for d in diagnostics]

    def check_syntax(self, template: str | os.PathLike[str]) -> list[Diagnostic]:
        """Compile without rendering: Jinja syntax errors as diagnostics."""
        try:
            self._load(self.template_name(template))
        except jinja2.TemplateSyntaxError as error:
            return [self._syntax_diagnostic(error)]
        except TemplateRefused as error:
            return [_refused_diagnostic(error, SourceLocation(str(template), 1, None))]
        except jinja2.TemplateNotFound:
            return []
        return []

    # -- errors as diagnostics ----------------------------------------------------

    def _search_hint(self) -> str:
        folders = [str(p) for p in self.search_path]
        folders.append(f"{LIBRARY_PREFIX}/ (the bundled library)")
        return "searched: " + ", ".join(folders)

    def _show(self, filename: str | None, fallback: str) -> str:
        return self.files.display_filename(filename) if filename else fallback

    def _syntax_diagnostic(
        self, error: jinja2.TemplateSyntaxError, extra_chain: tuple[str, ...] = ()
    ) -> Diagnostic:
        file = self._show(error.filename, error.name or "<template>")
        frames = _template_frames(error.__traceback__, self.files)
        chain = _chain(
            frames[:-1] if frames and frames[-1][:2] == (error.filename, error.lineno) else frames,
            self.files,
        )
        message = error.message or "syntax error"
        return Diagnostic(
            "CF601",
            Severity.ERROR,
            f"template syntax error: {message}",
            SourceLocation(file, error.lineno or 1, None, chain + extra_chain),
            hint=_syntax_hint(message),
        )

    def _render_diagnostic(
        self, error: BaseException, compiled: jinja2.Template, extra_chain: tuple[str, ...]
    ) -> Diagnostic:
        if isinstance(error, jinja2.TemplateSyntaxError):
            return self._syntax_diagnostic(error, extra_chain)
        frames = _template_frames(error.__traceback__, self.files)
        undefined_name = (
            re.fullmatch(r"'([A-Za-z_]\w*)' is undefined", str(error))
            if isinstance(error, jinja2.UndefinedError)
            else None
        )
        if undefined_name is not None:
            # Undefined values fail where they are printed, often deep in a macro; point at
            # the innermost line that names the variable.
            word = re.compile(r"\b" + re.escape(undefined_name.group(1)) + r"\b")
            for index in range(len(frames) - 1, -1, -1):
                text = _source_line(*frames[index])
                if text is not None and word.search(text):
                    frames = frames[: index + 1]
                    break
        # A failure inside a library macro is reported at the user's line that called it.
        inside_library: list[str] = []
        while len(frames) > 1 and self.files.is_library(frames[-1][0]):
            filename, line = frames.pop()
            inside_library.append(f"in {self.files.chain_name(filename)}:{line}")
        if frames:
            filename, line = frames[-1]
            location = SourceLocation(
                self._show(filename, compiled.name or ""),
                line,
                None,
                (*inside_library, *_chain(frames[:-1], self.files), *extra_chain),
            )
        else:
            location = SourceLocation(
                self._show(compiled.filename, compiled.name or ""), 1, None, extra_chain
            )
        if isinstance(error, RenderLimitExceeded | ValueTooLarge):
            return Diagnostic(
                "CF612",
                Severity.ERROR,
                str(error),
                location,
                hint="sandboxed templates have bounded time, memory and output; render "
                "trusted templates with --trusted-templates",
            )
        if isinstance(error, TemplateRefused):
            return _refused_diagnostic(error, location)
        if isinstance(error, RecursionError):
            return Diagnostic(
                "CF604",
                Severity.ERROR,
                "the template recursed too deeply (a macro calling itself without end?)",
                location,
            )
        if isinstance(error, SecurityError):
            return Diagnostic(
                "CF605",
                Severity.ERROR,
                f"the sandbox refused: {error}",
                location,
                hint="sandboxed templates cannot reach Python internals",
            )
        if isinstance(error, jinja2.UndefinedError):
            message = str(error)
            if "unsafe" in message:
                return Diagnostic(
                    "CF605",
                    Severity.ERROR,
                    f"the sandbox refused: {message}",
                    location,
                    hint="sandboxed templates cannot reach Python internals",
                )
            undefined = re.fullmatch(r"'([A-Za-z_]\w*)' is undefined", message)
            if undefined:
                variable = undefined.group(1)
                return Diagnostic(
                    "CF602",
                    Severity.ERROR,
                    f"undefined variable `{variable}`",
                    location,
                    hint=f"pass it in the context (callflow render … --var {variable}=…) or "
                    "give it a default in the template's header",
                )
            return Diagnostic("CF602", Severity.ERROR, f"undefined value: {message}", location)
        if isinstance(error, jinja2.TemplateNotFound):
            names = getattr(error, "templates", None) or [error.name]
            shown = ", ".join(f"`{n}`" for n in names)
            return Diagnostic(
                "CF603",
                Severity.ERROR,
                f"template {shown} not found",
                location,
                hint=self._search_hint(),
            )
        if isinstance(error, TemplateError):
            return Diagnostic(
                "CF606",
                Severity.ERROR,
                str(error),
                location,
                hint="clean the value before rendering, or render with control_characters="
                "'strip' to drop such characters",
            )
        if isinstance(error, jinja2.TemplateRuntimeError):
            return Diagnostic("CF604", Severity.ERROR, str(error), location)
        return Diagnostic(
            "CF604",
            Severity.ERROR,
            f"error while rendering: {type(error).__name__}: {error}",
            location,
        )


class _CountingLoader(jinja2.ChoiceLoader):
    """Jinja's choice of loaders, counting the templates it loads (`TemplateRenderer.generation`):
    Jinja asks a loader only for a template it has not compiled, or whose file changed."""

    def __init__(self, loaders: list[jinja2.BaseLoader]) -> None:
        super().__init__(loaders)
        self._counter = itertools.count(1)
        self.generation = 0

    def load(
        self,
        environment: jinja2.Environment,
        name: str,
        globals: typing.MutableMapping[str, Any] | None = None,
    ) -> jinja2.Template:
        self.generation = next(self._counter)  # before: a render that began earlier misses
        return super().load(environment, name, globals)


class TemplateRefused(jinja2.TemplateError):
    """A template file the reading policy does not read: a link out, or not a regular file."""


class _PolicyLoader(jinja2.FileSystemLoader):
    """Jinja's file loader under the reading policy: regular files only, and (unless
    ``follow_links``) no symbolic link resolving outside the search folders."""

    def __init__(self, searchpath: list[str], *, follow_links: bool) -> None:
        super().__init__(searchpath)
        self.follow_links = follow_links
        self._roots = [os.path.realpath(folder) for folder in self.searchpath]

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        pieces = split_template_path(template)
        for folder, root in zip(self.searchpath, self._roots, strict=True):
            filename = posixpath.join(folder, *pieces)
            try:
                status = os.stat(filename)
            except (OSError, ValueError):
                continue
            if not self.follow_links:
                real = os.path.realpath(filename)
                if os.path.commonpath([root, real]) != root:
                    raise TemplateRefused(
                        f"template `{template}` is a symbolic link out of the template "
                        "folders; not read"
                    )
            if not stat.S_ISREG(status.st_mode):
                raise TemplateRefused(f"template `{template}` is not a regular file; not read")
            stamp = file_stamp(filename)
            contents = self._read(filename, template).decode(self.encoding)

            def uptodate(filename: str = filename, stamp: object = stamp) -> bool:
                return stamp is not None and file_stamp(filename) == stamp

            return contents, os.path.normpath(filename), uptodate
        raise jinja2.TemplateNotFound(template)

    def _read(self, filename: str, template: str) -> bytes:
        """The file's bytes, checked again on the open descriptor: a file swapped for a FIFO
        or (unless links may be followed) a link after the checks above is refused, never
        read through or waited on."""
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
        if not self.follow_links:  # open what was vetted, not whatever a link now names
            filename, flags = os.path.realpath(filename), flags | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(filename, flags)
        except OSError as error:
            raise TemplateRefused(
                f"template `{template}` could not be read: {error.strerror}"
            ) from None
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise TemplateRefused(f"template `{template}` is not a regular file; not read")
            return handle.read()


def file_stamp(filename: str) -> tuple[int, ...] | None:
    """What a template file is on disk, cheaply: the entry itself (a file replaced, even by
    a link, is another inode) and, through a link, its target; size and times in ns."""
    try:
        entry = os.lstat(filename)
        status = os.stat(filename) if stat.S_ISLNK(entry.st_mode) else entry
    except (OSError, ValueError):
        return None
    return (
        entry.st_ino, entry.st_mode, status.st_ino, status.st_dev, status.st_mode,
        status.st_size, status.st_mtime_ns, status.st_ctime_ns,
    )  # fmt: skip


class _UnsavedLoader(jinja2.BaseLoader):
    """Text not yet saved, by path, found under its name in the search folders."""

    def __init__(
        self, search_path: list[Path], unsaved: Mapping[str | os.PathLike[str], str]
    ) -> None:
        self._texts = {os.path.abspath(os.fspath(path)): text for path, text in unsaved.items()}
        self._folders = [str(folder) for folder in search_path]

    def set(self, path: str | os.PathLike[str], text: str) -> None:
        self._texts[os.path.abspath(os.fspath(path))] = text

    def _is_current(self, filename: str, text: str) -> bool:
        return self._texts.get(filename) == text

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        pieces = split_template_path(template)
        for folder in self._folders:
            filename = os.path.normpath(posixpath.join(folder, *pieces))
            text = self._texts.get(filename)
            if text is not None:
                # Up to date while the text given for that file is still this one.
                given = text
                return given, filename, functools.partial(self._is_current, filename, given)
        raise jinja2.TemplateNotFound(template)


def _refused_diagnostic(error: TemplateRefused, location: SourceLocation) -> Diagnostic:
    return Diagnostic(
        "CF611",
        Severity.ERROR,
        str(error),
        location,
        hint="templates read only regular files inside their folders; pass --follow-links "
        "to follow links out",
    )


class _LibraryLoader(jinja2.FileSystemLoader):
    """The bundled library under ``callflow/``, keeping that prefix in template names."""

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Any]:
        prefix = LIBRARY_PREFIX + "/"
        if not template.startswith(prefix):
            raise jinja2.TemplateNotFound(template)
        return super().get_source(environment, template.removeprefix(prefix))

    def list_templates(self) -> list[str]:
        return [f"{LIBRARY_PREFIX}/{name}" for name in super().list_templates()]


def _template_frames(tb: TracebackType | None, files: FileTable) -> list[tuple[str, int]]:
    """(filename, line) of each template frame in a traceback, outermost first."""
    frames: list[tuple[str, int]] = []
    for frame, line in traceback.walk_tb(tb):
        filename = frame.f_code.co_filename
        if files.knows(filename) and (not frames or frames[-1] != (filename, line)):
            frames.append((filename, line))
    return frames


def _chain(frames: list[tuple[str, int]], files: FileTable) -> tuple[str, ...]:
    """The way to an error, innermost first: "included from a.xml.j2:4", "called from …"."""
    steps = []
    for filename, line in reversed(frames):
        verb = "called from"
        text = _source_line(filename, line)
        if text is not None:
            if re.search(r"\{%-?\s*include\b", text):
                verb = "included from"
            elif re.search(r"\{%-?\s*(?:import|from)\b", text):
                verb = "imported from"
            elif re.search(r"\{%-?\s*extends\b", text):
                verb = "extended by"
        steps.append(f"{verb} {files.chain_name(filename)}:{line}")
    return tuple(steps)


def _source_line(filename: str, line: int) -> str | None:
    try:
        with open(filename, encoding="utf-8", errors="replace") as handle:
            for number, text in enumerate(handle, start=1):
                if number == line:
                    return text
    except OSError:
        return None
    return None


def _syntax_hint(message: str) -> str | None:
    lowered = message.lower()
    if "encountered unknown tag" in lowered and "end" in lowered:
        return "a block tag is closed that was never opened, or a closing tag is misspelled"
    if "unexpected end of template" in lowered:
        return "a {% if %}, {% for %}, {% macro %} or {% block %} is never closed"
    return None


def _as_template_problem(diagnostic: Diagnostic) -> Diagnostic:
    """Parse problems of rendered text are the template's: CF101/CF003 become CF607."""
    if diagnostic.code == "CF101":
        message = f"rendered XML is not well-formed: {diagnostic.message}"
    elif diagnostic.code == "CF003":
        message = "the template rendered no XML (only whitespace)"
    else:
        return diagnostic
    return Diagnostic(
        "CF607",
        diagnostic.severity,
        message,
        diagnostic.location,
        xpath=diagnostic.xpath,
        hint=diagnostic.hint,
    )


@jinja2.pass_context
def _is_main(context: jinja2.runtime.Context) -> bool:
    """True in the template being rendered, False where another template imports it."""
    return bool(context.get(MAIN_TEMPLATE_KEY) == context.name)


def _fail(message: str) -> None:
    """``{{ fail("…") }}``: stop rendering with a message, reported at the template line."""
    raise jinja2.TemplateRuntimeError(str(message))
