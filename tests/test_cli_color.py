"""Colour on a terminal: severities, carets and hints in text output only, only on a
terminal or when forced, never with NO_COLOR, never in json/sarif/github."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from callflow.cli import use_color
from callflow.diagnostics import Diagnostic, Severity
from callflow.reporters import format_text, render, strip_color
from callflow.sourcemap import SourceLocation

ESC = "\x1b"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def bad_flow(tmp_path: Path) -> Path:
    flow = tmp_path / "bad.xml"
    flow.write_text("<Response>\n  <Bogus/>\n</Response>\n")
    return flow


@pytest.fixture(autouse=True)
def _plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)


def test_colour_only_on_a_terminal() -> None:
    assert use_color(_Terminal(), environ={}) is True
    assert use_color(io.StringIO(), environ={}) is False


@pytest.mark.parametrize("value", ["", "1", "0", "false"])
def test_no_color_with_any_value_turns_colour_off(value: str) -> None:
    assert use_color(_Terminal(), environ={"NO_COLOR": value}) is False
    assert use_color(_Terminal(), environ={"NO_COLOR": value, "FORCE_COLOR": "1"}) is False


def test_force_color_turns_it_on_when_not_a_terminal() -> None:
    assert use_color(io.StringIO(), environ={"FORCE_COLOR": "1"}) is True


def test_the_option_comes_first() -> None:
    assert use_color(io.StringIO(), "always", environ={"NO_COLOR": "1"}) is True
    assert use_color(_Terminal(), "never", environ={"FORCE_COLOR": "1"}) is False


def test_text_is_coloured_when_forced(
    run_cli: Callable[..., Any], bad_flow: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    out = run_cli("validate", bad_flow).out
    assert "\x1b[1;31mCF201\x1b[0m" in out  # the error's code
    assert "\x1b[1;32m^\x1b[0m" in out  # the caret
    assert "\x1b[36mhint:\x1b[0m" in out  # the hint
    assert strip_color(out) == run_cli("validate", "--color", "never", bad_flow).out


def test_a_warning_has_its_own_colour() -> None:
    d = Diagnostic("CF314", Severity.WARNING, "m", SourceLocation("f.xml", 1, 1))
    assert "\x1b[1;33mCF314 warning:\x1b[0m" in format_text([d], color=True)


def test_no_colour_when_not_a_terminal(run_cli: Callable[..., Any], bad_flow: Path) -> None:
    result = run_cli("validate", bad_flow)
    assert "CF201" in result.out and ESC not in result.out + result.err


def test_no_color_wins_over_force_color(
    run_cli: Callable[..., Any], bad_flow: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("NO_COLOR", "")
    result = run_cli("validate", bad_flow)
    assert "CF201" in result.out and ESC not in result.out + result.err


@pytest.mark.parametrize("fmt", ["json", "sarif", "github"])
def test_never_in_machine_formats(
    run_cli: Callable[..., Any], bad_flow: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    result = run_cli("validate", "--format", fmt, "--color", "always", bad_flow)
    assert "CF201" in result.out and ESC not in result.out


@pytest.mark.parametrize("fmt", ["json", "sarif", "github"])
def test_render_never_colours_machine_formats(fmt: str) -> None:
    d = Diagnostic("CF201", Severity.ERROR, "m", SourceLocation("f.xml", 1, 1), hint="h")
    assert ESC not in render([d], fmt, color=True)


def test_colour_codes_come_after_escaping() -> None:
    hostile = f"{ESC}[2J{ESC}]0;title\a"
    d = Diagnostic(
        "CF201",
        Severity.ERROR,
        f"message {hostile}",
        SourceLocation(f"f{hostile}.xml", 1, 3),
        snippet=f"<a{hostile}/>",
        hint=f"hint {hostile}",
    )
    coloured = format_text([d], color=True)
    assert ESC in coloured  # our colour codes
    plain = strip_color(coloured)
    assert ESC not in plain and "\a" not in plain  # the hostile ones were escaped
    assert plain == format_text([d], color=False)
    assert "\\x1b[2J" in plain
