"""What the documentation pages state in prose and tables is what the code does.

Their code blocks run under the doc-test harness; these tests hold the facts around them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

import callflow.simulate
from callflow.lint import RULES
from callflow.sandbox import SANDBOX_EMAIL, SANDBOX_PASSWORD
from callflow.simulate import _clock as _engine  # the simulator's numbers are private on purpose

DOCS = Path(__file__).resolve().parents[2] / "docs"


def page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("phrase", "value"),
    [
        ("{} ms per word", _engine.SPEECH_MS_PER_WORD),
        ("<Play>`: {} ms", _engine.PLAY_MS),
        ("without `length`: {} ms", _engine.PAUSE_MS),
        ("Each key typed: {} ms", _engine.KEY_MS),
        ("`timeout` {} ms", _engine.GATHER_TIMEOUT_MS),
        ("timeout {} ms when missing", _engine.FETCH_TIMEOUT_MS),
        ("lasts {} ms of ringing", _engine.RING_MS),
        ("busy {} ms", _engine.DIAL_MS[callflow.simulate.DialOutcome.BUSY]),
        ("no answer {} ms", _engine.DIAL_MS[callflow.simulate.DialOutcome.NO_ANSWER]),
        ("(timeout {} ms when", _engine.RECORD_TIMEOUT_MS),
    ],
)
def test_the_simulator_page_gives_the_numbers_the_simulator_uses(phrase: str, value: int) -> None:
    text = page("explanation/simulator.md").replace("\n  ", " ")
    assert phrase.format(value) in text
    docstring = (callflow.simulate.__doc__ or "").replace("\n", " ")
    assert str(value) in docstring


def test_the_sandbox_page_gives_the_real_sandbox_account() -> None:
    assert f"curl -u {SANDBOX_EMAIL}:{SANDBOX_PASSWORD} " in page("guides/sandbox.md")


def test_the_lint_rule_table_gives_each_rule_its_name_severity_and_fix() -> None:
    rows = {
        cells[0]: cells
        for cells in (
            [c.strip() for c in line.strip("|").split("|")]
            for line in page("guides/validating.md").splitlines()
            if re.match(r"\| CF3\d\d \|", line)
        )
    }
    assert sorted(rows) == sorted(RULES)
    for code, rule in RULES.items():
        _, name, severity, _, fix = rows[code]
        assert (name, severity) == (rule.name, rule.severity.value)
        assert fix.startswith("yes") == rule.fixable, code


def test_the_template_library_table_lists_every_template_and_macro() -> None:
    from callflow.templating import library_templates

    text = page("guides/templates.md")
    for template in library_templates():
        assert f"`{template.name}`" in text
        for macro in template.macros:
            assert f"`{macro}`" in text, macro


def test_the_library_chain_example_is_what_the_library_gives(write: Callable[..., Path]) -> None:
    from callflow.check import check_document
    from callflow.templating import load_template_sources

    example = re.search(
        r'\("(in macro `dial_target` \(callflow/actions\.xml\.j2:\d+\))"\)',
        page("guides/templates.md"),
    )
    assert example is not None
    path = write(
        "mine.xml.j2",
        "{# callflow\n[samples.basic]\n#}\n"
        '{% from "callflow/actions.xml.j2" import dial %}\n'
        "<Response>\n{{ dial('not a number') }}\n</Response>\n",
    )
    (source,) = load_template_sources(path)
    assert source.document is not None
    (problem,) = check_document(source.document)
    assert problem.location.chain[0] == example.group(1)
