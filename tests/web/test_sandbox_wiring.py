"""An app whose record holds ``call_flow_url``: a sandbox execute without a document fetches
the flow from it, as the platform does when a call arrives."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from callflow.sandbox import SANDBOX_EMAIL, SANDBOX_PASSWORD, Sandbox
from callflow.web import create_app
from tests.web.conftest import Running

BASIC = "Basic " + base64.b64encode(f"{SANDBOX_EMAIL}:{SANDBOX_PASSWORD}".encode()).decode()
WELCOME = "<Response>\n  <Say>Welcome, {{ request.from }}</Say>\n  <Hangup/>\n</Response>\n"


@pytest.fixture
def api() -> Iterator[httpx.Client]:
    box = Sandbox(":memory:")
    with httpx.Client(transport=box.transport, base_url="http://sandbox.test/rest") as client:
        token = client.get("/auth", headers={"Authorization": BASIC}).json()["payload"]["token"]
        client.headers["X-Auth-Token"] = token
        yield client
    box.close()


def _app(api: httpx.Client, **fields: object) -> str:
    reply = api.post("/sip/app", json={"name": "served", **fields})
    assert reply.status_code in (200, 201), reply.text
    return str(reply.json()["payload"]["uuid"])


def _execute_without_a_document(api: httpx.Client, uuid: str) -> httpx.Response:
    return api.post(
        f"/sip/app/call/{uuid}", content=b"", headers={"content-type": "application/xml"}
    )


def test_an_execute_without_a_document_fetches_the_apps_call_flow_url(
    api: httpx.Client,
    run_server: Callable[..., Running],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    (tmp_path / "index.xml.j2").write_text(WELCOME)
    served = run_server(create_app(tmp_path))
    uuid = _app(api, call_flow_url=served.url + "/", call_flow_method="GET")
    with caplog.at_level(logging.INFO, logger="callflow.web"):
        reply = _execute_without_a_document(api, uuid)
    assert reply.status_code == 200, reply.text
    execution = reply.json()["payload"]
    assert execution["elements"] == 3
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert 'request GET / event=webhook from="+15550001234" to="+15550100000"' in logged


def test_a_posting_call_flow_url_gets_the_call_object(
    api: httpx.Client, run_server: Callable[..., Running], tmp_path: Path
) -> None:
    (tmp_path / "index.xml.j2").write_text(
        "<Response><Say>{{ request.call.sip_control_app }}</Say><Hangup/></Response>\n"
    )
    served = run_server(create_app(tmp_path))
    uuid = _app(api, call_flow_url=served.url + "/", call_flow_method="POST")
    reply = _execute_without_a_document(api, uuid)
    assert reply.status_code == 200, reply.text
    # The fetched flow named the app: its size counts the uuid the call object carried.
    size = len(f"<Response><Say>{uuid}</Say><Hangup/></Response>\n".encode())
    assert reply.json()["payload"]["size"] == size


def test_an_invalid_fetched_flow_is_refused_like_a_posted_one(
    api: httpx.Client, run_server: Callable[..., Running]
) -> None:
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    async def broken(request: object) -> Response:
        return Response("<Response><Gather numDigts='1'/></Response>", media_type="text/xml")

    served = run_server(Starlette(routes=[Route("/", broken)]))
    uuid = _app(api, call_flow_url=served.url + "/")
    reply = _execute_without_a_document(api, uuid)
    assert reply.status_code == 400 and "Invalid call XML" in reply.json()["message"]


def test_a_call_flow_url_off_this_machine_is_not_fetched(api: httpx.Client) -> None:
    uuid = _app(api, call_flow_url="https://flows.example.com/")
    reply = _execute_without_a_document(api, uuid)
    assert reply.status_code == 400 and "loopback" in reply.json()["message"]


def test_a_posted_document_still_wins_over_the_call_flow_url(api: httpx.Client) -> None:
    uuid = _app(api, call_flow_url="https://flows.example.com/")
    reply = api.post(
        f"/sip/app/call/{uuid}",
        content=b"<Response><Hangup/></Response>",
        headers={"content-type": "application/xml"},
    )
    assert reply.status_code == 200 and reply.json()["payload"]["elements"] == 2


def test_the_call_log_plays_the_fetched_flow_and_follows_its_callbacks_into_the_app(
    api: httpx.Client, run_server: Callable[..., Running], tmp_path: Path
) -> None:
    (tmp_path / "index.xml.j2").write_text(WELCOME)
    served = run_server(create_app(tmp_path))
    uuid = _app(api, call_flow_url=served.url + "/")
    execution = _execute_without_a_document(api, uuid).json()["payload"]
    call = api.get(f"/sandbox/calls/{execution['uuid']}")
    assert call.status_code == 200, call.text
    logged = json.dumps(call.json()["payload"])
    assert "Welcome, +15550001234" in logged
