"""The client and the simulator against hostile servers: drips, bombs, redirects, deep JSON,
and the simulator's rule that real requests stay on this machine unless told otherwise."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from callflow.client import NO_RETRY, Client, RetryPolicy
from callflow.errors import ApiError, InputError, TransportError
from callflow.sandbox import Sandbox
from callflow.simulate import Backend, simulate
from tests.api.conftest import Scripted, fail

ROOT = Path(__file__).resolve().parents[2]

Behave = Callable[[socket.socket], None]


class HostileServer:
    """A loopback server answering each connection (in its own thread) with ``behave``."""

    def __init__(self, behave: Behave) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.port = self.listener.getsockname()[1]
        self.behave = behave
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        for _ in range(50):  # bounded: no test makes more connections
            while not self.stopping.is_set():
                try:
                    conn, _ = self.listener.accept()
                    break
                except TimeoutError:
                    continue
                except OSError:
                    return
            else:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data and len(data) < 65536:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                data += chunk
            self.behave(conn)

    def url(self, path: str = "/rest") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.stopping.set()
        self.listener.close()
        self.thread.join(timeout=5)


@pytest.fixture
def hostile() -> Iterator[Callable[[Behave], HostileServer]]:
    servers: list[HostileServer] = []

    def start(behave: Behave) -> HostileServer:
        servers.append(HostileServer(behave))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def dripping(content_type: bytes) -> Behave:
    """Headers at once, then one body byte every 0.25 s (at most 120 bytes: 30 s)."""

    def behave(conn: socket.socket) -> None:
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: " + content_type + b"\r\nContent-Length: 120\r\n\r\n"
        )
        for _ in range(120):
            time.sleep(0.25)
            conn.sendall(b" ")

    return behave


def gzip_bomb(expanded_mib: int) -> bytes:
    """A gzip body of ``expanded_mib`` MiB of zeros, built a MiB at a time."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1024 * 1024)
    return b"".join(packer.compress(block) for _ in range(expanded_mib)) + packer.flush()


def serving(body: bytes, headers: bytes) -> Behave:
    def behave(conn: socket.socket) -> None:
        conn.sendall(
            b"HTTP/1.1 200 OK\r\n"
            + headers
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )

    return behave


# ---------------------------------------------------------------- the client


def test_a_dripping_body_ends_at_the_clients_deadline(
    hostile: Callable[[Behave], HostileServer],
) -> None:
    server = hostile(dripping(b"application/json"))
    started = time.monotonic()
    client = Client(server.url(), token="t", deadline=1.5, retry=NO_RETRY, env={})
    with client, pytest.raises(TransportError, match="no complete answer in time"):
        client.list_apps()
    assert time.monotonic() - started < 6


