"""Each lint rule: a flow that trips it, a flow that does not, and where it points."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from callflow.diagnostics import CODES, Diagnostic, Severity
from callflow.document import Document
from callflow.lint import RULES, iter_lint_diagnostics

Lint = Callable[..., list[Diagnostic]]

MENU = (
    '<Gather numDigits="{digits}" finishOnKey="#" timeout="8000"><Say>Menu</Say>'
    "<Switch>{cases}<Default><Say>Again</Say></Default></Switch></Gather>"
)
CALLBACK_OK = (
    '<Callback url="https://a.example.com/next" method="POST"><Error><Hangup/></Error></Callback>'
)

# code -> (a body that trips the rule, the corrected body that does not)
EXAMPLES: dict[str, tuple[str, str]] = {
    "CF301": ("<Hangup/><Say>Bye</Say>", "<Say>Bye</Say><Hangup/>"),
    "CF302": (
        MENU.format(digits=1, cases='<Case dtmf="1"><Say>a</Say></Case><Case dtmf="1"/>'),
        MENU.format(digits=1, cases='<Case dtmf="1"><Say>a</Say></Case><Case dtmf="2"/>'),
    ),
    "CF303": (
        MENU.format(digits=1, cases='<Case dtmf="12"><Say>a</Say></Case>'),
        MENU.format(digits=2, cases='<Case dtmf="12"><Say>a</Say></Case>'),
    ),
    "CF304": (
        MENU.format(digits=2, cases='<Case dtmf="1#"><Say>a</Say></Case>'),
        MENU.format(digits=2, cases='<Case dtmf="1*"><Say>a</Say></Case>'),
    ),
    "CF305": ('<Pause length="5"/>', '<Pause length="5000"/>'),
    "CF306": (
        '<Callback url="https://a.example.com/next"><Error><Hangup/></Error></Callback>',
        CALLBACK_OK,
    ),
    "CF307": ('<Callback url="https://a.example.com/next" method="POST"/>', CALLBACK_OK),
    "CF308": (CALLBACK_OK.replace("https:", "http:"), CALLBACK_OK),
    "CF309": (
        '<Play record="vm"/><Record tag="vm"/>',
        '<Record tag="vm"/><Play record="vm"/>',
    ),
    "CF310": ("<Say>   </Say>", "<Say>Hello</Say>"),
    "CF311": ('<Say text="Hi">Hello</Say>', "<Say>Hello</Say>"),
    "CF312": (
        '<Play url="https://m.example.com/a.mp3">https://m.example.com/a.mp3</Play>',
        "<Play>https://m.example.com/a.mp3</Play>",
    ),
    "CF313": (
        '<Gather><Say>Menu</Say><Switch><Case dtmf="1"><Say>a</Say></Case></Switch></Gather>',
        '<Gather><Say>Menu</Say><Switch><Case dtmf="1"><Say>a</Say></Case>'
        "<Default><Say>b</Say></Default></Switch></Gather>",
    ),
    "CF314": (
        '<Gather><Switch><Case dtmf="1"/><Default/></Switch></Gather>',
        '<Gather><Say>Press 1</Say><Switch><Case dtmf="1"/><Default/></Switch></Gather>',
    ),
    "CF315": ("<callback>https://a.example.com/next</callback>", CALLBACK_OK),
    "CF316": (
        '<Gather dtmf_length="1"><Say>Menu</Say></Gather>',
        '<Gather numDigits="1"><Say>Menu</Say></Gather>',
    ),
    "CF317": (
        '<Gather callback="https://a.example.com/d" method="POST"><Say>Menu</Say></Gather>',
        "<Gather><Say>Menu</Say></Gather>",
    ),
    "CF318": (
        '<Gather><Say>Menu</Say><DTMF value="1"><Say>a</Say></DTMF><Default/></Gather>',
        '<Gather><Say>Menu</Say><Switch><Case dtmf="1"><Say>a</Say></Case><Default/></Switch>'
        "</Gather>",
    ),
    "CF319": (
        '<Gather numDigits="1" dtmf_stop="#"><Say>Menu</Say></Gather>',
        '<Gather numDigits="1" finishOnKey="#"><Say>Menu</Say></Gather>',
    ),
    "CF320": ('<Say loop="500">Hi</Say>', '<Say loop="2">Hi</Say>'),
}


def codes(diagnostics: list[Diagnostic]) -> set[str]:
    return {d.code for d in diagnostics}


def test_every_rule_has_an_example_pair() -> None:
    assert sorted(EXAMPLES) == sorted(RULES)


def test_every_rule_code_is_registered_with_its_title() -> None:
    for code, rule in RULES.items():
        assert code.startswith("CF3") and len(code) == 5
        assert CODES[code] == rule.title


@pytest.mark.parametrize("code", sorted(EXAMPLES))
def test_rule_reports_the_failing_example(lint: Lint, code: str) -> None:
    failing, _ = EXAMPLES[code]
    found = [d for d in lint(failing) if d.code == code]
    assert found, f"{code} did not fire on {failing}"
    for diagnostic in found:
        assert diagnostic.severity is RULES[code].severity
        assert diagnostic.message and diagnostic.hint
        assert diagnostic.xpath and diagnostic.xpath.startswith("/Response")


@pytest.mark.parametrize("code", sorted(EXAMPLES))
def test_rule_is_silent_on_the_corrected_example(lint: Lint, code: str) -> None:
    _, passing = EXAMPLES[code]
    assert code not in codes(lint(passing))


def test_examples_shipped_with_callflow_are_lint_clean() -> None:
    from pathlib import Path

    for path in sorted(Path("examples").glob("*.xml")):
        document = Document.from_path(path)
        assert list(iter_lint_diagnostics(document)) == [], path


# ---------------------------------------------------------------- the details of some rules


def test_unreachable_actions_are_reported_once_per_block_at_the_first(lint: Lint) -> None:
    found = [d for d in lint("<Hangup/>\n<Say>a</Say>\n<Say>b</Say>") if d.code == "CF301"]
    assert len(found) == 1
    assert found[0].location.line == 4
    assert "2 actions unreachable" in found[0].message


def test_an_error_handler_after_hangup_is_not_unreachable(lint: Lint) -> None:
    assert "CF301" not in codes(lint("<Hangup/><Error><Say>oops</Say></Error>"))


def test_hangup_inside_a_branch_only_cuts_its_own_block(lint: Lint) -> None:
    body = MENU.format(digits=1, cases='<Case dtmf="1"><Hangup/></Case>') + "<Say>after</Say>"
    assert "CF301" not in codes(lint(body))


def test_duplicate_branch_names_the_line_of_the_first(lint: Lint) -> None:
    body = (
        '<Gather numDigits="1"><Say>m</Say><Switch>\n<Case dtmf="1"/>\n<Case dtmf="1"/>\n'
        "<Default/></Switch></Gather>"
    )
    (found,) = [d for d in lint(body) if d.code == "CF302"]
    assert found.location.line == 5 and "at line 4" in found.message


def test_duplicate_legacy_dtmf_branches_are_reported_too(lint: Lint) -> None:
    body = '<Gather><Say>m</Say><DTMF value="2"/><DTMF value="2"/><Default/></Gather>'
    assert "CF302" in codes(lint(body))


def test_branch_length_uses_the_default_of_one_digit(lint: Lint) -> None:
    body = '<Gather><Say>m</Say><Switch><Case dtmf="10"/><Default/></Switch></Gather>'
    (found,) = [d for d in lint(body) if d.code == "CF303"]
    assert "numDigits defaults to 1" in found.message


def test_branch_length_reads_the_legacy_digit_count(lint: Lint) -> None:
    body = '<Gather dtmf_length="3"><Say>m</Say><DTMF value="123"/><Default/></Gather>'
    assert "CF303" not in codes(lint(body))


def test_finish_key_defaults_to_star(lint: Lint) -> None:
    body = '<Gather><Say>m</Say><Switch><Case dtmf="*"/><Default/></Switch></Gather>'
    (found,) = [d for d in lint(body) if d.code == "CF304"]
    assert "finishOnKey defaults to *" in found.message
    assert 'finishOnKey="#"' in (found.hint or "")


@pytest.mark.parametrize(
    ("element", "attribute"),
    [
        ('<Gather timeout="30"><Say>m</Say></Gather>', "timeout"),
        ('<Pause length="2"/>', "length"),
        ('<Answer delay="1"/>', "delay"),
        ('<Record timeout="45"/>', "timeout"),
    ],
)
def test_durations_under_100_look_like_seconds(lint: Lint, element: str, attribute: str) -> None:
    (found,) = [d for d in lint(element) if d.code == "CF305"]
    assert f'{attribute}="' in (found.hint or "")
    assert found.hint is not None and "000" in found.hint


@pytest.mark.parametrize("value", ["0", "100", "8000"])
def test_zero_and_real_millisecond_durations_pass(lint: Lint, value: str) -> None:
    assert "CF305" not in codes(lint(f'<Pause length="{value}"/>'))


def test_duration_points_at_the_attribute_column(lint: Lint) -> None:
    (found,) = [d for d in lint('  <Pause length="5"/>') if d.code == "CF305"]
    assert found.location.line == 3 and found.location.column == 10


def test_callback_method_default_follows_body(lint: Lint) -> None:
    body = '<Callback url="https://a.example.com/x" body="true"><Error/></Callback>'
    (found,) = [d for d in lint(body) if d.code == "CF306"]
    assert 'method="POST"' in (found.hint or "")


def test_plain_http_is_reported_on_legacy_gather_urls(lint: Lint) -> None:
    body = '<Gather url="http://a.example.com/d"><Say>m</Say></Gather>'
    (found,) = [d for d in lint(body) if d.code == "CF308"]
    assert found.location.column is not None


def test_play_record_defined_only_later_names_that_line(lint: Lint) -> None:
    (found,) = [d for d in lint('<Play record="x"/>\n<Record tag="x"/>') if d.code == "CF309"]
    assert "line 4" in found.message


@pytest.mark.parametrize(
    ("say", "expected"),
    [
        ("<Say/>", "CF310"),
        ('<Say text=""/>', "CF310"),
        ('<Say text="  ">  </Say>', "CF310"),
        ('<Say text="a">b</Say>', "CF311"),
    ],
)
def test_say_needs_exactly_one_text(lint: Lint, say: str, expected: str) -> None:
    found = codes(lint(say)) & {"CF310", "CF311"}
    assert found == {expected}


@pytest.mark.parametrize(
    "play",
    [
        "<Play>https://m.example.com/a.mp3</Play>",
        '<Play url="https://m.example.com/a.mp3"/>',
        '<Record tag="r"/><Play record="r"/>',
    ],
)
def test_play_with_one_source_passes(lint: Lint, play: str) -> None:
    assert "CF312" not in codes(lint(play))


@pytest.mark.parametrize(
    "play",
    [
        "<Play/>",
        '<Record tag="r"/><Play record="r">https://m.example.com/a.mp3</Play>',
        '<Record tag="r"/><Play url="https://m.example.com/a.mp3" record="r"/>',
    ],
)
def test_play_with_none_or_two_sources_is_an_error(lint: Lint, play: str) -> None:
    (found,) = [d for d in lint(play) if d.code == "CF312"]
    assert found.severity is Severity.ERROR


def test_gather_with_only_a_pause_has_no_prompt(lint: Lint) -> None:
    assert "CF314" in codes(lint('<Gather><Pause length="1000"/></Gather>'))


def test_legacy_url_attribute_has_no_automatic_fix(lint: Lint) -> None:
    from callflow.lint import iter_findings

    document = Document.from_text(
        '<Response><Gather url="https://a.example.com/d"><Say>m</Say></Gather></Response>'
    )
    (finding,) = [f for f in iter_findings(document) if f.code == "CF316"]
    assert finding.fix is None


def test_mixed_sets_name_each_set(lint: Lint) -> None:
    body = '<Gather numDigits="1" callback="https://a.example.com/c"><Say>m</Say></Gather>'
    (found,) = [d for d in lint(body) if d.code == "CF319"]
    assert "canonical: numDigits" in found.message and "legacy set B: callback" in found.message


def test_attempts_limit_applies_to_gather(lint: Lint) -> None:
    assert "CF320" in codes(lint('<Gather attempts="50"><Say>m</Say></Gather>'))
    assert "CF320" not in codes(lint('<Gather attempts="3"><Say>m</Say></Gather>'))


# ---------------------------------------------------------------- select and ignore


def test_select_keeps_only_matching_prefixes(lint: Lint) -> None:
    body = '<Hangup/><Say>a</Say><Pause length="5"/>'
    assert codes(lint(body, select=["CF305"])) == {"CF305"}


def test_ignore_removes_matching_prefixes(lint: Lint) -> None:
    body = '<Hangup/><Say>a</Say><Pause length="5"/>'
    assert codes(lint(body, ignore=["CF30"])) == set()
