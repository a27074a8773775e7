"""The flow server on uvicorn on loopback: folders of flows served through the front door,
every reply validated, hostile requests refused with a 4xx, never a 500 or a traceback."""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callflow.web import DEFAULT_FALLBACK, create_app, flow_endpoint, wsgi_app
from tests.web.conftest import Running

MENU = """\
<Response>
  <Say>You pressed {{ request.dtmf }}, calling from {{ request.from }}.</Say>
  <Hangup/>
</Response>
"""
BROKEN = """\
<Response>
  <Say>fine</Say>
  <Gather numDigts="1" timeout="5000"><Say>{{ request.from }}</Say></Gather>
</Response>
"""
MODULE = """\
from callflow.dsl import Hangup, Response, Say


def build(request):
    if request.get("fail"):
        raise ValueError("asked to fail")
    return Response(Say(f"Hello {request.from_number}"), Hangup())
"""


@pytest.fixture
def flows(tmp_path: Path) -> Path:
    folder = tmp_path / "flows"
    (folder / "ivr").mkdir(parents=True)
    (folder / "index.xml").write_text("<Response><Say>Welcome</Say><Hangup/></Response>\n")
    (folder / "ivr" / "menu.xml.j2").write_text(MENU)
    (folder / "broken.xml.j2").write_text(BROKEN)
    (folder / "hello.py").write_text(MODULE)
    (tmp_path / "secret.xml").write_text("<Response><Say>SECRET</Say></Response>\n")
    return folder


@pytest.fixture
def server(run_server: Callable[..., Running], flows: Path) -> Running:
    return run_server(create_app(flows, body_timeout=1.0))


def test_an_xml_file_is_served_as_it_is_with_the_platforms_content_type(server: Running) -> None:
    reply = httpx.get(server.url + "/")
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "text/xml; charset=utf-8"
    assert reply.text == "<Response><Say>Welcome</Say><Hangup/></Response>\n"


def test_a_template_renders_with_the_request_as_its_variables(server: Running) -> None:
    reply = httpx.get(server.url + "/ivr/menu", params={"dtmf": "2", "from": "+1555<&>"})
    assert reply.status_code == 200
    assert "You pressed 2, calling from +1555&lt;&amp;&gt;." in reply.text


def test_a_builder_module_receives_the_typed_request(server: Running) -> None:
    reply = httpx.get(server.url + "/hello", params={"from": "100", "to": "200"})
    assert reply.status_code == 200 and "<Say>Hello 100</Say>" in reply.text


def test_an_invalid_reply_sends_the_fallback_and_logs_the_template_line(
    server: Running, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="callflow.web"):
        reply = httpx.get(server.url + "/broken", params={"from": "1", "to": "2"})
    assert reply.status_code == 200 and reply.text == DEFAULT_FALLBACK
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "FALLBACK" in logged and "broken.xml.j2:3:" in logged and "CF203" in logged


def test_a_builder_that_raises_is_logged_at_its_line_and_the_caller_hears_the_fallback(
    server: Running, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="callflow.web"):
        reply = httpx.get(server.url + "/hello", params={"fail": "1", "from": "1"})
    assert reply.text == DEFAULT_FALLBACK and "Traceback" not in reply.text
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "hello.py:6: CF702" in logged and "asked to fail" in logged


def test_a_configured_fallback_is_what_the_caller_hears(
    run_server: Callable[..., Running], flows: Path
) -> None:
    fallback = "<Response><Say>Call back later</Say><Hangup/></Response>"
    server = run_server(create_app(flows, fallback=fallback))
    assert "Call back later" in httpx.get(server.url + "/broken").text


def test_an_invalid_fallback_is_refused_when_the_app_is_made(flows: Path) -> None:
    from callflow.errors import InputError

    with pytest.raises(InputError, match="fallback"):
        create_app(flows, fallback="<Response><Gather numDigts='1'/></Response>")


