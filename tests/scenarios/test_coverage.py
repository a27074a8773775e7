"""Branch coverage of flows: the branches read from a Document, the ones calls took."""

from __future__ import annotations

import json
from pathlib import Path

from lxml import etree

from callflow.coverage import CoverageData, flow_branches, record_coverage
from callflow.document import Document
from callflow.resources import resource_path
from callflow.scenarios import ScenarioRunner, find_scenario_files, read_scenario_file
from callflow.simulate import Caller, CallInfo, simulate

FLOW = """\
<Response>
  <Call field="from" value="+15550001234">
    <Say>Welcome back.</Say>
  </Call>
  <Gather numDigits="1" attempts="2">
    <Say>Press 1.</Say>
    <Switch>
      <Case dtmf="1">
        <Dial><To>+15550100001</To></Dial>
      </Case>
      <Case dtmf="2">
        <Callback url="https://app.example.com/next" method="POST">
          <Error><Say>Sorry.</Say></Error>
        </Callback>
      </Case>
      <Default><Say>Again.</Say></Default>
      <Error><Say>Bye.</Say></Error>
    </Switch>
  </Gather>
  <Play>https://media.example.com/x.mp3</Play>
  <Error><Say>Something failed.</Say></Error>
</Response>
"""


def document() -> Document:
    return Document.from_text(FLOW, "flow.xml")


def outcomes(data: CoverageData) -> dict[tuple[int, str], int]:
    return {(b.line, b.outcome): b.hits for b in data.branches.values()}


def test_the_branches_of_a_flow_are_read_from_its_document() -> None:
    found = {(b.line, b.outcome) for b in flow_branches(document())}
    assert found == {
        (2, "true"),
        (2, "false"),
        (8, "taken"),  # Case 1
        (11, "taken"),  # Case 2
        (16, "taken"),  # Default
        (5, "silence"),
        (5, "wrong-keys"),
        (17, "exhausted"),  # the Switch's Error
        (9, "connected"),
        (9, "not-connected"),
        (12, "ok"),
        (13, "failed"),  # the Callback's Error
        (21, "taken"),  # the Response's Error
    }


def test_taken_branches_are_counted_from_the_transcript() -> None:
    flow = document()
    with record_coverage() as data:
        simulate(flow, Caller(presses=["1"]))
    hits = outcomes(data)
    assert hits[(2, "true")] == 1 and hits[(2, "false")] == 0
    assert hits[(8, "taken")] == 1 and hits[(11, "taken")] == 0
    assert hits[(9, "connected")] == 1 and hits[(9, "not-connected")] == 0


def test_each_outcome_of_each_construct_can_be_taken() -> None:
    flow = document()
    reply = {"https://app.example.com/next": "<Response><Say>Next.</Say></Response>"}
    with record_coverage() as data:
        simulate(flow, Caller(presses=["1"], dial_default="busy"), call=CallInfo("+1999"))
        simulate(flow, Caller(presses=["1"]))
        simulate(flow, Caller(presses=["2"]), app=reply)
        simulate(
            flow,
            Caller(presses=["7", ""], failing_media=["https://media.example.com/x.mp3"]),
            app={},
        )
        simulate(flow, Caller(presses=["2"]), app={})
    missing = [(b.line, b.outcome) for b in data.branches.values() if not b.hits]
    assert missing == []
    assert data.percent == 100.0


def test_documents_fetched_from_urls_are_left_out() -> None:
    reply = {"https://app.example.com/next": FLOW}  # the same xpaths, a different file
    with record_coverage() as data:
        simulate(document(), Caller(presses=["2", "1"]), app=reply)
    files = {b.file for b in data.branches.values()}
    assert files == {"flow.xml"}
    assert outcomes(data)[(8, "taken")] == 0  # only the fetched document's Case 1 ran


def test_a_template_loop_is_one_branch_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "menu.xml.j2").write_text(
        "<Response>\n  <Gather>\n    <Switch>\n"
        '{% for key in keys %}\n      <Case dtmf="{{ key }}"><Say>{{ key }}</Say></Case>\n'
        "{% endfor %}\n    </Switch>\n  </Gather>\n</Response>\n"
    )
    from callflow.sources import load_flow

    flow = load_flow(tmp_path / "menu.xml.j2", context={"keys": ["1", "2", "3"]})
    cases = [b for b in flow_branches(flow) if b.outcome == "taken"]
    assert [(Path(b.file).name, b.line) for b in cases] == [("menu.xml.j2", 5)]


