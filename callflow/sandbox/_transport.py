"""The sandbox in-process: httpx's WSGI transport serving the sandbox's WSGI application.

Nothing touches a socket. httpx's WSGI transport is synchronous; the async side is a thin
adapter that answers through the same transport (the application does no I/O of its own
beyond SQLite, so it is called directly).
"""

from __future__ import annotations

import httpx

from callflow.sandbox._handler import SandboxHandler

#: The base URL clients use for the in-process sandbox (``.invalid`` never resolves, so a
#: request that somehow escaped the transport could not reach anything).
IN_PROCESS_URL = "http://sandbox.callflow.invalid/rest"


class SandboxTransport(httpx.WSGITransport, httpx.AsyncBaseTransport):
    """Serves httpx requests (sync and async) from a `SandboxHandler`."""

    #: Nothing leaves the process, so the client's https-only rule for tokens does not apply.
    in_process = True

    def __init__(self, handler: SandboxHandler) -> None:
        super().__init__(app=handler, remote_addr="in-process")
        self.handler = handler

    def __repr__(self) -> str:
        return f"SandboxTransport({self.handler.store.path!r})"

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        response = self.handle_request(request)
        return httpx.Response(
            response.status_code, headers=response.headers, content=response.read()
        )
