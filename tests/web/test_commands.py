"""`callflow serve` and `callflow invoke`, run as a user runs them: real processes on loopback."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.web.conftest import Running, free_port

CALLFLOW = [sys.executable, "-m", "callflow"]
MENU = """\
<Response>
  <Gather numDigits="1" timeout="5000">
    <Say>You pressed {{ request.dtmf }}.</Say>
    <Switch><Case dtmf="1"><Hangup/></Case></Switch>
  </Gather>
</Response>
"""


def _wait_until_up(url: str, process: subprocess.Popen[str], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"callflow serve exited: {process.communicate()[1]}")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("callflow serve did not start")


@pytest.fixture
def flows(tmp_path: Path) -> Path:
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "menu.xml.j2").write_text(MENU)
    (folder / "broken.xml").write_text('<Response>\n  <Gather numDigts="1"/>\n</Response>\n')
    return folder


@pytest.fixture
def serve(flows: Path) -> Iterator[Callable[..., tuple[str, subprocess.Popen[str]]]]:
    started: list[subprocess.Popen[str]] = []

    def start(*options: str) -> tuple[str, subprocess.Popen[str]]:
        port = free_port()
        process = subprocess.Popen(
            [*CALLFLOW, "serve", str(flows), "--port", str(port), *options],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        started.append(process)
        url = f"http://127.0.0.1:{port}"
        _wait_until_up(url + "/menu", process)
        return url, process

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        process.communicate(timeout=20)


def _stop(process: subprocess.Popen[str]) -> str:
    os.killpg(process.pid, signal.SIGTERM)
    return process.communicate(timeout=20)[1]


def test_serve_answers_on_loopback_and_logs_each_request_and_reply(
    serve: Callable[..., tuple[str, subprocess.Popen[str]]],
) -> None:
    url, process = serve()
    assert url.startswith("http://127.0.0.1:")
    reply = httpx.get(url + "/menu", params={"dtmf": "1"})
    assert reply.status_code == 200 and "You pressed 1." in reply.text
    assert reply.headers["content-type"].startswith("text/xml")
    log = _stop(process)
    assert 'request GET /menu event=gather dtmf="1"' in log
    assert "reply /menu 200 valid from menu.xml.j2" in log


def test_serve_with_two_workers_and_reload_answers(
    serve: Callable[..., tuple[str, subprocess.Popen[str]]],
) -> None:
    url, process = serve("--workers", "2")
    assert "You pressed 4." in httpx.get(url + "/menu", params={"dtmf": "4"}).text
    _stop(process)


def test_serve_with_reload_sees_a_changed_template(
    serve: Callable[..., tuple[str, subprocess.Popen[str]]], flows: Path
) -> None:
    url, process = serve("--reload")
    (flows / "menu.xml.j2").write_text(MENU.replace("You pressed", "Now you pressed"))
    deadline = time.monotonic() + 20
    text = ""
    while time.monotonic() < deadline and "Now you pressed" not in text:
        with contextlib.suppress(httpx.TransportError):
            text = httpx.get(url + "/menu", params={"dtmf": "2"}, timeout=2).text
        time.sleep(0.2)
    assert "Now you pressed 2." in text
    _stop(process)


def test_serve_refuses_a_missing_folder_with_a_usage_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [*CALLFLOW, "serve", str(tmp_path / "nope")], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "no such file or directory" in result.stderr


def _invoke(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CALLFLOW, "invoke", *args], capture_output=True, text=True, timeout=60)


def test_invoke_sends_the_gather_request_and_exits_0_for_a_valid_reply(
    run_server: Callable[..., Running], flows: Path
) -> None:
    from callflow.web import create_app

    server = run_server(create_app(flows))
    result = _invoke(server.url + "/menu", "--event", "gather", "--dtmf", "7")
    assert result.returncode == 0, result.stderr
    assert "You pressed 7." in result.stdout
    assert "dtmf=7&from=%2B15550001234&tn=" in result.stderr and "state=live" in result.stderr
    assert "reply is valid call XML" in result.stderr


def test_invoke_exits_1_with_located_diagnostics_for_an_invalid_reply(
    run_server: Callable[..., Running], flows: Path
) -> None:
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    broken = (flows / "broken.xml").read_text()

    async def handler(request: object) -> Response:
        return Response(broken, media_type="text/xml")

    server = run_server(Starlette(routes=[Route("/raw", handler, methods=["GET", "POST"])]))
    result = _invoke(server.url + "/raw", "--event", "legacy-gather", "--method", "POST")
    assert result.returncode == 1
    assert f"{server.url}/raw:2:11: CF203" in result.stderr
    assert "reply is NOT valid call XML" in result.stderr


def test_invoke_sends_the_call_object_for_a_callback_with_a_body(
    run_server: Callable[..., Running],
) -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    seen: list[tuple[str, str, bytes]] = []

    async def handler(request: Request) -> Response:
        seen.append((request.method, request.url.query, await request.body()))
        return Response("<Response><Hangup/></Response>", media_type="text/xml")

    server = run_server(Starlette(routes=[Route("/cb", handler, methods=["POST"])]))
    result = _invoke(server.url + "/cb", "--event", "callback", "--tag", "t1", "--body")
    assert result.returncode == 0, result.stderr
    method, query, body = seen[0]
    assert method == "POST" and query == "tag=t1" and b'"sip_control_app"' in body


def test_invoke_exits_1_when_the_app_answers_an_error_status(
    run_server: Callable[..., Running], flows: Path
) -> None:
    from callflow.web import create_app

    server = run_server(create_app(flows))
    result = _invoke(server.url + "/missing")
    assert result.returncode == 1 and "the app answered 404" in result.stderr


def test_simulate_drives_a_served_app_end_to_end(flows: Path, tmp_path: Path) -> None:
    (flows / "start.xml").write_text(
        '<Response><Callback url="http://flows.test/ask" method="GET" tag="start"/></Response>\n'
    )
    (flows / "ask.xml.j2").write_text(
        '<Response><Gather numDigits="1" url="http://flows.test/chosen?step={{ request.tag }}">'
        "<Say>Press a key</Say></Gather></Response>\n"
    )
    (flows / "chosen.xml.j2").write_text(
        "<Response><Say>You chose {{ request.dtmf }} after {{ request.step }}</Say>"
        "<Hangup/></Response>\n"
    )
    app_module = tmp_path / "served.py"
    app_module.write_text(
        f"from callflow.web import create_app\napp = create_app({str(flows)!r})\n"
    )
    result = subprocess.run(
        [*CALLFLOW, "simulate", str(flows / "start.xml"), "--app", f"{app_module}:app",
         "--press", "5"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "You chose 5 after start" in result.stdout