@pytest.mark.parametrize(
    "path",
    [
        "/../secret",
        "/%2e%2e/secret",
        "/ivr/%2E%2E/%2e%2e/secret",
        "/.hidden",
        "/ivr//menu",
        "/a%00b",
    ],
)
def test_paths_out_of_the_folder_are_refused(server: Running, path: str) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as connection:
        connection.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        answer = _read_all(connection)
    status = int(answer.split(b" ", 2)[1])
    assert status in (400, 403, 404) and b"SECRET" not in answer


def test_a_link_out_of_the_folder_is_refused(server: Running, flows: Path) -> None:
    os.symlink(flows.parent / "secret.xml", flows / "leak.xml")
    reply = httpx.get(server.url + "/leak")
    assert reply.status_code == 403 and "SECRET" not in reply.text


def test_an_unknown_flow_is_a_404(server: Running) -> None:
    assert httpx.get(server.url + "/nothing/here").status_code == 404


def test_a_huge_body_is_refused_before_it_is_read(server: Running) -> None:
    reply = httpx.post(
        server.url + "/ivr/menu",
        content=b"a=" + b"x" * 200_000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert reply.status_code == 413


def test_a_slow_client_is_cut_off(server: Running) -> None:
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(
            b"POST /ivr/menu HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\nConnection: close\r\n\r\n{"dtmf"'
        )
        answer = _read_all(connection)
    assert answer.startswith(b"HTTP/1.1 408") and time.monotonic() - started < 8


def test_malformed_json_is_a_400_with_the_reason(server: Running) -> None:
    reply = httpx.post(
        server.url + "/ivr/menu",
        content=b'{"dtmf": 1,,}',
        headers={"content-type": "application/json"},
    )
    assert reply.status_code == 400 and "malformed" in reply.text and "line 1" in reply.text


def test_log_lines_escape_control_characters_and_leave_tokens_out(
    server: Running, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="callflow.web"):
        httpx.get(
            server.url + "/ivr/menu",
            params={"dtmf": "1", "from": "evil\r\nreply / 200 valid", "jwt": "s3cr3t-token"},
        )
    messages = [r.getMessage() for r in caplog.records]
    request_line = next(m for m in messages if m.startswith("request "))
    assert "\n" not in request_line and "\\x0d\\x0a" in request_line
    assert "s3cr3t-token" not in "\n".join(messages) and "jwt=***" in request_line
    assert any(m.startswith("reply /ivr/menu") for m in messages)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    query=st.binary(max_size=100),
    content_type=st.sampled_from(["application/json", "application/x-www-form-urlencoded", "x/y"]),
    body=st.binary(max_size=200),
)
def test_any_request_gets_a_200_or_a_4xx(
    server: Running, query: bytes, content_type: str, body: bytes
) -> None:
    raw_query = "".join(f"%{b:02X}" if b not in b"=&" else chr(b) for b in query)
    reply = httpx.post(
        f"{server.url}/ivr/menu?{raw_query}", content=body, headers={"content-type": content_type}
    )
    assert reply.status_code == 200 or 400 <= reply.status_code < 500
    assert "Traceback" not in reply.text


def test_a_decorated_starlette_handler_gets_the_typed_request_and_a_validated_reply(
    run_server: Callable[..., Running],
) -> None:
    from starlette.applications import Starlette
    from starlette.routing import Route

    from callflow.dsl import Hangup, Response, Say
    from callflow.web import GatherRequest

    @flow_endpoint(event="gather")
    async def menu(request: GatherRequest) -> object:
        if request.dtmf == "9":
            return "<Response><Gather numDigts='1'/></Response>"
        return Response(Say(f"You chose {request.dtmf}"), Hangup())

    app = Starlette(routes=[Route("/menu", menu, methods=["GET", "POST"])])
    server = run_server(app)
    assert "You chose 3" in httpx.get(server.url + "/menu", params={"dtmf": "3"}).text
    assert httpx.get(server.url + "/menu", params={"dtmf": "9"}).text == DEFAULT_FALLBACK
    assert httpx.get(server.url + "/menu", params={"dtmf": "x"}).status_code == 400


