"""The sandbox as an httpx transport: requests are answered in-process, nothing touches a socket."""

from __future__ import annotations

import httpx

from callflow.sandbox.handler import SandboxHandler, SandboxRequest, SandboxResponse

#: The base URL clients use for the in-process sandbox (``.invalid`` never resolves, so a
#: request that somehow escaped the transport could not reach anything).
IN_PROCESS_URL = "http://sandbox.callflow.invalid/rest"


class SandboxTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Serves httpx requests (sync and async) from a `SandboxHandler`."""

    #: Nothing leaves the process, so the client's https-only rule for tokens does not apply.
    in_process = True

    def __init__(self, handler: SandboxHandler) -> None:
        self.handler = handler

    def __repr__(self) -> str:
        return f"SandboxTransport({self.handler.store.path!r})"

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        return _to_httpx(self.handler.handle(_from_httpx(request, body)))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        return _to_httpx(self.handler.handle(_from_httpx(request, body)))


def _from_httpx(request: httpx.Request, body: bytes) -> SandboxRequest:
    headers = {name.lower(): value for name, value in request.headers.items()}
    target = request.url.raw_path.decode("ascii", errors="replace")
    return SandboxRequest(request.method, target, headers, body)


def _to_httpx(response: SandboxResponse) -> httpx.Response:
    return httpx.Response(response.status, headers=list(response.headers), content=response.body)
