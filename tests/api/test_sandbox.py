"""The sandbox as any HTTP client sees it: envelope, auth, validation, and hostile input."""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callflow.sandbox import SANDBOX_EMAIL, SANDBOX_PASSWORD, SEEDED_LEASES, Sandbox

# Private on purpose: the body cap is the handler's own limit, tested at its edge here.
from callflow.sandbox._handler import MAX_BODY_BYTES

MISSING = "00000000-0000-4000-8000-000000000000"
BASIC = "Basic " + base64.b64encode(f"{SANDBOX_EMAIL}:{SANDBOX_PASSWORD}".encode()).decode()


@pytest.fixture
def http(sandbox: Sandbox) -> Iterator[httpx.Client]:
    """A plain httpx client on the in-process sandbox, logged in."""
    with httpx.Client(transport=sandbox.transport, base_url="http://sandbox.test/rest") as raw:
        token = raw.get("/auth", headers={"Authorization": BASIC}).json()["payload"]["token"]
        raw.headers["X-Auth-Token"] = token
        yield raw


def refused(response: httpx.Response, status: int) -> str:
    """The envelope's message, after checking it is the documented failure envelope."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and body["status"] == status
    assert isinstance(body["message"], str) and body["message"]
    return str(body["message"])


def test_login_returns_a_token_in_the_envelope(sandbox: Sandbox) -> None:
    with httpx.Client(transport=sandbox.transport) as raw:
        body = raw.get("http://sandbox.test/rest/auth", headers={"Authorization": BASIC}).json()
    assert body["success"] is True and body["payload"]["token"]


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer x",
        "Basic !!!",
        "Basic " + base64.b64encode(b"sandbox@callflow.test:no").decode(),
    ],
)
def test_bad_credentials_get_401(sandbox: Sandbox, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    with httpx.Client(transport=sandbox.transport) as raw:
        refused(raw.get("http://sandbox.test/rest/auth", headers=headers), 401)


@pytest.mark.parametrize("token", [None, "", "forged", "sbx." + "A" * 43, "x" * 10_000])
def test_a_missing_or_forged_token_gets_401(sandbox: Sandbox, token: str | None) -> None:
    headers = {"X-Auth-Token": token} if token is not None else {}
    with httpx.Client(transport=sandbox.transport) as raw:
        refused(raw.get("http://sandbox.test/rest/sip/app", headers=headers), 401)


def test_the_token_may_come_as_the_jwt_query_parameter(http: httpx.Client) -> None:
    token = http.headers.pop("X-Auth-Token")
    assert http.get("/sip/app", params={"jwt": token}).json() == {"success": True, "payload": []}


def test_an_unknown_endpoint_is_404_and_a_wrong_method_405(http: httpx.Client) -> None:
    refused(http.get("/sip/nothing"), 404)
    refused(http.put("/sip/app", json={}), 405)


@pytest.mark.parametrize("uuid", ["abc", "ABCDEF00-0000-4000-8000-000000000000", MISSING + "0"])
def test_a_bad_uuid_in_the_path_is_400(http: httpx.Client, uuid: str) -> None:
    assert "is not a uuid" in refused(http.get(f"/sip/app/{uuid}"), 400)


def test_a_path_that_climbs_out_is_just_an_unknown_endpoint(http: httpx.Client) -> None:
    refused(http.get("/sip/app/%2e%2e/%2e%2e/etc/passwd"), 404)


def test_an_unknown_uuid_is_404(http: httpx.Client) -> None:
    refused(http.get(f"/sip/app/{MISSING}"), 404)
    refused(http.delete(f"/sip/app/{MISSING}"), 404)
    refused(
        http.post(
            f"/sip/app/call/{MISSING}",
            content=b"<Response/>",
            headers={"Content-Type": "application/xml"},
        ),
        404,
    )


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b"", "empty"),
        (b"\xff\xfe", "UTF-8"),
        (b'{"name": 5}', "'name' must be a string"),
        (b'{"name": ""}', "1 to 255 characters"),
        (json.dumps({"name": "x" * 256}).encode(), "1 to 255 characters"),
        (b'{"name": "x", "subdomain": "ab"}', "3 to 255"),
        (b'{"name": "x", "is_active": "yes"}', "true or false"),
        (b'{"name": "x", "outbound_voice_profile": "nope"}', "uuid"),
        (b'{"name": "x", "call_flow_method": "PUT"}', "GET or POST"),
        (b'{"name": "x", "call_flow_request_timeout": -1}', "milliseconds"),
        (b'{"name": "x", "class4_egress_trunk_settings": []}', "must be an object"),
        (b'{"subdomain": "abc"}', "'name' is required"),
        (b'{"name": "x", "nmae": "y"}', "unknown field"),
        (b"[" * 100_000, "nested deeper than"),
    ],
)
def test_bad_app_bodies_get_a_clear_400(http: httpx.Client, body: bytes, says: str) -> None:
    message = refused(
        http.post("/sip/app", content=body, headers={"Content-Type": "application/json"}), 400
    )
    assert says in message


def test_an_oversize_body_gets_413(http: httpx.Client) -> None:
    refused(http.post("/sip/app", content=b" " * (MAX_BODY_BYTES + 1)), 413)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"add": "x"}, "array"),
        ({"add": [1]}, "array"),
        ({"add": ["nope"]}, "not a uuid"),
        ({"add": [MISSING]}, "not found"),
        ({"remove": [SEEDED_LEASES[0][0]]}, "not assigned"),
        ({"swap": []}, "unknown field"),
    ],
)
def test_bad_lease_changes_are_refused(http: httpx.Client, body: object, says: str) -> None:
    app = http.post("/sip/app", json={"name": "a"}).json()["payload"]["uuid"]
    response = http.post(f"/sip/app/{app}/tnlease", json=body)
    assert response.status_code in (400, 404)
    assert says in refused(response, response.status_code)


def test_execute_accepts_raw_xml_and_multipart_and_refuses_other_forms(http: httpx.Client) -> None:
    app = http.post("/sip/app", json={"name": "a"}).json()["payload"]["uuid"]
    xml = b"<Response><Hangup/></Response>"
    raw = http.post(f"/sip/app/call/{app}", content=xml, headers={"Content-Type": "text/xml"})
    multipart = http.post(f"/sip/app/call/{app}", files={"file": ("f.xml", xml, "application/xml")})
    assert raw.json()["success"] and multipart.json()["success"]
    refused(http.post(f"/sip/app/call/{app}", files={"other": ("f.xml", xml)}), 400)
    refused(http.post(f"/sip/app/call/{app}", json={"xml": "<Response/>"}), 415)
    refused(
        http.post(
            f"/sip/app/call/{app}",
            content=b"--x\r\n",
            headers={"Content-Type": "multipart/form-data; boundary=zzz"},
        ),
        400,
    )


@pytest.mark.parametrize(
    ("xml", "says"),
    [
        (b"", "empty"),
        (b"<Response>\n  <Say>hi\n</Response>", "line 3"),
        (
            b"<Response>\n  <Gather numDigts='1'/>\n</Response>",
            "line 2: Element 'Gather', attribute 'numDigts'",
        ),
        (b'<!DOCTYPE r [<!ENTITY x "y">]>\n<Response/>', "DOCTYPE"),
        (b"<Html/>", "line 1"),
    ],
)
def test_execute_rejects_bad_documents_with_line_information(
    http: httpx.Client, xml: bytes, says: str
) -> None:
    app = http.post("/sip/app", json={"name": "a"}).json()["payload"]["uuid"]
    response = http.post(
        f"/sip/app/call/{app}", content=xml, headers={"Content-Type": "application/xml"}
    )
    assert says in refused(response, 400)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    method=st.sampled_from(["GET", "POST", "PATCH", "DELETE"]),
    path=st.sampled_from(
        [
            "/sip/app",
            f"/sip/app/{MISSING}",
            f"/sip/app/{MISSING}/tnlease",
            f"/sip/app/call/{MISSING}",
            "/auth",
        ]
    ),
    body=st.one_of(
        st.binary(max_size=200),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=10), inner, max_size=3)
            ),
            max_leaves=10,
        ).map(lambda value: json.dumps(value).encode()),
    ),
    content_type=st.sampled_from(
        ["application/json", "application/xml", "multipart/form-data", ""]
    ),
)
def test_no_input_makes_the_sandbox_answer_500(
    http: httpx.Client, method: str, path: str, body: bytes, content_type: str
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = http.request(method, path, content=body, headers=headers)
    assert response.status_code < 500
    envelope = response.json()
    assert envelope["success"] is (response.status_code < 400)


# ---------------------------------------------------------------- the loopback server


def raw_exchange(url: str, request: bytes) -> bytes:
    host, port = url.split("//")[1].split("/")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(request)
        answer = b""
        try:
            while chunk := conn.recv(65536):
                answer += chunk
        except ConnectionResetError:  # the server closed with our request partly unread
            pass
    return answer


def test_the_server_answers_a_plain_http_client(sandbox: Sandbox) -> None:
    with sandbox.serve() as server:
        answer = raw_exchange(
            server.url, b"GET /rest/auth HTTP/1.0\r\nAuthorization: " + BASIC.encode() + b"\r\n\r\n"
        )
    assert answer.startswith(b"HTTP/1.0 200") or answer.startswith(b"HTTP/1.1 200")
    assert b'"token"' in answer


def test_the_server_refuses_an_oversize_body_without_reading_it(sandbox: Sandbox) -> None:
    with sandbox.serve() as server:
        answer = raw_exchange(
            server.url,
            b"POST /rest/sip/app HTTP/1.1\r\nHost: x\r\n"
            + f"Content-Length: {MAX_BODY_BYTES + 1}\r\n\r\n".encode(),
        )
    assert b" 413 " in answer.split(b"\r\n")[0] and b'"success": false' in answer


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ("Content-Length: -5", b" 400 "),
        ("Content-Length: x", b" 400 "),
        ("Content-Length: 5\r\nContent-Length: 6", b" 400 "),
        ("Transfer-Encoding: gzip", b" 501 "),
    ],
)
def test_the_server_refuses_bad_framing(sandbox: Sandbox, headers: str, status: bytes) -> None:
    with sandbox.serve() as server:
        answer = raw_exchange(
            server.url, f"POST /rest/sip/app HTTP/1.1\r\nHost: x\r\n{headers}\r\n\r\n".encode()
        )
    assert status in answer.split(b"\r\n")[0]


def test_a_request_http_server_itself_refuses_still_gets_the_envelope(sandbox: Sandbox) -> None:
    with sandbox.serve() as server:
        answer = raw_exchange(
            server.url, b"GET /rest/auth HTTP/1.1\r\nX-Huge: " + b"a" * 70_000 + b"\r\n\r\n"
        )
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b" 431 " in head.split(b"\r\n")[0]
    assert json.loads(body)["success"] is False


def test_a_file_database_keeps_its_state_between_sandboxes(tmp_path: object) -> None:
    from pathlib import Path

    database = Path(str(tmp_path)) / "nested" / "sandbox.sqlite3"
    first = Sandbox(database)
    with first.client() as bound:
        bound.create_app("kept")
    first.close()
    second = Sandbox(database)
    with second.client() as bound:
        assert [app.name for app in bound.list_apps()] == ["kept"]
    assert second.store.count("tn_leases") == len(SEEDED_LEASES)
    second.close()


def test_a_parse_error_is_reported_from_this_document_not_from_earlier_parses() -> None:
    from lxml import etree

    # Private on purpose: the handler's XML check, reached directly to pin lxml's error log.
    from callflow.sandbox._handler import check_call_xml

    # lxml's per-thread global log still holds an earlier document's complaint.
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(b"<a>\n\n\n\n<b></a>")
    message, _ = check_call_xml(b"<Response>\n  <Say>hi\n</Response>")
    assert message is not None
    assert "line 3" in message and "line 5" not in message
