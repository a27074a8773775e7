"""The sandbox under hostile clients: bad input never breaks its state, the loopback server
parses strictly, stays bounded and keeps tokens and control characters out of its log."""

from __future__ import annotations

import base64
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callflow.client import Client
from callflow.sandbox import SANDBOX_EMAIL, SANDBOX_PASSWORD, SEEDED_LEASES, Sandbox

ROOT = Path(__file__).resolve().parents[2]
BASIC = "Basic " + base64.b64encode(f"{SANDBOX_EMAIL}:{SANDBOX_PASSWORD}".encode()).decode()


@pytest.fixture
def http(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(transport=sandbox.transport, base_url="http://sandbox.test/rest") as raw:
        token = raw.get("/auth", headers={"Authorization": BASIC}).json()["payload"]["token"]
        raw.headers["X-Auth-Token"] = token
        yield raw


def post_json(http: httpx.Client, method: str, path: str, text: str) -> httpx.Response:
    return http.request(
        method, path, content=text.encode("utf-8"), headers={"Content-Type": "application/json"}
    )


def message(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and body["status"] == status
    return str(body["message"])


# ---------------------------------------------------------------- input never breaks state


def test_a_lone_surrogate_in_a_name_is_refused_and_nothing_is_stored(
    http: httpx.Client, sandbox: Sandbox
) -> None:
    says = message(post_json(http, "POST", "/sip/app", '{"name": "\\ud800"}'), 400)
    assert "surrogate" in says and "$.name" in says
    assert sandbox.store.count("apps") == 0
    listed = http.get("/sip/app")
    assert listed.status_code == 200 and listed.json()["payload"] == []


def test_after_a_refused_name_the_client_and_commands_still_work(sandbox: Sandbox) -> None:
    with sandbox.client() as client:
        with pytest.raises(Exception) as refused:
            client.create_app("\ud800")
        assert "surrogate" in str(refused.value)
        app = client.create_app("fine")
        assert [a.name for a in client.list_apps()] == ["fine"]
        assert client.get_app(app.uuid).name == "fine"


@pytest.mark.parametrize("where", ["create", "patch", "tnlease", "trunk"])
def test_an_integer_of_thousands_of_digits_is_a_400(
    http: httpx.Client, sandbox: Sandbox, where: str
) -> None:
    app = http.post("/sip/app", json={"name": "kept"}).json()["payload"]
    huge = "9" * 5_000
    requests = {
        "create": ("POST", "/sip/app", f'{{"name": "x", "call_flow_request_timeout": {huge}}}'),
        "patch": ("PATCH", f"/sip/app/{app['uuid']}", f'{{"webhook_request_timeout": {huge}}}'),
        "tnlease": ("POST", f"/sip/app/{app['uuid']}/tnlease", f'{{"add": [{huge}]}}'),
        "trunk": (
            "POST",
            "/sip/app",
            f'{{"name": "x", "class4_egress_trunk_settings": {{"a": {huge}}}}}',
        ),
    }
    says = message(post_json(http, *requests[where]), 400)
    assert "5000 digits" in says
    assert sandbox.store.count("apps") == 1
    assert http.get(f"/sip/app/{app['uuid']}").json()["payload"]["name"] == "kept"


@pytest.mark.parametrize("number", ["1e999", "NaN", "-Infinity"])
def test_numbers_that_are_not_finite_are_a_400(http: httpx.Client, number: str) -> None:
    body = f'{{"name": "x", "class4_egress_trunk_settings": {{"a": {number}}}}}'
    assert "finite" in message(post_json(http, "POST", "/sip/app", body), 400)


def test_nesting_deeper_than_the_limit_is_a_400_even_inside_an_allowed_object(
    http: httpx.Client, sandbox: Sandbox
) -> None:
    nested = "[" * 40 + "]" * 40
    body = f'{{"name": "x", "class4_egress_trunk_settings": {{"a": {nested}}}}}'
    assert "nested deeper" in message(post_json(http, "POST", "/sip/app", body), 400)
    assert sandbox.store.count("apps") == 0


class Digits:
    """A JSON integer literal of ``count`` digits (Python cannot even print such an int)."""

    def __init__(self, count: int) -> None:
        self.count = count


class Deep:
    """``count`` nested arrays."""

    def __init__(self, count: int) -> None:
        self.count = count


def dump(value: object) -> str:
    if isinstance(value, Digits):
        return "7" * value.count
    if isinstance(value, Deep):
        return "[" * value.count + "]" * value.count
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {dump(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(dump(v) for v in value) + "]"
    return json.dumps(value)  # a lone surrogate in a str is written as its \\u escape


hostile_text = st.text(
    alphabet=st.one_of(st.characters(), st.sampled_from(["\ud800", "\udfff", "\x00", "\x1b"])),
    max_size=20,
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    hostile_text,
    st.builds(Digits, st.integers(min_value=15, max_value=6_000)),
    st.builds(Deep, st.integers(min_value=1, max_value=3_000)),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(hostile_text, inner, max_size=4)
    ),
    max_leaves=12,
)
field_names = st.sampled_from(
    [
        "name",
        "subdomain",
        "is_active",
        "class4_egress_trunk_settings",
        "call_flow_url",
        "call_flow_request_timeout",
        "webhook_method",
        "outbound_voice_profile",
        "add",
        "remove",
    ]
)
bodies = st.one_of(json_values, st.dictionaries(field_names, json_values, max_size=4))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=bodies, target=st.sampled_from(["create", "patch", "tnlease"]))
def test_generated_json_never_breaks_list_and_get(
    http: httpx.Client, sandbox: Sandbox, body: object, target: str
) -> None:
    kept = http.post("/sip/app", json={"name": "kept"}).json()["payload"]["uuid"]
    before = sandbox.store.count("apps")
    method, path = {
        "create": ("POST", "/sip/app"),
        "patch": ("PATCH", f"/sip/app/{kept}"),
        "tnlease": ("POST", f"/sip/app/{kept}/tnlease"),
    }[target]
    response = post_json(http, method, path, dump(body))
    assert response.status_code < 500, response.text
    assert response.json()["success"] is (response.status_code < 400)
    created = 1 if response.status_code == 201 else 0
    assert sandbox.store.count("apps") == before + created
    listed = http.get("/sip/app")
    assert listed.status_code == 200, listed.text
    for app in listed.json()["payload"]:
        got = http.get(f"/sip/app/{app['uuid']}")
        assert got.status_code == 200, got.text
        got.content.decode("utf-8")  # every answer is UTF-8 text


def test_a_refused_patch_leaves_the_app_as_it_was(http: httpx.Client) -> None:
    app = http.post("/sip/app", json={"name": "kept", "subdomain": "kept"}).json()["payload"]
    body = '{"name": "changed", "subdomain": "sub\\udfff"}'
    message(post_json(http, "PATCH", f"/sip/app/{app['uuid']}", body), 400)
    after = http.get(f"/sip/app/{app['uuid']}").json()["payload"]
    assert (after["name"], after["subdomain"], after["modified_on"]) == (
        "kept",
        "kept",
        app["modified_on"],
    )


# ---------------------------------------------------------------- unique subdomains


def test_a_taken_subdomain_is_a_409_on_create_and_on_patch(http: httpx.Client) -> None:
    http.post("/sip/app", json={"name": "a", "subdomain": "acme"})
    other = http.post("/sip/app", json={"name": "b", "subdomain": "other"}).json()["payload"]
    says = message(http.post("/sip/app", json={"name": "c", "subdomain": "ACME"}), 409)
    assert "subdomain 'ACME' is already used by another app" in says
    patched = http.patch(f"/sip/app/{other['uuid']}", json={"subdomain": "acme"})
    assert "already used" in message(patched, 409)
    again = http.patch(f"/sip/app/{other['uuid']}", json={"subdomain": "other", "name": "b2"})
    assert again.status_code == 200  # an app keeping its own subdomain is no conflict
    assert sorted(a["subdomain"] for a in http.get("/sip/app").json()["payload"]) == [
        "acme",
        "other",
    ]


def test_eight_parallel_executes_on_a_fresh_database_create_one_demo_app(
    tmp_path: Path,
) -> None:
    database = tmp_path / "fresh.sqlite3"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CALLFLOW_SANDBOX_DB": str(database)}
    env.pop("OPENTACT_API_URL", None)
    command = [sys.executable, "-m", "callflow", "execute", str(ROOT / "examples/ivr_menu.xml")]
    runs = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(8)
    ]
    outcomes = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0] * 8, [err.decode() for _, err in outcomes]
    sandbox = Sandbox(database)
    try:
        with sandbox.client() as client:
            demo = [app for app in client.list_apps() if app.name == "callflow-demo"]
        assert len(demo) == 1
        assert sandbox.store.count("executions") == 8
        assert sandbox.store.count("accounts") == 1
        assert sandbox.store.count("tn_leases") == len(SEEDED_LEASES)
    finally:
        sandbox.close()


