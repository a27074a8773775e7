"""The language server: pygls features wired to callflow's checks, completion and fixes."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.uris import from_fs_path, to_fs_path

from callflow.diagnostics import CODES, Diagnostic, Severity
from callflow.lsp._checking import (
    BufferReport,
    absolute,
    buffer_kind,
    check_buffer,
    is_builder_script,
)
from callflow.sources import ReadPolicy

#: Where each diagnostic code's documentation lives: ``DOCS_URL + CODE_PAGE + "#cf203"``.
DOCS_URL = "https://opentact-callflow.readthedocs.io/en/latest/"
CODE_PAGE = "reference/diagnostics/"

#: Seconds to wait after a change before checking (the newest version wins).
DEFAULT_DEBOUNCE = 0.150

_SEVERITIES = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.INFO: types.DiagnosticSeverity.Information,
}

log = logging.getLogger(__name__)


def code_url(code: str) -> str:
    """The documentation page of a diagnostic code."""
    return f"{DOCS_URL}{CODE_PAGE}#{code.lower()}"


class _Refused:
    """A request whose params do not deserialise: answered with the error, never dropped."""

    __slots__ = ("error", "id")

    def __init__(self, request_id: int | str, error: JsonRpcException) -> None:
        self.id = request_id
        self.error = error


class _Protocol(LanguageServerProtocol):
    """pygls logs a request it cannot deserialise and sends nothing, leaving the client
    waiting forever; here such a request gets its JSON-RPC error (-32602 invalid params)."""

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as error:
            request_id = data.get("id") if isinstance(data, dict) else None
            if "method" in data and isinstance(request_id, int | str):
                return _Refused(request_id, error)
            raise

    def handle_message(self, message: Any) -> None:
        if isinstance(message, _Refused):
            self._send_response(message.id, error=message.error.to_response_error())
            return
        super().handle_message(message)


class CallflowLanguageServer(LanguageServer):
    """Holds, besides pygls' workspace, what each check published, per file it touched."""

    def __init__(self, name: str, version: str) -> None:
        super().__init__(name, version, protocol_cls=_Protocol)
        self.debounce = DEFAULT_DEBOUNCE
        self.policy = ReadPolicy()
        # target file → checked buffer → diagnostics; a file's published list is the union.
        self.published: dict[str, dict[str, list[types.Diagnostic]]] = {}
        self.pending: dict[str, asyncio.Task[None]] = {}
        self.reports: dict[str, BufferReport] = {}


def uri_path(uri: str) -> str | None:
    path = to_fs_path(uri)
    return absolute(path) if path else None


def path_uri(path: str) -> str:
    return from_fs_path(path) or path


# ---------------------------------------------------------------- diagnostics → LSP


def lsp_range(
    lines: list[str], line: int, column: int | None, units: Callable[[str], int] = len
) -> types.Range:
    """The range a located diagnostic covers: from its column (else the line's first
    non-blank) to the end of the word there (else of the line)."""
    index = min(max(line - 1, 0), max(len(lines) - 1, 0))
    text = lines[index] if lines else ""
    start = len(text) - len(text.lstrip()) if column is None else min(column - 1, len(text))
    end = start
    while end < len(text) and text[end] in "</":
        end += 1
    while end < len(text) and (text[end].isalnum() or text[end] in "_-:."):
        end += 1
    if end == start or column is None:
        end = len(text.rstrip()) if len(text.rstrip()) > start else len(text)
    end = max(end, start)
    return types.Range(
        types.Position(index, units(text[:start])), types.Position(index, units(text[:end]))
    )


def to_lsp(
    diagnostic: Diagnostic,
    lines: list[str],
    *,
    at: tuple[int, int | None] | None = None,
    units: Callable[[str], int] = len,
) -> types.Diagnostic:
    location = diagnostic.location
    line, column = at if at is not None else (location.line, location.column)
    related: list[types.DiagnosticRelatedInformation] = []
    uri = path_uri(absolute(location.file))
    here = types.Location(uri, lsp_range(lines, line, column, units))
    if diagnostic.hint:
        related.append(types.DiagnosticRelatedInformation(here, f"hint: {diagnostic.hint}"))
    for step in location.chain:
        related.append(types.DiagnosticRelatedInformation(here, step))
    message = diagnostic.message
    if at is not None:
        message = f"{location.file}:{location.line}: {message}"
    return types.Diagnostic(
        range=here.range,
        message=message,
        severity=_SEVERITIES[diagnostic.severity],
        code=diagnostic.code,
        code_description=types.CodeDescription(href=code_url(diagnostic.code))
        if diagnostic.code in CODES
        else None,
        source="callflow",
        related_information=related or None,
        data={"xpath": diagnostic.xpath} if diagnostic.xpath else None,
    )


def file_lines(ls: CallflowLanguageServer, path: str) -> list[str]:
    """A file's lines: the open buffer's, else the file on disk's (empty when unreadable)."""
    document = ls.workspace.text_documents.get(path_uri(path))
    if document is not None:
        source: str = document.source
        return source.splitlines()
    from callflow.errors import InputError
    from callflow.sources import read_input

    try:
        return read_input(path, what="flow").decode("utf-8", "replace").splitlines()
    except InputError:
        return []


