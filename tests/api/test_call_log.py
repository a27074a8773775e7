"""The sandbox call log: every execute recorded with its flow, app, time and simulated call."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from callflow.client import Client
from callflow.errors import ApiError
from callflow.sandbox import CALL_LOG_PATH, SANDBOX_EMAIL, SANDBOX_PASSWORD, Sandbox
from callflow.simulate import Caller

ROOT = Path(__file__).resolve().parents[2]
MENU = ROOT / "examples" / "ivr_menu.xml"
BASIC = "Basic " + base64.b64encode(f"{SANDBOX_EMAIL}:{SANDBOX_PASSWORD}".encode()).decode()


def test_an_execute_is_logged_with_its_flow_app_time_and_what_the_caller_heard(
    client: Client, sandbox: Sandbox
) -> None:
    app = client.create_app("menu")
    execution = client.execute(app.uuid, MENU)
    call = sandbox.last_call()
    assert call.uuid == execution.uuid and call.app_uuid == app.uuid
    assert call.created_on is not None and call.flow == MENU.read_text()
    assert call.heard[0] == "Welcome to Acme support." and call.heard[-1] == "Goodbye."
    assert call.ended_by == "hangup"
    goodbye = next(step for step in call.steps if "Goodbye" in step.summary)
    assert (goodbye.line, goodbye.source) == (37, "<Say>Goodbye.</Say>")


def test_a_scripted_caller_sent_with_the_execute_is_the_one_simulated(
    client: Client, sandbox: Sandbox
) -> None:
    app = client.create_app("menu")
    client.execute(app.uuid, MENU, caller=Caller(presses=["1"], dial={"+15550100001": "busy"}))
    call = sandbox.last_call()
    assert call.caller["presses"] == ["1"]
    assert call.dialled == ("+15550100001",)
    assert "Billing is busy. Please try again later." in call.heard


def test_steps_of_a_builder_flow_name_the_authors_lines(client: Client, sandbox: Sandbox) -> None:
    app = client.create_app("built")
    client.execute(app.uuid, ROOT / "examples" / "ivr_menu.py")
    steps = sandbox.last_call().steps
    assert steps and all(str(step.author_file).endswith("ivr_menu.py") for step in steps)
    assert all(isinstance(step.author_line, int) for step in steps)


def test_a_refused_execute_is_not_logged(client: Client, sandbox: Sandbox) -> None:
    app = client.create_app("menu")
    with pytest.raises(ApiError):
        client.execute(app.uuid, b"<Response><Nope/></Response>", validate=False)
    with pytest.raises(ApiError) as bad_caller:
        client.execute(app.uuid, MENU, caller={"presses": ["x"]})
    assert bad_caller.value.status == 400 and "phone key" in bad_caller.value.message
    assert sandbox.calls() == [] and sandbox.store.count("executions") == 0


def test_the_call_log_is_served_under_its_sandbox_only_path(
    client: Client, sandbox: Sandbox
) -> None:
    app = client.create_app("menu")
    execution = client.execute(app.uuid, MENU)
    with httpx.Client(transport=sandbox.transport, base_url="http://sandbox.test") as raw:
        assert raw.get(CALL_LOG_PATH).status_code == 401
        token = raw.get("/rest/auth", headers={"Authorization": BASIC}).json()["payload"]["token"]
        headers = {"X-Auth-Token": token}
        listed = raw.get(CALL_LOG_PATH, headers=headers).json()["payload"]
        assert [entry["uuid"] for entry in listed] == [execution.uuid]
        one = raw.get(f"{CALL_LOG_PATH}/{execution.uuid}", headers=headers).json()["payload"]
        assert one["events"][0]["event"] == "answer" and one["flow"].startswith("<?xml")
        missing = raw.get(f"{CALL_LOG_PATH}/{'0' * 8}-0000-4000-8000-{'0' * 12}", headers=headers)
        assert missing.status_code == 404
    assert [call.uuid for call in client.list_calls()] == [execution.uuid]
    assert client.get_call(execution.uuid).heard == sandbox.last_call().heard


def test_execute_then_calls_show_end_to_end(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CALLFLOW_SANDBOX_DB": str(tmp_path / "db")}
    env.pop("OPENTACT_API_URL", None)

    def callflow(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "callflow", *args],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )

    executed = callflow("execute", "examples/ivr_menu.py")
    assert executed.returncode == 0, executed.stderr
    execution = executed.stdout.split("(execution ")[1].split(")")[0]
    shown = callflow("calls", "show", execution)
    assert shown.returncode == 0, shown.stderr
    assert "heard:\n  Welcome to Acme support." in shown.stdout
    assert "ended by hangup" in shown.stdout
    say = next(line for line in shown.stdout.splitlines() if "'Goodbye.'" in line)
    assert "examples/ivr_menu.py:" in say and "<Say>Goodbye.</Say>" in say
    as_json = json.loads(callflow("calls", "show", execution, "--format", "json").stdout)
    assert as_json["uuid"] == execution and as_json["heard"][-1] == "Goodbye."
    listed = callflow("calls", "list")
    assert execution in listed.stdout and "Welcome to Acme support." in listed.stdout
    app = executed.stdout.split("executed on app ")[1].split(" ")[0]
    shown_app = callflow("apps", "show", app).stdout
    assert "calls: 1 executed" in shown_app and execution in shown_app
    assert "call log: 1 executed call(s)" in callflow("sandbox", "info").stdout
