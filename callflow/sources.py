"""The front door: everything a user calls a flow becomes Documents here, under one reading policy.

`load_flows` (never raises for bad input) and `load_flow` (exactly one Document, or an
exception) are the only way a path, a folder, ``-`` (standard input), a library template
name, XML text or bytes, a template's text, a `Document`, a builder node or a `LoadedSource`
becomes a Document. Commands, the Python API, the editor server and the test runners call
them; nothing else resolves paths or reads flow files.

The reading policy (also in docs/reading-policy.md), applied by `read_flow_file`:

- A symbolic link is followed only while its target stays inside the folder the user named;
  a link out is reported (CF009) and not opened. ``ReadPolicy(follow_links=True)``
  (``--follow-links``) opts in. A file named directly is the user's choice and is followed.
- Only regular files are read. A file is opened with ``O_NONBLOCK`` and checked with
  ``fstat`` on the open descriptor, so a FIFO never blocks and what is checked is what is
  read; FIFOs, devices, sockets are reported (CF010). Inside a folder named, the last
  component is opened with ``O_NOFOLLOW``: a file swapped for a link after the folder was
  listed is vetted as a link, not followed.
- An unreadable file or folder is a located diagnostic (CF007) and the run goes on.
- Content that is refused, binary or undecodable is never quoted: its diagnostics carry an
  empty snippet (reporters quote nothing) and name the byte offset instead.

Batches (``callflow validate`` on ten thousand files) use the same two steps as strings:
`expand_flow_names` finds the files, `load_flow_name` reads one; both are cheap enough to
run in worker processes.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

# Re-exported: the policy and the kinds of file are part of the front door's surface.
from callflow._policy import (
    DEFAULT_POLICY,
    DEFAULT_SCRIPT_TIMEOUT,  # noqa: F401 (re-exported)
    LIBRARY_PREFIX,
    READING_CODES,
    SCRIPT_SUFFIXES,
    STDIN,
    TEMPLATE_SUFFIXES,
    XML_SUFFIXES,
    ReadPolicy,
)
from callflow.diagnostics import Diagnostic, Severity, register_code
from callflow.document import Document, load_bytes
from callflow.sourcemap import SourceLocation

if TYPE_CHECKING:
    from pathlib import Path

    from callflow.errors import CallflowError

register_code("CF009", "symbolic link leads out of the folder named; not read")
register_code("CF010", "not a regular file (FIFO, device, socket); not read")


class LoadedSource:
    """One Document (or the reasons there is none) from one source.

    ``label`` names it for people: the path, plus e.g. the sample context's name for a
    template rendered once per sample. ``text`` is the source's text when it did not come
    from a file on disk (standard input, an editor's buffer), so that reporters quote it
    rather than whatever file of that name is on disk.
    """

    __slots__ = ("_path", "diagnostics", "document", "label", "text")

    def __init__(
        self,
        path: Path | str,
        label: str,
        document: Document | None,
        diagnostics: Sequence[Diagnostic] = (),
        *,
        text: str | None = None,
    ) -> None:
        self._path = path  # a Path when first asked for: a batch of files never asks
        self.label = label
        self.document = document
        self.diagnostics: list[Diagnostic] = list(diagnostics)
        self.text = text

    @property
    def path(self) -> Path:
        """The file (or the name standard input goes by) the source was read from."""
        if isinstance(self._path, str):
            from pathlib import Path  # only when asked: checking files never needs pathlib

            self._path = Path(self._path)
        return self._path

    def __repr__(self) -> str:
        state = "ok" if self.document is not None else f"{len(self.diagnostics)} problem(s)"
        return f"LoadedSource({self.label!r}, {state})"


@runtime_checkable
class SupportsToDocument(Protocol):
    """A builder flow: anything with ``to_document()`` returning a `Document`."""

    def to_document(self) -> Document: ...


#: Everything a user may call a flow.
FlowInput = "str | os.PathLike[str] | bytes | Document | SupportsToDocument | LoadedSource"


def source_kind(path: str | os.PathLike[str]) -> str | None:
    """'xml', 'template', 'script', or None for a file callflow does not read."""
    name = os.fspath(path).lower()
    if name.endswith(TEMPLATE_SUFFIXES):
        return "template"
    if name.endswith(XML_SUFFIXES):
        return "xml"
    if name.endswith(SCRIPT_SUFFIXES):
        return "script"
    return None


def _error(code: str, message: str, name: str, hint: str | None = None) -> Diagnostic:
    # Reading problems never quote the file: it was not read, or is not text.
    return Diagnostic(
        code, Severity.ERROR, message, SourceLocation(name, 1, None), hint=hint, snippet=""
    )


# ---------------------------------------------------------------- finding files


def library_file(name: str) -> str | None:
    """The bundled file a library template name (``callflow/ivr_menu.xml.j2``) stands for,
    or None when ``name`` is not of that form or a file of that name exists here (the
    user's own file wins)."""
    if not name.startswith(LIBRARY_PREFIX) or os.path.lexists(name):
        return None
    rest = name[len(LIBRARY_PREFIX) :]
    if not rest or "/" in rest or "\\" in rest or rest.startswith("."):
        return None
    from callflow.templating import library_path

    return os.path.join(os.fspath(library_path()), rest)


def _inside(real: str, root: str) -> bool:
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def _walk(top: str, policy: ReadPolicy) -> tuple[list[str], list[Diagnostic]]:
    """Sorted flow files (XML, templates) below ``top`` and the problems met on the way.

    Hidden entries are skipped; links to folders are searched only while they stay inside
    ``top`` (or with ``follow_links``), each folder once; an unreadable folder is reported.
    """
    root = os.path.realpath(top)
    found: list[str] = []
    problems: list[Diagnostic] = []
    wanted = XML_SUFFIXES + TEMPLATE_SUFFIXES
    seen = {root}
    pending = [top]
    while pending:
        folder = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as error:
            problems.append(_unreadable(folder, error, what="folder"))
            continue
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
                if is_dir:
                    pending.append(entry.path)
                    continue
                if not entry.is_symlink():
                    if name.lower().endswith(wanted):
                        found.append(entry.path)
                    continue
                # A link: to a folder it is searched once, if it stays inside; a link
                # to a file is found by its name and vetted when read.
                if not entry.is_dir():
                    if name.lower().endswith(wanted):
                        found.append(entry.path)
                    continue
            except OSError as error:
                problems.append(_unreadable(entry.path, error))
                continue
            real = os.path.realpath(entry.path)
            if not policy.follow_links and not _inside(real, root):
                problems.append(
                    Diagnostic(
                        "CF009",
                        Severity.WARNING,
                        "link to a folder outside the folder named; not searched",
                        SourceLocation(entry.path, 1, None),
                        hint="pass --follow-links (follow_links=True) to search it",
                        snippet="",
                    )
                )
            elif real not in seen:
                seen.add(real)
                pending.append(entry.path)
    found.sort()
    return found, problems


def expand_flow_names(
    names: Iterable[str | os.PathLike[str]],
    *,
    policy: ReadPolicy = DEFAULT_POLICY,
    include_scripts: bool = True,
) -> Iterator[tuple[str, str | None, Diagnostic | None]]:
    """The files to read for the names a user gave, as strings (cheap to pickle by the
    thousand).

    Yields ``(name, root, None)`` for each file, where ``root`` is the real path of the
    folder the user named (links must stay inside it) or None for a file named directly;
    ``(name, None, diagnostic)`` where a name is missing, a folder holds nothing callflow
    reads, or a folder could not be searched. ``-`` is yielded as is (standard input),
    a library template name as its bundled file. Builder scripts are read only when named
    one by one (a folder holds many Python files that are not flows).
    """
    for given in names:
        name = os.fspath(given)
        if name == STDIN:
            yield name, None, None
            continue
        library = library_file(name)
        if library is not None:
            if os.path.isfile(library):
                yield library, None, None
            else:
                yield (
                    name,
                    None,
                    _error(
                        "CF001",
                        "no library template of that name",
                        name,
                        hint="`callflow templates` lists the library",
                    ),
                )
            continue
        try:
            status = os.stat(name)
        except FileNotFoundError:
            message = (
                "broken symbolic link: its target does not exist"
                if os.path.islink(name)
                else "no such file or directory"
            )
            yield name, None, _error("CF001", message, name)
            continue
        except OSError as error:
            yield name, None, _unreadable(name, error)
            continue
        if stat.S_ISDIR(status.st_mode):
            found, problems = _walk(name, policy)
            for problem in problems:
                yield problem.location.file, None, problem
            if not found and not problems:
                yield (
                    name,
                    None,
                    _error("CF002", "directory holds no call flow files (*.xml, *.xml.j2)", name),
                )
            root = os.path.realpath(name)
            for file in found:
                yield file, root, None
            continue
        kind = source_kind(name)
        if kind is None or (kind == "script" and not include_scripts):
            yield (
                name,
                None,
                _error(
                    "CF008",
                    "not a call flow file: expected *.xml, *.xml.j2 or a *.py builder script",
                    name,
                ),
            )
            continue
        yield name, None, None


# ---------------------------------------------------------------- reading one file

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
_OPEN_FLAGS |= getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)

_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a directory"),
)


