"""The flow server as a Starlette application, and the endpoint decorator for Starlette and
FastAPI users (imported only when used: Starlette is in the ``serve`` extra)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from callflow.errors import RequestError
from callflow.web._handlers import HttpAnswer, prepare, refusal
from callflow.web._requests import METHODS
from callflow.web._service import FlowService

#: Seconds a client may take to send its body (a slow client is cut off with 408).
BODY_TIMEOUT = 10.0


async def read_body(request: Request, limit: int, timeout: float = BODY_TIMEOUT) -> bytes:
    """The request's body, at most ``limit`` bytes within ``timeout`` seconds; raises
    `RequestError` (413, 408, 400) instead of waiting or reading more."""
    headers = request.headers
    declared = headers.get("content-length")
    if (
        (declared is None or declared == "0")
        and "transfer-encoding" not in headers
        and request.scope.get("http_version") in ("1.0", "1.1")
    ):
        return b""  # HTTP/1.x: a request with neither header has no body (most GETs)
    if declared is not None:
        if not declared.strip().isdigit():
            raise RequestError("the Content-Length header is not a number")
        if int(declared) > limit:
            raise RequestError(f"the body is larger than the {limit:,}-byte limit", 413)
    chunks: list[bytes] = []
    size = 0
    try:
        with anyio.fail_after(timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise RequestError(f"the body is larger than the {limit:,}-byte limit", 413)
                chunks.append(chunk)
    except TimeoutError:
        raise RequestError(f"the body took longer than {timeout:g} s to arrive", 408) from None
    except ClientDisconnect:
        raise RequestError("the client went away before its body arrived", 400) from None
    return b"".join(chunks)


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
        service.log.warning("request %s refused %d: %s", request.url.path, error.status, error)
        return _response(refusal(error))
    query = request.scope.get("query_string", b"")
    content_type = request.headers.get("content-type", "")
    path = request.scope.get("path", "/")
    if handler is not None and inspect.iscoroutinefunction(handler):
        handler = _in_loop(handler)
    pending = prepare(
        service, request.method, path, query, content_type, body, handler=handler, event=event
    )
    if isinstance(pending, HttpAnswer):
        return _response(pending)
    # Templates and XML files are rendered and checked here, in the event loop (a thread
    # hop costs more than they do, and the GIL would serialise them anyway); handlers and
    # builder modules, the app's own code that may wait on I/O, run in a worker thread.
    if pending.blocking:
        return _response(await run_in_threadpool(pending.run))
    return _response(pending.run())


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

    async def serve(request: Request) -> Response:
        return await _exchange(service, request, None, None, body_timeout)

    app = Starlette(routes=[Route("/{path:path}", serve, methods=sorted(METHODS))])
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
