"""Scenario files: expectations that fail at their line, bad files that are clear errors."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from callflow.errors import ScenarioError
from callflow.scenarios import CallResult, ScenarioRunner, read_scenario_file

MENU = """\
<Response>
  <Gather numDigits="1" attempts="2" timeout="3000">
    <Say>For sales, press 1. For support, press 2.</Say>
    <Switch>
      <Case dtmf="1">
        <Say>Connecting you to sales.</Say>
        <Dial><To>+15550100001</To><Error><Say>Sales is busy.</Say></Error></Dial>
      </Case>
      <Case dtmf="2">
        <Callback url="https://app.example.com/support" method="POST" tag="support">
          <Error><Say>Support is unavailable.</Say><Hangup tag="support-down"/></Error>
        </Callback>
      </Case>
      <Default><Say>Sorry.</Say></Default>
    </Switch>
  </Gather>
  <Say>Goodbye.</Say>
  <Hangup tag="bye"/>
</Response>
"""

SUPPORT_REPLY = "<Response><Say>Support here.</Say></Response>"


@pytest.fixture
def scenario(tmp_path: Path) -> Callable[[str], Path]:
    """Write menu.xml and a scenario file with the given body; return the file's path."""
    (tmp_path / "menu.xml").write_text(MENU, encoding="utf-8")

    def write(body: str, name: str = "menu.calls.toml") -> Path:
        path = tmp_path / name
        path.write_text(body, encoding="utf-8")
        return path

    return write


def run_one(path: Path) -> CallResult:
    results = ScenarioRunner(read_scenario_file(path)).run_all()
    assert len(results) == 1
    return results[0]


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), start=1) if text in line)


HEAD = f'''flow = "menu.xml"
[replies]
"https://app.example.com/support" = "{SUPPORT_REPLY}"
'''


# ------------------------------------------------------------------ passing calls


def test_a_call_meeting_every_expectation_passes(scenario: Callable[[str], Path]) -> None:
    path = scenario(
        HEAD
        + """
[[call]]
name = "support"
press = ["2"]
[call.expect]
heard = ["For sales", "Support here."]
not_heard = ["Sorry."]
dialled = []
requested = [
  { url = "https://app.example.com/support", method = "POST", params = { tag = "support" } },
]
ended = "document-end"
"""
    )
    result = run_one(path)
    assert result.passed, result.report()


# ------------------------------------------------------------------ failing expectations


@pytest.mark.parametrize(
    ("expect", "failing_line", "message"),
    [
        ('heard = ["For sales", "Welcome"]', 'heard = ["For sales", "Welcome"]', "'Welcome'"),
        ('heard = ["Connecting", "For sales"]', "heard = ", "was said only before"),
        ('not_heard = ["Goodbye"]', "not_heard", "expected not to hear 'Goodbye'"),
        ('dialled = ["+15550100009"]', "dialled", "expected to dial '+15550100009'"),
        (
            'requested = ["https://app.example.com/other"]',
            "requested",
            "only 0 request(s) were made",
        ),
        ('ended = "caller"', "ended", "to end by caller, but it ended by flow"),
        (
            'ended = { by = "flow", tag = "sales-done" }',
            "ended",
            "expected the hangup tag 'sales-done', but it was 'bye'",
        ),
    ],
)
def test_each_kind_of_failed_expectation_reports_at_its_line(
    scenario: Callable[[str], Path], expect: str, failing_line: str, message: str
) -> None:
    path = scenario(f'{HEAD}\n[[call]]\nname = "sales"\npress = ["1"]\n[call.expect]\n{expect}\n')
    result = run_one(path)
    assert not result.passed
    failure = result.failures[0]
    assert failure.location.file == str(path)
    assert failure.location.line == line_of(path, failing_line)
    assert message in failure.message
    report = result.report()
    assert f"{path}:{failure.location.line}:" in report


def test_a_wrong_request_names_what_was_sent(scenario: Callable[[str], Path]) -> None:
    path = scenario(
        HEAD
        + """
[[call]]
name = "support"
press = ["2"]
expect.requested = [{ url = "https://app.example.com/support", params = { tag = "sales" } }]
"""
    )
    result = run_one(path)
    assert (
        "but it was POST https://app.example.com/support?tag=support" in result.failures[0].message
    )
    assert result.failures[0].location.line == line_of(path, "expect.requested")


