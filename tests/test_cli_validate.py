"""`callflow validate`: exit codes, every output format, and bad input that never stops the run."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

Run = Callable[..., Any]  # conftest.run_cli: returns CliResult(code, out, err)
Write = Callable[[str, str | bytes], Path]

BAD = '<Response>\n  <Gather numDigts="1" timeout="8s"/>\n  <Sya>hi</Sya>\n</Response>\n'
GOOD = "<Response>\n  <Say>Hello</Say>\n</Response>\n"


def test_clean_files_exit_zero(run_cli: Run, write: Write) -> None:
    result = run_cli("validate", write("ok.xml", GOOD))
    assert result.code == 0
    assert result.out == ""
    assert "no problems" in result.err


def test_errors_exit_one_and_are_all_reported(run_cli: Run, write: Write) -> None:
    path = write("bad.xml", BAD)
    result = run_cli("validate", path)
    assert result.code == 1
    lines = [line for line in result.out.splitlines() if line.startswith(str(path))]
    schema_codes = [c for c in (line.split(": ")[1].split()[0] for line in lines) if c < "CF3"]
    assert schema_codes == ["CF203", "CF205", "CF201"]


def test_text_format_quotes_the_line_with_a_caret_under_the_column(
    run_cli: Run, write: Write
) -> None:
    path = write("bad.xml", BAD)
    out = run_cli("validate", path).out.splitlines()
    header = out.index(f"{path}:2:11: CF203 <Gather> has no attribute 'numDigts'")
    assert out[header + 1] == '      <Gather numDigts="1" timeout="8s"/>'
    assert out[header + 2] == "    " + " " * 10 + "^"
    assert out[header + 3].startswith("    hint: did you mean `numDigits`?")


def test_json_format(run_cli: Run, write: Write) -> None:
    path = write("bad.xml", BAD)
    result = run_cli("validate", "--format", "json", path)
    records = json.loads(result.out)
    assert result.code == 1
    first = next(r for r in records if r["code"] == "CF203")
    assert {"file", "line", "column", "code", "severity", "message", "hint"} <= set(first)
    assert (first["file"], first["line"], first["column"], first["code"]) == (
        str(path),
        2,
        11,
        "CF203",
    )
    assert first["severity"] == "error"
    seconds = next(r for r in records if r["code"] == "CF205")
    assert "8000" in seconds["hint"]


def test_json_format_prints_an_empty_array_when_clean(run_cli: Run, write: Write) -> None:
    assert json.loads(run_cli("validate", "--format", "json", write("ok.xml", GOOD)).out) == []


def test_github_format(run_cli: Run, write: Write) -> None:
    path = write("bad.xml", BAD)
    out = run_cli("validate", "--format", "github", path).out.splitlines()
    line = next(line for line in out if "title=CF203" in line)
    assert line.startswith(f"::error file={path},line=2,col=11,title=CF203::")
    assert "numDigts" in line
    assert any(line.startswith("::warning ") for line in out)


def test_sarif_format_is_sarif_2_1_0(run_cli: Run, write: Write) -> None:
    path = write("bad.xml", BAD)
    sarif = json.loads(run_cli("validate", "--format", "sarif", path).out)
    assert sarif["version"] == "2.1.0"
    (run,) = sarif["runs"]
    assert run["tool"]["driver"]["name"] == "callflow"
    rule_ids = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert {"CF201", "CF203", "CF205"} <= set(rule_ids)
    assert rule_ids == sorted(rule_ids)
    result = next(r for r in run["results"] if r["ruleId"] == "CF203")
    assert result["ruleId"] == "CF203"
    assert rule_ids[result["ruleIndex"]] == "CF203"
    assert result["level"] == "error"
    physical = result["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == path.as_posix()
    assert physical["region"] == {"startLine": 2, "startColumn": 11}


def test_directories_are_searched_recursively(run_cli: Run, write: Write, tmp_path: Path) -> None:
    write("flows/a.xml", GOOD)
    write("flows/sub/b.xml", BAD)
    write("flows/.hidden/c.xml", BAD)
    write("flows/notes.txt", "not a flow")
    result = run_cli("validate", "--format", "json", tmp_path / "flows")
    files = {Path(r["file"]).name for r in json.loads(result.out)}
    assert files == {"b.xml"}
    assert "2 files checked" in result.err


def test_every_bad_input_gets_its_code_and_the_run_continues(
    run_cli: Run, write: Write, tmp_path: Path
) -> None:
    inputs = {
        "empty.xml": b"",
        "binary.xml": b"\x00\x01\x02\x03",
        "latin.xml": b"<Response><Say>caf\xe9</Say></Response>",
        "big.xml": b"<Response>" + b"<Pause/>" * 200 + b"</Response>",
        "broken.xml": b"<Response><Say>",
        "xxe.xml": b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><Response/>',
        "bomb.xml": b'<!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><Response/>',
        "dtd.xml": b'<!DOCTYPE Response SYSTEM "http://127.0.0.1:9/x.dtd"><Response/>',
        "good.xml": GOOD.encode(),
    }
    paths = [write(name, content) for name, content in inputs.items()]
    empty_dir = tmp_path / "nothing"
    empty_dir.mkdir()
    result = run_cli(
        "validate",
        "--format",
        "json",
        "--max-bytes",
        "1000",
        *paths,
        tmp_path / "missing.xml",
        empty_dir,
    )
    assert result.code == 1
    by_file: dict[str, list[str]] = {}
    for record in json.loads(result.out):
        by_file.setdefault(Path(record["file"]).name, []).append(record["code"])
    assert by_file == {
        "empty.xml": ["CF003"],
        "binary.xml": ["CF004"],
        "latin.xml": ["CF005"],
        "big.xml": ["CF006"],
        "broken.xml": ["CF101"],
        "xxe.xml": ["CF103"],
        "bomb.xml": ["CF104", "CF104"],
        "dtd.xml": ["CF105"],
        "missing.xml": ["CF001"],
        "nothing": ["CF002"],
    }


def test_unsupported_file_type(run_cli: Run, write: Write) -> None:
    result = run_cli("validate", write("notes.txt", "hello"))
    assert result.code == 1
    assert "CF008" in result.out


def test_custom_schema(run_cli: Run, write: Write) -> None:
    xsd = write(
        "mini.xsd",
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
        '<xs:element name="Response"><xs:complexType/></xs:element></xs:schema>',
    )
    flow = write("flow.xml", GOOD)
    result = run_cli("validate", "--no-lint", "--schema", xsd, flow)
    assert result.code == 1
    assert "CF2" in result.out
    assert run_cli("validate", "--schema", xsd, write("empty.xml", "<Response/>")).code == 0


def test_unusable_schema_is_a_usage_error(run_cli: Run, write: Write) -> None:
    result = run_cli("validate", "--schema", write("bad.xsd", "<nope"), write("f.xml", GOOD))
    assert result.code == 2
    assert "not a usable XML schema" in result.err
    assert "Traceback" not in result.err


def test_an_empty_schema_name_is_refused_not_taken_for_the_bundled_schema(
    run_cli: Run, write: Write
) -> None:
    # ("$SCHEMA" with SCHEMA unset: the current folder is no schema, and nothing passes.)
    result = run_cli("validate", "--schema", "", write("f.xml", GOOD))
    assert result.code == 2
    assert "not a usable XML schema" in result.err


def test_usage_errors_exit_two(run_cli: Run) -> None:
    assert run_cli("validate").code == 2
    assert run_cli("validate", "--format", "yaml", "x.xml").code == 2
    assert run_cli("no-such-command").code == 2


def test_version(run_cli: Run) -> None:
    result = run_cli("--version")
    assert result.code == 0
    assert result.out.startswith("callflow ")


def test_python_dash_m_callflow_runs_the_cli(write: Write) -> None:
    path = write("bad.xml", BAD)
    proc = subprocess.run(
        [sys.executable, "-m", "callflow", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert f"{path}:2:11: CF203" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_validate_does_not_import_heavy_libraries(write: Write) -> None:
    path = write("ok.xml", GOOD)
    code = (
        "import sys\nfrom callflow.cli import main\n"
        f"rc = main(['validate', '-q', {str(path)!r}])\n"
        "heavy = sorted(m for m in ('httpx', 'jinja2', 'xmlschema', 'hypothesis')\n"
        "               if m in sys.modules)\n"
        "print(rc, heavy)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "0 []", proc.stderr


def test_every_subcommand_module_is_named_for_its_command() -> None:
    from callflow.cli import command_modules, command_names

    assert [module.NAME for module in command_modules()] == command_names()


def test_help_lists_every_subcommand(run_cli: Run) -> None:
    from callflow.cli import command_names

    result = run_cli("--help")
    assert result.code == 0
    for name in command_names():
        assert name in result.out


def test_parallel_workers_report_exactly_what_one_process_reports(
    run_cli: Run, write: Write, tmp_path: Path
) -> None:
    for index in range(12):
        write(f"many/f{index:02d}.xml", BAD if index % 3 == 0 else GOOD)
    serial = run_cli("validate", "--format", "json", "--jobs", "1", tmp_path / "many")
    parallel = run_cli("validate", "--format", "json", "--jobs", "2", tmp_path / "many")
    assert serial.code == parallel.code == 1
    assert json.loads(serial.out) == json.loads(parallel.out)
    assert sum(r["severity"] == "error" for r in json.loads(serial.out)) == 4 * 3


def test_negative_jobs_is_a_usage_error(run_cli: Run, write: Write) -> None:
    assert run_cli("validate", "--jobs", "-1", write("ok.xml", GOOD)).code == 2


def test_a_problem_every_sample_repeats_is_reported_once(run_cli: Run, write: Write) -> None:
    path = write(
        "menu.xml.j2",
        "{# callflow\n[samples.one]\nkeys = ['1', '2']\n[samples.two]\nkeys = ['3']\n#}\n"
        '<Response>\n  <Gather numDigts="1">\n    <Say>Pick</Say>\n    <Switch>\n'
        '{% for k in keys %}      <Case dtmf="{{ k }}"><Hangup/></Case>\n{% endfor %}'
        "      <Default/>\n    </Switch>\n  </Gather>\n</Response>\n",
    )
    records = json.loads(run_cli("validate", "--format", "json", path).out)
    (record,) = [r for r in records if r["code"] == "CF203"]
    assert record["message"].endswith("(2 times)")
    assert record["chain"] == ["with sample `one`", "also with sample `two`"]
