"""The flow server as a Starlette application, and the endpoint decorator for Starlette and
FastAPI users (imported only when used: Starlette is in the ``serve`` extra)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from callflow.errors import RequestError
from callflow.web._handlers import HttpAnswer, Pending, prepare, refusal
from callflow.web._requests import METHODS
from callflow.web._service import FlowService, loggable

#: Seconds a client may take to send its body (a slow client is cut off with 408).
BODY_TIMEOUT = 10.0


async def read_body(request: Request, limit: int, timeout: float = BODY_TIMEOUT) -> bytes:
    """The request's body, at most ``limit`` bytes within ``timeout`` seconds; raises
    `RequestError` (413, 408, 400) instead of waiting or reading more."""
    headers = request.headers
    declared = headers.get("content-length")
    if not has_body(request.scope, declared, "transfer-encoding" in headers, limit):
        return b""
    return await _collect(request.stream(), limit, timeout)


def has_body(scope: Scope, declared: str | None, chunked: bool, limit: int) -> bool:
    """Whether a body must be read, from the Content-Length header's value (``declared``,
    None without one) and whether a Transfer-Encoding header came (``chunked``); raises
    `RequestError` for a length that is not a number or is over ``limit``."""
    if (
        (declared is None or declared == "0")
        and not chunked
        and scope.get("http_version") in ("1.0", "1.1")
    ):
        return False  # HTTP/1.x: a request with neither header has no body (most GETs)
    if declared is not None:
        digits = declared.strip()
        # ASCII digits only ("²" is a digit to str.isdigit, not to int); a length with more
        # digits than the limit's is over it, and is never turned into a huge int.
        if not (digits.isascii() and digits.isdigit()):
            raise RequestError("the Content-Length header is not a number")
        if len(digits.lstrip("0")) > len(str(limit)) or int(digits) > limit:
            raise RequestError(f"the body is larger than the {limit:,}-byte limit", 413)
    return True


async def _collect(stream: AsyncIterator[bytes], limit: int, timeout: float) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        with anyio.fail_after(timeout):
            async for chunk in stream:
                size += len(chunk)
                if size > limit:
                    raise RequestError(f"the body is larger than the {limit:,}-byte limit", 413)
                chunks.append(chunk)
    except TimeoutError:
        raise RequestError(f"the body took longer than {timeout:g} s to arrive", 408) from None
    except ClientDisconnect:
        raise RequestError("the client went away before its body arrived", 400) from None
    return b"".join(chunks)


async def _chunks(receive: Receive) -> AsyncIterator[bytes]:
    """The body's chunks as the ASGI server hands them (what Starlette's
    ``Request.stream`` does on a request not read before)."""
    while True:
        message = await receive()
        kind = message.get("type")
        if kind == "http.request":
            chunk = message.get("body", b"")
            if chunk:
                yield chunk
            if not message.get("more_body", False):
                return
        elif kind == "http.disconnect":
            raise ClientDisconnect()


def _response(result: HttpAnswer) -> Response:
    headers = dict(result.headers)
    media = headers.pop("content-type", None)
    return Response(result.body, status_code=result.status, media_type=media, headers=headers)


async def _exchange(
    service: FlowService,
    request: Request,
    handler: Callable[..., Any] | None,
    event: str | None,
    body_timeout: float = BODY_TIMEOUT,
) -> Response:
    try:
        body = await read_body(request, service.max_request_bytes, body_timeout)
    except RequestError as error:
        return _response(_refused(service, request.url.path, error))
    query = request.scope.get("query_string", b"")
    content_type = request.headers.get("content-type", "")
    path = request.scope.get("path", "/")
    if handler is not None and inspect.iscoroutinefunction(handler):
        handler = _in_loop(handler)
    pending = prepare(
        service, request.method, path, query, content_type, body, handler=handler, event=event
    )
    return _response(await _answered(pending))


async def _answered(pending: HttpAnswer | Pending) -> HttpAnswer:
    """The answer of a request `prepare` has read. Templates and XML files are rendered and
    checked here, in the event loop (a thread hop costs more than they do, and the GIL would
    serialise them anyway); handlers and builder modules, the app's own code that may wait
    on I/O, run in a worker thread."""
    if isinstance(pending, HttpAnswer):
        return pending
    if pending.blocking:
        return await run_in_threadpool(pending.run)
    return pending.run()


def _refused(service: FlowService, path: str, error: RequestError) -> HttpAnswer:
    """The answer to a request refused before its flow was looked for, logged escaped."""
    service.log.warning(
        "request %s refused %d: %s", loggable(path), error.status, loggable(str(error))
    )
    return refusal(error)


class ServedFolder:
    """The served folder's endpoint as a raw ASGI application: the request's parts read
    straight from the scope, the answer sent as two messages. Starlette's Request, Headers
    and Response objects cost a remembered reply more than its own render; mounted as a
    Starlette route, the app around it (middleware, ``app.state``, other routes) is as before.
    """

    __slots__ = ("body_timeout", "service")

    def __init__(self, service: FlowService, body_timeout: float = BODY_TIMEOUT) -> None:
        self.service = service
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        service = self.service
        declared: str | None = None
        content_type: str | None = None
        chunked = False
        for name, value in scope.get("headers", ()):  # ASGI names are lower case
            if name == b"content-length":
                if declared is None:
                    declared = value.decode("latin-1")
            elif name == b"content-type":
                if content_type is None:
                    content_type = value.decode("latin-1")
            elif name == b"transfer-encoding":
                chunked = True
        path = scope.get("path", "/")
        try:
            limit = service.max_request_bytes
            body = b""
            if has_body(scope, declared, chunked, limit):
                body = await _collect(_chunks(receive), limit, self.body_timeout)
        except RequestError as error:
            await send_answer(send, _refused(service, path, error))
            return
        pending = prepare(
            service, scope["method"], path, scope.get("query_string", b""), content_type or "", body
        )
        await send_answer(send, await _answered(pending))


async def send_answer(send: Send, result: HttpAnswer) -> None:
    """``result`` as ASGI messages: what Starlette's Response sends for it (the headers
    given, then Content-Length)."""
    headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in result.headers]
    headers.append((b"content-length", str(len(result.body)).encode("ascii")))
    await send({"type": "http.response.start", "status": result.status, "headers": headers})
    await send({"type": "http.response.body", "body": result.body})


def _in_loop(handler: Callable[..., Any]) -> Callable[..., Any]:
    # The exchange runs in a worker thread; an async handler runs back in the event loop.
    @functools.wraps(handler)
    def call(request: object) -> object:
        return anyio.from_thread.run(handler, request)

    return call


def create_app(
    folder: object = None, *, body_timeout: float = BODY_TIMEOUT, **options: Any
) -> Starlette:
    """The ASGI application serving the flows in ``folder``: every path is a flow
    (``/menu`` → ``menu.xml``, ``menu.xml.j2`` or ``menu.py``), every reply validated.
    ``body_timeout``: seconds a client may take to send its body. ``options`` go to
    `FlowService` (``fallback``, ``policy``, size limits, ``lint``)."""
    service = FlowService(folder, **options)  # type: ignore[arg-type]
    served = ServedFolder(service, body_timeout)
    app = Starlette(routes=[Route("/{path:path}", served, methods=sorted(METHODS))])
    app.state.flow_service = service
    return app


def flow_endpoint(
    function: Callable[..., Any] | None = None,
    *,
    event: str | None = None,
    **options: Any,
) -> Any:
    """Decorator: a function taking the typed request and returning a flow becomes a
    Starlette (and FastAPI) endpoint whose replies are validated before they leave.

    ``event`` fixes the kind of request (``"gather"``…; detected from the fields when
    None); ``options`` go to `FlowService` (``fallback=``…). Use it as ``@flow_endpoint``
    or ``@flow_endpoint(event="gather")``, then ``Route("/menu", menu, methods=[...])``
    or FastAPI's ``app.add_api_route("/menu", menu, methods=["GET", "POST"])``.
    """

    def decorate(handler: Callable[..., Any]) -> Callable[[Request], Awaitable[Response]]:
        service = FlowService(None, **options)

        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            return await _exchange(service, request, handler, event)

        # FastAPI reads the endpoint's signature: it takes the Starlette request.
        endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [
                inspect.Parameter(
                    "request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request
                )
            ]
        )
        endpoint.__annotations__ = {"request": Request, "return": Response}
        endpoint.flow_service = service  # type: ignore[attr-defined]
        return endpoint

    return decorate(function) if function is not None else decorate


def app_from_options(options: dict[str, Any]) -> Starlette:
    """The app `callflow serve` runs, from its options (JSON-able, for each worker)."""
    from callflow.sources import DEFAULT_POLICY, ReadPolicy
    from callflow.web._service import DEFAULT_FALLBACK

    policy = ReadPolicy(
        follow_links=bool(options.get("follow_links")),
        max_bytes=DEFAULT_POLICY.max_bytes,
        script_timeout=DEFAULT_POLICY.script_timeout,
    )
    fallback = options.get("fallback")
    return create_app(
        options["folder"],
        fallback=_fallback(fallback, policy) if fallback else DEFAULT_FALLBACK,
        policy=policy,
        lint=bool(options.get("lint", True)),
    )


def _fallback(name: str, policy: Any) -> Any:
    from pathlib import Path

    from callflow.sources import load_flow

    return load_flow(Path(name), policy=policy)


def app_from_environment() -> Starlette:
    """The app factory uvicorn's workers and reloader import (options in the environment)."""
    import json
    import os

    return app_from_options(json.loads(os.environ["CALLFLOW_SERVE_OPTIONS"]))


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging, with callflow's request and reply lines beside its own."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["callflow.web"] = {
        "handlers": ["default"],
        "level": level.upper(),
        "propagate": False,
    }
    return config


