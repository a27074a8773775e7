"""Where the simulator's HTTP requests go: a real server, a WSGI/ASGI app, a function, a map.

Every kind is an httpx transport behind an httpx client, so requests are built and
redirects followed exactly as they would be against a real server. Real requests carry call
data, so by default they go only to this machine (loopback); `Backend.network` with
``everywhere=True`` (``network=True`` in `simulate`, ``--network`` on the command line) lets
them reach other hosts. The rule is checked on every hop, redirects included.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from callflow.document import Document
from callflow.errors import SimulationError


class NetworkRefused(httpx.ConnectError):
    """A request to a host beyond loopback, not sent because the network was not allowed."""


def is_loopback(host: str) -> bool:
    """True for ``localhost`` (and ``*.localhost``) and loopback addresses, v4 or v6."""
    import ipaddress

    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _refusal(request: httpx.Request) -> NetworkRefused:
    return NetworkRefused(
        f"not sent: {request.url.host} is not on this machine, and requests carrying call "
        "data go only to loopback unless the network is allowed (--network, network=True)",
        request=request,
    )


class _LoopbackOnly(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not is_loopback(request.url.host):
            raise _refusal(request)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


class _AsyncLoopbackOnly(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not is_loopback(request.url.host):
            raise _refusal(request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


#: What a plain Python function handling a request may return.
Reply = str | bytes | Document | httpx.Response | None


def _to_response(reply: object) -> httpx.Response:
    if isinstance(reply, httpx.Response):
        return reply
    if reply is None:
        return httpx.Response(204)
    if isinstance(reply, Document):
        reply = reply.to_bytes()
    if isinstance(reply, str):
        reply = reply.encode("utf-8")
    if isinstance(reply, bytes):
        return httpx.Response(200, content=reply, headers={"Content-Type": "text/xml"})
    raise SimulationError(
        f"the app returned a {type(reply).__name__}; expected XML text, bytes, a Document, "
        "an httpx.Response or None"
    )


class Backend:
    """The app that answers the URLs a flow calls (`<Callback>`, `<Gather url/callback>`).

    Build one with `Backend.network`, `wsgi`, `asgi`, `function`, `mapping` or `offline`,
    or let `Backend.of` guess from the object. A Backend may be reused across simulations.
    """

    __slots__ = ("_async_transport", "_everywhere", "_transport", "description")

    def __init__(
        self,
        description: str,
        *,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
        everywhere: bool = False,
    ) -> None:
        self.description = description
        self._transport = transport
        self._async_transport = async_transport
        self._everywhere = everywhere

    def __repr__(self) -> str:
        return f"Backend({self.description})"

    @property
    def is_async(self) -> bool:
        """True when only an async client can reach the app (ASGI, async functions)."""
        return self._async_transport is not None

    # -- construction -------------------------------------------------------------

    @classmethod
    def network(cls, *, everywhere: bool = False) -> Backend:
        """Real HTTP requests: to loopback only, or to any host with ``everywhere=True``."""
        return cls("network" if everywhere else "network (loopback only)", everywhere=everywhere)

    @classmethod
    def offline(cls) -> Backend:
        """No network: every request fails as a refused connection."""

        def refuse(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("offline: no app to answer this URL", request=request)

        return cls("offline", transport=httpx.MockTransport(refuse))

    @classmethod
    def wsgi(cls, app: Callable[..., Any]) -> Backend:
        """An in-process WSGI app (Flask, Django, a plain ``app(environ, start_response)``)."""
        return cls(f"WSGI app {_name(app)}", transport=httpx.WSGITransport(app=app))

    @classmethod
    def asgi(cls, app: Callable[..., Any]) -> Backend:
        """An in-process ASGI app (Starlette, FastAPI, a plain ``app(scope, receive, send)``)."""
        return cls(f"ASGI app {_name(app)}", async_transport=httpx.ASGITransport(app=app))

    @classmethod
    def function(cls, handler: Callable[[httpx.Request], Any]) -> Backend:
        """A function taking the `httpx.Request` and returning XML (str, bytes, Document),
        an `httpx.Response`, or None (an empty 204 reply). ``async def`` works too."""
        if _is_async_callable(handler):
            async_handler: Callable[[httpx.Request], Awaitable[Any]] = handler

            async def respond(request: httpx.Request) -> httpx.Response:
                return _to_response(await async_handler(request))

            return cls(
                f"async function {_name(handler)}",
                async_transport=httpx.MockTransport(respond),
            )

        def respond_sync(request: httpx.Request) -> httpx.Response:
            return _to_response(handler(request))

        return cls(f"function {_name(handler)}", transport=httpx.MockTransport(respond_sync))

    @classmethod
    def mapping(cls, replies: Mapping[str, Reply]) -> Backend:
        """Fixed replies by URL (query string ignored); any other URL gets HTTP 404."""
        table = {_without_query(url): reply for url, reply in replies.items()}

        def respond(request: httpx.Request) -> httpx.Response:
            key = _without_query(str(request.url))
            if key not in table:
                return httpx.Response(404, text=f"no reply mapped for {key}")
            return _to_response(table[key])

        return cls(f"URL map of {len(table)}", transport=httpx.MockTransport(respond))

    @classmethod
    def transport(cls, transport: httpx.BaseTransport | httpx.AsyncBaseTransport) -> Backend:
        """Any httpx transport (e.g. the sandbox's in-process transport)."""
        if isinstance(transport, httpx.AsyncBaseTransport) and not isinstance(
            transport, httpx.BaseTransport
        ):
            return cls(f"transport {type(transport).__name__}", async_transport=transport)
        assert isinstance(transport, httpx.BaseTransport)
        return cls(f"transport {type(transport).__name__}", transport=transport)

    @classmethod
    def of(cls, app: object, *, network: bool = False) -> Backend:
        """Guess the kind of ``app``: None means the network (loopback only unless
        ``network``); a Mapping is a URL map; an
        httpx transport is used as is; a callable is told apart by its signature (two
        parameters: WSGI; ``async`` with three: ASGI; one: a function)."""
        if app is None:
            return cls.network(everywhere=network)
        if isinstance(app, Backend):
            return app
        if isinstance(app, Mapping):
            return cls.mapping(app)
        if isinstance(app, httpx.BaseTransport | httpx.AsyncBaseTransport):
            return cls.transport(app)
        if callable(app):
            count = _positional_parameters(app)
            if _is_async_callable(app):
                if count == 3:
                    return cls.asgi(app)
                if count == 1:
                    return cls.function(app)
            elif count == 2:
                return cls.wsgi(app)
            elif count == 1:
                return cls.function(app)
        raise SimulationError(
            f"cannot tell what kind of app {_name(app)} is; wrap it with Backend.wsgi(), "
            "Backend.asgi(), Backend.function() or Backend.mapping()"
        )

    # -- clients ------------------------------------------------------------------

    def client(self, max_redirects: int) -> httpx.Client:
        if self._transport is None and self._async_transport is not None:
            raise SimulationError(f"{self.description} needs an async client")
        if self._transport is None:
            real: httpx.BaseTransport = httpx.HTTPTransport()
            return httpx.Client(
                transport=real if self._everywhere else _LoopbackOnly(real),
                follow_redirects=True,
                max_redirects=max_redirects,
                trust_env=self._everywhere,  # no proxy stands between loopback and us
            )
        return httpx.Client(
            transport=self._transport,
            follow_redirects=True,
            max_redirects=max_redirects,
            trust_env=False,
        )

    @property
    def is_network(self) -> bool:
        return self._transport is None and self._async_transport is None

    def async_client(self, max_redirects: int) -> httpx.AsyncClient:
        if self.is_network:
            real: httpx.AsyncBaseTransport = httpx.AsyncHTTPTransport()
            return httpx.AsyncClient(
                transport=real if self._everywhere else _AsyncLoopbackOnly(real),
                follow_redirects=True,
                max_redirects=max_redirects,
                trust_env=self._everywhere,
            )
        if self._async_transport is None:
            raise SimulationError(f"{self.description} needs a sync client")
        return httpx.AsyncClient(
            transport=self._async_transport,
            follow_redirects=True,
            max_redirects=max_redirects,
            trust_env=False,
        )


def _without_query(url: str) -> str:
    return url.split("?", 1)[0].split("#", 1)[0]


def _name(app: object) -> str:
    return str(getattr(app, "__qualname__", None) or type(app).__qualname__)


def _is_async_callable(app: object) -> bool:
    if inspect.iscoroutinefunction(app):
        return True
    call = getattr(app, "__call__", None)  # noqa: B004 - instances with an async __call__
    return call is not None and inspect.iscoroutinefunction(call)


def _positional_parameters(app: object) -> int:
    try:
        signature = inspect.signature(app)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return -1
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(1 for p in signature.parameters.values() if p.kind in kinds)
