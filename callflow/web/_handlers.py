"""Framework-free glue: raw HTTP parts in, a validated reply out, for served folders and for
handler functions, and the WSGI application that Flask and Django users mount."""

from __future__ import annotations

import functools
import inspect
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from callflow.errors import RequestError
from callflow.web._requests import PlatformRequest, parse_request
from callflow.web._service import (
    FlowService,
    Reply,
    describe_request,
    emits,
    handler_source,
    loggable,
)

#: A handler: receives the typed request, returns a flow (builder node, XML text, Document).
Handler = Callable[[PlatformRequest], object]


@dataclass
class HttpAnswer:
    """Status, headers and body to send, whatever the framework."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


def refusal(error: RequestError) -> HttpAnswer:
    body = f"bad request: {error}\n".encode("utf-8", "replace")
    return HttpAnswer(error.status, [("content-type", "text/plain; charset=utf-8")], body)


def from_reply(reply: Reply) -> HttpAnswer:
    if not reply.content_type:
        text = "no flow at this path\n" if reply.status == 404 else "refused\n"
        return HttpAnswer(
            reply.status, [("content-type", "text/plain; charset=utf-8")], text.encode()
        )
    return HttpAnswer(reply.status, [("content-type", reply.content_type)], reply.body)


@dataclass
class Pending:
    """An exchange whose request was read: ``run`` makes the answer; ``blocking`` says it
    may wait on the app's own code (an async server runs it in a worker thread)."""

    run: Callable[[], HttpAnswer]
    blocking: bool


def prepare(
    service: FlowService,
    method: str,
    path: str,
    query: bytes | str,
    content_type: str,
    body: bytes,
    *,
    handler: Handler | None = None,
    event: str | None = None,
) -> HttpAnswer | Pending:
    """Parse the request and find its flow: the answer when that already decides it (a 4xx),
    else what is left to do. Never raises."""
    try:
        request = parse_request(
            method,
            query,
            content_type=content_type,
            body=body,
            event=event,
            max_bytes=service.max_request_bytes,
        )
    except RequestError as error:
        service.log.warning(
            "request %s %s refused %d: %s", loggable(method, 10), loggable(path), error.status,
            loggable(str(error)),
        )  # fmt: skip
        return refusal(error)
    # (partial objects, not lambdas: called in C, a Python frame less each)
    if handler is not None:
        return Pending(
            functools.partial(
                _guarded, service, path, call_handler, service, handler, request, path
            ),
            True,
        )
    located = service.locate(path)
    blocking = not isinstance(located, Reply) and located.is_module
    return Pending(
        functools.partial(_guarded, service, path, service.respond, path, request, located),
        blocking,
    )


def _guarded(
    service: FlowService, path: str, respond: Callable[..., Reply], *arguments: Any
) -> HttpAnswer:
    """``respond(*arguments)``'s reply as an answer; the fallback flow when it raises."""
    try:
        return from_reply(respond(*arguments))
    except Exception:  # a bug of ours or a framework's: logged, and the caller still hears a flow
        service.log.exception("reply %s failed; the fallback flow was sent", loggable(path))
        return HttpAnswer(200, [("content-type", "text/xml; charset=utf-8")], service.fallback_body)


def answer(
    service: FlowService,
    method: str,
    path: str,
    query: bytes | str,
    content_type: str,
    body: bytes,
    *,
    handler: Handler | None = None,
    event: str | None = None,
) -> HttpAnswer:
    """Parse, respond, validate: the whole exchange for one request, never raising.

    With ``handler``, the handler makes the flow; else ``path`` names it in the service's
    folder. A request the platform would not send gets a 4xx naming what is wrong; any
    failure after that gets the fallback flow (logged with its diagnostics)."""
    result = prepare(service, method, path, query, content_type, body, handler=handler, event=event)
    return result if isinstance(result, HttpAnswer) else result.run()


def call_handler(
    service: FlowService, handler: Handler, request: PlatformRequest, path: str
) -> Reply:
    from callflow.diagnostics import Diagnostic, Severity
    from callflow.sourcemap import SourceLocation

    source = handler_source(handler)
    started = time.perf_counter()
    if emits(service.log, logging.INFO):
        service.log.info("%s", describe_request(path, request))
    try:
        flow = handler(request)
    except Exception as error:
        frames = inspect.trace()
        where = frames[-1] if frames else None
        location = SourceLocation(where.filename if where else source, where.lineno if where else 1)
        message = f"the handler raised {type(error).__name__}: {error}".rstrip(": ")
        problem = Diagnostic("CF702", Severity.ERROR, message, location, snippet="")
        reply = service._fallback(source, [problem])
    else:
        reply = service.validated(flow, source)
    service.log_reply(path, reply, started)
    return reply


def wsgi_app(
    folder: object = None,
    *,
    handler: Handler | None = None,
    event: str | None = None,
    **options: Any,
) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    """A WSGI application serving ``folder`` (or answering with ``handler``), for Flask,
    Django or any WSGI server: mount it under a prefix (werkzeug's DispatcherMiddleware,
    a Django URL with a WSGI bridge) or run it as it is. ``options`` go to `FlowService`."""
    service = FlowService(folder, **options)  # type: ignore[arg-type]

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        result = _wsgi_answer(service, environ, handler, event)
        start_response(f"{result.status} {_REASONS.get(result.status, 'Status')}", result.headers)
        return [result.body]

    application.service = service  # type: ignore[attr-defined]
    return application


def _wsgi_answer(
    service: FlowService, environ: dict[str, Any], handler: Handler | None, event: str | None
) -> HttpAnswer:
    method = str(environ.get("REQUEST_METHOD", "GET"))
    # WSGI carries the path and query as latin-1 decoded bytes.
    raw_path = str(environ.get("PATH_INFO", "")).encode("latin-1", "replace")
    path = raw_path.decode("utf-8", "replace")
    query = str(environ.get("QUERY_STRING", "")).encode("latin-1", "replace")
    length_text = str(environ.get("CONTENT_LENGTH") or "0").strip()
    if not length_text.isdigit():
        return refusal(RequestError("the Content-Length header is not a number"))
    length = int(length_text)
    if length > service.max_request_bytes:
        return refusal(
            RequestError(
                f"the body is larger than the {service.max_request_bytes:,}-byte limit", 413
            )
        )
    stream = environ.get("wsgi.input")
    body = stream.read(length) if stream is not None and length else b""
    return answer(
        service,
        method,
        path,
        query,
        str(environ.get("CONTENT_TYPE", "")),
        body,
        handler=handler,
        event=event,
    )


_REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    413: "Content Too Large",
    414: "URI Too Long",
    415: "Unsupported Media Type",
}
