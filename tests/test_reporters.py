"""The reporters: text (quoted line, caret, chain, hint, colour), JSON, GitHub workflow
commands and SARIF 2.1.0, each safe against hostile file names and messages.

tests/test_output_safety.py holds the escaping rules every format shares; this module holds
what each format is.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callflow.diagnostics import CODES, Diagnostic, Severity
from callflow.reporters import (
    FORMATS,
    FileLines,
    format_github,
    format_json,
    format_sarif,
    format_text,
    render,
    strip_color,
)
from callflow.sourcemap import SourceLocation

any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=30)


def make(
    file: str = "flows/menu.xml",
    message: str = "unknown attribute `numDigit`",
    *,
    code: str = "CF203",
    severity: Severity = Severity.ERROR,
    line: int = 2,
    column: int | None = 11,
    chain: tuple[str, ...] = (),
    hint: str | None = "did you mean `numDigits`?",
    xpath: str | None = "/Response/Gather[1]",
    snippet: str | None = '  <Gather numDigit="1"/>',
) -> Diagnostic:
    return Diagnostic(
        code,
        severity,
        message,
        SourceLocation(file, line, column, chain),
        xpath=xpath,
        hint=hint,
        snippet=snippet,
    )


hostile = st.builds(
    make,
    file=any_text,
    message=any_text,
    code=st.sampled_from(["CF203", "CF305", "CF901"]),
    severity=st.sampled_from(list(Severity)),
    line=st.integers(1, 10**6),
    column=st.none() | st.integers(1, 10**4),
    chain=st.lists(any_text, max_size=2).map(tuple),
    hint=st.none() | any_text,
    xpath=st.none() | any_text,
    snippet=st.none() | any_text,
)


# ------------------------------------------------------------------ text


def test_text_is_location_code_message_then_the_line_the_caret_the_chain_and_the_hint() -> None:
    found = make(chain=("called from flows/menu.py:30",))
    assert format_text([found]) == (
        "flows/menu.xml:2:11: CF203 unknown attribute `numDigit`\n"
        '      <Gather numDigit="1"/>\n'
        "              ^\n"
        "    called from flows/menu.py:30\n"
        "    hint: did you mean `numDigits`?\n"
    )


def test_a_warning_names_its_severity_and_an_error_does_not() -> None:
    warning = make(code="CF305", severity=Severity.WARNING, message="m", snippet="", hint=None)
    info = make(code="CF305", severity=Severity.INFO, message="m", snippet="", hint=None)
    assert format_text([warning, info]) == (
        "flows/menu.xml:2:11: CF305 warning: m\nflows/menu.xml:2:11: CF305 info: m\n"
    )


def test_without_a_column_the_line_is_quoted_without_a_caret() -> None:
    lines = format_text([make(column=None, hint=None)]).splitlines()
    assert lines == ["flows/menu.xml:2: CF203 unknown attribute `numDigit`", lines[1]]
    assert "^" not in lines[1]


def test_the_line_is_read_from_the_file_when_the_diagnostic_has_no_snippet() -> None:
    found = make(snippet=None, hint=None, file="flow.xml", line=2, column=3)
    source = FileLines({"flow.xml": "<Response>\n  <Sya/>\n</Response>\n"})
    assert format_text([found], source).splitlines()[1:] == ["      <Sya/>", "      ^"]
    assert format_text([found], lambda file, line: None).count("\n") == 1


def test_text_of_an_iterator_escapes_as_text_of_a_list() -> None:
    # The plain report is built, then built again escaped when a field needs it: an iterator
    # of diagnostics must give the same report as a list of them.
    found = [make(message="bad \x1b[2J", snippet=None, hint=None, column=None)]
    expected = format_text(found, lambda file, line: None, max_per_code=None, color=False)
    assert "\\x1b" in expected
    shown = format_text(iter(found), lambda file, line: None, max_per_code=None, color=False)
    assert shown == expected


def test_no_diagnostics_give_no_text() -> None:
    assert format_text([]) == ""
    assert format_github([]) == ""


def test_colour_marks_severity_caret_and_hint_and_strips_back_to_plain() -> None:
    found = [make(), make(code="CF305", severity=Severity.WARNING)]
    coloured = format_text(found, color=True)
    assert "\x1b[1;31mCF203\x1b[0m" in coloured
    assert "\x1b[1;33mCF305 warning:\x1b[0m" in coloured
    assert "\x1b[1;32m^\x1b[0m" in coloured and "\x1b[36mhint:\x1b[0m" in coloured
    assert strip_color(coloured) == format_text(found, color=False)


@settings(max_examples=100, deadline=None)
@given(hostile)
def test_colour_codes_are_the_only_escapes_and_strip_away(found: Diagnostic) -> None:
    coloured = format_text([found], color=True)
    assert strip_color(coloured) == format_text([found], color=False)
    assert "\x1b" not in strip_color(coloured)


@settings(max_examples=200, deadline=None)
@given(st.lists(hostile, max_size=4))
def test_plain_text_is_every_field_escaped_though_built_in_one_piece(
    found: list[Diagnostic],
) -> None:
    # Plain text is built unescaped and searched once (escaped field by field only when the
    # search finds something); coloured text is always escaped field by field.
    assert format_text(found, color=False) == strip_color(format_text(found, color=True))


def test_a_line_feed_alone_in_a_field_is_escaped_in_plain_text() -> None:
    text = format_text([make(message="one\ntwo", hint="so\nthere")], color=False)
    assert "CF203 one\\ntwo\n" in text and "hint: so\\nthere\n" in text
    assert text.count("\n") == 4


def test_two_reports_about_one_tag_quote_its_line_under_each() -> None:
    found = [make(), make(code="CF305", severity=Severity.WARNING, hint=None)]
    text = format_text(found, color=False)
    assert text.count('      <Gather numDigit="1"/>\n' + " " * 14 + "^\n") == 2


def test_repeats_past_the_limit_become_a_count_in_text_and_github_only() -> None:
    found = [make(line=n, snippet="", hint=None) for n in range(1, 6)]
    text = format_text(found, max_per_code=2)
    assert text.count(": CF203 ") == 3 and "… and 3 more CF203 in this file" in text
    assert format_text(found, max_per_code=None).count(": CF203 ") == 5
    assert format_github(found, max_per_code=2).count("\n") == 3
    assert len(json.loads(format_json(found))) == 5


# ------------------------------------------------------------------ json


def test_json_is_the_list_of_each_diagnostics_json_form() -> None:
    found = [make(), make(code="CF305", severity=Severity.WARNING, column=None)]
    assert json.loads(format_json(found)) == [d.to_dict() for d in found]


def test_json_keeps_non_ascii_text_as_utf8() -> None:
    output = format_json([make(message="caf\u00e9 \u2014 \u65e5\u672c")])
    assert "caf\u00e9 \u2014 \u65e5\u672c" in output
    assert json.loads(output.encode("utf-8"))[0]["message"] == "caf\u00e9 \u2014 \u65e5\u672c"


# ------------------------------------------------------------------ github


def parse_github(line: str) -> tuple[str, dict[str, str], str]:
    """A workflow command as the runner reads it: ``::command k=v,k=v::message``."""
    match = re.fullmatch(r"::(\w+) (.*?)::(.*)", line)
    assert match is not None, line

    def unescape(value: str, *, property_value: bool = False) -> str:
        if property_value:
            value = value.replace("%3A", ":").replace("%2C", ",")
        return value.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")

    properties = {}
    for item in match[2].split(","):
        key, _, value = item.partition("=")
        properties[key] = unescape(value, property_value=True)
    return match[1], properties, unescape(match[3])


def test_github_is_one_workflow_command_per_diagnostic() -> None:
    output = format_github([make(), make(severity=Severity.INFO, column=None, hint=None)])
    assert output.splitlines() == [
        "::error file=flows/menu.xml,line=2,col=11,title=CF203::unknown attribute `numDigit`"
        " (hint: did you mean `numDigits`?)",
        "::notice file=flows/menu.xml,line=2,title=CF203::unknown attribute `numDigit`",
    ]


def test_github_escapes_what_would_end_a_property_or_the_command() -> None:
    (line,) = format_github([make(file="a,b:c%.xml", message="50% done", hint=None)]).splitlines()
    assert line == "::error file=a%2Cb%3Ac%25.xml,line=2,col=11,title=CF203::50%25 done"


@settings(max_examples=200, deadline=None)
@given(hostile)
def test_github_properties_and_message_read_back_as_written(found: Diagnostic) -> None:
    from callflow._text import visible  # the one escaping every format shares

    (line,) = format_github([found]).splitlines()
    command, properties, message = parse_github(line)
    assert (
        command == {"error": "error", "warning": "warning", "info": "notice"}[found.severity.value]
    )
    expected = {"file": visible(found.location.file), "line": str(found.location.line)}
    if found.location.column is not None:
        expected["col"] = str(found.location.column)
    expected["title"] = found.code
    assert properties == expected
    hint = f" (hint: {found.hint})" if found.hint else ""
    assert message == visible(found.message + hint)


# ------------------------------------------------------------------ sarif

# The parts of SARIF 2.1.0 (sarif-schema-2.1.0.json) callflow writes: required properties,
# the properties each object may have, and the value rules.
URI_REFERENCE = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*")
ALLOWED = {
    "log": {"$schema", "version", "runs"},
    "run": {"tool", "results"},
    "tool": {"driver"},
    "driver": {"name", "version", "rules"},
    "rule": {"id", "name", "shortDescription"},
    "result": {"ruleId", "ruleIndex", "level", "message", "locations"},
    "location": {"physicalLocation", "logicalLocations"},
    "physical": {"artifactLocation", "region"},
    "region": {"startLine", "startColumn"},
}


def check_keys(kind: str, value: dict[str, Any], required: set[str]) -> None:
    assert required <= set(value) <= ALLOWED[kind], (kind, sorted(value))


def check_sarif(log: dict[str, Any]) -> None:
    check_keys("log", log, {"version", "runs"})
    assert log["version"] == "2.1.0"
    (run,) = log["runs"]
    check_keys("run", run, {"tool"})
    check_keys("tool", run["tool"], {"driver"})
    driver = run["tool"]["driver"]
    check_keys("driver", driver, {"name"})
    assert driver["name"] == "callflow" and isinstance(driver["version"], str)
    ids = [rule["id"] for rule in driver["rules"]]
    assert len(ids) == len(set(ids))
    for rule in driver["rules"]:
        check_keys("rule", rule, {"id"})
        assert set(rule["shortDescription"]) == {"text"} and rule["shortDescription"]["text"]
    for result in run["results"]:
        check_keys("result", result, {"message"})
        assert ids[result["ruleIndex"]] == result["ruleId"]
        assert result["level"] in {"none", "note", "warning", "error"}
        assert set(result["message"]) == {"text"} and isinstance(result["message"]["text"], str)
        for location in result["locations"]:
            check_keys("location", location, set())
            physical = location["physicalLocation"]
            check_keys("physical", physical, {"artifactLocation"})
            uri = physical["artifactLocation"]["uri"]
            assert URI_REFERENCE.fullmatch(uri), uri
            assert ":" not in uri.split("/")[0], uri  # else the first segment reads as a scheme
            region = physical["region"]
            check_keys("region", region, {"startLine"})
            assert all(isinstance(v, int) and v >= 1 for v in region.values())
            for logical in location.get("logicalLocations", []):
                assert set(logical) == {"fullyQualifiedName", "kind"}


def test_sarif_has_one_rule_per_code_seen_with_its_title() -> None:
    found = [make(code="CF305", severity=Severity.WARNING), make(), make(line=7)]
    log = json.loads(format_sarif(found, version="1.2.3"))
    check_sarif(log)
    driver = log["runs"][0]["tool"]["driver"]
    assert driver["version"] == "1.2.3"
    assert [(r["id"], r["shortDescription"]["text"]) for r in driver["rules"]] == [
        ("CF203", CODES["CF203"]),
        ("CF305", CODES.get("CF305", "CF305")),
    ]


def test_a_sarif_result_has_its_level_place_element_and_hint() -> None:
    found = [make(), make(severity=Severity.INFO, column=None, xpath=None, hint=None)]
    first, second = json.loads(format_sarif(found))["runs"][0]["results"]
    assert first["level"] == "error"
    assert first["message"]["text"] == (
        "unknown attribute `numDigit`\nhint: did you mean `numDigits`?"
    )
    (location,) = first["locations"]
    assert location["physicalLocation"] == {
        "artifactLocation": {"uri": "flows/menu.xml"},
        "region": {"startLine": 2, "startColumn": 11},
    }
    assert location["logicalLocations"] == [
        {"fullyQualifiedName": "/Response/Gather[1]", "kind": "element"}
    ]
    assert second["level"] == "note"
    assert second["locations"][0]["physicalLocation"]["region"] == {"startLine": 2}
    assert "logicalLocations" not in second["locations"][0]


def test_an_empty_run_is_still_a_sarif_log() -> None:
    log = json.loads(format_sarif([]))
    check_sarif(log)
    assert log["runs"][0]["results"] == []


@pytest.mark.parametrize(
    ("name", "uri"),
    [
        ("flows/my menu.xml", "flows/my%20menu.xml"),
        ("flows/a#b.xml", "flows/a%23b.xml"),
        ("flows/100%.xml", "flows/100%25.xml"),
        ("flows/what?.xml", "flows/what%3F.xml"),
        ("C:/flows/a.xml", "C%3A/flows/a.xml"),
        ("/srv/flows/caf\u00e9.xml", "/srv/flows/caf%C3%A9.xml"),
        ("flows/bad\udcff.xml", "flows/bad%FF.xml"),  # a byte kept by surrogateescape
        ("flows/\udfdf\udcff.xml", "flows/%ED%BF%9F%FF.xml"),  # and a lone surrogate beside it
    ],
)
def test_a_sarif_uri_is_the_file_name_percent_encoded(name: str, uri: str) -> None:
    log = json.loads(format_sarif([make(file=name)]))
    check_sarif(log)
    physical = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == uri


@settings(max_examples=200, deadline=None)
@given(st.lists(hostile, max_size=4))
def test_any_diagnostics_give_a_valid_sarif_log_in_utf8(found: list[Diagnostic]) -> None:
    data = format_sarif(found).encode("utf-8")  # strict: no lone surrogate
    log = json.loads(data)
    check_sarif(log)
    assert len(log["runs"][0]["results"]) == len(found)


# ------------------------------------------------------------------ render


@pytest.mark.parametrize("fmt", FORMATS)
def test_render_gives_each_format(fmt: str) -> None:
    found = [make()]
    expected = {
        "text": format_text(found),
        "json": format_json(found),
        "github": format_github(found),
        "sarif": format_sarif(found),
    }[fmt]
    assert render(found, fmt) == expected


def test_an_unknown_format_names_the_choices() -> None:
    with pytest.raises(ValueError, match="unknown format 'xml'; choose from text, json, github"):
        render([make()], "xml")


#: Printable ASCII, ASCII controls, and beyond: printable, C1 controls, bidi marks,
#: separators, a lone surrogate.
_ALPHABET = ["a", " ", "<", "~", "\x00", "\x1b", "\t", "\x7f", "\x85", "\u2026", "\u00a0"]
_ALPHABET += ["\u202e", "\u2028", "\u061c", "\udcff", "\U0001f600"]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.sampled_from(_ALPHABET)),
        max_size=6,
    )
)
def test_a_text_report_is_escaped_exactly_when_a_line_needs_it(lines: list[str]) -> None:
    # The private check format_text trusts (ASCII lines apart, the rest as `shows_as_is`)
    # is held to the plain rule: a report is left as it is when `visible` changes no line.
    from callflow._text import visible
    from callflow.reporters import _shown_as_is

    assert _shown_as_is(lines) == all(visible(line) == line for line in lines)
