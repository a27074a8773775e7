"""pytest fixtures for testing code that drives the OpenTact API: a fresh sandbox per test.

Installed with callflow as a pytest plugin (entry point ``callflow.pytest_plugin``):

* ``callflow_sandbox`` — a `callflow.sandbox.Sandbox` with an empty in-memory database
  (seeded with the sandbox account and its TN leases);
* ``callflow_client`` — a `callflow.client.Client` bound to it in-process, logged in;
* ``callflow_sandbox_url`` — the same sandbox served on a loopback port, for code that
  builds its own HTTP client (log in with ``SANDBOX_EMAIL`` / ``SANDBOX_PASSWORD``);
* ``callflow_call_log`` — a function returning the sandbox's call log, newest first: a
  `callflow.client.CallRecord` per executed flow (what the caller heard, each step with its
  source line), whichever client executed it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from callflow.client import CallRecord, Client
    from callflow.sandbox import Sandbox


@pytest.fixture
def callflow_sandbox() -> Iterator[Sandbox]:
    """A fresh sandbox whose state lives in memory and vanishes after the test."""
    from callflow.sandbox import Sandbox

    sandbox = Sandbox(":memory:")
    try:
        yield sandbox
    finally:
        sandbox.close()


@pytest.fixture
def callflow_client(callflow_sandbox: Sandbox) -> Iterator[Client]:
    """A `Client` talking to ``callflow_sandbox`` in-process."""
    with callflow_sandbox.client() as client:
        yield client


@pytest.fixture
def callflow_sandbox_url(callflow_sandbox: Sandbox) -> Iterator[str]:
    """``http://127.0.0.1:PORT/rest`` serving ``callflow_sandbox`` for the test's duration."""
    with callflow_sandbox.serve("127.0.0.1", 0) as server:
        yield server.url


@pytest.fixture
def callflow_call_log(callflow_sandbox: Sandbox) -> Callable[[], list[CallRecord]]:
    """``callflow_call_log()``: the flows executed on ``callflow_sandbox`` so far, newest first."""
    return callflow_sandbox.calls