def _unreadable(name: str, error: OSError, *, what: str = "file") -> Diagnostic:
    if error.errno == errno.ELOOP:
        reason = "a loop of symbolic links"
    elif error.errno in (errno.EACCES, errno.EPERM):
        reason = "permission denied"
    else:
        reason = (error.strerror or str(error)).lower()
    return _error("CF007", f"cannot read the {what}: {reason}", name)


def _link_out(name: str) -> Diagnostic:
    return _error(
        "CF009",
        "symbolic link to a file outside the folder named; not read",
        name,
        hint="pass --follow-links (follow_links=True) to read it",
    )


def read_flow_file(
    name: str, root: str | None = None, *, policy: ReadPolicy = DEFAULT_POLICY
) -> bytes | Diagnostic:
    """The bytes of one flow file under the reading policy, or the diagnostic saying why not.

    ``root`` is the real path of the folder the user named, when ``name`` was found in it:
    links must then stay inside it (unless ``policy.follow_links``). At most
    ``policy.max_bytes + 1`` bytes are read (the parser reports a larger file).
    """
    contained = root is not None and not policy.follow_links
    try:
        try:
            fd = os.open(name, _OPEN_FLAGS | (_NOFOLLOW if contained else 0))
        except OSError as error:
            if not (contained and error.errno == errno.ELOOP and os.path.islink(name)):
                raise
            # A link found in the folder named: vetted before it is opened.
            assert root is not None
            real = os.path.realpath(name)
            if not _inside(real, root):
                return _link_out(name)
            fd = os.open(real, _OPEN_FLAGS | _NOFOLLOW)
    except FileNotFoundError:
        if os.path.islink(name):
            return _error("CF001", "broken symbolic link: its target does not exist", name)
        return _error("CF001", "no such file or directory", name)
    except OSError as error:
        return _unreadable(name, error)
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            kind = next((k for test, k in _KINDS if test(status.st_mode)), "not a regular file")
            return _error("CF010", f"{kind}, not a regular file; not read", name)
        limit = policy.max_bytes + 1
        wanted = min(status.st_size, limit) if status.st_size else limit
        first = os.read(fd, wanted)
        if len(first) == wanted or not first:  # the usual case: all of it in one read
            return first
        chunks = [first]
        wanted -= len(first)
        while wanted > 0:
            chunk = os.read(fd, wanted)
            if not chunk:
                break
            chunks.append(chunk)
            wanted -= len(chunk)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)
    except OSError as error:
        return _unreadable(name, error)
    finally:
        os.close(fd)


