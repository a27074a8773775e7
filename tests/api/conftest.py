"""Fixtures for the API tests: an in-memory sandbox, a client bound to it, fake servers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest

from callflow.client import Client
from callflow.sandbox import Sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox(":memory:")
    yield box
    box.close()


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[Client]:
    with sandbox.client() as bound:
        yield bound


class Recorder:
    """A scripted API: answers requests in order from a list, and remembers them."""

    def __init__(self, answers: list[httpx.Response | Exception]) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []
        self.slept: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


Scripted = Callable[..., tuple[Client, Recorder]]


class CliOutcome(Protocol):
    code: int
    out: str
    err: str


class RunCli(Protocol):
    """The shape of the root conftest's ``run_cli`` fixture."""

    def __call__(self, *args: str | Path) -> CliOutcome: ...


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    """``scripted(answer, ...)`` → a Client on https://api.test/rest answering those, in order."""
    made: list[Client] = []

    def make(*answers: httpx.Response | Exception, **options: Any) -> tuple[Client, Recorder]:
        recorder = Recorder(list(answers))
        options.setdefault("random", lambda: 1.0)  # the jitter at its top: each wait its ceiling
        bound = Client(
            "https://api.test/rest",
            token="secret-token-123",
            transport=httpx.MockTransport(recorder),
            sleep=recorder.sleep,
            clock=lambda: 1_700_000_000.0,
            env={},
            **options,
        )
        made.append(bound)
        return bound, recorder

    yield make
    for bound in made:
        bound.close()


def ok(payload: object, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json={"success": True, "payload": payload})


def fail(status: int, message: str, **headers: str) -> httpx.Response:
    return httpx.Response(
        status, json={"success": False, "message": message, "status": status}, headers=headers
    )


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