def test_an_unexpected_extra_request_fails(scenario: Callable[[str], Path]) -> None:
    path = scenario(HEAD + '\n[[call]]\nname = "s"\npress = ["2"]\nexpect.requested = []\n')
    assert "unexpected request(s): POST https://app.example.com/support" in (
        run_one(path).failures[0].message
    )


def test_the_report_shows_the_transcript_with_flow_lines(scenario: Callable[[str], Path]) -> None:
    path = scenario(HEAD + '\n[[call]]\nname = "s"\npress = ["1"]\nexpect.heard = ["nope"]\n')
    report = run_one(path).report()
    flow = str(path.parent / "menu.xml")
    assert f"say          'Connecting you to sales.' [en-US, FEMALE, Standard]  @ {flow}:6:10" in (
        report
    )
    assert "dial         +15550100001: answered" in report
    assert f"@ {flow}:7:10" in report


def test_template_lines_are_shown_for_a_library_flow(tmp_path: Path) -> None:
    path = tmp_path / "menu.calls.toml"
    path.write_text(
        'flow = "callflow/voicemail.xml.j2"\nsample = "plain"\n'
        '[[call]]\nname = "x"\nexpect.heard = ["not said"]\n'
    )
    report = run_one(path).report()
    assert "actions.xml.j2:52:2 (called from " in report
    assert "voicemail.xml.j2" in report


def test_a_scenario_flow_may_be_a_builder_script(tmp_path: Path) -> None:
    (tmp_path / "flow.py").write_text(
        "from callflow.dsl import Response, Say\nflow = Response(Say('Built in Python.'))\n"
    )
    path = tmp_path / "built.calls.toml"
    path.write_text('flow = "flow.py"\n[[call]]\nname = "x"\nexpect.heard = ["Nope"]\n')
    result = run_one(path)
    assert not result.passed
    assert f"{tmp_path / 'flow.py'}:2" in result.report()


def test_an_in_process_app_answers_the_callbacks(
    scenario: Callable[[str], Path], tmp_path: Path
) -> None:
    (tmp_path / "webapp.py").write_text(
        "def app(request):\n"
        "    return '<Response><Say>From the app, tag ' + request.url.params['tag'] + '</Say>"
        "</Response>'\n"
    )
    path = scenario(
        'flow = "menu.xml"\napp = "webapp.py:app"\n'
        '[[call]]\nname = "s"\npress = ["2"]\nexpect.heard = ["From the app, tag support"]\n'
    )
    assert run_one(path).passed


WSGI_APP = """\
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/xml")])
    query = environ.get("QUERY_STRING", "")
    return [f"<Response><Say>WSGI {environ['REQUEST_METHOD']} {query}</Say></Response>".encode()]
"""

ASGI_APP = """\
async def app(scope, receive, send):
    await receive()
    query = scope["query_string"].decode()
    body = f"<Response><Say>ASGI {scope['method']} {query}</Say></Response>"
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/xml")]})
    await send({"type": "http.response.body", "body": body.encode()})
"""


@pytest.mark.parametrize(("source", "said"), [(WSGI_APP, "WSGI"), (ASGI_APP, "ASGI")])
def test_wsgi_and_asgi_apps_answer_in_process(
    scenario: Callable[[str], Path], tmp_path: Path, source: str, said: str
) -> None:
    (tmp_path / "webapp.py").write_text(source)
    path = scenario(
        'flow = "menu.xml"\napp = "webapp.py:app"\n[[call]]\nname = "s"\npress = ["2"]\n'
        f'expect.heard = ["{said} POST tag=support"]\n'
        "expect.requested = [\n"
        '  { url = "https://app.example.com/support", params = { tag = "support" } },\n]\n'
    )
    result = run_one(path)
    assert result.passed, result.report()


# ------------------------------------------------------------------ bad files


def problem(path: Path) -> ScenarioError:
    with pytest.raises(ScenarioError) as caught:
        ScenarioRunner(read_scenario_file(path)).run_all()
    return caught.value