def read_stdin(policy: ReadPolicy = DEFAULT_POLICY) -> bytes | Diagnostic:
    """Standard input, at most ``policy.max_bytes + 1`` bytes."""
    stream = sys.stdin
    if stream is None:
        return _error("CF007", "cannot read standard input: there is none", "<stdin>")
    try:
        buffer = getattr(stream, "buffer", None)
        if buffer is not None:
            data: bytes = buffer.read(policy.max_bytes + 1)
            return data
        return stream.read(policy.max_bytes + 1).encode("utf-8", "surrogateescape")
    except (OSError, ValueError) as error:
        return _error("CF007", f"cannot read standard input: {error}", "<stdin>")


# ---------------------------------------------------------------- bytes → LoadedSources


def load_flow_name(
    name: str,
    root: str | None = None,
    *,
    context: Mapping[str, object] | None = None,
    sample: str | None = None,
    filename: str | None = None,
    policy: ReadPolicy = DEFAULT_POLICY,
    on_read: Callable[[bytes], object] | None = None,
) -> list[LoadedSource]:
    """Read one name `expand_flow_names` gave (a file, or ``-``) and load what it holds.

    ``on_read`` is called with the bytes of a file read, before they are loaded (the flow
    server keeps a template's text, to render it again while the file is unchanged)."""
    if name == STDIN:
        data = read_stdin(policy)
        shown = filename or "<stdin>"
        if isinstance(data, Diagnostic):
            return [LoadedSource(shown, shown, None, [_renamed(data, shown)])]
        return load_data(data, shown, context=context, sample=sample, policy=policy, on_disk=False)
    data = read_flow_file(name, root, policy=policy)
    if isinstance(data, Diagnostic):
        return [LoadedSource(name, name, None, [data])]
    if on_read is not None:
        on_read(data)
    return load_data(data, name, context=context, sample=sample, policy=policy, on_disk=True)