def test_the_text_report_lists_branches_never_taken_with_lines() -> None:
    with record_coverage() as data:
        simulate(document(), Caller(presses=["1"]))
    report = data.report_text()
    assert "flow.xml" in report
    assert 'flow.xml:11: <Case dtmf="2">: chosen' in report
    assert 'flow.xml:2: <Call field="from" value="+15550001234">: condition false' in report
    taken, total = data.taken, data.total
    assert f"{total:>8}  {taken:>5}" in report


def test_json_and_cobertura_reports(tmp_path: Path) -> None:
    with record_coverage() as data:
        simulate(document(), Caller(presses=["1"]))
    data.write_report(f"json:{tmp_path / 'c.json'}")
    data.write_report(f"cobertura:{tmp_path / 'c.xml'}")
    report = json.loads((tmp_path / "c.json").read_text())
    assert report["totals"] == {"branches": 13, "taken": data.taken, "percent": data.percent}
    missing = report["files"]["flow.xml"]["missing"]
    assert any(m["line"] == 11 and m["outcome"] == "taken" for m in missing)
    root = etree.parse(str(tmp_path / "c.xml")).getroot()
    assert root.tag == "coverage"
    assert root.get("branches-valid") == "13"
    assert root.get("branches-covered") == str(data.taken)
    line = root.find(".//class[@filename='flow.xml']/lines/line[@number='2']")
    assert line is not None and line.get("condition-coverage") == "50% (1/2)"


def test_the_template_library_reaches_full_coverage_with_its_scenarios() -> None:
    folder = resource_path("templates") / "tests"
    files = find_scenario_files([folder])
    assert len(files) >= 8 and all(problem is None for _, problem in files)
    with record_coverage() as data:
        for path, _ in files:
            results = ScenarioRunner(read_scenario_file(path)).run_all()
            failed = [r.report() for r in results if not r.passed]
            assert not failed, failed[0]
    covered = {f.file for f in data.files()}
    assert {
        "callflow/actions.xml.j2",
        "callflow/ivr_menu.xml.j2",
        "callflow/dynamic_menu.xml.j2",
        "callflow/survey.xml.j2",
    } <= covered
    assert data.report_text().splitlines()[-1].endswith("100.0%"), data.report_text()
    assert data.percent == 100.0


def test_every_library_template_has_a_scenario_file() -> None:
    from callflow.templating import library_templates

    folder = resource_path("templates") / "tests"
    named = {path.name.removesuffix(".calls.toml") for path, _ in find_scenario_files([folder])}
    assert {t.path.name.removesuffix(".xml.j2") for t in library_templates()} <= named


def test_the_library_listing_holds_only_templates() -> None:
    from callflow.templating import library_templates

    names = [t.name for t in library_templates()]
    assert names and all(n.startswith("callflow/") and n.endswith(".xml.j2") for n in names)
    assert not any("tests" in n or "calls.toml" in n for n in names)


def test_coverage_is_linear_in_the_number_of_branches() -> None:
    import cProfile
    import pstats

    # Counted in function calls rather than seconds: the count does not depend on the load.
    def cost(options: int) -> int:
        cases = "".join(f'<Case dtmf="{i}"><Say>{i}</Say></Case>' for i in range(options))
        flow = Document.from_text(
            f'<Response><Gather numDigits="4"><Switch>{cases}</Switch></Gather></Response>'
        )
        transcript = simulate(flow, Caller(presses=["0"]))
        flow.locate(flow.root)  # the document's own position table, built once
        profile = cProfile.Profile()
        profile.enable()
        data = CoverageData()
        data.add_document(flow)
        for _ in range(20):
            data.add_transcript(transcript)
        data.report_text()
        profile.disable()
        calls: int = pstats.Stats(profile).total_calls  # type: ignore[attr-defined]
        return calls

    small, large = cost(500), cost(5000)
    # Ten times the branches: ten times the work (quadratic would be a hundred).
    assert large < small * 11
