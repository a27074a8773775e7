"""`callflow convert FILE --from twiml`: output, report on standard error, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from callflow.document import Document

Write = Callable[[str, str], Path]
RunCli = Callable[..., Any]

MENU = """<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <Gather action="/menu" numDigits="2" timeout="4">
    <Say voice="woman">Press 1 for sales.</Say>
  </Gather>
  <Say>Goodbye.</Say>
  <Enqueue>support</Enqueue>
</Response>
"""
BASE = "https://app.example.com/"


def test_converts_to_standard_output_with_the_report_on_standard_error(
    write: Write, run_cli: RunCli
) -> None:
    path = write("menu.xml", MENU)
    result = run_cli("convert", path, "--from", "twiml", "--base-url", BASE)
    assert result.code == 0, result.err
    assert '<Gather url="https://app.example.com/menu"' in result.out
    assert 'timeout="4000"' in result.out
    assert f"{path}:7:4: CF1001" in result.err


def test_writes_the_output_file(write: Write, run_cli: RunCli, tmp_path: Path) -> None:
    path = write("menu.xml", MENU)
    out = tmp_path / "opentact.xml"
    result = run_cli("convert", path, "--from", "twiml", "--base-url", BASE, "-o", out)
    assert result.code == 0 and result.out == ""
    assert Document.from_path(out).root.tag == "Response"
    assert f"wrote {out}" in result.err


def test_keeps_an_existing_output_without_force(
    write: Write, run_cli: RunCli, tmp_path: Path
) -> None:
    path = write("menu.xml", MENU)
    out = write("out.xml", "keep me")
    result = run_cli("convert", path, "--from", "twiml", "--base-url", BASE, "-o", out)
    assert result.code == 2 and out.read_text() == "keep me"
    forced = run_cli("convert", path, "--from", "twiml", "--base-url", BASE, "-o", out, "--force")
    assert forced.code == 0 and "<Response>" in out.read_text()


def test_an_error_in_the_report_writes_nothing_and_exits_1(
    write: Write, run_cli: RunCli, tmp_path: Path
) -> None:
    path = write("menu.xml", MENU)
    out = tmp_path / "opentact.xml"
    result = run_cli("convert", path, "--from", "twiml", "-o", out)
    assert result.code == 1
    assert not out.exists()
    assert f"{path}:3:11: CF1004" in result.err
    assert "not converted" in result.err


def test_the_report_in_json(write: Write, run_cli: RunCli) -> None:
    path = write("menu.xml", MENU)
    result = run_cli("convert", path, "--from", "twiml", "--base-url", BASE, "--format", "json")
    assert result.code == 0
    report = json.loads(result.err)
    assert {"file": str(path), "line": 7, "code": "CF1001"}.items() <= report[-1].items()


def test_the_report_for_github(write: Write, run_cli: RunCli) -> None:
    path = write("menu.xml", MENU)
    result = run_cli("convert", path, "--from", "twiml", "--base-url", BASE, "--format", "github")
    assert f"::warning file={path},line=7,col=4,title=CF1001::" in result.err


def test_to_python_writes_a_builder_script_that_rebuilds_the_output(
    write: Write, run_cli: RunCli, tmp_path: Path
) -> None:
    path = write("menu.xml", MENU)
    xml = run_cli("convert", path, "--from", "twiml", "--base-url", BASE).out
    script = tmp_path / "flow.py"
    result = run_cli(
        "convert", path, "--from", "twiml", "--base-url", BASE, "--to", "python", "-o", script
    )
    assert result.code == 0, result.err
    ran = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=True, timeout=60
    )
    rebuilt = Document.from_text(ran.stdout).to_string()
    assert rebuilt == Document.from_text(xml).to_string()


def test_a_template_converts_to_a_template(write: Write, run_cli: RunCli) -> None:
    path = write("menu.xml.j2", '<Response>\n  <Pause length="{{ wait }}"/>\n</Response>\n')
    result = run_cli("convert", path, "--from", "twiml")
    assert result.code == 0, result.err
    assert '<Pause length="{{ (((wait) | float) * 1000) | int }}"/>' in result.out


def test_a_template_does_not_convert_to_python(write: Write, run_cli: RunCli) -> None:
    path = write("menu.xml.j2", "<Response/>")
    assert run_cli("convert", path, "--from", "twiml", "--to", "python").code == 2


def test_base_url_needs_from_twiml(write: Write, run_cli: RunCli) -> None:
    path = write("flow.xml", "<Response><Hangup/></Response>")
    result = run_cli("convert", path, "--base-url", BASE)
    assert result.code == 2 and "--from twiml" in result.err


def test_a_relative_base_url_is_a_usage_error(write: Write, run_cli: RunCli) -> None:
    path = write("menu.xml", MENU)
    result = run_cli("convert", path, "--from", "twiml", "--base-url", "/relative")
    assert result.code == 2 and "absolute" in result.err


def test_opentact_xml_still_converts_to_python_by_default(write: Write, run_cli: RunCli) -> None:
    path = write("flow.xml", "<Response><Hangup/></Response>")
    result = run_cli("convert", path)
    assert result.code == 0 and "Hangup()" in result.out


def test_reads_twiml_from_standard_input() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "callflow", "convert", "-", "--from", "twiml"],
        input="<Response><Say>hi</Say>\n<Sms>x</Sms></Response>",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "<Say>hi</Say>" in result.stdout
    assert "<stdin>:2:2: CF1001" in result.stderr
    assert "<Sms>x</Sms></Response>" in result.stderr  # the line is quoted