def _renamed(diagnostic: Diagnostic, name: str) -> Diagnostic:
    location = SourceLocation(name, diagnostic.location.line, diagnostic.location.column)
    return Diagnostic(
        diagnostic.code,
        diagnostic.severity,
        diagnostic.message,
        location,
        diagnostic.xpath,
        diagnostic.hint,
        diagnostic.snippet,
    )


def load_data(
    data: bytes,
    name: str,
    *,
    context: Mapping[str, object] | None = None,
    sample: str | None = None,
    policy: ReadPolicy = DEFAULT_POLICY,
    on_disk: bool = False,
    kind: str | None = None,
) -> list[LoadedSource]:
    """Load a flow's bytes; ``name`` names it in locations and decides its kind
    (``*.xml.j2``, ``*.py``, else XML) unless ``kind`` is given. ``on_disk``: ``name`` is
    the file the bytes were read from."""
    kind = kind or source_kind(name)
    if kind == "template" or kind == "script":
        text = _utf8(data, name, policy)
        if isinstance(text, Diagnostic):
            return [LoadedSource(name, name, None, [text])]
        if kind == "template":
            sources = _load_template(name, text, context, sample, policy)
        else:
            sources = _load_script(name, text, policy)
        if not on_disk:
            for source in sources:
                _quote_from(source, name, text)
        return sources
    document, diagnostics = load_bytes(data, name, max_bytes=policy.max_bytes)
    if document is None:
        diagnostics = [_unquoted(d, data) for d in diagnostics]
    source = LoadedSource(name, name, document, diagnostics)
    if not on_disk and document is not None:
        _quote_from(source, name, document.text)
    return [source]


def _quote_from(source: LoadedSource, name: str, text: str) -> None:
    source.text = text
    quote_lines(source.diagnostics, name, text)


