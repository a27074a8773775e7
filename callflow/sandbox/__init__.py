"""The bundled OpenTact sandbox: an emulator of the API endpoints callflow drives.

One WSGI application (`SandboxHandler`) answers requests from a SQLite `Store`; it runs
in-process through httpx's WSGI transport (`Sandbox.transport`) or on loopback through
waitress (`Sandbox.serve`, and ``callflow sandbox serve``). Log in with the documented
sandbox account (`SANDBOX_EMAIL` / `SANDBOX_PASSWORD`) through ``GET /rest/auth``. Each
executed flow is played through the simulator and kept in the call log (`Sandbox.calls`,
``GET /rest/sandbox/calls``: sandbox only, not part of OpenTact's API).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from callflow.client._models import CallRecord
from callflow.sandbox._handler import CALL_LOG_PATH, SandboxHandler, SandboxRequest, SandboxResponse
from callflow.sandbox._server import SandboxServer
from callflow.sandbox._store import (
    SANDBOX_ACCOUNT_UUID,
    SANDBOX_EMAIL,
    SANDBOX_PASSWORD,
    SEEDED_LEASES,
    Store,
    default_database_path,
)
from callflow.sandbox._transport import IN_PROCESS_URL, SandboxTransport

if TYPE_CHECKING:
    from callflow.client import AsyncClient, Client

__all__ = [
    "CALL_LOG_PATH",
    "IN_PROCESS_URL",
    "SANDBOX_EMAIL",
    "SANDBOX_PASSWORD",
    "SEEDED_LEASES",
    "Sandbox",
    "SandboxHandler",
    "SandboxRequest",
    "SandboxResponse",
    "SandboxServer",
    "SandboxTransport",
    "Store",
    "default_database_path",
]


class Sandbox:
    """A sandbox with its state in ``database`` (a file path, ``":memory:"``, or the default).

    >>> with Sandbox(":memory:").client() as client:
    ...     app = client.create_app("demo")
    """

    def __init__(self, database: str | Path | None = None, *, network: bool = False) -> None:
        self.store = Store(database)
        self.handler = SandboxHandler(self.store, network=network)
        self.transport = SandboxTransport(self.handler)

    @classmethod
    def in_memory(cls) -> Sandbox:
        return cls(":memory:")

    def __repr__(self) -> str:
        return f"Sandbox({self.store.path!r})"

    @property
    def description(self) -> str:
        """How commands name this target: ``sandbox (in-process, <database>)``."""
        return f"sandbox (in-process, {self.store.path})"

    def client(self, **options: Any) -> Client:
        """A `Client` bound to this sandbox in-process, logged in as the sandbox account."""
        from callflow.client import Client

        return Client(IN_PROCESS_URL, **self._client_options(options))

    def async_client(self, **options: Any) -> AsyncClient:
        """An `AsyncClient` bound to this sandbox in-process, logged in as the sandbox account."""
        from callflow.client import AsyncClient

        return AsyncClient(IN_PROCESS_URL, **self._client_options(options))

    def _client_options(self, options: dict[str, Any]) -> dict[str, Any]:
        defaults = {
            "email": SANDBOX_EMAIL,
            "password": SANDBOX_PASSWORD,
            "transport": self.transport,
            "target": self.description,
        }
        return {**defaults, **options}

    def serve(self, host: str = "127.0.0.1", port: int = 0, **options: Any) -> SandboxServer:
        """A loopback HTTP server for this sandbox (not yet started: use ``with`` or `start`).

        ``options`` go to `SandboxServer` (``threads``, ``connection_limit``,
        ``channel_timeout``)."""
        return SandboxServer(self.handler, host, port, **options)

    def calls(self) -> list[CallRecord]:
        """The call log, newest first: every flow executed on this sandbox, as simulated."""
        account = {"uuid": SANDBOX_ACCOUNT_UUID}
        found = [
            self.store.get_call(account, row["uuid"]) for row in self.store.list_calls(account)
        ]
        return [CallRecord.from_payload(row) for row in found if row is not None]

    def last_call(self) -> CallRecord:
        """The most recent entry of the call log; `LookupError` when nothing was executed."""
        calls = self.calls()
        if not calls:
            raise LookupError("no call flow has been executed on this sandbox")
        return calls[0]

    def close(self) -> None:
        self.store.close()
