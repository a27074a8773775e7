"""httpx clients for the OpenTact SIP Control App API (or the bundled sandbox).

`Client` blocks, `AsyncClient` awaits; both cover every endpoint callflow drives, return
typed models (`App`, `TnLease`, `Execution`), retry what is safe to retry, and raise
`callflow.errors.ApiError` (with diagnostics mapped to the flow's source) or
`callflow.errors.TransportError`.
"""

from __future__ import annotations

from callflow.client._async import AsyncClient
from callflow.client._core import (
    DEFAULT_TIMEOUT,
    ENV_EMAIL,
    ENV_PASSWORD,
    ENV_TOKEN,
    ENV_URL,
    NO_RETRY,
    RetryPolicy,
    prepare_flow,
    wire_bytes,
)
from callflow.client._models import App, CallRecord, CallStep, Execution, TnLease
from callflow.client._sync import Client
from callflow.sources import SupportsToDocument

__all__ = [
    "DEFAULT_TIMEOUT",
    "ENV_EMAIL",
    "ENV_PASSWORD",
    "ENV_TOKEN",
    "ENV_URL",
    "NO_RETRY",
    "App",
    "AsyncClient",
    "CallRecord",
    "CallStep",
    "Client",
    "Execution",
    "RetryPolicy",
    "SupportsToDocument",
    "TnLease",
    "prepare_flow",
    "wire_bytes",
]