def publish(ls: CallflowLanguageServer, path: str, report: BufferReport) -> None:
    """Publish what a check of ``path`` found, for every file it found something in, and
    clear what an earlier check of it left in files it no longer finds anything in."""
    own: dict[str, list[types.Diagnostic]] = {}
    units = ls.workspace.position_codec.client_num_units
    for file, found in report.by_file.items():
        lines = file_lines(ls, file)
        own[file] = [to_lsp(d, lines, units=units) for d in found]
    buffer_lines = file_lines(ls, path)
    for related in report.related:
        own.setdefault(path, []).append(
            to_lsp(related.diagnostic, buffer_lines, at=(related.location.line, None), units=units)
        )
    touched = {f for f, by in ls.published.items() if path in by} | set(own)
    for file in touched:
        by_origin = ls.published.setdefault(file, {})
        if file in own:
            by_origin[path] = own[file]
        else:
            by_origin.pop(path, None)
        merged = [d for diagnostics in by_origin.values() for d in diagnostics]
        ls.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=path_uri(file), diagnostics=merged)
        )


# ---------------------------------------------------------------- the server


def create_server() -> CallflowLanguageServer:
    from callflow.cli import version
    from callflow.lsp import _features

    server = CallflowLanguageServer("callflow", version())
    for method, handler in _FEATURES.items():
        server.feature(method)(handler)
    _features.register(server)
    return server


def check_now(ls: CallflowLanguageServer, uri: str, *, on_disk: bool = False) -> None:
    """Check the buffer at ``uri`` (or, ``on_disk``, its saved file) and publish the report."""
    path = uri_path(uri)
    kind = None if path is None else buffer_kind(path)
    if path is None or kind is None:
        return
    if kind == "script":
        if on_disk:  # builder scripts run code: checked on save only
            _start_script_check(ls, uri, path)
        return
    document = ls.workspace.text_documents.get(uri)
    text = None if (on_disk or document is None) else document.source
    report = check_buffer(path, text, policy=ls.policy)
    ls.reports[path] = report
    publish(ls, path, report)


def _start_script_check(ls: CallflowLanguageServer, uri: str, path: str) -> None:
    document = ls.workspace.text_documents.get(uri)
    if document is not None and is_builder_script(document.source):
        # Its child process may take seconds: the server answers meanwhile.
        loop = asyncio.get_running_loop()
        task = loop.create_task(_guarded(_check_script(ls, path)))
        ls.pending[uri] = task
        task.add_done_callback(lambda done: _forget(ls, uri, done))


async def _check_script(ls: CallflowLanguageServer, path: str) -> None:
    report = await asyncio.to_thread(check_buffer, path, None, policy=ls.policy)
    ls.reports[path] = report
    publish(ls, path, report)


async def _check_later(ls: CallflowLanguageServer, uri: str, version: int | None) -> None:
    if ls.debounce > 0:
        await asyncio.sleep(ls.debounce)
    document = ls.workspace.text_documents.get(uri)
    if document is None or (version is not None and document.version != version):
        return  # a newer change is on its way, or the buffer was closed
    check_now(ls, uri)


def _schedule(ls: CallflowLanguageServer, uri: str, version: int | None) -> None:
    earlier = ls.pending.pop(uri, None)
    if earlier is not None:
        earlier.cancel()
    task = asyncio.get_running_loop().create_task(_guarded(_check_later(ls, uri, version)))
    ls.pending[uri] = task
    task.add_done_callback(lambda done: _forget(ls, uri, done))


# One handler per protocol method of the buffer life cycle, registered from `_FEATURES`.


def _initialize(ls: CallflowLanguageServer, params: types.InitializeParams) -> None:
    options = params.initialization_options
    if not isinstance(options, dict):
        return
    value = options.get("debounceMs")
    if isinstance(value, int | float) and 0 <= value <= 10_000:
        ls.debounce = value / 1000
    seconds = options.get("scriptTimeout")
    if isinstance(seconds, int | float) and 0 < seconds <= 600:
        ls.policy = ReadPolicy(script_timeout=float(seconds))


def _did_open(ls: CallflowLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
    uri = params.text_document.uri
    path = uri_path(uri)
    if path is not None and buffer_kind(path) == "script":
        _safely(lambda: check_now(ls, uri, on_disk=True))
    else:
        _safely(lambda: check_now(ls, uri))


def _did_change(ls: CallflowLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
    _schedule(ls, params.text_document.uri, params.text_document.version)


def _did_save(ls: CallflowLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
    uri = params.text_document.uri
    _safely(lambda: check_now(ls, uri, on_disk=True))


def _did_close(ls: CallflowLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
    path = uri_path(params.text_document.uri)
    if path is None:
        return
    task = ls.pending.pop(params.text_document.uri, None)
    if task is not None:
        task.cancel()
    ls.reports.pop(path, None)
    publish(ls, path, BufferReport())


_FEATURES: dict[str, Callable[..., None]] = {
    types.INITIALIZE: _initialize,
    types.TEXT_DOCUMENT_DID_OPEN: _did_open,
    types.TEXT_DOCUMENT_DID_CHANGE: _did_change,
    types.TEXT_DOCUMENT_DID_SAVE: _did_save,
    types.TEXT_DOCUMENT_DID_CLOSE: _did_close,
}


def _forget(ls: CallflowLanguageServer, uri: str, done: asyncio.Task[None]) -> None:
    if ls.pending.get(uri) is done:
        del ls.pending[uri]


async def _guarded(work: Any) -> None:
    try:
        await work
    except asyncio.CancelledError:
        pass
    except Exception:  # a bug of ours must not take the server down
        log.exception("checking a buffer failed")


def _safely(work: Any) -> None:
    try:
        work()
    except Exception:
        log.exception("checking a buffer failed")


def serve() -> None:
    """Run the server on standard input and output until the client says exit."""
    logging.basicConfig(level=os.environ.get("CALLFLOW_LSP_LOG", "WARNING").upper())
    create_server().start_io()
