"""Snapshots (canonical XML, transcript text, syrupy) and the pytest plugin's scenario items."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from callflow.document import Document
from callflow.simulate import Caller, simulate
from callflow.snapshots import canonical_xml, stable_file, transcript_text

FLOW = """\
<Response>
  <Say lang="en-GB" gender="MALE">Hello   there.</Say>
  <Hangup tag="bye"/>
</Response>
"""

SAME_FLOW_REFORMATTED = (
    '<Response><!-- a comment --><Say  gender="MALE"\n lang="en-GB">\n  Hello there.\n</Say>'
    '<Hangup tag="bye"></Hangup></Response>'
)


def test_canonical_xml_ignores_attribute_order_whitespace_and_comments() -> None:
    assert canonical_xml(FLOW) == canonical_xml(SAME_FLOW_REFORMATTED)
    assert canonical_xml(FLOW) == (
        '<Response>\n  <Say gender="MALE" lang="en-GB">Hello there.</Say>\n'
        '  <Hangup tag="bye"/>\n</Response>\n'
    )


def test_canonical_xml_sees_a_changed_word_or_value() -> None:
    assert canonical_xml(FLOW) != canonical_xml(FLOW.replace("there", "again"))
    assert canonical_xml(FLOW) != canonical_xml(FLOW.replace('"bye"', '"done"'))


@given(st.permutations(["a", "b", "c", "d"]))
def test_canonical_xml_is_the_same_for_every_attribute_order(order: list[str]) -> None:
    attributes = " ".join(f'{name}="{name.upper()}"' for name in order)
    assert canonical_xml(f"<Response><Say {attributes}>x</Say></Response>") == canonical_xml(
        '<Response><Say a="A" b="B" c="C" d="D">x</Say></Response>'
    )


def test_transcript_text_is_stable_and_relative(tmp_path: Path) -> None:
    (tmp_path / "flow.xml").write_text(FLOW)
    from callflow.sources import load_flow

    transcript = simulate(load_flow(tmp_path / "flow.xml"), Caller())
    text = transcript_text(transcript, base=tmp_path)
    assert text == transcript_text(simulate(load_flow(tmp_path / "flow.xml")), base=tmp_path)
    assert text.splitlines()[0] == "ended by hangup after 800 ms, 2 steps"
    assert "say          'Hello there.' [en-GB, MALE, Standard]  @ flow.xml:2" in text
    assert str(tmp_path) not in text


def test_library_templates_are_named_callflow_in_snapshots() -> None:
    from callflow.templating import library_path

    assert stable_file(str(library_path() / "ivr_menu.xml.j2"), "/") == "callflow/ivr_menu.xml.j2"


# Plugins these runs do not need, left out to keep each run short.
UNNEEDED = ("cacheprovider", "asyncio", "pytest_lsp", "hypothesispytest", "anyio")


def pytest_in(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A separate pytest run in ``folder`` (callflow's plugin loads from its entry point)."""
    unneeded = [arg for name in UNNEEDED for arg in ("-p", f"no:{name}")]
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *unneeded, *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_pytest_collects_scenario_calls_reports_failures_and_coverage(tmp_path: Path) -> None:
    (tmp_path / "flow.xml").write_text(FLOW)
    (tmp_path / "flow.calls.toml").write_text(
        'flow = "flow.xml"\n\n[[call]]\nname = "greets"\nexpect.heard = ["Hello"]\n\n'
        '[[call]]\nname = "wrong"\nexpect.heard = ["Goodbye"]\n'
    )
    (tmp_path / "menu.xml").write_text(
        '<Response><Gather><Switch><Case dtmf="1"><Say>One.</Say></Case>'
        "</Switch></Gather></Response>"
    )
    (tmp_path / "test_menu.py").write_text(
        "from callflow.simulate import Caller, simulate\n\n"
        "def test_one():\n    simulate('menu.xml', Caller(presses=['1']))\n"
    )
    # Two xdist workers: each one's coverage reaches the report.
    run = pytest_in(
        tmp_path, "-rA", "-n", "2", "--callflow-coverage", "--callflow-fail-under", "90"
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "PASSED flow.calls.toml::greets" in run.stdout
    assert "FAILED flow.calls.toml::wrong" in run.stdout
    assert "flow.calls.toml:9:17: CF955 call 'wrong': expected to hear 'Goodbye'" in run.stdout
    assert f"@ {tmp_path / 'flow.xml'}:2:4" in run.stdout
    # Plain tests calling simulate() count too.
    assert "callflow branch coverage" in run.stdout
    assert "menu.xml:1: <Gather>: the caller presses nothing" in run.stdout
    assert "FAIL: flow branch coverage 25.0% is under 90%" in run.stdout


def test_a_bad_scenario_file_is_a_collection_error_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "bad.calls.toml").write_text('flow = "flow.xml"\n[[call]]\nnam = "x"\n')
    run = pytest_in(tmp_path)
    assert run.returncode == 2, run.stdout
    assert "bad.calls.toml:3:1: CF952 unknown key 'nam' in call" in run.stdout
    assert "did you mean `name`?" in run.stdout
    assert "Traceback" not in run.stdout


def test_snapshot_update_round_trip_for_tests_and_scenario_files(tmp_path: Path) -> None:
    (tmp_path / "flow.xml").write_text(FLOW)
    (tmp_path / "test_snap.py").write_text(
        "from callflow.simulate import simulate\n"
        "from callflow.sources import load_flow\n\n"
        "def test_flow(callflow_snapshot):\n"
        "    assert load_flow('flow.xml') == callflow_snapshot\n\n"
        "def test_call(callflow_snapshot):\n"
        "    assert simulate(load_flow('flow.xml')) == callflow_snapshot\n"
    )
    (tmp_path / "flow.calls.toml").write_text(
        'flow = "flow.xml"\n[[call]]\nname = "greets"\nsnapshot = true\n'
    )
    assert "3 failed" in pytest_in(tmp_path).stdout  # no snapshots yet
    created = pytest_in(tmp_path, "--snapshot-update")
    assert created.returncode == 0, created.stdout
    stored = (tmp_path / "__snapshots__" / "test_snap.ambr").read_text()
    assert '<Say gender="MALE" lang="en-GB">Hello there.</Say>' in stored
    assert "say          'Hello there.'" in stored
    assert (tmp_path / "__call_snapshots__" / "flow" / "greets.txt").is_file()
    assert pytest_in(tmp_path).returncode == 0
    (tmp_path / "flow.xml").write_text(FLOW.replace("there", "again"))
    assert "3 failed" in pytest_in(tmp_path).stdout
    assert pytest_in(tmp_path, "--snapshot-update").returncode == 0
    assert "Hello again." in (tmp_path / "__call_snapshots__" / "flow" / "greets.txt").read_text()


def test_a_document_snapshot_is_a_string_of_canonical_xml() -> None:
    from callflow.snapshots import CallflowSnapshotExtension

    extension = CallflowSnapshotExtension()
    one = extension.serialize(Document.from_text(FLOW))
    other = extension.serialize(Document.from_text(SAME_FLOW_REFORMATTED))
    assert one == other and "Hello there." in one
