"""The sandbox on a loopback HTTP server (stdlib ThreadingHTTPServer), for any HTTP client."""

from __future__ import annotations

import logging
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from callflow.sandbox.handler import (
    MAX_BODY_BYTES,
    SandboxHandler,
    SandboxRequest,
    SandboxResponse,
    error_response,
)

logger = logging.getLogger("callflow.sandbox")

_TOKEN_IN_QUERY = re.compile(r"(jwt=)[^&\s]*")


class _HttpHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections
    timeout = 30  # a client that stops sending does not hold a thread forever
    server: SandboxHttpServer
    server_version = "callflow-sandbox"

    def _dispatch(self) -> None:
        length_header = self.headers.get("Content-Length")
        body = b""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.close_connection = True
            self._reply(
                error_response(411, "send a Content-Length header (chunked bodies are not read)")
            )
            return
        if length_header is not None:
            try:
                length = int(length_header)
                if length < 0:
                    raise ValueError(length)
            except ValueError:
                self.close_connection = True
                self._reply(error_response(400, f"bad Content-Length: {length_header!r}"))
                return
            if length > MAX_BODY_BYTES:
                self.close_connection = True  # the body is left unread
                self._reply(
                    error_response(413, f"request body is larger than {MAX_BODY_BYTES} bytes")
                )
                return
            try:
                body = self.rfile.read(length)
            except OSError:  # the client stalled or went away mid-body: nothing to answer
                self.close_connection = True
                return
        headers = {name.lower(): value for name, value in self.headers.items()}
        response = self.server.handler.handle(
            SandboxRequest(self.command, self.path, headers, body)
        )
        self._reply(response)

    def _reply(self, response: SandboxResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # http.server's own errors (bad request line, oversize headers…) get the envelope too.
        self.close_connection = True
        reason = message or self.responses.get(code, ("request refused",))[0]
        self._reply(error_response(code, reason))

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = do_HEAD = do_OPTIONS = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        # Never log a token: the only place one can appear in a request line is ?jwt=.
        logger.info("%s %s", self.address_string(), _TOKEN_IN_QUERY.sub(r"\1***", format % args))


class SandboxHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: SandboxHandler) -> None:
        super().__init__(address, _HttpHandler)
        self.handler = handler


class SandboxServer:
    """A running loopback sandbox: ``url`` is its API base; `close` stops it.

    ``port=0`` picks a free port. Use as a context manager, or call `start` and `close`.
    """

    def __init__(self, handler: SandboxHandler, host: str = "127.0.0.1", port: int = 0) -> None:
        self._http = SandboxHttpServer((host, port), handler)
        self._thread: threading.Thread | None = None
        self.host = host
        self.port = int(self._http.server_address[1])

    def __repr__(self) -> str:
        return f"SandboxServer({self.url!r})"

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/rest"

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(
            target=self._http.serve_forever,
            kwargs={"poll_interval": 0.05},  # so that close() returns promptly
            name="callflow-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._http.serve_forever()

    def close(self) -> None:
        if self._thread is not None:
            self._http.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._http.server_close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()
