"""The flow server's core, free of any web framework: a path and a typed request in, a
validated reply out.

`FlowService` maps a URL path to a flow in the folder it serves (``/menu`` → ``menu.xml``,
``menu.xml.j2`` or ``menu.py``; ``/`` → ``index.*``), loads it through the front door with
the request as the template's ``request`` variable (or calls the builder module's
``build(request)``), validates what came out (schema and lint, `callflow.check`) and answers
with the XML, or, when anything fails, with the fallback flow, logging the located
diagnostics. A reply never carries a traceback or broken XML.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import os
import re
import threading
import time
import traceback
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from callflow.diagnostics import Diagnostic, Severity
from callflow.document import MAX_DOCUMENT_BYTES, Document
from callflow.sourcemap import SourceLocation
from callflow.sources import DEFAULT_POLICY, LoadedSource, ReadPolicy
from callflow.web._cache import (
    TEMPLATES_KEPT,
    Checked,
    CheckedReplies,
    ServedTemplate,
    file_stamp,
    settled,
)
from callflow.web._requests import MAX_REQUEST_BYTES, PlatformRequest

#: What the caller hears when a reply fails validation (configurable: ``fallback=``).
DEFAULT_FALLBACK = (
    "<Response>\n"
    "  <Say>Sorry, something went wrong. Please try again later.</Say>\n"
    "  <Hangup/>\n"
    "</Response>\n"
)
#: The content type of every reply: the platform reads call XML as ``text/xml``.
CONTENT_TYPE = "text/xml; charset=utf-8"
#: The suffixes a URL path is tried with, in order.
FLOW_SUFFIXES = (".xml", ".xml.j2", ".py")
#: The function a builder module defines; it receives the typed request.
BUILD_FUNCTION = "build"

logger = logging.getLogger("callflow.web")

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_SECRET = re.compile(r"token|jwt|secret|passw|auth|api[_-]?key|signature", re.IGNORECASE)


def loggable(text: str, limit: int = 200) -> str:
    """``text`` for one log line: control characters, line breaks and lone surrogates
    escaped (so no value can forge a line), cut at ``limit`` characters."""
    if len(text) <= limit and text.isascii() and text.isprintable():
        return text  # the usual value: nothing to escape, nothing to cut
    shown = text if len(text) <= limit else text[:limit] + "…"
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                        else f"\\u{ord(m.group()):04x}", shown)  # fmt: skip


def emits(log: logging.Logger, level: int) -> bool:
    """Whether a line at ``level`` would be written: ``log`` lets it through and a handler on
    its way up takes it (Python's last-resort handler when there is none). A line no handler
    writes is never formatted."""
    if not log.isEnabledFor(level):
        return False
    current: logging.Logger | None = log
    found = False
    while current is not None:
        for handler in current.handlers:
            found = True
            if level >= handler.level:
                return True
        if not current.propagate:
            break
        current = current.parent
    if found:
        return False
    last = logging.lastResort
    return last is None or level >= last.level


def _quoted(value: str) -> str:
    return '"' + loggable(value.replace("\\", "\\\\").replace('"', '\\"'), 80) + '"'


def describe_request(path: str, request: PlatformRequest) -> str:
    """The request's log line: method, path, event and fields (secrets left out)."""
    shown = " ".join(
        f"{loggable(name, 40)}={'***' if _SECRET.search(name) else _quoted(value)}"
        for name, value in list(request.fields.items())[:20]
    )
    return f"request {request.method} {loggable(path)} event={request.event} {shown}".rstrip()


@dataclass
class Reply:
    """What the server answers: ``status``, the XML ``body``, where it came from
    (``source``), whether it is the fallback, and the diagnostics found on the way."""

    status: int
    body: bytes
    source: str
    fallback: bool = False
    diagnostics: list[Diagnostic] = field(default_factory=list)
    content_type: str = CONTENT_TYPE

    def describe(self, path: str, elapsed_ms: float) -> str:
        state = "FALLBACK" if self.fallback else "valid" if self.status == 200 else "refused"
        first = next((d for d in self.diagnostics if d.is_error), None)
        why = f" ({loggable(_located(first), 300)})" if first is not None and self.fallback else ""
        return (
            f"reply {loggable(path)} {self.status} {state} from {loggable(self.source)} "
            f"{len(self.body)} bytes {elapsed_ms:.1f} ms{why}"
        )


def _located(diagnostic: Diagnostic) -> str:
    where = diagnostic.location
    column = f":{where.column}" if where.column else ""
    return f"{where.file}:{where.line}{column}: {diagnostic.code} {diagnostic.message}"


def _problem(code: str, message: str, file: str, line: int = 1) -> Diagnostic:
    return Diagnostic(code, Severity.ERROR, message, SourceLocation(file, line, None), snippet="")


@dataclass(frozen=True)
class Located:
    """A served flow: its file, the real path of the folder it is in, its name in logs."""

    file: str
    root: str
    shown: str

    @property
    def is_module(self) -> bool:
        """A builder module: the app's own code, which may block (run it in a thread)."""
        return self.file.endswith(".py")


class FlowService:
    """Answers the platform's requests from a folder of flows, every reply validated.

    ``fallback``: the flow the caller gets when a reply fails (XML text, or anything the
    front door reads); it must itself be valid. ``policy``: the reading policy for the
    folder (links out refused unless ``follow_links``). ``max_request_bytes`` and
    ``max_reply_bytes`` bound what is read and sent. ``lint``: run the lint rules too
    (error findings send the fallback; warnings are logged).
    """

    def __init__(
        self,
        folder: str | Path | None = None,
        *,
        fallback: object = DEFAULT_FALLBACK,
        policy: ReadPolicy = DEFAULT_POLICY,
        max_request_bytes: int = MAX_REQUEST_BYTES,
        max_reply_bytes: int = MAX_DOCUMENT_BYTES,
        lint: bool = True,
        log: logging.Logger | None = None,
    ) -> None:
        from callflow.errors import InputError
        from callflow.sources import load_flow

        self.folder = None if folder is None else Path(folder)
        self.policy = policy
        self.max_request_bytes = max_request_bytes
        self.max_reply_bytes = max_reply_bytes
        self.lint = lint
        self.log = log or logger
        fallback_document = load_flow(fallback, filename="<fallback>", policy=policy)
        problems = [d for d in self._check(fallback_document) if d.is_error]
        if problems:
            raise InputError(f"the fallback flow is not valid: {_located(problems[0])}", problems)
        self.fallback_body = _as_bytes(fallback_document)
        self._modules: dict[str, tuple[str, types.ModuleType]] = {}
        #: path → (its folder's stamp, the flow found, that folder)
        self._located: dict[str, tuple[tuple[int, int, int], Located, str]] = {}
        self._templates: dict[str, ServedTemplate] = {}
        self._checked = CheckedReplies()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"FlowService({str(self.folder)!r})"

    # -- replies ------------------------------------------------------------------

    def respond(
        self, path: str, request: PlatformRequest, located: Located | Reply | None = None
    ) -> Reply:
        """The reply to ``request`` made at URL ``path``, logged with the request
        (``located``: what `locate` gave for ``path``, when the caller already asked)."""
        started = time.perf_counter()
        informs = emits(self.log, logging.INFO)  # asked once for the request and its reply
        if informs:
            self.log.info("%s", describe_request(path, request))
        where = self.locate(path) if located is None else located
        reply = where if isinstance(where, Reply) else self._reply(where, request)
        self.log_reply(path, reply, started, informs)
        return reply

    def respond_with(
        self, flow: object, request: PlatformRequest, *, source: str, path: str = ""
    ) -> Reply:
        """The validated reply for a flow a handler made (a builder node, XML text, a
        Document), logged like a served one."""
        started = time.perf_counter()
        if emits(self.log, logging.INFO):
            self.log.info("%s", describe_request(path or source, request))
        reply = self.validated(flow, source)
        self.log_reply(path or source, reply, started)
        return reply

    def log_reply(
        self, path: str, reply: Reply, started: float, informs: bool | None = None
    ) -> None:
        """The reply's log lines (``informs``: whether INFO lines are written, when the
        caller already asked `emits`)."""
        if reply.fallback:
            elapsed = (time.perf_counter() - started) * 1000
            self.log.warning("%s", reply.describe(path, elapsed))
            for diagnostic in reply.diagnostics:
                self.log.warning("  %s", loggable(_located(diagnostic), 500))
        elif emits(self.log, logging.INFO) if informs is None else informs:
            elapsed = (time.perf_counter() - started) * 1000
            self.log.info("%s", reply.describe(path, elapsed))
            for diagnostic in reply.diagnostics:
                self.log.info("  %s", loggable(_located(diagnostic), 500))

    def not_found(self, path: str, diagnostic: Diagnostic) -> Reply:
        status = 404 if diagnostic.code == "CF001" else 403
        return Reply(status, b"", loggable(path), diagnostics=[diagnostic], content_type="")

    def locate(self, path: str) -> Located | Reply:
        """The flow URL ``path`` names in the folder, or the 404/403 reply saying why none.

        A flow found is remembered with its folder's identity and change time (one
        ``stat``), and looked for again when the folder changed: a file added beside it
        (``menu.xml`` before ``menu.xml.j2``), removed, renamed, or the folder swapped for a
        link. A template is read through the front door, then kept compiled while its file
        is unchanged (`callflow.web._cache`); an XML file is read on every request."""
        cached = self._located.get(path)
        if cached is not None and _folder_stamp(cached[2]) == cached[0]:
            return cached[1]
        found = self._find(path)
        if isinstance(found, Located):
            folder = os.path.dirname(found.file)
            stamp = _folder_stamp(folder)
            # A folder changed in the last second may change again within the same tick of
            # its clock, unseen: such a find is not remembered (git's "racy" rule).
            if stamp is not None and time.time_ns() - stamp[2] > 1_000_000_000:
                self._located[path] = (stamp, found, folder)
        return found

    def _find(self, path: str) -> Located | Reply:
        from callflow.sources import find_in_folder

        if self.folder is None:
            return self.not_found(path, _problem("CF001", "no folder is served", path))
        parts = path.split("/")
        if parts and parts[0] == "":
            parts = parts[1:]
        if not parts or parts == [""]:
            parts = ["index"]
        found = find_in_folder(self.folder, parts, suffixes=FLOW_SUFFIXES, policy=self.policy)
        if isinstance(found, Diagnostic):
            return self.not_found(path, found)
        file, root = found
        suffix = next(s for s in FLOW_SUFFIXES if file.endswith(s))
        return Located(file, root, "/".join(parts) + suffix)

    def _reply(self, located: Located, request: PlatformRequest) -> Reply:
        if located.is_module:
            return self._from_module(located.file, located.shown, request)
        return self._from_file(located.file, located.root, located.shown, request)

    def _from_file(self, found: str, root: str, shown: str, request: PlatformRequest) -> Reply:
        if not found.endswith(".j2"):
            from callflow.sources import load_flow_name

            return self._from_sources(load_flow_name(found, root, policy=self.policy), found, shown)
        served = self._templates.get(found)
        if served is not None:
            if served.is_current() and (
                served.policy is self.policy or served.policy == self.policy
            ):
                return self._from_template(served, found, shown, request)
            with self._lock:
                self._templates.pop(found, None)
                self._located.clear()  # look for every flow again: something changed
        return self._from_front_door(found, root, shown, request)

    def _from_front_door(
        self, found: str, root: str, shown: str, request: PlatformRequest
    ) -> Reply:
        """A template read, rendered and checked through the front door; kept, compiled,
        for the next requests when its file is settled and did not change while read."""
        from callflow.sources import load_flow_name

        before = file_stamp(found)
        read: list[bytes] = []
        context = {"request": request.to_context()}
        sources = load_flow_name(
            found, root, context=context, policy=self.policy, on_read=read.append
        )
        reply = self._from_sources(sources, found, shown)
        if read and before is not None and settled(before) and file_stamp(found) == before:
            self._keep_template(found, before, read[0])
        return reply

    def _keep_template(self, found: str, stamp: tuple[int, ...], data: bytes) -> None:
        from callflow.sources import _utf8  # the front door's own size, NUL and UTF-8 checks
        from callflow.templating import prepare_template

        text = _utf8(data, found, self.policy)
        if not isinstance(text, str):
            return
        prepared = prepare_template(Path(found), text, policy=self.policy)
        if prepared is None:
            return
        with self._lock:
            if len(self._templates) >= TEMPLATES_KEPT:
                self._templates.clear()
            self._templates[found] = ServedTemplate(found, stamp, prepared, self.policy)

    def _from_template(
        self, served: ServedTemplate, found: str, shown: str, request: PlatformRequest
    ) -> Reply:
        """A kept template rendered; its checks skipped when this very text passed them."""
        prepared = served.prepared
        generation = prepared.generation
        rendered = prepared.render({"request": request.to_context()})
        key = None
        # Only a render during which no file was (re)loaded is looked up or kept.
        if (
            rendered.marked is not None
            and not rendered.problems
            and (prepared.generation == generation)
        ):
            # The marked text holds the output and the template lines that made it (where
            # a finding is located); the generation, the state of every included file.
            key = (served, generation, rendered.marked, self.lint, self.max_reply_bytes)
            checked = self._checked.get(key)
            if checked is not None:
                return Reply(200, checked.body, shown, diagnostics=list(checked.diagnostics))
        document, problems = prepared.parse(rendered)
        reply = self._from_sources([LoadedSource(found, found, document, problems)], found, shown)
        if key is not None and not reply.fallback and reply.status == 200:
            size = len(rendered.marked or "") + len(reply.body)
            self._checked.put(key, Checked(reply.body, reply.diagnostics), size)
        return reply

    def _from_sources(self, sources: list[LoadedSource], found: str, shown: str) -> Reply:
        problems = [d for s in sources for d in s.diagnostics]
        documents = [s.document for s in sources if s.document is not None]
        if len(documents) != 1 or any(d.is_error for d in problems):
            if not problems:
                problems = [_problem("CF604", "the flow gave no single document", shown)]
            return self._fallback(shown, [_shown_as(d, found, shown) for d in problems])
        reply = self.validated(documents[0], shown, problems)
        reply.diagnostics = [_shown_as(d, found, shown) for d in reply.diagnostics]
        return reply

    def _from_module(self, found: str, shown: str, request: PlatformRequest) -> Reply:
        try:
            module = self._module(found, shown)
        except _ModuleFailed as failed:
            return self._fallback(shown, [failed.diagnostic])
        build = getattr(module, BUILD_FUNCTION, None)
        if not callable(build):
            return self._fallback(
                shown,
                [_problem("CF703", f"the module defines no `{BUILD_FUNCTION}(request)`", shown)],
            )
        try:
            takes_request = bool(inspect.signature(build).parameters)
            flow = build(request) if takes_request else build()
        except Exception as error:  # the app's own fault: located at its line
            line = _line_in(error.__traceback__, found)
            message = f"`{BUILD_FUNCTION}` raised {type(error).__name__}: {error}".rstrip(": ")
            return self._fallback(shown, [_problem("CF702", message, shown, line)])
        return self.validated(flow, shown)

    def _module(self, found: str, shown: str) -> types.ModuleType:
        from callflow.errors import InputError
        from callflow.sources import read_input

        try:
            data = read_input(found, what="builder module", policy=self.policy)
        except InputError as error:
            raise _ModuleFailed(_problem("CF007", str(error), shown)) from None
        digest = hashlib.sha256(data).hexdigest()
        with self._lock:
            cached = self._modules.get(found)
            if cached is not None and cached[0] == digest:
                return cached[1]
        try:
            code = compile(data, found, "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as error:
            line = getattr(error, "lineno", None) or 1
            message = getattr(error, "msg", None) or str(error)
            raise _ModuleFailed(
                _problem("CF705", f"not valid Python: {message}", shown, line)
            ) from None
        module = types.ModuleType(f"callflow_served_{digest[:12]}")
        module.__file__ = found
        try:
            exec(code, module.__dict__)
        except Exception as error:
            line = _line_in(error.__traceback__, found)
            message = f"the module raised {type(error).__name__}: {error}".rstrip(": ")
            raise _ModuleFailed(_problem("CF702", message, shown, line)) from None
        with self._lock:
            self._modules[found] = (digest, module)
        return module

    def validated(self, flow: object, source: str, found: Sequence[Diagnostic] = ()) -> Reply:
        """The reply for ``flow`` after schema and lint checks; the fallback when it fails."""
        loaded = self._loaded(flow, source, found)
        if isinstance(loaded, Reply):
            return loaded
        document, problems = loaded
        problems.extend(self._check(document))
        if any(d.is_error for d in problems):
            return self._fallback(source, problems)
        body = _as_bytes(document)
        if len(body) > self.max_reply_bytes:
            message = f"the reply is larger than the {self.max_reply_bytes:,}-byte limit"
            return self._fallback(source, [*problems, _problem("CF006", message, source)])
        return Reply(200, body, source, diagnostics=problems)

    def _loaded(
        self, flow: object, source: str, found: Sequence[Diagnostic]
    ) -> tuple[Document, list[Diagnostic]] | Reply:
        """The one Document ``flow`` is, with the problems so far, or the fallback reply."""
        from callflow.sources import load_flows

        if isinstance(flow, Document):  # what the front door would give: the same Document
            if any(d.is_error for d in found):
                return self._fallback(source, list(found))
            return flow, list(found)
        try:
            sources = load_flows(flow, filename=source if isinstance(flow, str | bytes) else None)
        except TypeError as error:
            return self._fallback(source, [_problem("CF704", str(error), source)])
        problems = list(found) + [d for s in sources for d in s.diagnostics]
        documents = [s.document for s in sources if s.document is not None]
        if len(documents) != 1 or any(d.is_error for d in problems):
            if not problems:
                problems = [_problem("CF604", "the flow gave no single document", source)]
            return self._fallback(source, problems)
        return documents[0], problems

    def _check(self, document: Document) -> list[Diagnostic]:
        from callflow.check import check_document

        return check_document(document, lint=self.lint)

    def _fallback(self, source: str, problems: list[Diagnostic]) -> Reply:
        from callflow.diagnostics import in_order

        return Reply(200, self.fallback_body, source, fallback=True, diagnostics=in_order(problems))


class _ModuleFailed(Exception):
    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


def _shown_as(diagnostic: Diagnostic, found: str, shown: str) -> Diagnostic:
    if diagnostic.location.file != found:
        return diagnostic
    where = diagnostic.location
    return Diagnostic(
        diagnostic.code,
        diagnostic.severity,
        diagnostic.message,
        SourceLocation(shown, where.line, where.column, where.chain),
        diagnostic.xpath,
        diagnostic.hint,
        diagnostic.snippet,
    )


def _line_in(tb: types.TracebackType | None, filename: str) -> int:
    line = 1
    for frame, number in traceback.walk_tb(tb):
        if frame.f_code.co_filename == filename:
            line = number
    return line


def _folder_stamp(folder: str) -> tuple[int, int, int] | None:
    """The device, inode and change time of ``folder`` (None: gone)."""
    try:
        status = os.stat(folder)
    except OSError:
        return None
    return status.st_dev, status.st_ino, status.st_mtime_ns


def _as_bytes(document: Document) -> bytes:
    text = document.text
    return text.encode("utf-8") if text.endswith("\n") else (text + "\n").encode("utf-8")


def handler_source(function: Callable[..., object]) -> str:
    """How a handler function is named in logs: ``module.function``."""
    return f"{getattr(function, '__module__', '?')}.{getattr(function, '__qualname__', '?')}"