CHILD = """
import resource, sys
from callflow.client import NO_RETRY, Client
# What the reply costs, not what importing costs: peak RSS is measured from here.
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    with Client(sys.argv[1], token="t", retry=NO_RETRY, env={}) as client:
        client.list_apps()
    print("no error")
except Exception as error:
    print(type(error).__name__, str(error)[:200])
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


def test_a_gzip_bomb_is_refused_early_and_memory_stays_bounded(
    hostile: Callable[[Behave], HostileServer],
) -> None:
    bomb = gzip_bomb(1024)  # 1 GiB once decoded, about 1 MiB on the wire
    server = hostile(serving(bomb, b"Content-Type: application/json\r\nContent-Encoding: gzip\r\n"))
    child = subprocess.run(
        [sys.executable, "-c", CHILD, server.url()],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    said, peak_mib = child.stdout.strip().rsplit("\n", 1)
    assert said.startswith("TransportError") and "oversize answer" in said, child.stdout
    assert "once decoded" in said
    assert int(peak_mib) < 200, f"peak RSS grew by {peak_mib} MiB"


def test_a_body_larger_than_the_limit_on_the_wire_is_refused(
    hostile: Callable[[Behave], HostileServer],
) -> None:
    server = hostile(serving(b"[" + b" " * 5000 + b"]", b"Content-Type: application/json\r\n"))
    client = Client(server.url(), token="t", max_bytes=1000, retry=NO_RETRY, env={})
    with client, pytest.raises(TransportError, match="1000-byte limit"):
        client.list_apps()


def test_a_redirect_error_does_not_show_the_token_it_carries(scripted: Scripted) -> None:
    moved = httpx.Response(
        302, headers={"Location": "https://elsewhere.test/rest/sip/app?jwt=secret-token-123"}
    )
    bound, _ = scripted(moved)
    with pytest.raises(TransportError) as raised:
        bound.list_apps()
    assert "secret-token-123" not in str(raised.value)
    assert "https://elsewhere.test/rest/sip/app (query not shown)" in str(raised.value)


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000, b'{"success": false, "message": ' + b"[" * 100_000, b'{"success": tru'],
)
def test_malformed_or_deeply_nested_json_is_a_clear_error(scripted: Scripted, body: bytes) -> None:
    bound, _ = scripted(
        httpx.Response(200, content=body, headers={"Content-Type": "application/json"})
    )
    with pytest.raises(TransportError, match="JSON that cannot be read"):
        bound.list_apps()


def test_a_string_that_is_not_unicode_is_refused_before_sending(scripted: Scripted) -> None:
    bound, recorder = scripted()
    with pytest.raises(InputError, match=r"the app's name: character 0 is a lone surrogate"):
        bound.create_app("\ud800")
    with pytest.raises(InputError, match=r"trunk_settings\.a"):
        bound.create_app("ok", trunk_settings={"a": ["x", "\udfff"]})
    assert recorder.requests == []


def test_the_public_sandbox_password_is_not_masked_but_a_real_one_is(
    sandbox: Sandbox, scripted: Scripted
) -> None:
    with sandbox.client() as client, pytest.raises(ApiError) as missing:
        client.get_call("00000000-0000-4000-8000-000000000000")
    assert "not found in the sandbox call log" in str(missing.value)
    bound, _ = scripted(
        fail(400, "password hunter2-secret-pw is wrong"), password="hunter2-secret-pw"
    )
    with pytest.raises(ApiError) as echoed:
        bound.list_apps()
    assert "hunter2-secret-pw" not in str(echoed.value) and "***" in str(echoed.value)


def test_retries_wait_a_random_share_of_the_backoff_ceiling(scripted: Scripted) -> None:
    shares = iter([0.5, 0.25])
    bound, recorder = scripted(
        fail(503, "down"),
        fail(503, "down"),
        httpx.Response(200, json={"success": True, "payload": []}),
        random=lambda: next(shares),
    )
    assert bound.list_apps() == []
    assert recorder.slept == [0.5 * 0.25, 0.25 * 0.5]


def test_full_jitter_spreads_waits_over_the_whole_range() -> None:
    import random

    draw = random.Random(7).random
    policy = RetryPolicy(backoff=1.0, max_backoff=4.0)
    waits = [policy.delay(3, draw) for _ in range(200)]
    assert all(0.0 <= wait <= 4.0 for wait in waits)
    assert min(waits) < 0.5 and max(waits) > 3.5  # not lockstep: the whole range is used


# ---------------------------------------------------------------- the simulator


def test_a_dripping_callback_ends_at_its_timeout_in_real_time(
    hostile: Callable[[Behave], HostileServer],
) -> None:
    server = hostile(dripping(b"text/xml"))
    flow = f'<Response><Callback url="{server.url("/cb")}" timeout="1500"/></Response>'
    started = time.monotonic()
    transcript = simulate(flow)
    assert time.monotonic() - started < 6
    assert [d.code for d in transcript.diagnostics] == ["CF902"]


def test_a_gzip_bomb_reply_to_a_callback_is_refused(
    hostile: Callable[[Behave], HostileServer],
) -> None:
    bomb = gzip_bomb(256)
    server = hostile(serving(bomb, b"Content-Type: text/xml\r\nContent-Encoding: gzip\r\n"))
    transcript = simulate(f'<Response><Callback url="{server.url("/cb")}"/></Response>')
    (callback,) = transcript.of("callback")
    assert "once decoded" in callback["error"]


def test_real_requests_go_only_to_loopback_by_default(
    hostile: Callable[[Behave], HostileServer],
) -> None:
    reply = b"<Response><Say>Local.</Say></Response>"
    server = hostile(serving(reply, b"Content-Type: text/xml\r\n"))
    local = simulate(f'<Response><Callback url="{server.url("/cb")}"/></Response>')
    assert local.spoken == ["Local."] and local.of("callback")[0]["status"] == 200
    (remote,) = simulate(
        '<Response><Callback url="http://callflow-test.example/cb"/></Response>'
    ).of("callback")
    assert remote["status"] is None
    assert "callflow-test.example is not on this machine" in remote["error"]
    assert "--network" in remote["error"] and "network=True" in remote["error"]


def test_the_network_is_reached_only_when_asked() -> None:
    assert Backend.of(None).description == "network (loopback only)"
    assert Backend.of(None, network=True).description == "network"


def test_callflow_simulate_says_when_a_request_was_refused(tmp_path: Path) -> None:
    flow = tmp_path / "flow.xml"
    flow.write_text('<Response><Callback url="http://callflow-test.example/cb"/></Response>\n')
    done = subprocess.run(
        [sys.executable, "-m", "callflow", "simulate", str(flow)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert "is not on this machine" in done.stdout + done.stderr
    assert (
        "--network"
        in subprocess.run(
            [sys.executable, "-m", "callflow", "simulate", "--help"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        ).stdout
    )