def quote_lines(diagnostics: Iterable[Diagnostic], name: str, text: str) -> None:
    """Diagnostics about text that is not on disk (stdin, a buffer) quote that text's lines:
    a file of the same name on disk may say something else."""
    lines: list[str] | None = None
    for diagnostic in diagnostics:
        if diagnostic.snippet is None and diagnostic.location.file == name:
            lines = text.splitlines() if lines is None else lines
            line = diagnostic.location.line
            diagnostic.snippet = lines[line - 1] if 0 < line <= len(lines) else ""


_NUL = b"\x00"


def _unquoted(diagnostic: Diagnostic, data: bytes) -> Diagnostic:
    """Reading problems with content that is not text: never quoted, the offset named."""
    if diagnostic.code not in READING_CODES:
        return diagnostic
    message = diagnostic.message
    if diagnostic.code == "CF004":
        message = f"file is binary (a NUL byte at offset {data.find(_NUL)}), not XML text"
    return Diagnostic(
        diagnostic.code,
        diagnostic.severity,
        message,
        diagnostic.location,
        diagnostic.xpath,
        diagnostic.hint,
        snippet="",
    )


def _utf8(data: bytes, name: str, policy: ReadPolicy) -> str | Diagnostic:
    if len(data) > policy.max_bytes:
        return _error(
            "CF006", f"file is larger than the {policy.max_bytes:,}-byte limit; not read", name
        )
    if _NUL in data:
        return _error("CF004", f"file is binary (a NUL byte at offset {data.find(_NUL)})", name)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return _error(
            "CF005",
            f"not UTF-8 text: byte 0x{data[error.start]:02x} at offset {error.start}",
            name,
            hint="save the file as UTF-8",
        )


def _load_template(
    name: str,
    text: str,
    context: Mapping[str, object] | None,
    sample: str | None,
    policy: ReadPolicy,
) -> list[LoadedSource]:
    from pathlib import Path

    from callflow.templating import load_template_sources

    # The text already read (and vetted) is what renders; includes are found beside ``name``.
    return load_template_sources(
        Path(name), context=context, sample=sample, policy=policy, text=text
    )


def _load_script(name: str, text: str, policy: ReadPolicy) -> list[LoadedSource]:
    from pathlib import Path

    from callflow.dsl._script import load_script_sources

    return load_script_sources(Path(name), policy=policy, text=text.encode("utf-8"))


def _is_text(flow: str, filename: str | None) -> bool:
    # XML text starts with '<' (after a BOM or blanks); a buffer with a filename, or
    # anything spanning lines, is text too. Everything else is a path.
    return filename is not None or "\n" in flow or flow.lstrip("\ufeff \t\r\n").startswith("<")


def load_flows(
    flow: object,
    *,
    context: Mapping[str, object] | None = None,
    sample: str | None = None,
    filename: str | None = None,
    policy: ReadPolicy = DEFAULT_POLICY,
) -> list[LoadedSource]:
    """Turn anything a user calls a flow into LoadedSources; never raises for bad input.

    ``flow`` is a path or directory (PathLike, or a str naming one), ``"-"`` (standard
    input), a library template name (``callflow/ivr_menu.xml.j2``), XML text (a str
    starting with ``<``) or bytes, a template's or script's text (with ``filename``), a
    `Document`, a builder node (anything with ``to_document()``) or a `LoadedSource`.
    ``filename`` names text, bytes and standard input in locations and decides their kind
    (``*.xml.j2`` a template, ``*.py`` a builder script, else XML), as ``--stdin-filename``
    does. ``context``/``sample`` choose a template's variables. Raises only `TypeError`,
    for a value that is no kind of flow.
    """
    if isinstance(flow, LoadedSource):
        return [flow]
    if isinstance(flow, Document):
        return [LoadedSource(flow.name, flow.name, flow)]
    if isinstance(flow, SupportsToDocument):
        return [_from_builder(flow)]
    if isinstance(flow, bytes | bytearray | memoryview):
        name = filename or "<flow>"
        return load_data(bytes(flow), name, context=context, sample=sample, policy=policy)
    if isinstance(flow, str) and flow != STDIN and _is_text(flow, filename):
        name = filename or "<flow>"
        data = flow.encode("utf-8", "surrogatepass")
        return load_data(data, name, context=context, sample=sample, policy=policy)
    if isinstance(flow, str | os.PathLike):
        sources: list[LoadedSource] = []
        for name, root, problem in expand_flow_names([flow], policy=policy):
            if problem is not None:
                sources.append(LoadedSource(name, name, None, [problem]))
            else:
                sources.extend(
                    load_flow_name(
                        name, root, context=context, sample=sample, filename=filename, policy=policy
                    )
                )
        return sources
    raise TypeError(
        f"cannot read a {type(flow).__name__} as a call flow: pass a path, '-', a library "
        "template name, XML text or bytes, a Document or a builder node"
    )


