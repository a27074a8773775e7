"""How the interpreter and its drivers talk, and how a call's control flow unwinds.

The interpreter is a generator: it yields each HTTP request it needs (`Fetch`) and receives
the outcome (`Fetched`), so the same code runs under a sync driver and an async one. The
exceptions unwind blocks: the call is over, a fetched document replaces the running one, a
failure goes to the document's `<Error>`.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TypeVar

import httpx
from lxml import etree

from callflow.document import Document

T = TypeVar("T")


class Fetch:
    """A request the interpreter needs answered."""

    __slots__ = ("request", "timeout_ms")

    def __init__(self, request: httpx.Request, timeout_ms: int) -> None:
        self.request = request
        self.timeout_ms = timeout_ms


class Fetched:
    """What became of a request: a read response, or the exception it raised."""

    __slots__ = ("elapsed_ms", "error", "response")

    def __init__(
        self, response: httpx.Response | None, error: BaseException | None, elapsed_ms: float
    ) -> None:
        self.response = response
        self.error = error
        self.elapsed_ms = elapsed_ms


#: A step of the interpreter: yields requests, receives their outcome, returns a ``T``.
Program = Generator[Fetch, Fetched, T]


class CallOver(Exception):
    """The call has ended (hangup, caller, limit): unwinds every block."""

    def __init__(self, reason: str, document: Document, element: etree._Element) -> None:
        super().__init__(reason)
        self.reason = reason
        self.document = document
        self.element = element


class Redirect(Exception):
    """A fetched document replaces the one running."""

    def __init__(self, document: Document) -> None:
        super().__init__(document.name)
        self.document = document


class Unhandled(Exception):
    """A failure with no `<Error>` of its own: the document's `<Error>` takes over."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