def run_uvicorn(app: Any, **options: Any) -> None:
    """Run ``app`` on uvicorn as ``uvicorn.run`` does (``options`` are `uvicorn.Config`'s),
    with Nagle's algorithm off on every connection, whatever the number of workers."""
    import socket

    import uvicorn
    from uvicorn.supervisors import ChangeReload, Multiprocess

    config = uvicorn.Config(app, **options)
    server = uvicorn.Server(config)
    if not (config.should_reload or config.workers > 1):
        server.run()  # asyncio sets TCP_NODELAY on the sockets it opens itself
        return
    # The socket uvicorn binds for its workers is made without IPPROTO_TCP, so asyncio
    # leaves TCP_NODELAY off: a reply written in two parts then waits for the client's
    # delayed ACK, 40 ms a request on Linux. Set on the listening socket, every
    # connection inherits it.
    sock = config.bind_socket()
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if config.should_reload:
        ChangeReload(config, target=server.run, sockets=[sock]).run()
    else:
        # uvicorn 0.30 took the worker's target; later ones make their own.
        import inspect as inspection

        takes_target = "target" in inspection.signature(Multiprocess).parameters
        extra: dict[str, Any] = {"target": server.run} if takes_target else {}
        Multiprocess(config, sockets=[sock], **extra).run()