def test_the_wsgi_app_serves_a_folder_for_flask_and_django(flows: Path) -> None:
    app = wsgi_app(flows)
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://app") as client:
        reply = client.post(
            "/ivr/menu",
            content=json.dumps({"uuid": "u"}).encode(),
            headers={"content-type": "application/json"},
            params={"dtmf": "5", "from": "7"},
        )
        assert reply.status_code == 200 and "You pressed 5" in reply.text
        assert reply.headers["content-type"] == "text/xml; charset=utf-8"
        assert client.get("/%2e%2e/secret").status_code in (403, 404)
        assert client.get("/broken").text == DEFAULT_FALLBACK


def _read_all(connection: socket.socket) -> bytes:
    chunks = []
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        chunk = connection.recv(65536)
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def _asgi_exchange(
    app: object, messages: list[dict[str, object]], headers: list[tuple[bytes, bytes]]
) -> tuple[int, dict[bytes, bytes], bytes]:
    """One request straight into the ASGI app: status, headers, body."""
    import asyncio

    sent: list[dict[str, object]] = []
    pending = list(messages)

    async def receive() -> dict[str, object]:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/ivr/menu", "raw_path": b"/ivr/menu", "root_path": "",
        "query_string": b"from=%2B1555", "headers": headers, "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 5000),
    }  # fmt: skip
    asyncio.run(app(scope, receive, send))  # type: ignore[operator]
    start, body = sent
    assert isinstance(start["headers"], list) and isinstance(body["body"], bytes)
    found = dict(start["headers"])
    assert int(found[b"content-length"]) == len(body["body"])
    status = start["status"]
    assert isinstance(status, int)
    return status, found, body["body"]


def test_the_served_endpoint_reads_a_chunked_body_and_refuses_what_breaks_the_limits(
    flows: Path,
) -> None:
    app = create_app(flows, max_request_bytes=100)
    form = [(b"content-type", b"application/x-www-form-urlencoded")]
    chunked = [*form, (b"transfer-encoding", b"chunked")]
    parts = [
        {"type": "http.request", "body": b"dtmf=", "more_body": True},
        {"type": "http.request", "body": b"", "more_body": True},
        {"type": "http.request", "body": b"7", "more_body": False},
    ]
    status, headers, body = _asgi_exchange(app, parts, chunked)
    assert (status, headers[b"content-type"]) == (200, b"text/xml; charset=utf-8")
    assert b"You pressed 7, calling from +1555." in body
    # Past the limit while streaming, the client gone, a length that is no number.
    huge = [{"type": "http.request", "body": b"dtmf=1&x=" + b"y" * 200, "more_body": True}]
    assert _asgi_exchange(app, huge, chunked)[0] == 413
    gone = [{"type": "http.request", "body": b"dtmf=", "more_body": True}]
    status, headers, body = _asgi_exchange(app, gone, chunked)
    assert (status, body) == (400, b"bad request: the client went away before its body arrived\n")
    assert headers[b"content-type"] == b"text/plain; charset=utf-8"
    assert _asgi_exchange(app, [], [*form, (b"content-length", b"1x")])[0] == 400
    # A digit that is not ASCII ("\xb2" is "²" in the header's Latin-1) is no number either,
    # and a length of thousands of digits is over the limit, never a 500.
    assert _asgi_exchange(app, [], [*form, (b"content-length", b"\xb2")])[0] == 400
    assert _asgi_exchange(app, [], [*form, (b"content-length", b"9" * 5000)])[0] == 413


def test_a_decorated_handler_refusing_a_request_logs_its_path_escaped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import asyncio
    import logging

    from starlette.applications import Starlette
    from starlette.routing import Route

    @flow_endpoint(event="gather")
    async def menu(request: object) -> object:
        raise AssertionError("a refused request never reaches the handler")

    app = Starlette(routes=[Route("/{rest:path}", menu, methods=["POST"])])
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/m\x1b[2J", "raw_path": b"/m%1b%5b2J", "root_path": "",
        "query_string": b"", "headers": [(b"content-length", b"1x")],
        "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 5000),
    }  # fmt: skip
    with caplog.at_level(logging.INFO):
        asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 400
    refused = [record.getMessage() for record in caplog.records if "refused" in record.getMessage()]
    assert refused and all("\x1b" not in line for line in refused)
    assert "\\x1b" in refused[0]
