"""`callflow convert FLOW.xml --to python`: a builder script that reproduces the document."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

Write = Callable[[str, str], Path]
RunCli = Callable[..., Any]  # the conftest fixture, returning a CliResult

LEGACY = """<?xml version="1.0" encoding="UTF-8"?>
<!-- hand-written, years ago -->
<Response>
  <Say text="Attribute form."/>
  <Play url="https://media.example.com/a.mp3"/>
  <Gather dtmf_length="1" dtmf_stop="#" url="https://ivr.example.com/digits">
    <Say>Press 1.</Say>
    <DTMF value="1">
      <!-- the only option -->
      <Hangup/>
    </DTMF>
  </Gather>
  <Gather callback="https://ivr.example.com/cb" method="post"/>
  <callback>https://ivr.example.com/next</callback>
  <Dial>
    <Sip>desk@pbx.example.com:5060</Sip>
  </Dial>
</Response>
"""


def run_script(script: Path) -> str:
    """Run a generated script in a fresh interpreter; its stdout is the XML."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("name", ["ivr_menu", "voicemail", "call_forwarding"])
def test_the_converted_script_reproduces_each_example_exactly(
    name: str, tmp_path: Path, run_cli: RunCli
) -> None:
    source = EXAMPLES / f"{name}.xml"
    result = run_cli("convert", source, "--to", "python")
    assert result.code == 0, result.err
    script = tmp_path / f"{name}.py"
    script.write_text(result.out, "utf-8")
    assert run_script(script) == source.read_text("utf-8")


def test_legacy_forms_and_comments_survive_conversion(
    write: Write, tmp_path: Path, run_cli: RunCli
) -> None:
    source = write("legacy.xml", LEGACY)
    out = tmp_path / "legacy_flow.py"
    assert run_cli("convert", source, "-o", out).code == 0
    text = out.read_text("utf-8")
    assert 'LegacyCallback("https://ivr.example.com/next")' in text
    assert 'dtmf_length=1,\n        dtmf_stop="#",' in text
    assert run_script(out) == LEGACY


def test_the_converted_script_is_a_builder_script_callflow_can_validate(
    write: Write, tmp_path: Path, run_cli: RunCli
) -> None:
    out = tmp_path / "menu_flow.py"
    run_cli("convert", EXAMPLES / "ivr_menu.xml", "-o", out)
    result = run_cli("validate", out)
    assert (result.code, result.out) == (0, "")


def test_an_existing_output_file_is_kept_without_force(write: Write, run_cli: RunCli) -> None:
    mine = write("mine.py", "# my own work\n")
    result = run_cli("convert", EXAMPLES / "voicemail.xml", "-o", mine)
    assert result.code == 2
    assert "exists; pass --force" in result.err
    assert mine.read_text("utf-8") == "# my own work\n"


def test_force_overwrites_the_output_file(write: Write, run_cli: RunCli) -> None:
    mine = write("mine.py", "# old\n")
    result = run_cli("convert", EXAMPLES / "voicemail.xml", "-o", mine, "--force")
    assert result.code == 0
    assert "from callflow.dsl import" in mine.read_text("utf-8")


def test_the_input_is_never_overwritten_even_with_force(write: Write, run_cli: RunCli) -> None:
    source = write("flow.xml", LEGACY)
    result = run_cli("convert", source, "-o", source, "--force")
    assert result.code == 2
    assert source.read_text("utf-8") == LEGACY


def test_an_invalid_document_is_not_converted(write: Write, run_cli: RunCli) -> None:
    source = write("bad.xml", '<Response>\n  <Gather numDigts="1"/>\n</Response>\n')
    result = run_cli("convert", source)
    assert (result.code, result.out) == (1, "")
    assert f"{source}:2:11: CF203" in result.err


def test_allow_unknown_converts_through_the_escape_hatch(
    write: Write, tmp_path: Path, run_cli: RunCli
) -> None:
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Response><Say speed="fast">Hi</Say><Transfer to="+1555"/></Response>'
    )
    source = write("new.xml", xml)
    out = tmp_path / "new_flow.py"
    assert run_cli("convert", source, "--allow-unknown", "-o", out).code == 0
    text = out.read_text("utf-8")
    assert 'unchecked_attributes={"speed": "fast"}' in text
    assert 'UncheckedElement("Transfer", attributes={"to": "+1555"})' in text
    assert run_script(out) == (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Response>\n'
        '  <Say speed="fast">Hi</Say>\n  <Transfer to="+1555"/>\n</Response>\n'
    )


def test_malformed_xml_is_reported(write: Write, run_cli: RunCli) -> None:
    result = run_cli("convert", write("broken.xml", "<Response><Say></Response>"))
    assert result.code == 1 and "CF101" in result.err


def test_long_text_is_split_across_lines_of_the_script(
    write: Write, tmp_path: Path, run_cli: RunCli
) -> None:
    words = " ".join(["word"] * 60)
    xml = f'<?xml version="1.0" encoding="UTF-8"?>\n<Response>\n  <Say>{words}</Say>\n</Response>\n'
    out = tmp_path / "long_flow.py"
    run_cli("convert", write("long.xml", xml), "-o", out)
    assert max(len(line) for line in out.read_text("utf-8").splitlines()) <= 100
    assert run_script(out) == xml
