"""The bundled OpenTact sandbox: an emulator of the API endpoints callflow drives.

One `SandboxHandler` answers requests from a SQLite `Store`; it runs in-process as an httpx
transport (`Sandbox.transport`) or on a loopback HTTP server (`Sandbox.serve`, and
``callflow sandbox serve``). Log in with the documented sandbox account
(`SANDBOX_EMAIL` / `SANDBOX_PASSWORD`) through ``GET /rest/auth``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from callflow.sandbox.handler import SandboxHandler, SandboxRequest, SandboxResponse
from callflow.sandbox.server import SandboxServer
from callflow.sandbox.store import (
    SANDBOX_EMAIL,
    SANDBOX_PASSWORD,
    SEEDED_LEASES,
    Store,
    default_database_path,
)
from callflow.sandbox.transport import IN_PROCESS_URL, SandboxTransport

if TYPE_CHECKING:
    from callflow.client import AsyncClient, Client

__all__ = [
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

    def __init__(self, database: str | Path | None = None) -> None:
        self.store = Store(database)
        self.handler = SandboxHandler(self.store)
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

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> SandboxServer:
        """A loopback HTTP server for this sandbox (not yet started: use ``with`` or `start`)."""
        return SandboxServer(self.handler, host, port)

    def close(self) -> None:
        self.store.close()