# ---------------------------------------------------------------- the WSGI application


def test_the_sandbox_is_one_wsgi_application_served_by_httpx_wsgi_transport(
    sandbox: Sandbox,
) -> None:
    assert isinstance(sandbox.transport, httpx.WSGITransport)
    with httpx.Client(
        transport=httpx.WSGITransport(app=sandbox.handler), base_url="http://x/rest"
    ) as raw:
        assert raw.get("/auth", headers={"Authorization": BASIC}).status_code == 200


@pytest.mark.anyio
async def test_the_async_client_is_served_by_the_same_application(sandbox: Sandbox) -> None:
    async with sandbox.async_client() as client:
        app = await client.create_app("async")
        assert (await client.get_app(app.uuid)).name == "async"


def test_an_encoded_jwt_parameter_name_does_not_authenticate(
    http: httpx.Client, sandbox: Sandbox
) -> None:
    token = str(http.headers["X-Auth-Token"])
    with httpx.Client(transport=sandbox.transport) as bare:
        assert bare.get(f"http://x/rest/sip/app?jwt={token}").status_code == 200
        assert bare.get(f"http://x/rest/sip/app?j%77t={token}").status_code == 401


# ---------------------------------------------------------------- the loopback server


def exchange(port: int, request: bytes, *, half_close: bool = False) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(request)
        if half_close:
            conn.shutdown(socket.SHUT_WR)
        answer = b""
        try:
            while chunk := conn.recv(65536):
                answer += chunk
        except (ConnectionResetError, TimeoutError):
            pass
    return answer


