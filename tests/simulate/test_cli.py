"""`callflow simulate`: the transcript as text or JSON, and clear usage errors."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.conftest import CliResult

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
IVR = EXAMPLES / "ivr_menu.xml"
APP = f"{EXAMPLES / 'ivr_app.py'}:app"

Run = Callable[..., CliResult]


def test_text_transcript_of_the_example_ivr_with_its_app(run_cli: Run) -> None:
    result = run_cli("simulate", IVR, "--press", "2", "--press", "4", "--app", APP)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert "Your balance is 42 dollars" in lines[-3]
    assert "balance-told" in lines[-2]
    assert "ivr_menu.xml:5" in lines[3] and "case '2'" in lines[3]
    assert "call ended by hangup" in result.err


def test_json_is_an_array_of_events_with_data_file_and_line(run_cli: Run) -> None:
    result = run_cli("simulate", IVR, "--press", "1", "--format", "json")
    events = json.loads(result.out)
    assert result.code == 0
    assert [e["event"] for e in events][:4] == ["answer", "say", "say", "gather"]
    gather = events[3]
    assert (gather["digits"], gather["match"], gather["line"]) == ("1", "1", 5)
    dial = next(e for e in events if e["event"] == "dial")
    assert dial["target"] == "+15550100001"
    assert all(e["file"].endswith("ivr_menu.xml") and e["line"] >= 1 for e in events)


def test_dial_outcomes_and_from_number(run_cli: Run, write: Callable[[str, str], Path]) -> None:
    path = write(
        "vip.xml",
        '<Response><Call field="from" value="+15557770000"><Say>Hello VIP.</Say></Call>'
        "<Dial><To>+15550100001</To><Error><Say>Busy.</Say></Error></Dial></Response>",
    )
    result = run_cli(
        "simulate",
        path,
        "--from",
        "+15557770000",
        "--dial",
        "+15550100001=busy",
        "--format",
        "json",
    )
    texts = [e["text"] for e in json.loads(result.out) if e["event"] == "say"]
    assert texts == ["Hello VIP.", "Busy."]


def test_offline_fetch_failure_is_shown_with_its_source_line(run_cli: Run) -> None:
    result = run_cli("simulate", IVR, "--press", "2", "--offline")
    assert result.code == 0  # handled by the Callback's <Error>: a warning
    assert "Sorry, support is unavailable" in result.out
    assert "ivr_menu.xml:20:10: CF901 warning" in result.err
    assert '<Callback url="https://ivr.example.com/support/menu"' in result.err


def test_unhandled_failure_exits_1(run_cli: Run, write: Callable[[str, str], Path]) -> None:
    path = write("cb.xml", "<Response><callback>https://x.example/a</callback></Response>")
    result = run_cli("simulate", path, "--offline")
    assert result.code == 1
    assert "CF901" in result.err


def test_bad_digits_are_a_usage_error(run_cli: Run) -> None:
    result = run_cli("simulate", IVR, "--press", "12a")
    assert result.code == 2
    assert "'a' is not a phone key" in result.err
    assert "Traceback" not in result.err


def test_bad_app_is_a_usage_error(run_cli: Run) -> None:
    for spec, message in [
        ("no_colon", "expected MODULE:APP"),
        ("no_such_module_xyz:app", "No module named"),
        (f"{EXAMPLES / 'ivr_app.py'}:nothing", "has no attribute 'nothing'"),
        ("missing/file.py:app", "no such file"),
    ]:
        result = run_cli("simulate", IVR, "--app", spec)
        assert result.code == 2, spec
        assert message in result.err, (spec, result.err)


def test_app_of_unknown_kind_is_a_usage_error(run_cli: Run) -> None:
    result = run_cli("simulate", IVR, "--app", "operator:setitem")
    assert result.code == 2
    assert "cannot tell what kind of app" in result.err


def test_bad_dial_outcome_is_a_usage_error(run_cli: Run) -> None:
    result = run_cli("simulate", IVR, "--dial", "+1=later")
    assert result.code == 2
    assert "unknown dial outcome 'later'" in result.err


def test_unreadable_source_exits_1_with_located_diagnostics(
    run_cli: Run, write: Callable[[str, str], Path]
) -> None:
    path = write("broken.xml", "<Response>\n<Say>")
    result = run_cli("simulate", path)
    assert result.code == 1
    assert "broken.xml:" in result.err and "CF101" in result.err


def test_runs_as_a_real_process() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "callflow", "simulate", str(EXAMPLES / "voicemail.xml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "voicemail-done" in completed.stdout


def test_caller_hangup_step_and_failing_media(run_cli: Run) -> None:
    voicemail = EXAMPLES / "voicemail.xml"
    beep = "https://media.example.com/tones/beep.wav"
    result = run_cli("simulate", voicemail, "--fail-media", beep, "--format", "json")
    play = next(e for e in json.loads(result.out) if e["event"] == "play")
    assert (play["url"], play["failed"]) == (beep, True)
    assert result.code == 1  # no <Error> handles the failed media
    assert "CF908" in result.err

    result = run_cli("simulate", voicemail, "--hang-up-at-step", "3", "--format", "json")
    events = json.loads(result.out)
    assert [e["event"] for e in events] == ["say", "play", "hangup", "end"]
    assert events[2]["by"] == "caller"


def test_to_number_selects_a_call_block(run_cli: Run, write: Callable[[str, str], Path]) -> None:
    path = write(
        "line.xml",
        '<Response><Call field="to" value="+15550009999"><Say>Sales.</Say></Call></Response>',
    )
    assert "Sales." in run_cli("simulate", path, "--to", "+15550009999").out
    assert "Sales." not in run_cli("simulate", path).out
