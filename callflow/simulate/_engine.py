"""The simulator's entry points: `simulate` and `simulate_async`, and the drivers they run.

The interpreter (`callflow.simulate._machine`) is a generator that yields each request it
needs; a driver sends it through an httpx client (sync, or async for ASGI apps and the
caller's event loop) and hands back what came of it. The rules the simulator follows are
listed in `callflow.simulate`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import httpx

from callflow.client._wire import Limits as ReplyLimits
from callflow.client._wire import aread_limited, read_limited
from callflow.document import MAX_DOCUMENT_BYTES, Document
from callflow.simulate._backends import Backend
from callflow.simulate._control import Fetch, Fetched, Program
from callflow.simulate._machine import Machine
from callflow.simulate._model import Caller, CallInfo, Limits, Transcript

if TYPE_CHECKING:
    from callflow.sources import ReadPolicy

# ------------------------------------------------------------------ drivers

#: What the simulator accepts: anything the front door reads (`callflow.sources.load_flows`):
#: a Document, a builder flow, XML text or bytes, a path, ``-``, a library template name.
Source = object


def load_flow(
    source: Source,
    *,
    context: Mapping[str, object] | None = None,
    sample: str | None = None,
    filename: str | None = None,
    policy: ReadPolicy | None = None,
) -> Document:
    """The Document to simulate, through the front door (`callflow.sources.load_flow`).

    Raises `InputError` when the source cannot be read and `ValidationError` (with
    diagnostics) when it does not load.
    """
    from callflow.sources import DEFAULT_POLICY
    from callflow.sources import load_flow as front_door

    return front_door(
        source,
        context=context,
        sample=sample,
        filename=filename,
        policy=policy if policy is not None else DEFAULT_POLICY,
    )


#: Largest reply the simulator reads, decoded (a call XML document's own limit).
MAX_REPLY_BYTES = MAX_DOCUMENT_BYTES


def _send(client: httpx.Client, fetch: Fetch, raise_app_errors: bool) -> Fetched:
    # The simulated timeout also bounds real time: per read (the transport's timeout) and
    # for the whole reply, however slowly it drips (`read_limited`).
    started = time.perf_counter()
    limits = ReplyLimits(fetch.timeout_ms / 1000, MAX_REPLY_BYTES)
    try:
        response = read_limited(client.send(fetch.request, stream=True), limits, fetch.request)
    except Exception as error:
        if raise_app_errors and not isinstance(error, httpx.HTTPError):
            raise
        return Fetched(None, error, (time.perf_counter() - started) * 1000)
    return Fetched(response, None, (time.perf_counter() - started) * 1000)


async def _send_async(client: httpx.AsyncClient, fetch: Fetch, raise_app_errors: bool) -> Fetched:
    import anyio

    started = time.perf_counter()
    try:
        # In-process apps ignore the transport's timeout; the deadline holds them to it.
        with anyio.fail_after(fetch.timeout_ms / 1000):
            limits = ReplyLimits(fetch.timeout_ms / 1000, MAX_REPLY_BYTES)
            streamed = await client.send(fetch.request, stream=True)
            response = await aread_limited(streamed, limits, fetch.request)
    except TimeoutError:
        error = httpx.ReadTimeout("timed out", request=fetch.request)
        return Fetched(None, error, (time.perf_counter() - started) * 1000)
    except Exception as error:
        if raise_app_errors and not isinstance(error, httpx.HTTPError):
            raise
        return Fetched(None, error, (time.perf_counter() - started) * 1000)
    return Fetched(response, None, (time.perf_counter() - started) * 1000)


def _drive(program: Program[Transcript], send: Callable[[Fetch], Fetched]) -> Transcript:
    try:
        fetch = next(program)
        while True:
            fetch = program.send(send(fetch))
    except StopIteration as stop:
        transcript: Transcript = stop.value
        return transcript


async def _drive_async(
    program: Program[Transcript], client: httpx.AsyncClient, raise_app_errors: bool
) -> Transcript:
    try:
        fetch = next(program)
        while True:
            fetch = program.send(await _send_async(client, fetch, raise_app_errors))
    except StopIteration as stop:
        transcript: Transcript = stop.value
        return transcript


def _prepare(
    source: Source,
    caller: Caller | None,
    call: CallInfo | None,
    app: object,
    limits: Limits | None,
    context: Mapping[str, object] | None,
    network: bool = False,
) -> tuple[Program[Transcript], Backend, Limits]:
    document = load_flow(source, context=context)
    backend = Backend.of(app, network=network)
    limits = limits if limits is not None else Limits()
    interpreter = Machine(caller or Caller(), call or CallInfo(), limits)
    return interpreter.run(document), backend, limits


def simulate(
    source: Source,
    caller: Caller | None = None,
    *,
    call: CallInfo | None = None,
    app: object = None,
    limits: Limits | None = None,
    context: Mapping[str, object] | None = None,
    raise_app_errors: bool = False,
    network: bool = False,
) -> Transcript:
    """Run a call flow offline against a scripted ``caller``; return the `Transcript`.

    ``source``: a Document, XML text, or a path (``.xml``, ``.xml.j2``, ``.py``).
    ``app`` answers the URLs the flow requests: None (real requests, to loopback only
    unless ``network=True``), a WSGI or ASGI app, a function, a ``{url: xml}`` mapping, an
    httpx transport, or a `Backend`. A request refused by that rule fails as CF901, and its
    callback event says why.
    ``raise_app_errors`` lets an exception raised inside an in-process app propagate
    instead of becoming a failed fetch (a CF901 diagnostic).
    """
    program, backend, limits = _prepare(source, caller, call, app, limits, context, network)
    if backend.is_async:
        from anyio.from_thread import start_blocking_portal

        async def run_async() -> Transcript:
            async with backend.async_client(limits.max_redirects) as client:
                return await _drive_async(program, client, raise_app_errors)

        with start_blocking_portal() as portal:
            return portal.call(run_async)
    return _drive_sync(program, backend, limits, raise_app_errors)


def _drive_sync(
    program: Program[Transcript], backend: Backend, limits: Limits, raise_app_errors: bool
) -> Transcript:
    # Most calls make no request: the client is made on the first one.
    clients: list[httpx.Client] = []

    def send(fetch: Fetch) -> Fetched:
        if not clients:
            clients.append(backend.client(limits.max_redirects))
        return _send(clients[0], fetch, raise_app_errors)

    try:
        return _drive(program, send)
    finally:
        for client in clients:
            client.close()


async def simulate_async(
    source: Source,
    caller: Caller | None = None,
    *,
    call: CallInfo | None = None,
    app: object = None,
    limits: Limits | None = None,
    context: Mapping[str, object] | None = None,
    raise_app_errors: bool = False,
    network: bool = False,
) -> Transcript:
    """`simulate` for async code: ASGI apps and the network are awaited on the caller's loop."""
    program, backend, limits = _prepare(source, caller, call, app, limits, context, network)
    if backend.is_async or backend.is_network:
        async with backend.async_client(limits.max_redirects) as client:
            return await _drive_async(program, client, raise_app_errors)
    return _drive_sync(program, backend, limits, raise_app_errors)
