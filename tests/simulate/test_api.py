"""The simulator's public names, and how an app object is recognised."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterable
from typing import Any

import httpx

import callflow
from callflow.simulate import Backend, Caller, simulate

FLOW = '<Response><Callback url="https://a.example/x"/></Response>'
REPLY = "<Response><Say>From the app.</Say></Response>"


def test_simulate_is_exported_from_callflow_and_callable_either_way() -> None:
    # Importing the submodule binds callflow.simulate to the module; it is callable too.
    assert callflow.simulate("<Response><Say>Hi.</Say></Response>").spoken == ["Hi."]
    assert callflow.Caller is Caller


def test_from_callflow_import_simulate_works_in_a_fresh_interpreter() -> None:
    code = (
        "import callflow.simulate\n"
        "from callflow import simulate, Transcript\n"
        "t = simulate('<Response><Say>Hi.</Say></Response>')\n"
        "assert isinstance(t, Transcript), type(t)\n"
        "print(t.spoken)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "['Hi.']"


def test_importing_callflow_does_not_import_the_simulator() -> None:
    code = "import callflow, sys; print('callflow.simulate' in sys.modules, 'httpx' in sys.modules)"
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert completed.stdout.strip() == "False False"


class WsgiObject:
    """Like a Flask or Django app: an instance with __call__(environ, start_response)."""

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/xml")])
        return [REPLY.encode()]


class AsgiObject:
    """Like a Starlette app: an instance with async __call__(scope, receive, send)."""

    async def __call__(
        self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]
    ) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": REPLY.encode()})


def test_app_objects_are_told_apart_by_their_call_signature() -> None:
    assert Backend.of(WsgiObject()).description.startswith("WSGI")
    assert Backend.of(AsgiObject()).description.startswith("ASGI")
    assert Backend.of(None).is_network
    assert simulate(FLOW, app=WsgiObject()).spoken == ["From the app."]
    assert simulate(FLOW, app=AsgiObject()).spoken == ["From the app."]


def test_a_function_may_answer_with_an_httpx_response() -> None:
    def app(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text=REPLY)

    assert simulate(FLOW, app=Backend.function(app)).spoken == ["From the app."]
