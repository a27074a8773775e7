"""The API commands end to end: apps, execute, explain, sandbox — readable text and JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from callflow.sandbox import SANDBOX_EMAIL, SANDBOX_PASSWORD, SEEDED_LEASES

from .conftest import RunCli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "ivr_menu.xml"
MISSING = "00000000-0000-4000-8000-000000000000"
BAD_FLOW = (
    '<?xml version="1.0"?>\n<Response>\n  <Say>Hi</Say>\n  <Gather numDigts="1"/>\n</Response>\n'
)


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A sandbox database of the test's own; no API configured in the environment."""
    for name in ("OPENTACT_API_URL", "OPENTACT_TOKEN", "OPENTACT_EMAIL", "OPENTACT_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "sandbox.sqlite3"
    monkeypatch.setenv("CALLFLOW_SANDBOX_DB", str(path))
    return path


def test_execute_runs_on_the_sandbox_demo_app_by_default(run_cli: RunCli, db: Path) -> None:
    result = run_cli("execute", EXAMPLE)
    assert result.code == 0, result.err
    assert f"target: sandbox (in-process, {db})" in result.err
    assert "app: callflow-demo" in result.err and "created now" in result.err
    assert "executed on app" in result.out and "accepted" in result.out
    again = run_cli("execute", EXAMPLE)
    assert "created now" not in again.err


def test_execute_prints_json_for_scripts(run_cli: RunCli, db: Path) -> None:
    result = run_cli("execute", EXAMPLE, "--format", "json", "--upload", "raw")
    record = json.loads(result.out)
    assert record["status"] == "accepted" and record["target"].startswith("sandbox")
    assert record["source"] == str(EXAMPLE)


def test_execute_refuses_to_send_a_flow_with_errors(
    run_cli: RunCli, db: Path, write: Callable[..., Path]
) -> None:
    flow = write("bad.xml", BAD_FLOW)
    result = run_cli("execute", flow)
    assert result.code == 1
    assert f"{flow}:4:11: CF203" in result.out
    assert "not sent" in result.err and "target:" not in result.err


def test_execute_maps_the_platforms_rejection_to_the_source_line(
    run_cli: RunCli, db: Path, write: Callable[..., Path]
) -> None:
    flow = write("bad.xml", BAD_FLOW)
    result = run_cli("execute", flow, "--no-validate")
    assert result.code == 1
    assert f"{flow}:4:11: CF801 rejected by the platform: Invalid call XML: line 4:" in result.out
    assert "rejected by sandbox" in result.err and "HTTP 400" in result.err


def test_execute_on_an_unknown_app_fails_clearly(run_cli: RunCli, db: Path) -> None:
    result = run_cli("execute", EXAMPLE, "--app", MISSING)
    assert result.code == 1
    assert "HTTP 404" in result.err and "not found" in result.err


def test_execute_needs_an_app_when_the_target_is_the_api(
    run_cli: RunCli, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENTACT_API_URL", "https://api.example.test/rest")
    result = run_cli("execute", EXAMPLE)
    assert result.code == 2
    assert "target: https://api.example.test/rest" in result.err
    assert "--app UUID is required" in result.err


def test_execute_reports_a_missing_source_as_an_input_error(run_cli: RunCli, db: Path) -> None:
    result = run_cli("execute", "no/such.xml")
    assert result.code == 2 and "CF001" in result.out


def test_bad_var_syntax_is_a_clear_error(run_cli: RunCli, db: Path) -> None:
    result = run_cli("execute", EXAMPLE, "--var", "novalue")
    assert result.code == 2 and "expected KEY=VALUE" in result.err


def test_apps_commands_manage_an_app_from_create_to_delete(run_cli: RunCli, db: Path) -> None:
    created = run_cli(
        "apps", "create", "support", "--subdomain", "support-line", "--format", "json"
    )
    assert created.code == 0, created.err
    uuid = json.loads(created.out)["uuid"]
    listed = run_cli("apps", "list")
    assert uuid in listed.out and "support-line" in listed.out and "target: sandbox" in listed.err
    assert run_cli("apps", "update", uuid, "--name", "sales", "--inactive").code == 0
    shown = json.loads(run_cli("apps", "show", uuid, "--format", "json").out)
    assert (shown["name"], shown["is_active"]) == ("sales", False)
    lease = SEEDED_LEASES[0][0]
    leases = run_cli("apps", "leases", uuid, "--add", lease)
    assert lease in leases.out and "15550100001" in leases.out
    assert json.loads(run_cli("apps", "leases", uuid, "--format", "json").out)[0]["uuid"] == lease
    assert "no TN leases" in run_cli("apps", "leases", uuid, "--remove", lease).out
    assert run_cli("apps", "delete", uuid).out.strip() == f"deleted {uuid}"
    assert run_cli("apps", "list").out.strip() == "no apps"


def test_apps_update_without_changes_is_a_usage_error(run_cli: RunCli, db: Path) -> None:
    assert run_cli("apps", "update", MISSING).code == 2


def test_apps_refuses_bad_input_with_the_platforms_message(run_cli: RunCli, db: Path) -> None:
    result = run_cli("apps", "create", "x", "--subdomain", "ab")
    assert result.code == 1 and "3 to 255 characters" in result.err


def test_explain_maps_a_saved_envelope(run_cli: RunCli, write: Callable[..., Path]) -> None:
    flow = write("bad.xml", BAD_FLOW)
    body = {
        "success": False,
        "status": 400,
        "message": "lineNumber: 4; columnNumber: 3; cvc-complex-type.3.2.2: Attribute 'numDigts' "
        "is not allowed to appear in element 'Gather'.",
    }
    error = write("error.json", json.dumps(body))
    result = run_cli("explain", flow, error)
    assert result.code == 1
    assert f"{flow}:4:11: CF801 rejected by the platform: lineNumber: 4;" in result.out
    assert "(HTTP 400)" in result.err


@pytest.mark.parametrize("fmt", ["json", "github", "sarif"])
def test_explain_speaks_every_output_format(
    run_cli: RunCli, write: Callable[..., Path], fmt: str
) -> None:
    flow = write("bad.xml", BAD_FLOW)
    error = write("error.txt", "Error on line 4 of document : bad Gather")
    result = run_cli("explain", flow, error, "--format", fmt)
    assert "CF801" in result.out
    if fmt != "github":
        json.loads(result.out)


def test_explain_reads_plain_text_from_stdin(
    run_cli: RunCli, write: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    flow = write("bad.xml", BAD_FLOW)
    fake = io.TextIOWrapper(io.BytesIO(b"Element 'Gather', attribute 'numDigts': not allowed"))
    monkeypatch.setattr(sys, "stdin", fake)
    result = run_cli("explain", flow, "-")
    assert f"{flow}:4:11: CF803" in result.out


def test_explain_with_an_unreadable_error_file_is_a_usage_error(
    run_cli: RunCli, write: Callable[..., Path]
) -> None:
    flow = write("bad.xml", BAD_FLOW)
    result = run_cli("explain", flow, "missing.json")
    assert result.code == 2 and "cannot read" in result.err


def test_sandbox_info_shows_the_account_and_seeded_leases(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("sandbox", "info", "--db", tmp_path / "s.sqlite3")
    assert SANDBOX_EMAIL in result.out and SEEDED_LEASES[0][0] in result.out


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """`callflow sandbox serve` in a real process, on a free port; yields its URL."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "callflow",
            "sandbox",
            "serve",
            "-q",  # only the first stderr line is read: a request log would fill the pipe
            "--port",
            "0",
            "--db",
            str(tmp_path / "s.db"),
        ],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert process.stderr is not None
    line = process.stderr.readline()
    try:
        assert "serving http://127.0.0.1:" in line, line
        yield line.split("serving ")[1].split(" ")[0]
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stderr.close()


def test_sandbox_serve_answers_any_http_client(served: str) -> None:
    with httpx.Client(timeout=5) as raw:
        token = raw.get(f"{served}/auth", auth=(SANDBOX_EMAIL, SANDBOX_PASSWORD)).json()["payload"][
            "token"
        ]
        created = raw.post(
            f"{served}/sip/app", json={"name": "curl"}, headers={"X-Auth-Token": token}
        )
        assert created.status_code == 201
        assert raw.get(f"{served}/sip/app").status_code == 401


def test_the_cli_can_target_a_served_sandbox_as_an_api(
    run_cli: RunCli, served: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENTACT_EMAIL", SANDBOX_EMAIL)
    monkeypatch.setenv("OPENTACT_PASSWORD", SANDBOX_PASSWORD)
    created = run_cli("apps", "create", "remote", "--api-url", served, "--format", "json")
    uuid = json.loads(created.out)["uuid"]
    result = run_cli("execute", EXAMPLE, "--api-url", served, "--app", uuid)
    assert result.code == 0 and f"target: {served}" in result.err


def test_sandbox_serve_logs_requests_without_tokens(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "callflow", "sandbox", "serve", "--port", "0", "--db", ":memory:"],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert process.stderr is not None
    try:
        url = process.stderr.readline().split("serving ")[1].split(" ")[0]
        auth = (SANDBOX_EMAIL, SANDBOX_PASSWORD)
        token = httpx.get(f"{url}/auth", auth=auth).json()["payload"]["token"]
        httpx.get(f"{url}/sip/app", params={"jwt": token})
    finally:
        process.terminate()
        log = process.communicate(timeout=10)[1]
    assert '"GET /rest/sip/app?jwt=*** HTTP/1.1" 200' in log
    assert token not in log


def test_apps_take_trunk_settings_as_a_json_object(run_cli: RunCli, db: Path) -> None:
    created = run_cli(
        "apps", "create", "t", "--trunk-settings", '{"trunk": "t1"}', "--format", "json"
    )
    assert json.loads(created.out)["class4_egress_trunk_settings"] == {"trunk": "t1"}
    assert run_cli("apps", "create", "t", "--trunk-settings", "[1]").code == 2


def context_of(*arguments: str) -> object:
    import argparse

    from callflow.commands._context import add_context_options, read_context

    parser = argparse.ArgumentParser()
    add_context_options(parser)
    return read_context(parser.parse_args(list(arguments)))


def test_context_comes_from_json_or_toml_and_var_overrides_it(write: Callable[..., Path]) -> None:
    as_json = write("vars.json", '{"company": "Acme", "hours": 9}')
    as_toml = write("vars.toml", 'company = "Acme"\nhours = 9\n')
    assert context_of("--context", str(as_json)) == {"company": "Acme", "hours": 9}
    assert context_of("--context", str(as_toml), "--var", "company=Initech") == {
        "company": "Initech",
        "hours": 9,
    }
    assert context_of() is None


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("v.json", "{bad", "not valid JSON"),
        ("v.toml", "= x", "not valid TOML"),
        ("v.json", "[1]", "object"),
    ],
)
def test_a_bad_context_file_is_a_clear_error(
    write: Callable[..., Path], name: str, content: str, says: str
) -> None:
    from callflow.errors import InputError

    with pytest.raises(InputError, match=says):
        context_of("--context", str(write(name, content)))


@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_a_bad_sandbox_port_is_a_usage_error(run_cli: RunCli, port: str) -> None:
    result = run_cli("sandbox", "serve", "--port", port)
    assert result.code == 2
    assert "port number" in result.err
