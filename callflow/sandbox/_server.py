"""The sandbox on loopback: its WSGI application served by waitress, for any HTTP client.

waitress parses HTTP strictly (a body is read to its full Content-Length before the request
is handled, conflicting Content-Length headers are a 400), serves every connection from one
event loop with a fixed pool of worker threads (idle connections cost no thread), and sends
each response with TCP_NODELAY, so keep-alive requests do not wait on Nagle's algorithm.
Requests waitress itself refuses get the API's JSON envelope too.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from waitress.channel import HTTPChannel  # type: ignore[import-untyped]
from waitress.server import TcpWSGIServer  # type: ignore[import-untyped]
from waitress.task import ErrorTask  # type: ignore[import-untyped]
from waitress.wasyncore import close_all, loop  # type: ignore[import-untyped]

from callflow.sandbox._handler import MAX_BODY_BYTES, SandboxHandler, escape_for_log

logger = logging.getLogger("callflow.sandbox")

#: Worker threads answering requests; connections beyond them wait, costing no thread.
DEFAULT_THREADS = 8

#: Open connections served at once (idle keep-alive ones included); more wait to be accepted.
DEFAULT_CONNECTION_LIMIT = 4096

#: Seconds an idle or stalled connection is kept open.
CHANNEL_TIMEOUT = 30


class _EnvelopeErrorTask(ErrorTask):  # type: ignore[misc]
    """waitress's own refusals (bad framing, oversize headers…) as the API's envelope."""

    def execute(self) -> None:
        error = self.request.error
        message = f"{error.reason}: {error.body}".strip().rstrip(":")
        body = json.dumps({"success": False, "message": message, "status": error.code}).encode(
            "utf-8"
        )
        self.status = f"{error.code} {error.reason}"
        self.response_headers.append(("Content-Type", "application/json"))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)
        logger.info(
            "%s refused %d %s", escape_for_log(str(self.channel.addr[0])), error.code, message
        )


class _Channel(HTTPChannel):  # type: ignore[misc]
    error_task_class = _EnvelopeErrorTask


#: Connections accepted per wake-up of the event loop (waitress takes one, so a burst of
#: thousands would queue a new client behind all of them, one loop turn each).
_ACCEPTS_PER_TURN = 128


class _Server(TcpWSGIServer):  # type: ignore[misc]
    channel_class = _Channel

    def handle_accept(self) -> None:
        for _ in range(_ACCEPTS_PER_TURN):
            before = len(self._map)
            super().handle_accept()
            if len(self._map) == before or not self.accepting:
                return


class SandboxServer:
    """A loopback sandbox: ``url`` is its API base; `close` stops it.

    ``port=0`` picks a free port. Use as a context manager, or call `start` (serve in a
    background thread) or `serve_forever`, and `close`.
    """

    def __init__(
        self,
        handler: SandboxHandler,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        threads: int = DEFAULT_THREADS,
        connection_limit: int = DEFAULT_CONNECTION_LIMIT,
        channel_timeout: int = CHANNEL_TIMEOUT,
    ) -> None:
        self._map: dict[int, Any] = {}
        self._server: TcpWSGIServer = _Server(
            handler,
            map=self._map,
            host=host,
            port=port,
            threads=threads,
            connection_limit=connection_limit,
            channel_timeout=channel_timeout,
            cleanup_interval=min(30, channel_timeout),
            max_request_body_size=MAX_BODY_BYTES,
            max_request_header_size=65_536,
            asyncore_use_poll=True,  # select() cannot watch more than 1,024 sockets
            ident="callflow-sandbox",
            expose_tracebacks=False,
            clear_untrusted_proxy_headers=True,
        )
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.host = host
        self.port = int(self._server.getsockname()[1])
        self.threads = threads

    def __repr__(self) -> str:
        return f"SandboxServer({self.url!r})"

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/rest"

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(
            target=self.serve_forever, name="callflow-sandbox", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve until `close` (from another thread) or KeyboardInterrupt."""
        try:
            while not self._stopping.is_set() and self._map:
                # Short polls, so that close() returns promptly.
                loop(timeout=0.05, map=self._map, use_poll=True, count=1)
        finally:
            self._server.task_dispatcher.shutdown()
            close_all(self._map)

    def close(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        else:
            self._server.task_dispatcher.shutdown()
            close_all(self._map)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def serve_in_foreground(server: SandboxServer, banner: str, *, log_requests: bool) -> None:
    """Serve until interrupted, as a command line does: ``banner`` first, then (with
    ``log_requests``) one line per request, both on standard error through `logging`.

    KeyboardInterrupt reaches the caller once the server is closed."""
    console = logging.getLogger("callflow.sandbox.console")
    said = logging.StreamHandler()  # standard error, flushed per line
    said.setFormatter(logging.Formatter("%(message)s"))
    console.addHandler(said)
    console.propagate = False  # not again, timestamped, by the request log below
    console.setLevel(logging.INFO)
    log = logging.StreamHandler()
    log.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    if log_requests:  # tokens in a ?jwt= query are masked by the handler
        logger.addHandler(log)
        logger.setLevel(logging.INFO)
    try:
        console.info("%s", banner)
        server.serve_forever()
    finally:
        server.close()
        console.removeHandler(said)
        logger.removeHandler(log)
