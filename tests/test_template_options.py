"""--sample, --var and --context mean the same to every command that takes a SOURCE."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Run = Callable[..., Any]

TEMPLATE = """{# callflow
[variables]
greeting = { type = "string", meaning = "spoken first" }
[samples.morning]
greeting = "Good morning"
[samples.evening]
greeting = "Good evening"
#}
<Response>
  <Say>{{ greeting }}</Say>
  <Hangup/>
</Response>
"""


@pytest.fixture
def template(write: Callable[[str, str], Path]) -> Path:
    return write("greet.xml.j2", TEMPLATE)


@pytest.fixture
def sandbox_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "sandbox.sqlite3"
    monkeypatch.setenv("CALLFLOW_SANDBOX_DB", str(db))
    monkeypatch.delenv("OPENTACT_API_URL", raising=False)
    return db


def test_simulate_runs_the_chosen_sample(run_cli: Run, template: Path) -> None:
    result = run_cli("simulate", template, "--sample", "evening", "--format", "json")
    assert result.code == 0, result.err
    said = [e["text"] for e in json.loads(result.out) if e["event"] == "say"]
    assert said == ["Good evening"]


def test_var_overrides_the_sample(run_cli: Run, template: Path) -> None:
    result = run_cli(
        "simulate",
        template,
        "--sample",
        "morning",
        "--var",
        "greeting=Hi there",
        "--format",
        "json",
    )
    said = [e["text"] for e in json.loads(result.out) if e["event"] == "say"]
    assert said == ["Hi there"]


def test_several_samples_and_no_choice_is_a_usage_error_naming_the_option(
    run_cli: Run, template: Path
) -> None:
    result = run_cli("simulate", template)
    assert result.code == 2
    assert "--sample" in result.err
    assert "Traceback" not in result.err


def test_an_unknown_sample_is_named_with_the_declared_ones(run_cli: Run, template: Path) -> None:
    result = run_cli("simulate", template, "--sample", "noon")
    assert result.code == 1
    assert "CF610" in result.err
    assert "`morning`" in result.err and "`evening`" in result.err


def test_execute_takes_a_sample(run_cli: Run, template: Path, sandbox_db: Path) -> None:
    result = run_cli("execute", template, "--sample", "morning")
    assert result.code == 0, result.err
    assert "accepted" in result.out
    refused = run_cli("execute", template)
    assert refused.code == 2 and "--sample" in refused.err


def test_graph_takes_a_sample(run_cli: Run, template: Path) -> None:
    result = run_cli("graph", template, "--sample", "evening", "--format", "mermaid")
    assert result.code == 0, result.err
    assert "Good evening" in result.out


def test_a_bad_var_is_a_usage_error_everywhere(run_cli: Run, template: Path) -> None:
    for command in ("simulate", "graph", "render"):
        result = run_cli(command, template, "--var", "not a pair")
        assert result.code == 2, (command, result.err)
        assert "KEY=VALUE" in result.err


@pytest.mark.parametrize("command", ["execute", "simulate", "explain"])
def test_every_command_needing_one_flow_names_the_samples_to_choose_from(
    run_cli: Run, template: Path, sandbox_db: Path, command: str
) -> None:
    if command == "explain":  # explain needs an error file too
        error = template.with_name("error.json")
        error.write_text('{"success": false, "message": "line 2: bad", "status": 400}')
        result = run_cli("explain", template, error)
    else:
        result = run_cli(command, template)
    assert result.code == 2
    assert "[sample: morning]" in result.err and "[sample: evening]" in result.err
    assert "--sample NAME" in result.err
