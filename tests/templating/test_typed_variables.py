"""Typed template variables: a declared variable is converted and checked against its type
from --var, --context and samples; a mismatch names the variable, the value and the type."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callflow.sources import load_flows
from callflow.templating._header import conforms, from_text, kind_of

TEMPLATE = """{#- callflow
[variables]
agents = { type = "list of numbers", meaning = "dialled one after another" }
count = { type = "integer", default = 1, meaning = "how many" }
greeting = { type = "string", default = "Hi", meaning = "said first" }
loud = { type = "boolean", default = false, meaning = "shout" }
-#}
<Response>{% for a in agents %}
<Say>{{ greeting }} {{ a }} {{ count }} {{ loud }}</Say>{% endfor %}</Response>
"""


@pytest.fixture
def template(tmp_path: Path) -> Path:
    path = tmp_path / "support.xml.j2"
    path.write_text(TEMPLATE)
    return path


def test_a_list_that_is_not_json_is_an_error_not_a_string(
    run_cli: Callable[..., Any], template: Path
) -> None:
    result = run_cli("render", template, "--var", "agents=[+1555]")
    assert result.code == 1
    assert "<Say>" not in result.out  # the template never looped over the characters
    assert f"{template}:3: CF613" in result.out
    assert "`agents`" in result.out and '"[+1555]"' in result.out
    assert "list of numbers" in result.out
    assert "--var 'agents=[" in result.out  # how to write it


def test_declared_types_convert_command_line_text(
    run_cli: Callable[..., Any], template: Path
) -> None:
    result = run_cli(
        "render",
        template,
        "--var",
        'agents=["+1555"]',
        "--var",
        "count=3",
        "--var",
        "greeting=123",
        "--var",
        "loud=true",
    )
    assert result.code == 0, result
    assert "<Say>123 +1555 3 true</Say>" in result.out  # 123 stays the text it was


@pytest.mark.parametrize(
    ("var", "name"), [("count=x", "count"), ("loud=maybe", "loud"), ("count=1.5", "count")]
)
def test_a_scalar_of_the_wrong_kind_is_an_error(
    run_cli: Callable[..., Any], template: Path, var: str, name: str
) -> None:
    result = run_cli("render", template, "--var", 'agents=["+1"]', "--var", var)
    assert result.code == 1 and "CF613" in result.out and f"`{name}`" in result.out


def test_context_files_are_checked(
    run_cli: Callable[..., Any], template: Path, tmp_path: Path
) -> None:
    context = tmp_path / "c.json"
    context.write_text(json.dumps({"agents": "+1555", "count": "3"}))
    result = run_cli("render", template, "--context", context)
    assert result.code == 1
    assert re.search(r"`agents` is declared as a list of numbers.*\"\+1555\" \(text\)", result.out)
    assert re.search(r"`count` is declared as an integer.*\"3\" \(text\)", result.out)


def test_samples_are_checked_where_the_variable_is_declared(tmp_path: Path) -> None:
    path = tmp_path / "t.xml.j2"
    path.write_text(TEMPLATE.replace("-#}", '[samples.bad]\nagents = "+1555"\ncount = true\n-#}'))
    (source,) = load_flows(path)
    codes = [(d.code, d.location.line) for d in source.diagnostics]
    assert codes == [("CF613", 3), ("CF613", 4)]
    assert "sample `bad`" in source.diagnostics[0].message
    assert source.document is None


def test_python_contexts_are_checked(template: Path) -> None:
    (source,) = load_flows(template, context={"agents": ("+1",), "count": True})
    assert [d.code for d in source.diagnostics] == ["CF613"]
    assert "`count`" in source.diagnostics[0].message


def test_undeclared_and_documentation_only_types_are_left_alone(
    run_cli: Callable[..., Any], tmp_path: Path
) -> None:
    path = tmp_path / "t.xml.j2"
    path.write_text(
        '{#- callflow\n[variables]\nvoice = { type = "WaveNet voice", meaning = "v" }\n-#}\n'
        "<Response><Say>{{ voice }} {{ extra }}</Say></Response>\n"
    )
    result = run_cli("render", path, "--var", "voice=7", "--var", "extra=[1]")
    assert result.code == 0 and "<Say>7 [1]</Say>" in result.out


def test_kinds() -> None:
    assert kind_of("list of { key, label, actions }") == "list"
    assert kind_of("integer (milliseconds)") == "integer"
    assert kind_of("string: GET or POST") == "string"
    assert kind_of("table: lang, gender, type, code") == "table"
    assert kind_of("internal") is None  # not "int"
    assert kind_of("WaveNet") is None


@given(st.text())
def test_any_text_is_a_string(text: str) -> None:
    ok, value = from_text("string", text)
    assert ok and isinstance(value, str)


@given(st.text(), st.sampled_from(["list", "table", "boolean", "integer", "number"]))
def test_text_converts_only_to_a_value_of_its_kind(text: str, kind: str) -> None:
    ok, value = from_text(kind, text)
    assert not ok or conforms(kind, value)


def test_the_cf608_hint_works_when_pasted(tmp_path: Path) -> None:
    path = tmp_path / "greeting.xml.j2"
    body = "<Response><Say>{{ greeting }}</Say></Response>\n"
    path.write_text(body)
    (source,) = load_flows(path)
    (warning,) = source.diagnostics
    assert warning.code == "CF608" and warning.hint is not None
    pasted = re.search(r"\{# callflow .*? #\}", warning.hint)
    assert pasted is not None
    path.write_text(pasted.group(0) + "\n" + body)
    found = load_flows(path)
    assert [d.code for s in found for d in s.diagnostics] == []  # no CF608, no CF609
    assert found[0].document is not None and "Hello" in found[0].document.text
    partial = re.findall(r"\{# callflow .*? #\}", warning.hint)[-1]
    path.write_text(partial + "\n<Say>{{ x }}</Say>\n")
    assert [d.code for s in load_flows(path) for d in s.diagnostics] == []