def login(port: int) -> str:
    answer = exchange(
        port, b"GET /rest/auth HTTP/1.0\r\nAuthorization: " + BASIC.encode() + b"\r\n\r\n"
    )
    return str(json.loads(answer.partition(b"\r\n\r\n")[2])["payload"]["token"])


def test_a_body_shorter_than_its_content_length_is_not_processed(sandbox: Sandbox) -> None:
    with sandbox.serve() as server:
        token = login(server.port)
        body = b'{"name": "short"}'
        answer = exchange(
            server.port,
            b"POST /rest/sip/app HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"X-Auth-Token: {token}\r\nContent-Length: {len(body) + 10}\r\n\r\n".encode()
            + body,
            half_close=True,
        )
    assert b" 201 " not in answer
    assert sandbox.store.count("apps") == 0


def test_conflicting_content_lengths_are_refused(sandbox: Sandbox) -> None:
    with sandbox.serve() as server:
        token = login(server.port)
        body = b'{"name": "twice"}xx'
        answer = exchange(
            server.port,
            b"POST /rest/sip/app HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"X-Auth-Token: {token}\r\nContent-Length: {len(body) - 2}\r\n".encode()
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body,
        )
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["success"] is False
    assert sandbox.store.count("apps") == 0


def test_tokens_are_masked_and_control_characters_escaped_in_the_log(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="callflow.sandbox")
    with sandbox.serve() as server:
        token = login(server.port)
        for target in (f"/rest/sip/app?jwt={token}", f"/rest/sip/app?j%77t={token}"):
            exchange(server.port, f"GET {target} HTTP/1.0\r\n\r\n".encode())
        exchange(server.port, b"GET /rest/\x1b[2J\x07bell%0a HTTP/1.0\r\n\r\n")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert token not in logged
    assert logged.count("=***") == 2
    assert "\x1b" not in logged and "\x07" not in logged
    assert "\\x1b[2J\\x07bell" in logged


def keep_alive_and_fresh_medians(url: str, app_uuid: str, count: int) -> tuple[float, float]:
    def timed(client: Client) -> float:
        started = time.perf_counter()
        client.get_app(app_uuid)
        return time.perf_counter() - started

    token = login(int(url.rsplit(":", 1)[1].split("/")[0]))
    with Client(url, token=token, env={}) as one:
        one.get_app(app_uuid)
        kept = [timed(one) for _ in range(count)]
    fresh = []
    for _ in range(count):
        with Client(url, token=token, env={}) as client:  # its first request: a new connection
            fresh.append(timed(client))
    return statistics.median(kept), statistics.median(fresh)


def test_keep_alive_requests_do_not_stall_on_nagle(sandbox: Sandbox) -> None:
    with sandbox.client() as client:
        app = client.create_app("timed")
    with sandbox.serve() as server:
        kept, fresh = keep_alive_and_fresh_medians(server.url, app.uuid, 15)
    # A Nagle stall costs a delayed ACK (about 40 ms) on every keep-alive request, so it moves
    # the median by far more than 20 ms. A ratio of the two medians failed on a loaded machine
    # (8.9 ms against 3.1 ms) with no stall at all: load moves both by a few milliseconds.
    assert kept < fresh + 0.020, (kept, fresh)


def test_three_thousand_idle_connections_use_no_more_threads(sandbox: Sandbox) -> None:
    with sandbox.serve(threads=4) as server:
        token = login(server.port)
        before = threading.active_count()
        idle = []
        try:
            deadline = time.monotonic() + 60
            while len(idle) < 3_000 and time.monotonic() < deadline:
                idle.append(socket.create_connection(("127.0.0.1", server.port), timeout=10))
            time.sleep(0.5)
            during = threading.active_count()
            answer = exchange(
                server.port, f"GET /rest/sip/app HTTP/1.0\r\nX-Auth-Token: {token}\r\n\r\n".encode()
            )
        finally:
            for conn in idle:
                conn.close()
    assert len(idle) == 3_000
    assert during <= before + 1, (before, during)
    assert answer.startswith(b"HTTP/1.0 200 ")


def test_every_route_in_the_table_refuses_other_methods_naming_its_own(http: httpx.Client) -> None:
    # Private on purpose: the route table itself is what this test walks.
    from callflow.sandbox._handler import iter_routes

    uuid = "00000000-0000-4000-8000-000000000000"
    routes = list(iter_routes())
    assert any("sandbox/calls" in pattern for pattern, _ in routes)
    for pattern, methods in routes:
        path = pattern.strip("^$").replace("(?P<uuid>[^/]*)", uuid).replace("(?P<uuid>[^/]+)", uuid)
        refused = http.request("PUT", path.removeprefix("/rest"))
        assert ", ".join(methods) in message(refused, 405), pattern
