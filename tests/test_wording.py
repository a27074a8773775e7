"""Messages in plain English, the same in every command."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from callflow.simulate import Caller, simulate
from callflow.sources import load_flow, load_flows

FLOW = """<Response>
  <Gather numDigits="1"><Say>Press 1</Say></Gather>
  <Record tag="msg"/>
  <Dial><To>+15550100001</To></Dial>
</Response>
"""


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("OPENTACT_API_URL", "OPENTACT_TOKEN", "OPENTACT_EMAIL", "OPENTACT_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "sandbox.sqlite3"
    monkeypatch.setenv("CALLFLOW_SANDBOX_DB", str(path))
    return path


def test_apps_show_and_list_say_yes_and_no_alike(run_cli: Callable[..., Any], db: Path) -> None:
    created = run_cli("apps", "create", "support", "--format", "json")
    uuid = json.loads(created.out)["uuid"]
    assert "  is_active: yes" in run_cli("apps", "show", uuid).out
    assert run_cli("apps", "list").out.splitlines()[1].rstrip().endswith("yes")
    run_cli("apps", "update", uuid, "--inactive")
    shown = run_cli("apps", "show", uuid).out
    assert "  is_active: no" in shown and "True" not in shown and "False" not in shown


def _transcript(tmp_path: Path, *args: str, run_cli: Callable[..., Any]) -> str:
    flow = tmp_path / "menu.xml"
    flow.write_text(FLOW)
    result = run_cli("simulate", flow, *args)
    return str(result.out) + str(result.err)


def test_transcripts_speak_plain_english(tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    out = _transcript(tmp_path, "--press", "1", "--dial", "+15550100001=busy", run_cli=run_cli)
    assert "asr=" not in out and "False" not in out and "tag=" not in out
    assert "not transcribed" in out and "tag 'msg'" in out
    assert "nobody busy" not in out
    assert "+15550100001: busy → nobody answered" in out
    no_answer = _transcript(
        tmp_path, "--press", "1", "--dial", "+15550100001=no-answer", run_cli=run_cli
    )
    assert "+15550100001: no answer → nobody answered" in no_answer
    answered = _transcript(tmp_path, "--press", "1", run_cli=run_cli)
    assert "→ +15550100001 answered" in answered


@pytest.mark.parametrize(
    ("presses", "said"),
    [
        (["1", "2"], "the caller script has 1 press that no <Gather> used: '2'"),
        (["1", "2", "3"], "the caller script has 2 presses that no <Gather> used: '2', '3'"),
    ],
)
def test_cf910_counts_presses_in_plain_english(presses: list[str], said: str) -> None:
    document = load_flow(FLOW)
    (note,) = [
        d for d in simulate(document, Caller(presses=presses)).diagnostics if d.code == "CF910"
    ]
    assert note.message == said


@pytest.mark.parametrize(
    ("value", "said"),
    [("5", "a whole number (int)"), ("'x'", "a string"), ("[1]", "a list"), ("None", "None")],
)
def test_cf704_names_the_type_in_words(tmp_path: Path, value: str, said: str) -> None:
    script = tmp_path / "flow.py"
    script.write_text(f"flow = {value}\n")
    (source,) = load_flows(script)
    (problem,) = [d for d in source.diagnostics if d.code == "CF704"]
    assert problem.message == f"`flow` is {said}, not a Response"
    assert not re.search(r"\ba [aeiou]", problem.message)


def test_cf001_is_worded_one_way(tmp_path: Path) -> None:
    messages = set()
    for name in ("gone.xml", "gone.xml.j2", "gone.py"):
        (source,) = load_flows(tmp_path / name)
        messages |= {d.message for d in source.diagnostics if d.code == "CF001"}
    assert messages == {"no such file or directory"}


def test_render_names_the_template_with_its_folder_for_an_unknown_sample(
    tmp_path: Path, run_cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "t.xml.j2").write_text(
        "{#- callflow\n[samples.a]\nx = 1\n-#}\n<Response><Hangup/></Response>\n"
    )
    monkeypatch.chdir(tmp_path)
    result = run_cli("render", "flows/t.xml.j2", "--sample", "nope")
    assert result.code == 2
    assert (
        "callflow render: flows/t.xml.j2: the template declares no sample `nope` (samples: `a`)"
        in result.err
    )
    (source,) = load_flows(Path("flows/t.xml.j2"), sample="nope")  # what other commands say
    assert [d.message for d in source.diagnostics] == [
        "the template declares no sample `nope` (samples: `a`)"
    ]


def test_render_leaves_no_whitespace_only_line(tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    template = tmp_path / "t.xml.j2"
    template.write_text(
        "{%- macro block() %}\n  <Say>Hi</Say>\n  \n{% endmacro -%}\n"
        "<Response>\n  <Gather>\n    {{ block() }}\n    \n  </Gather>\n</Response>\n"
    )
    result = run_cli("render", template, "--var", "x=1")
    assert result.code == 0, result
    assert "<Say>Hi</Say>" in result.out
    assert [line for line in result.out.splitlines() if not line.strip()] == []
    said = "<Response><Say>a\n\n  b</Say></Response>\n"  # text keeps its blank line
    template.write_text(said)
    assert run_cli("render", template, "--var", "x=1").out == said
