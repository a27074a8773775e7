"""The pytest plugin: users' own tests get a fresh sandbox and a client bound to it."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

USERS_TESTS = """
import httpx

from callflow.sandbox import SANDBOX_EMAIL, SANDBOX_PASSWORD


def test_client_is_bound_to_the_sandbox(callflow_client, callflow_sandbox):
    app = callflow_client.create_app("mine")
    callflow_client.execute(app.uuid, b"<Response><Hangup/></Response>")
    assert callflow_sandbox.store.count("executions") == 1


def test_each_test_starts_empty(callflow_client):
    assert callflow_client.list_apps() == []


def test_the_call_log_shows_what_the_caller_heard(callflow_client, callflow_call_log):
    app = callflow_client.create_app("heard")
    callflow_client.execute(app.uuid, b"<Response><Say>Hello there</Say><Hangup/></Response>")
    (call,) = callflow_call_log()
    assert call.heard == ("Hello there",) and call.ended_by == "hangup"
    assert [step.line for step in call.steps][:1] == [1]


def test_the_sandbox_is_also_served_on_loopback(callflow_sandbox_url):
    answer = httpx.get(callflow_sandbox_url + "/auth", auth=(SANDBOX_EMAIL, SANDBOX_PASSWORD))
    assert answer.json()["success"] is True
"""


def test_the_plugin_fixtures_work_in_a_users_test_run(tmp_path: Path) -> None:
    (tmp_path / "test_users_flows.py").write_text(USERS_TESTS)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "callflow.pytest_plugin",
            "-p",
            "no:cacheprovider",
            "-q",
            "test_users_flows.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout


def test_the_plugin_is_registered_as_a_pytest11_entry_point() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    entry_points = project["project"]["entry-points"]["pytest11"]
    assert entry_points == {"callflow.pytest_plugin": "callflow.pytest_plugin"}