def _from_builder(flow: SupportsToDocument) -> LoadedSource:
    from callflow.errors import BuildError

    try:
        document = flow.to_document()
    except BuildError as error:  # an incomplete flow: at the line that built it
        location = error.location or SourceLocation("<builder>", 1, None)
        problem = Diagnostic("CF701", Severity.ERROR, error.message, location, hint=error.hint)
        return LoadedSource(location.file, location.file, None, [problem])
    return LoadedSource(document.name, document.name, document)


def load_flow(
    flow: object,
    *,
    context: Mapping[str, object] | None = None,
    sample: str | None = None,
    filename: str | None = None,
    policy: ReadPolicy = DEFAULT_POLICY,
) -> Document:
    """The one Document ``flow`` gives, for callers that need exactly one flow.

    Raises `InputError` when the input cannot be read (missing, unreadable, refused by the
    reading policy, not text; the diagnostics attached), names a folder, or is a template
    giving several documents (one per sample: choose one); `ValidationError` (with the
    diagnostics) when what was read is not a call flow (malformed XML, a template or
    script that fails).
    """
    if isinstance(flow, str | os.PathLike) and not (
        isinstance(flow, str) and _is_text(flow, filename)
    ):
        name = os.fspath(flow)
        if name != STDIN and library_file(name) is None and os.path.isdir(name):
            from callflow.errors import InputError

            raise InputError(f"{name} is a directory; name one flow file")
    sources = load_flows(flow, context=context, sample=sample, filename=filename, policy=policy)
    error = single_flow_error(sources, str(flow) if isinstance(flow, str | os.PathLike) else None)
    if error is not None:
        raise error
    document = sources[0].document if len(sources) == 1 else None
    assert document is not None
    return document


def single_flow_error(
    sources: Sequence[LoadedSource], name: str | None = None
) -> CallflowError | None:
    """Why ``sources`` do not hold exactly one Document (None when they do): an `InputError`
    for input that could not be read or gives several documents, else a `ValidationError`."""
    from callflow.errors import InputError, ValidationError

    problems = [d for source in sources for d in source.diagnostics if d.is_error]
    label = sources[0].label if sources else (name or "the flow")
    if problems:
        first = problems[0]
        if all(d.code in READING_CODES for d in problems):
            return InputError(f"{first.location.file}: {first.message}", problems)
        return ValidationError(f"{label}: the call flow does not load; first: {first}", problems)
    documents = [source for source in sources if source.document is not None]
    if len(documents) > 1:
        labels = ", ".join(source.label for source in documents)
        shown = name or documents[0].path
        return InputError(
            f"{shown} gives {len(documents)} documents ({labels}); choose one with --sample "
            "NAME, or give the variables with --var/--context (sample= or context= from Python)"
        )
    if not documents:
        return InputError(f"{label}: nothing to load")
    return None


# ---------------------------------------------------------------- other inputs