def test_a_toml_error_is_reported_at_its_line(scenario: Callable[[str], Path]) -> None:
    error = problem(scenario('flow = "menu.xml"\n\n[[call]]\nname = "unclosed\n'))
    first = error.diagnostics[0]
    assert (first.code, first.location.line) == ("CF951", 4)
    assert "not valid TOML" in first.message


def test_an_unknown_key_gets_a_did_you_mean(scenario: Callable[[str], Path]) -> None:
    path = scenario('flow = "menu.xml"\n[[call]]\nname = "a"\n[call.expect]\nhaerd = ["x"]\n')
    first = problem(path).diagnostics[0]
    assert (first.code, first.location.line, first.location.column) == ("CF952", 5, 1)
    assert first.hint == "did you mean `heard`?"


def test_a_value_of_the_wrong_type_is_named(scenario: Callable[[str], Path]) -> None:
    first = problem(scenario('flow = "menu.xml"\n[[call]]\nname = "a"\npress = "1"\n'))
    assert (first := first.diagnostics[0]).location.line == 4
    assert first.message == "press must be a list, not a string"


def test_a_bad_caller_choice_is_named(scenario: Callable[[str], Path]) -> None:
    error = problem(scenario('flow = "menu.xml"\n[[call]]\nname = "a"\ndial_default = "maybe"\n'))
    assert "unknown dial outcome 'maybe'" in error.diagnostics[0].message


def test_a_bad_key_press_points_at_the_press_line(scenario: Callable[[str], Path]) -> None:
    error = problem(scenario('flow = "menu.xml"\n[[call]]\nname = "a"\n\npress = ["1", "x"]\n'))
    first = error.diagnostics[0]
    assert first.location.line == 5 and "'x' is not a phone key" in first.message


def test_a_template_with_several_samples_asks_for_one(tmp_path: Path) -> None:
    path = tmp_path / "t.calls.toml"
    path.write_text('flow = "callflow/voicemail.xml.j2"\n[[call]]\nname = "a"\n')
    first = problem(path).diagnostics[0]
    assert first.location.line == 1 and "gives 2 documents" in first.message
    assert first.hint is not None and 'sample = "NAME"' in first.hint


def test_an_unknown_ending_gets_a_did_you_mean(scenario: Callable[[str], Path]) -> None:
    error = problem(scenario('flow = "menu.xml"\n[[call]]\nname = "a"\nexpect.ended = "calller"\n'))
    assert error.diagnostics[0].hint == "did you mean `caller`?"
    assert error.diagnostics[0].location.line == 4


def test_a_missing_flow_is_reported_at_the_flow_key(scenario: Callable[[str], Path]) -> None:
    path = scenario('# comment\nflow = "nowhere.xml"\n[[call]]\nname = "a"\n')
    first = problem(path).diagnostics[0]
    assert (first.code, first.location.line) == ("CF954", 2)
    assert "does not load" in first.message and "no such file" in first.message


def test_an_unknown_library_template_is_reported_at_the_flow_key(tmp_path: Path) -> None:
    path = tmp_path / "t.calls.toml"
    path.write_text('\nflow = "callflow/no_such_menu.xml.j2"\n[[call]]\nname = "a"\n')
    first = problem(path).diagnostics[0]
    assert (first.code, first.location.line) == ("CF954", 2)
    assert "does not load" in first.message


def test_a_file_without_flow_or_calls_says_so(scenario: Callable[[str], Path]) -> None:
    messages = [d.message for d in problem(scenario("sample = 'x'\n")).diagnostics]
    assert "the scenario file names no flow" in messages
    assert "the scenario file has no [[call]] table" in messages


def test_two_calls_with_one_name_are_refused(scenario: Callable[[str], Path]) -> None:
    path = scenario('flow = "menu.xml"\n[[call]]\nname = "a"\n[[call]]\nname = "a"\n')
    first = problem(path).diagnostics[0]
    assert first.location.line == 5 and "two calls are named 'a'" in first.message


