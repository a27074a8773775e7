"""`callflow simulate --app UUID`: the flow comes from the app's ``call_flow_url``, fetched
through the client as the platform fetches it when a call arrives, then loaded through the
front door and simulated with the scripted caller; and `callflow execute --press`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from callflow.document import MAX_DOCUMENT_BYTES
from callflow.sandbox import Sandbox
from callflow.web import create_app
from tests.conftest import CliResult
from tests.web.conftest import Running

RunCli = Callable[..., CliResult]

MENU = """<Response>
  <Gather numDigits="1" timeout="5" url="{url}/menu">
    <Say>Hello {{{{ request.from }}}}, press 1</Say>
  </Gather>
</Response>
"""
PRESSED = "<Response><Say>You pressed {{ request.dtmf }}</Say><Hangup/></Response>\n"


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A sandbox database of the test's own; no API configured in the environment."""
    for name in ("OPENTACT_API_URL", "OPENTACT_TOKEN", "OPENTACT_EMAIL", "OPENTACT_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "sandbox.sqlite3"
    monkeypatch.setenv("CALLFLOW_SANDBOX_DB", str(path))
    return path


def app_with(run_cli: RunCli, *fields: str) -> str:
    created = run_cli("apps", "create", "served", *fields, "--format", "json")
    assert created.code == 0, created.err
    return str(json.loads(created.out)["uuid"])


@pytest.fixture
def served_menu(run_server: Callable[..., Running], tmp_path: Path) -> str:
    """`callflow serve`'s app on a folder with a menu template and the reply to its Gather."""
    folder = tmp_path / "flows"
    folder.mkdir()
    running = run_server(create_app(folder))
    (folder / "index.xml.j2").write_text(MENU.format(url=running.url), encoding="utf-8")
    (folder / "menu.xml.j2").write_text(PRESSED, encoding="utf-8")
    return running.url


def test_simulate_of_a_sandbox_app_fetches_its_flow_and_follows_it_into_the_app(
    run_cli: RunCli, db: Path, served_menu: str
) -> None:
    uuid = app_with(run_cli, "--call-flow-url", served_menu + "/")
    result = run_cli("simulate", "--app", uuid, "--press", "1")
    assert result.code == 0, result.err
    assert "'Hello +15550001234, press 1'" in result.out
    assert "'You pressed 1'" in result.out  # the Gather's URL, answered by the same app
    assert f"target: sandbox (in-process, {db})" in result.err
    assert f"flow: {served_menu}/ (the call_flow_url of app {uuid})" in result.err
    assert "call ended by hangup" in result.err


def test_a_posting_call_flow_url_gets_the_call_object(
    run_cli: RunCli, db: Path, run_server: Callable[..., Running], tmp_path: Path
) -> None:
    (tmp_path / "index.xml.j2").write_text(
        "<Response><Say>app {{ request.call.sip_control_app }}</Say></Response>\n"
    )
    running = run_server(create_app(tmp_path))
    uuid = app_with(run_cli, "--call-flow-url", running.url + "/", "--call-flow-method", "POST")
    result = run_cli("simulate", "--app", uuid, "--format", "json")
    assert result.code == 0, result.err
    said = [e for e in json.loads(result.out) if e["event"] == "say"]
    assert said[0]["text"] == f"app {uuid}"


def test_the_client_fetches_an_apps_flow_from_a_bundled_sandbox(served_menu: str) -> None:
    box = Sandbox(":memory:")
    try:
        with box.client() as client:
            app = client.create_app("served", call_flow_url=served_menu + "/?x=1")
            url, data = client.fetch_call_flow(app.uuid)
        assert url == served_menu + "/?x=1"
        assert b"Hello +15550001234, press 1" in data
    finally:
        box.close()


def test_the_async_client_fetches_it_too(served_menu: str) -> None:
    async def fetch() -> bytes:
        box = Sandbox(":memory:")
        try:
            async with box.async_client() as client:
                app = await client.create_app("served", call_flow_url=served_menu + "/")
                return (await client.fetch_call_flow(app.uuid))[1]
        finally:
            box.close()

    assert b"press 1" in asyncio.run(fetch())


# ------------------------------------------------------------------------- hostile URLs


async def _hostile(scope: dict[str, object], receive: object, send: object) -> None:
    """An ASGI app answering by path: slowly, dripping, huge, not XML, 500, Python."""
    assert callable(send)
    path = scope["path"]

    async def start(status: int = 200, kind: bytes = b"text/xml") -> None:
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", kind)]})  # fmt: skip

    async def body(data: bytes, more: bool = False) -> None:
        await send({"type": "http.response.body", "body": data, "more_body": more})

    if path == "/slow":
        await asyncio.sleep(2)
        await start()
        await body(b"<Response/>")
    elif path == "/drip":
        await start()
        for _ in range(25):
            await body(b" ", more=True)
            await asyncio.sleep(0.1)
        await body(b"<Response/>")
    elif path == "/huge":
        await start()
        chunk = b"<!--" + b"x" * 65_536 + b"-->"
        for _ in range(MAX_DOCUMENT_BYTES // len(chunk) + 2):
            await body(chunk, more=True)
        await body(b"")
    elif path == "/text":
        await start(kind=b"text/plain")
        await body(b"Hello, this is not call XML\x1b[31m")
    elif path == "/flow.py":
        await start(kind=b"text/x-python")
        await body(b"import pathlib\npathlib.Path('RAN').write_text('x')\n")
    else:
        await start(500)
        await body(b"Internal Server Error")


@pytest.fixture
def hostile(run_server: Callable[..., Running]) -> str:
    return run_server(_hostile).url


@pytest.mark.parametrize(
    ("path", "timeout", "says"),
    [
        ("/slow", "500", "did not answer: ReadTimeout"),
        ("/drip", "1000", "did not finish its answer within 1,000 ms"),
        ("/huge", "10000", f"answered more than {MAX_DOCUMENT_BYTES:,} bytes"),
        ("/broken", "10000", "answered 500"),
    ],
)
def test_a_url_that_gives_no_flow_is_a_clear_error_within_the_apps_timeout(
    run_cli: RunCli, db: Path, hostile: str, path: str, timeout: str, says: str
) -> None:
    import time

    uuid = app_with(run_cli, "--call-flow-url", hostile + path, "--call-flow-timeout", timeout)
    started = time.monotonic()
    result = run_cli("simulate", "--app", uuid)
    assert time.monotonic() - started < int(timeout) / 1000 + 4
    assert result.code == 1 and result.out == ""
    assert says in result.err and "internal error" not in result.err
    assert "target: sandbox" in result.err


def test_a_reply_that_is_not_xml_is_reported_where_it_came_from(
    run_cli: RunCli, db: Path, hostile: str
) -> None:
    uuid = app_with(run_cli, "--call-flow-url", hostile + "/text")
    result = run_cli("simulate", "--app", uuid)
    assert result.code == 1 and "internal error" not in result.err
    assert f"{hostile}/text:1:1: CF101" in result.err
    assert "\x1b" not in result.err  # the reply's escape sequence is not replayed


def test_a_reply_from_a_url_ending_in_py_is_xml_never_a_script_that_runs(
    run_cli: RunCli, db: Path, hostile: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    uuid = app_with(run_cli, "--call-flow-url", hostile + "/flow.py")
    result = run_cli("simulate", "--app", uuid)
    assert result.code == 1 and "CF101" in result.err
    assert not (tmp_path / "RAN").exists()


def test_a_url_off_this_machine_is_not_fetched_from_the_sandbox(run_cli: RunCli, db: Path) -> None:
    uuid = app_with(run_cli, "--call-flow-url", "https://flows.example.com/")
    result = run_cli("simulate", "--app", uuid, "--offline")
    assert result.code == 1 and "loopback" in result.err


def test_simulate_by_uuid_says_what_is_missing(run_cli: RunCli, db: Path) -> None:
    bare = app_with(run_cli)
    result = run_cli("simulate", "--app", bare)
    assert result.code == 2 and "has no call_flow_url" in result.err
    assert f"callflow apps update {bare} --call-flow-url URL" in result.err
    both = run_cli("simulate", "flow.xml", "--app", bare)
    assert both.code == 2 and "not both" in both.err
    neither = run_cli("simulate")
    assert neither.code == 2 and "give a SOURCE" in neither.err
    unknown = run_cli("simulate", "--app", "00000000-0000-0000-0000-000000000000")
    assert unknown.code == 1 and "HTTP 404" in unknown.err and "target: sandbox" in unknown.err


# ------------------------------------------------------------------------ execute --press

GATHER = """<Response>
  <Gather numDigits="1" timeout="5">
    <Say>Press</Say>
    <Switch><Case dtmf="1"><Say>one</Say></Case><Case dtmf="2"><Say>two</Say></Case></Switch>
  </Gather>
</Response>
"""


def test_execute_press_scripts_the_caller_of_the_sandbox_call_log(
    run_cli: RunCli, db: Path, tmp_path: Path
) -> None:
    flow = tmp_path / "menu.xml"
    flow.write_text(GATHER, encoding="utf-8")
    assert run_cli("execute", flow, "--press", "2").code == 0
    logged = run_cli("calls", "list", "--format", "json")
    call = run_cli("calls", "show", json.loads(logged.out)[0]["uuid"])
    assert "caller: presses '2'" in call.out
    assert "  two\n" in call.out and "  one\n" not in call.out


def test_execute_press_is_refused_where_it_cannot_mean_anything(
    run_cli: RunCli, db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flow = tmp_path / "menu.xml"
    flow.write_text(GATHER, encoding="utf-8")
    bad = run_cli("execute", flow, "--press", "x")
    assert bad.code == 2 and "not a phone key" in bad.err
    monkeypatch.setenv("OPENTACT_API_URL", "https://api.example.test/rest")
    monkeypatch.setenv("OPENTACT_TOKEN", "t")
    remote = run_cli("execute", flow, "--press", "1", "--app", "a")
    assert remote.code == 2 and "the API places no such call" in remote.err
