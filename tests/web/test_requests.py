"""Typed platform requests: what the platform sends, parsed from query, form or JSON; what it
never sends, refused with a reason."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callflow.errors import RequestError
from callflow.web import (
    CallbackRequest,
    GatherRequest,
    LegacyGatherRequest,
    WebhookRequest,
    parse_request,
)

CALL = {
    "uuid": "0f0e6a5c-1111-4222-8333-444455556666",
    "direction": "in",
    "from": "+15550001111",
    "to": "+15552223333",
    "state": "live",
    "duration": 12,
    "created_on": "2026-01-01T00:00:00Z",
    "tn": "+15552223333",
    "sip_control_app": "9a9a9a9a-1111-4222-8333-444455556666",
    "carrier": "kept",
}


def test_the_webhook_carries_from_and_to_in_the_query() -> None:
    request = parse_request("GET", b"from=%2B15550001111&to=%2B15552223333")
    assert isinstance(request, WebhookRequest)
    assert (request.from_number, request.to_number, request.call) == (
        "+15550001111",
        "+15552223333",
        None,
    )


def test_a_posted_webhook_carries_the_call_object_with_its_unknown_fields() -> None:
    body = json.dumps(CALL).encode()
    request = parse_request(
        "POST", b"from=1&to=2", content_type="application/json", body=body, event="webhook"
    )
    assert isinstance(request, WebhookRequest)
    assert request.call is not None and request.call.uuid == CALL["uuid"]
    assert request.call.duration == 12 and request.call.data["carrier"] == "kept"
    assert request.to_context()["call"]["from"] == "+15550001111"  # type: ignore[index]


def test_a_gather_request_has_the_digits_the_call_and_the_urls_own_query() -> None:
    query = b"step=2&dtmf=1%23&from=100&tn=200&state=live&sca=s&call=c&extra=x"
    request = parse_request("GET", query)
    assert isinstance(request, GatherRequest)
    assert (request.dtmf, request.from_number, request.tn, request.state) == (
        "1#",
        "100",
        "200",
        "live",
    )
    assert (request.sca, request.call) == ("s", "c")
    assert request.get("step") == "2" and request.get("extra") == "x"
    context = request.to_context()
    assert context["dtmf"] == "1#" and context["from"] == "100" and context["step"] == "2"


def test_a_legacy_gather_request_posted_as_a_form_is_typed() -> None:
    request = parse_request(
        "POST",
        content_type="application/x-www-form-urlencoded",
        body=b"code=42&success=true&attempts=2",
    )
    assert isinstance(request, LegacyGatherRequest)
    assert (request.code, request.success, request.attempts) == ("42", True, 2)


def test_a_callback_request_carries_its_tag_and_the_call_data() -> None:
    request = parse_request(
        "PATCH", b"tag=after-menu", content_type="application/json", body=json.dumps(CALL).encode()
    )
    assert isinstance(request, CallbackRequest)
    assert request.tag == "after-menu" and request.call is not None
    assert request.call.sip_control_app == CALL["sip_control_app"]


@pytest.mark.parametrize(
    ("method", "query", "content_type", "body", "status", "reason"),
    [
        (
            "POST",
            b"",
            "application/json",
            b'{"from": ',
            400,
            "malformed: Expecting value at line 1",
        ),
        ("POST", b"", "application/json", b"[1, 2]", 400, "must be an object, not list"),
        ("POST", b"", "application/json", b'{"x": "\\ud800"}', 400, "lone surrogate"),
        ("POST", b"", "application/json", b"[" * 60_000, 400, "JSON body"),
        ("POST", b"", "application/json", b'{"duration": "long"}', 400, "duration"),
        ("POST", b"", "text/plain", b"hello", 415, "text/plain is not one the platform sends"),
        ("GET", b"dtmf=12a", "", b"", 400, "field `dtmf` must hold keys"),
        ("GET", b"code=1&success=maybe", "", b"", 400, "field `success` must be true or false"),
        ("GET", b"code=1&attempts=-1", "", b"", 400, "field `attempts` must be a whole number"),
        ("GET", b"from=%ff", "", b"", 400, "not UTF-8"),
        ("GET", b"from=\xff", "", b"", 400, "not ASCII"),
        ("PUT", b"", "", b"", 405, "method PUT"),
        ("POST", b"", "application/x-www-form-urlencoded", b"a=" + b"x" * 70_000, 413, "limit"),
        ("GET", b"a=" + b"x" * 9000, "", b"", 414, "limit"),
    ],
)
def test_a_request_the_platform_never_sends_is_refused_with_a_reason(
    method: str, query: bytes, content_type: str, body: bytes, status: int, reason: str
) -> None:
    with pytest.raises(RequestError) as caught:
        parse_request(method, query, content_type=content_type, body=body)
    assert caught.value.status == status
    assert reason in str(caught.value)


@settings(max_examples=300, deadline=None)
@given(
    method=st.sampled_from(["GET", "POST", "PATCH", "DELETE", "PUT", "get"]),
    query=st.binary(max_size=200),
    content_type=st.sampled_from(
        ["", "application/json", "application/x-www-form-urlencoded", "text/xml", "a/b+json"]
    ),
    body=st.one_of(st.binary(max_size=300), st.text(max_size=100).map(str.encode)),
)
def test_any_bytes_give_a_typed_request_or_a_request_error(
    method: str, query: bytes, content_type: str, body: bytes
) -> None:
    try:
        request = parse_request(method, query, content_type=content_type, body=body)
    except RequestError as error:
        assert 400 <= error.status < 500 and str(error)
    else:
        context = request.to_context()
        assert context["event"] == request.event


_PIECES = ["a", "b", "=", "&", "+", "%", "%2B", "%2b", "%20", "%ff", "%c3%a9", "%C3%A9"]
_PIECES += ["%e2", "%4", "%zz", "%+1", "% 1", "é", "x y", ""]
_PIECES += ["%26", "%3D", "%3d", "%25", "%2525", "%00", "%7F", "%80"]
_QUERY_PIECES = st.lists(
    st.sampled_from(_PIECES) | st.text(alphabet="ab=&+%0123456789cdefCDEF", max_size=6),
    max_size=12,
).map("".join)


@settings(max_examples=400)
@given(_QUERY_PIECES)
def test_query_fields_are_what_parse_qsl_gives(text: str) -> None:
    from urllib.parse import parse_qsl

    from callflow.web._requests import query_fields

    try:
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=5)
    except (UnicodeDecodeError, ValueError) as error:
        with pytest.raises(type(error)):
            query_fields(text, max_fields=5)
        return
    expected: dict[str, str] = {}
    for name, value in pairs:
        expected.setdefault(name, value)
    assert query_fields(text, max_fields=5) == expected


def test_a_body_without_length_headers_is_read_unless_the_request_is_http_1() -> None:
    # HTTP/1.x: neither Content-Length nor Transfer-Encoding means no body. HTTP/2 frames
    # carry a body without either header, and it is read.
    import asyncio

    from starlette.requests import Request

    from callflow.web._asgi import read_body

    def body_of(version: str) -> bytes:
        sent = [{"type": "http.request", "body": b"Digits=1", "more_body": False}]

        async def receive() -> dict[str, object]:
            return sent.pop() if sent else {"type": "http.disconnect"}

        scope = {"type": "http", "method": "POST", "headers": [], "http_version": version}
        return asyncio.run(read_body(Request(scope, receive), 1_000))

    assert body_of("1.1") == b""
    assert body_of("1.0") == b""
    assert body_of("2") == b"Digits=1"


@pytest.mark.parametrize(
    ("query", "content_type", "body"),
    [
        ("from=%2B1555&to=%2B1666", "", b""),
        ("from=%2B1555&to=%2B1666", "application/json", b'{"uuid": "u-1", "from": "+1"}'),
        ("dtmf=12&from=%2B1555&tn=%2B1666&state=live&sca=s&call=c&x=1", "", b""),
        ("code=1&success=true&attempts=2", "", b""),
        ("tag=t", "application/json", b'{"uuid": "u-2", "duration": 3}'),
        ("", "application/x-www-form-urlencoded", b"tag=t&extra=%C3%A9"),
    ],
)
def test_a_parsed_request_is_the_dataclass_its_fields_make(
    query: str, content_type: str, body: bytes
) -> None:
    import dataclasses

    request = parse_request("POST", query, content_type=content_type, body=body)
    names = {f.name for f in dataclasses.fields(request)}
    assert set(vars(request)) == names  # every field set, nothing else
    # Built again through the dataclass's own __init__: equal, same hash-relevant state.
    again = type(request)(**{name: getattr(request, name) for name in names})
    assert again == request and repr(again) == repr(request)
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.method = "GET"  # type: ignore[misc]


@settings(max_examples=300)
@given(
    st.text(max_size=60) | st.text(alphabet=st.characters(max_codepoint=0x7F)), st.integers(1, 50)
)
def test_a_logged_value_is_escaped_and_cut_whatever_it_holds(text: str, limit: int) -> None:
    import re

    from callflow.web._service import loggable

    shown = text if len(text) <= limit else text[:limit] + "…"
    control = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
    expected = control.sub(
        lambda m: (
            f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}"
        ),
        shown,
    )
    assert loggable(text, limit) == expected