def test_a_broken_app_is_a_clear_error(scenario: Callable[[str], Path]) -> None:
    path = scenario('flow = "menu.xml"\napp = "no_such_module_here:app"\n[[call]]\nname = "a"\n')
    first = problem(path).diagnostics[0]
    assert first.location.line == 2
    assert "importing no_such_module_here failed: ModuleNotFoundError" in first.message


# ------------------------------------------------------------------ hostile files


def test_a_huge_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.calls.toml"
    path.write_bytes(b"# " + b"x" * 2_000_000 + b"\n")
    with pytest.raises(ScenarioError, match="over 1,000,000 bytes"):
        read_scenario_file(path)


def test_deep_nesting_is_refused_without_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "deep.calls.toml"
    path.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ScenarioError) as caught:
        read_scenario_file(path)
    assert caught.value.diagnostics[0].code in ("CF951", "CF953")


def test_a_surrogate_escape_is_a_toml_error(tmp_path: Path) -> None:
    path = tmp_path / "s.calls.toml"
    path.write_text('flow = "menu.xml"\n[[call]]\nname = "\\ud800"\n')
    with pytest.raises(ScenarioError) as caught:
        read_scenario_file(path)
    assert caught.value.diagnostics[0].location.line == 3


def test_bytes_that_are_not_utf8_name_their_line(tmp_path: Path) -> None:
    path = tmp_path / "b.calls.toml"
    path.write_bytes(b'flow = "menu.xml"\n[[call]]\nname = "\xed\xa0\x80"\n')
    with pytest.raises(ScenarioError, match="not UTF-8") as caught:
        read_scenario_file(path)
    assert caught.value.diagnostics[0].location.line == 3


def test_a_flow_path_leaving_the_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.xml").write_text(MENU)
    folder = tmp_path / "tests"
    folder.mkdir()
    path = folder / "up.calls.toml"
    path.write_text('flow = "../secret.xml"\n[[call]]\nname = "a"\n')
    first = problem(path).diagnostics[0]
    assert first.location.line == 1 and "outside the scenario file's folder" in first.message


def test_an_app_file_leaving_the_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "evil.py").write_text("raise SystemExit('must not run')\n")
    folder = tmp_path / "tests"
    folder.mkdir()
    (folder / "menu.xml").write_text(MENU)
    path = folder / "app.calls.toml"
    path.write_text('flow = "menu.xml"\napp = "../evil.py:app"\n[[call]]\nname = "a"\n')
    first = problem(path).diagnostics[0]
    assert first.location.line == 2 and "no file ../evil.py in this folder" in first.message


@pytest.mark.skipif(sys.platform == "win32", reason="symbolic links")
def test_a_symlinked_flow_pointing_out_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.xml").write_text(MENU)
    folder = tmp_path / "tests"
    folder.mkdir()
    (folder / "menu.xml").symlink_to(tmp_path / "secret.xml")
    path = folder / "link.calls.toml"
    path.write_text('flow = "menu.xml"\n[[call]]\nname = "a"\n')
    assert "outside the scenario file's folder" in problem(path).diagnostics[0].message


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs")
def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    path = tmp_path / "fifo.calls.toml"
    os.mkfifo(path)
    with pytest.raises(ScenarioError, match="not a regular file"):
        read_scenario_file(path)


def test_odd_call_names_stay_in_the_snapshot_folder(tmp_path: Path) -> None:
    from callflow.snapshots import scenario_snapshot_path

    where = scenario_snapshot_path(tmp_path / "a.calls.toml", "../../etc/passwd")
    assert where.parent == tmp_path / "__call_snapshots__" / "a"
    assert ".." not in where.name.split("_")


def test_names_and_contents_cannot_forge_output_lines(scenario: Callable[[str], Path]) -> None:
    path = scenario(
        'flow = "menu.xml"\n[[call]]\nname = "x\\nok      fake::call\\u001b[2J"\n'
        'expect.heard = ["nope\\nok"]\n'
        '[replies]\n"https://app.example.com/support" = "<Response/>"\n'
    )
    result = run_one(path)
    assert "\n" not in result.name and "\x1b" not in result.name
    assert result.name.endswith("::x\\nok      fake::call\\x1b[2J")
    report = result.report()
    assert "\x1b" not in report
    assert not any(line.startswith("ok      fake") for line in report.splitlines())
