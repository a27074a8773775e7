"""`callflow render`: validated XML on stdout, or located diagnostics and exit 1."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

Write = Callable[[str, str], Path]
Run = Callable[..., object]
TEMPLATE = (
    "{# callflow\n[variables]\n"
    "greeting = { type = 'string', meaning = 'said first' }\n"
    "wait = { type = 'integer', default = 500, meaning = 'pause' }\n#}\n"
    '<Response>\n  <Say>{{ greeting }}</Say>\n  <Pause length="{{ wait }}"/>\n</Response>\n'
)


def test_render_prints_the_validated_xml(write: Write, run_cli: Run) -> None:
    path = write("hello.xml.j2", TEMPLATE)
    result = run_cli("render", path, "--var", "greeting=Hi & bye")
    assert result.code == 0, result  # type: ignore[attr-defined]
    root = etree.fromstring(result.out.encode())  # type: ignore[attr-defined]
    assert root[0].text == "Hi & bye" and root[1].get("length") == "500"


def test_var_values_are_json_when_they_parse(write: Write, run_cli: Run) -> None:
    path = write("hello.xml.j2", TEMPLATE)
    result = run_cli("render", path, "--var", "greeting=[1, 2]", "--var", "wait=750")
    root = etree.fromstring(result.out.encode())  # type: ignore[attr-defined]
    assert (root[0].text, root[1].get("length")) == ("[1, 2]", "750")


def test_context_files_in_json_and_toml(write: Write, run_cli: Run) -> None:
    path = write("hello.xml.j2", TEMPLATE)
    as_json = write("ctx.json", json.dumps({"greeting": "from json"}))
    as_toml = write("ctx.toml", 'greeting = "from toml"\nwait = 10\n')
    for context, said in ((as_json, "from json"), (as_toml, "from toml")):
        result = run_cli("render", path, "--context", context)
        assert result.code == 0  # type: ignore[attr-defined]
        assert f"<Say>{said}</Say>" in result.out  # type: ignore[attr-defined]


def test_var_overrides_the_context_file(write: Write, run_cli: Run) -> None:
    path = write("hello.xml.j2", TEMPLATE)
    context = write("ctx.json", json.dumps({"greeting": "file"}))
    result = run_cli("render", path, "--context", context, "--var", "greeting=flag")
    assert "<Say>flag</Say>" in result.out  # type: ignore[attr-defined]


def test_schema_errors_are_reported_at_the_template_line(write: Write, run_cli: Run) -> None:
    path = write("hello.xml.j2", TEMPLATE)
    result = run_cli("render", path, "--var", "greeting=x", "--var", "wait=-5")
    assert result.code == 1  # type: ignore[attr-defined]
    assert f"{path}:8:10: CF205" in result.out  # type: ignore[attr-defined]
    assert "<Response>" not in result.out  # type: ignore[attr-defined]


def test_undefined_variables_are_reported_with_a_hint(write: Write, run_cli: Run) -> None:
    path = write("hello.xml.j2", TEMPLATE)
    result = run_cli("render", path)
    assert result.code == 1  # type: ignore[attr-defined]
    assert f"{path}:7: CF602 undefined variable `greeting`" in result.out  # type: ignore[attr-defined]
    assert "--var greeting=" in result.out  # type: ignore[attr-defined]


def test_bad_var_syntax_is_a_usage_error(write: Write, run_cli: Run) -> None:
    path = write("hello.xml.j2", TEMPLATE)
    for bad in ("greeting", "=x", "9x=1", "a..b=1"):
        result = run_cli("render", path, "--var", bad)
        assert result.code == 2, bad  # type: ignore[attr-defined]
        assert "KEY=VALUE" in result.err  # type: ignore[attr-defined]
        assert "Traceback" not in result.err  # type: ignore[attr-defined]


def test_missing_or_invalid_context_file_is_a_usage_error(write: Write, run_cli: Run) -> None:
    path = write("hello.xml.j2", TEMPLATE)
    broken = write("broken.json", '{"greeting": ')
    not_object = write("list.json", "[1]")
    bad_toml = write("bad.toml", "greeting = \n")
    for context, words in (
        (path.parent / "missing.json", "no such file"),
        (broken, "not valid JSON"),
        (not_object, "JSON object"),
        (bad_toml, "not valid TOML"),
    ):
        result = run_cli("render", path, "--context", context)
        assert result.code == 2, context  # type: ignore[attr-defined]
        assert words in result.err  # type: ignore[attr-defined]


def test_missing_template_is_a_usage_error(tmp_path: Path, run_cli: Run) -> None:
    result = run_cli("render", tmp_path / "none.xml.j2")
    assert result.code == 2 and "no such file" in result.err  # type: ignore[attr-defined]


def test_library_templates_render_by_name_with_a_sample(run_cli: Run) -> None:
    result = run_cli("render", "callflow/ivr_menu.xml.j2", "--sample", "support")
    assert result.code == 0, result  # type: ignore[attr-defined]
    assert "<Gather" in result.out  # type: ignore[attr-defined]


def test_unknown_sample_is_a_usage_error(run_cli: Run) -> None:
    result = run_cli("render", "callflow/ivr_menu.xml.j2", "--sample", "nope")
    assert result.code == 2 and "support" in result.err  # type: ignore[attr-defined]


def test_sandbox_flag_refuses_internals(write: Write, run_cli: Run) -> None:
    path = write("evil.xml.j2", "<Response><Say>{{ ''.__class__.__mro__ }}</Say></Response>\n")
    result = run_cli("render", "--sandbox", path)
    assert result.code == 1 and "CF605" in result.out  # type: ignore[attr-defined]


def test_control_characters_can_be_stripped_from_the_command_line(
    write: Write, run_cli: Run
) -> None:
    path = write("hello.xml.j2", TEMPLATE)
    refused = run_cli("render", path, "--var", 'greeting="a\\u0007b"')
    assert refused.code == 1 and "CF606" in refused.out  # type: ignore[attr-defined]
    stripped = run_cli(
        "render", path, "--var", 'greeting="a\\u0007b"', "--strip-control-characters"
    )
    assert "<Say>ab</Say>" in stripped.out  # type: ignore[attr-defined]


def test_pretty_reindents_without_changing_the_flow(run_cli: Run) -> None:
    plain = run_cli("render", "callflow/call_forwarding.xml.j2", "--sample", "on_call")
    pretty = run_cli("render", "callflow/call_forwarding.xml.j2", "--sample", "on_call", "--pretty")
    assert pretty.code == 0  # type: ignore[attr-defined]
    lines = pretty.out.splitlines()  # type: ignore[attr-defined]
    assert lines[:3] == ["<Response>", "  <Say>Please hold while we connect you.</Say>", "  <Dial>"]
    parser = etree.XMLParser(remove_blank_text=True)
    assert etree.tostring(etree.fromstring(plain.out.encode(), parser)) == etree.tostring(  # type: ignore[attr-defined]
        etree.fromstring(pretty.out.encode(), parser)  # type: ignore[attr-defined]
    )


def test_header_problems_fail_the_render(write: Write, run_cli: Run) -> None:
    path = write("h.xml.j2", "{# callflow\ntitle = 3\n#}\n<Response/>\n")
    result = run_cli("render", path)
    assert result.code == 1  # type: ignore[attr-defined]
    assert f"{path}:2: CF609 `title` must be a string" in result.out  # type: ignore[attr-defined]


def test_search_path_option_finds_includes(write: Write, run_cli: Run) -> None:
    write("shared/part.xml.j2", "<Say>shared</Say>")
    path = write("flows/main.xml.j2", "<Response>{% include 'part.xml.j2' %}</Response>\n")
    assert run_cli("render", path).code == 1  # type: ignore[attr-defined]
    result = run_cli("render", path, "-I", path.parent.parent / "shared")
    assert result.code == 0 and "<Say>shared</Say>" in result.out  # type: ignore[attr-defined]


def test_environment_search_path_finds_includes(
    write: Write, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    write("shared/part.xml.j2", "<Say>shared</Say>")
    path = write("flows/main.xml.j2", "<Response>{% include 'part.xml.j2' %}</Response>\n")
    monkeypatch.setenv("CALLFLOW_TEMPLATE_PATH", str(path.parent.parent / "shared"))
    result = run_cli("render", path)
    assert result.code == 0 and "<Say>shared</Say>" in result.out  # type: ignore[attr-defined]


def test_a_problem_repeated_by_a_loop_is_reported_once(write: Write, run_cli: Run) -> None:
    path = write(
        "loop.xml.j2",
        '<Response>\n{% for n in range(3) %}\n  <Pause length="x"/>\n{% endfor %}\n</Response>\n',
    )
    result = run_cli("render", path)
    assert result.code == 1  # type: ignore[attr-defined]
    assert result.out.count("CF205") == 1  # type: ignore[attr-defined]
    assert "(3 times)" in result.out  # type: ignore[attr-defined]
