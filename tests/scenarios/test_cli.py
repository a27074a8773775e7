"""`callflow test`: exit codes, failure reports, coverage options, snapshot updates."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult

FLOW = """\
<Response>
  <Gather numDigits="1">
    <Say>Press 1 for sales.</Say>
    <Switch>
      <Case dtmf="1"><Say>Sales.</Say></Case>
      <Default><Say>Sorry.</Say></Default>
    </Switch>
  </Gather>
  <Hangup tag="bye"/>
</Response>
"""

PASSING = """\
flow = "menu.xml"

[[call]]
name = "sales"
press = ["1"]
expect.heard = ["Sales."]
expect.ended = { by = "flow", tag = "bye" }
"""

Run = Callable[..., CliResult]
Write = Callable[[str, str | bytes], Path]


@pytest.fixture
def folder(write: Write) -> Path:
    return write("menu.xml", FLOW).parent


def test_all_calls_passing_exit_0(run_cli: Run, write: Write, folder: Path) -> None:
    path = write("menu.calls.toml", PASSING)
    result = run_cli("test", path)
    assert result.code == 0, result
    assert f"ok      {path}::sales" in result.out
    assert "1 call: 1 passed, 0 failed" in result.out


def test_a_folder_is_searched_for_scenario_files(run_cli: Run, write: Write, folder: Path) -> None:
    write("sub/menu.xml", FLOW)
    write("sub/menu.calls.toml", PASSING)
    write("menu.calls.toml", PASSING)
    result = run_cli("test", folder)
    assert result.code == 0 and "2 calls: 2 passed" in result.out


def test_a_failed_expectation_exits_1_with_the_report(
    run_cli: Run, write: Write, folder: Path
) -> None:
    path = write("menu.calls.toml", PASSING.replace('"Sales."', '"Support."'))
    result = run_cli("test", path)
    assert result.code == 1
    assert f"FAILED  {path}::sales" in result.out
    assert f"{path}:6:17: CF955 call 'sales': expected to hear 'Support.'" in result.out
    assert f"@ {folder / 'menu.xml'}:5:23" in result.out
    assert "Traceback" not in result.out + result.err


def test_a_bad_file_exits_2_with_its_line_and_no_traceback(
    run_cli: Run, write: Write, folder: Path
) -> None:
    path = write("menu.calls.toml", PASSING.replace("press =", "pres ="))
    result = run_cli("test", path)
    assert result.code == 2
    assert f"{path}:5:1: CF952 unknown key 'pres' in call" in result.err
    assert "hint: did you mean `press`?" in result.err
    assert "Traceback" not in result.err


def test_a_missing_path_exits_2(run_cli: Run, tmp_path: Path) -> None:
    result = run_cli("test", tmp_path / "nothing.calls.toml")
    assert result.code == 2 and "no such file or directory" in result.err


def test_coverage_is_printed_and_fail_under_fails(run_cli: Run, write: Write, folder: Path) -> None:
    path = write("menu.calls.toml", PASSING)
    result = run_cli("test", path, "--coverage")
    assert result.code == 0
    assert "menu.xml" in result.out and "branches never taken:" in result.out
    failing = run_cli("test", path, "--fail-under", "90")
    assert failing.code == 1 and "is under --fail-under 90" in failing.out
    assert run_cli("test", path, "--fail-under", "10").code == 0


def test_coverage_reports_are_written(run_cli: Run, write: Write, folder: Path) -> None:
    path = write("menu.calls.toml", PASSING)
    out = folder / "cov.json"
    xml = folder / "cov.xml"
    result = run_cli(
        "test", path, "--coverage-report", f"json:{out}", "--coverage-report", f"cobertura:{xml}"
    )
    assert result.code == 0, result
    assert json.loads(out.read_text())["totals"]["branches"] == 5
    assert xml.read_text().startswith('<?xml version="1.0" ?>\n<coverage ')


def test_a_bad_report_spec_is_a_usage_error(run_cli: Run, write: Write, folder: Path) -> None:
    result = run_cli("test", write("menu.calls.toml", PASSING), "--coverage-report", "html:x")
    assert result.code == 2 and "expected json:PATH or cobertura:PATH" in result.err


def test_update_writes_snapshots_then_compares_them(
    run_cli: Run, write: Write, folder: Path
) -> None:
    path = write(
        "menu.calls.toml", PASSING.replace('name = "sales"', 'name = "sales"\nsnapshot = true')
    )
    first = run_cli("test", path)
    assert first.code == 1 and "no snapshot yet" in first.out
    written = run_cli("test", path, "--update")
    assert written.code == 0 and "(snapshot written)" in written.out
    stored = folder / "__call_snapshots__" / "menu" / "sales.txt"
    assert "say          'Sales.'" in stored.read_text()
    assert "menu.xml:5" in stored.read_text() and str(folder) not in stored.read_text()
    assert run_cli("test", path).code == 0
    (folder / "menu.xml").write_text(FLOW.replace("Sales.", "Sales. Hold on."))
    changed = run_cli("test", path)
    assert changed.code == 1 and "differs from its snapshot" in changed.out
    assert "-   " in changed.out or "+" in changed.out
    assert run_cli("test", path, "--update").code == 0
    assert "Sales. Hold on." in stored.read_text()


def test_a_scenario_link_leading_out_of_the_folder_is_not_followed(
    run_cli: Run, write: Write, tmp_path: Path
) -> None:
    outside = write("elsewhere/menu.calls.toml", PASSING)
    write("elsewhere/menu.xml", FLOW)
    folder = tmp_path / "suite"
    folder.mkdir()
    (folder / "menu.calls.toml").symlink_to(outside)
    result = run_cli("test", folder)
    assert result.code == 2
    assert "a link leading out of the folder named; not followed" in result.err
    assert "passed, 0 failed" in result.out and "0 calls" in result.out


def test_callflow_templates_still_lists_only_templates(run_cli: Run) -> None:
    result = run_cli("templates", "--json")
    names = [t["name"] for t in json.loads(result.out)]
    assert "callflow/ivr_menu.xml.j2" in names
    assert all(name.endswith(".xml.j2") and "tests" not in name for name in names)
