"""Faults between the client and the API: retries, timeouts, broken and foreign answers.

Documented behaviour, one test each: what is retried (and how long it waits), and which
error — `ApiError` (the API's envelope said no) or `TransportError` (no usable answer) —
with what text.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callflow.client import Client, RetryPolicy
from callflow.errors import ApiError, TransportError

from .conftest import Scripted, fail, ok

MISSING = "00000000-0000-4000-8000-000000000000"
APP = {"uuid": MISSING, "name": "x"}


def test_a_500_then_200_is_retried_for_a_safe_request(scripted: Scripted) -> None:
    bound, recorder = scripted(fail(500, "boom"), ok([APP]))
    assert [app.uuid for app in bound.list_apps()] == [MISSING]
    assert len(recorder.requests) == 2 and recorder.slept == [0.25]


def test_backoff_doubles_between_attempts_and_then_gives_up(scripted: Scripted) -> None:
    bound, recorder = scripted(fail(502, "a"), fail(503, "b"), fail(504, "c"))
    with pytest.raises(ApiError) as raised:
        bound.list_apps()
    assert recorder.slept == [0.25, 0.5]
    assert raised.value.status == 504 and "after 3 attempts" in str(raised.value)


def test_creating_an_app_is_not_retried_after_a_500(scripted: Scripted) -> None:
    bound, recorder = scripted(fail(500, "boom"), ok(APP))
    with pytest.raises(ApiError, match="boom"):
        bound.create_app("x")
    assert len(recorder.requests) == 1


def test_executing_a_flow_is_not_retried_after_a_lost_connection(scripted: Scripted) -> None:
    bound, recorder = scripted(httpx.ReadError("connection reset"), ok({}))
    with pytest.raises(TransportError, match="lost the connection"):
        bound.execute(MISSING, b"<Response><Hangup/></Response>")
    assert len(recorder.requests) == 1


def test_a_post_that_never_connected_is_retried(scripted: Scripted) -> None:
    bound, recorder = scripted(httpx.ConnectError("refused"), ok(APP))
    assert bound.create_app("x").uuid == MISSING
    assert len(recorder.requests) == 2


def test_a_429_honours_retry_after_seconds_even_for_a_post(scripted: Scripted) -> None:
    bound, recorder = scripted(fail(429, "slow down", **{"Retry-After": "3"}), ok(APP))
    assert bound.create_app("x").uuid == MISSING
    assert recorder.slept == [3.0]


def test_a_429_honours_retry_after_as_a_date(scripted: Scripted) -> None:
    # The scripted clock says 1_700_000_000 = Tue, 14 Nov 2023 22:13:20 GMT.
    later = "Tue, 14 Nov 2023 22:13:25 GMT"
    bound, recorder = scripted(fail(429, "slow down", **{"Retry-After": later}), ok([]))
    bound.list_apps()
    assert recorder.slept == [5.0]


def test_a_retry_after_beyond_the_limit_is_not_waited_for(scripted: Scripted) -> None:
    bound, recorder = scripted(fail(429, "quota", **{"Retry-After": "3600"}), ok([]))
    with pytest.raises(ApiError) as raised:
        bound.list_apps()
    assert recorder.slept == [] and raised.value.status == 429
    assert "retry after 3600" in str(raised.value) and raised.value.message == "quota"


def test_a_delete_whose_first_try_was_lost_is_done_when_the_retry_says_404(
    scripted: Scripted,
) -> None:
    bound, recorder = scripted(httpx.ReadError("reset"), fail(404, "not found"))
    bound.delete_app(MISSING)
    assert len(recorder.requests) == 2


def test_no_retry_policy_means_one_attempt(scripted: Scripted) -> None:
    bound, recorder = scripted(fail(503, "down"), retry=RetryPolicy(attempts=1))
    with pytest.raises(ApiError):
        bound.list_apps()
    assert len(recorder.requests) == 1


def test_a_non_json_body_is_a_transport_error(scripted: Scripted) -> None:
    bound, _ = scripted(httpx.Response(200, text="OK", headers={"content-type": "text/plain"}))
    with pytest.raises(TransportError, match=r"text/plain that is not the API's JSON: 'OK'"):
        bound.list_apps()


def test_a_truncated_json_body_is_a_transport_error(scripted: Scripted) -> None:
    truncated = httpx.Response(
        200, content=b'{"success": true, "payl', headers={"content-type": "application/json"}
    )
    bound, _ = scripted(truncated)
    with pytest.raises(TransportError, match="truncated or malformed"):
        bound.list_apps()


def test_an_html_error_page_is_named_by_its_title(scripted: Scripted) -> None:
    page = httpx.Response(
        502,
        text="<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
        headers={"content-type": "text/html"},
    )
    bound, _ = scripted(page)
    with pytest.raises(TransportError) as raised:
        bound.create_app("x")
    assert raised.value.status == 502
    assert "an HTML page ('502 Bad Gateway')" in str(raised.value)


def test_an_empty_body_is_a_transport_error(scripted: Scripted) -> None:
    bound, _ = scripted(httpx.Response(204))
    with pytest.raises(TransportError, match="an empty body"):
        bound.list_apps()


def test_a_redirect_is_not_followed(scripted: Scripted) -> None:
    moved = httpx.Response(301, headers={"location": "https://elsewhere.test/rest/sip/app"})
    bound, recorder = scripted(moved)
    with pytest.raises(TransportError, match=r"redirected to https://elsewhere\.test"):
        bound.list_apps()
    assert len(recorder.requests) == 1


# ---------------------------------------------------------------- real sockets


class RawServer:
    """A loopback TCP server that handles each connection with ``behave(conn)``."""

    def __init__(self, behave: Callable[[socket.socket], None]) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)  # so that close() is noticed quickly
        self.port = self.listener.getsockname()[1]
        self.behave = behave
        self.connections = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.stopping = False
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping:
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            with conn, contextlib.suppress(OSError):
                self.behave(conn)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/rest"

    def close(self) -> None:
        self.stopping = True
        self.listener.close()
        self.thread.join(timeout=5)


@pytest.fixture
def raw_server() -> Iterator[Callable[[Callable[[socket.socket], None]], RawServer]]:
    servers: list[RawServer] = []

    def start(behave: Callable[[socket.socket], None]) -> RawServer:
        servers.append(RawServer(behave))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def _read_request(conn: socket.socket) -> None:
    conn.settimeout(2)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return
        data += chunk


def _no_wait(seconds: float) -> None:
    return None


def test_a_dropped_connection_is_retried_then_reported(
    raw_server: Callable[..., RawServer],
) -> None:
    server = raw_server(lambda conn: (_read_request(conn), conn.close()))
    with (
        Client(server.url, token="t", sleep=_no_wait, env={}) as bound,
        pytest.raises(TransportError, match="after 3 attempts"),
    ):
        bound.list_apps()
    assert server.connections == 3


def test_a_slow_answer_times_out(raw_server: Callable[..., RawServer]) -> None:
    server = raw_server(lambda conn: (_read_request(conn), time.sleep(1.0)))
    with (
        Client(server.url, token="t", timeout=0.2, retry=RetryPolicy(attempts=1), env={}) as bound,
        pytest.raises(TransportError, match="timed out waiting for an answer"),
    ):
        bound.list_apps()


def test_a_body_cut_short_is_a_transport_error(raw_server: Callable[..., RawServer]) -> None:
    def cut(conn: socket.socket) -> None:
        _read_request(conn)
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
            b'{"success": true'
        )

    server = raw_server(cut)
    with (
        Client(server.url, token="t", retry=RetryPolicy(attempts=1), env={}) as bound,
        pytest.raises(TransportError, match="lost the connection"),
    ):
        bound.list_apps()


def test_nothing_listening_is_a_transport_error_naming_the_url() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/rest"
    with (
        Client(url, token="t", sleep=_no_wait, env={}) as bound,
        pytest.raises(TransportError, match=f"could not connect.*|{port}"),
    ):
        bound.list_apps()


# ---------------------------------------------------------------- the retry rule, for all faults

FAULTS = {
    "connect": lambda: httpx.ConnectError("refused"),
    "read": lambda: httpx.ReadError("reset"),
    "500": lambda: fail(500, "x"),
    "503": lambda: fail(503, "x"),
    "429": lambda: fail(429, "x"),
    "400": lambda: fail(400, "x"),
}


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    faults=st.lists(st.sampled_from(sorted(FAULTS)), min_size=1, max_size=4),
    idempotent=st.booleans(),
)
def test_a_request_is_repeated_only_when_that_is_safe(
    scripted: Scripted, faults: list[str], idempotent: bool
) -> None:
    answers = [FAULTS[name]() for name in faults] + [ok(APP), ok(APP), ok(APP), ok(APP)]
    bound, recorder = scripted(*answers)
    with contextlib.suppress(ApiError, TransportError):
        bound.update_app(MISSING, name="y") if idempotent else bound.create_app("y")

    def safe_to_repeat(fault: str) -> bool:
        return fault in ("connect", "429") or (idempotent and fault in ("read", "500", "503"))

    sent = len(recorder.requests)
    assert sent <= 3  # the default policy's attempts
    assert all(safe_to_repeat(fault) for fault in faults[: sent - 1])
    if sent < 3 and sent <= len(faults):  # it stopped early on a fault: one not safe to repeat
        assert not safe_to_repeat(faults[sent - 1])