def read_input(name: str, *, what: str, policy: ReadPolicy = DEFAULT_POLICY) -> bytes:
    """The bytes of a file that is not a flow (an API error body, a context file), or of
    standard input for ``-``, under the same reading policy; raises `InputError`."""
    from callflow.errors import InputError

    data = read_stdin(policy) if name == STDIN else read_flow_file(name, policy=policy)
    if isinstance(data, Diagnostic):
        raise InputError(f"{what} {name}: cannot read it: {data.message}")
    if len(data) > policy.max_bytes:
        raise InputError(f"{what} {name}: larger than the {policy.max_bytes:,}-byte limit")
    return data


def template_reference(
    name: str, template: str | os.PathLike[str], *, policy: ReadPolicy = DEFAULT_POLICY
) -> str | None:
    """The file an ``{% include %}``, ``{% import %}`` or ``{% extends %}`` of ``name`` in the
    template ``template`` stands for (its folder, the template search path, then the bundled
    library for ``callflow/…``), or None. A link out of the folder it is found in is not
    followed, as when reading a folder."""
    from pathlib import Path

    from callflow.templating import search_path_for

    library = library_file(name)
    if library is not None:
        return library if os.path.isfile(library) else None
    pieces = name.replace("\\", "/").split("/")
    if any(piece in ("", ".", "..") for piece in pieces):
        return None
    for folder in search_path_for(Path(template)):
        candidate = os.path.join(folder, *pieces)
        if os.path.isfile(candidate):
            if not policy.follow_links and not _inside(os.path.realpath(candidate), str(folder)):
                return None
            return candidate
    return None


def template_source(
    name: str, *, policy: ReadPolicy = DEFAULT_POLICY
) -> tuple[str | Path, str | None]:
    """What a renderer should render for a template named by the user, vetted under the
    reading policy: ``(library name, None)`` for a bundled template, else ``(resolved
    path, name as shown)``. Raises `InputError` naming what is wrong."""
    from pathlib import Path

    from callflow.errors import InputError

    if name == STDIN:
        raise InputError("a template to render is a file or a library name, not standard input")
    library = library_file(name)
    if library is not None:
        if not os.path.isfile(library):
            raise InputError(f"{name}: no library template of that name (see `callflow templates`)")
        return name, None
    vetted = read_flow_file(name, policy=policy)
    if isinstance(vetted, Diagnostic):
        raise InputError(f"{name}: {vetted.message}", [vetted])
    return Path(name).resolve(), name


# ---------------------------------------------------------------- files a server names


def find_in_folder(
    folder: str | os.PathLike[str],
    parts: Sequence[str],
    *,
    suffixes: Sequence[str] = ("",),
    policy: ReadPolicy = DEFAULT_POLICY,
) -> tuple[str, str] | Diagnostic:
    """``(file, root)``: the file the relative path ``parts`` names inside ``folder``
    (with the first of ``suffixes`` that exists), and the folder's real path; or the
    diagnostic saying why there is none, under the reading policy: CF001 (nothing of that
    name), CF009 (a part that is empty, hidden, ``..``, or holds a separator or NUL; a link
    whose target leaves the folder), CF010 (not a regular file). For servers that map a URL
    path to a flow; the file is then read with `load_flow_name` (or `read_input`).
    """
    shown = "/".join(parts)
    for part in parts:
        if (
            not part
            or part.startswith(".")
            or "/" in part
            or "\\" in part
            or "\x00" in part
            or part != part.strip()
        ):
            return _error("CF009", "path part refused (empty, hidden, '..' or a separator)", shown)
    root = os.path.realpath(folder)
    for suffix in suffixes:
        candidate = os.path.join(root, *parts) + suffix
        try:
            status = os.stat(candidate)
        except OSError:
            continue
        if not policy.follow_links and not _inside(os.path.realpath(candidate), root):
            return _link_out(shown + suffix)
        if not stat.S_ISREG(status.st_mode):
            if stat.S_ISDIR(status.st_mode):
                continue
            return _error("CF010", "not a regular file; not read", shown + suffix)
        return candidate, root
    return _error("CF001", "no such flow", shown)
