"""The README's "Simulating calls" section runs as written, and states the rules the code uses."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import callflow.simulate
from callflow.simulate import _engine
from tests.conftest import CliResult

ROOT = Path(__file__).resolve().parents[2]


def section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("## Simulating calls")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", section(), re.DOTALL)


def test_the_pytest_examples_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.syspath_prepend(str(ROOT))
    namespace: dict[str, Any] = {}
    for block in blocks("python"):
        exec(compile(block, "README.md", "exec"), namespace)
    tests = [value for name, value in namespace.items() if name.startswith("test_")]
    assert len(tests) == 3
    for test in tests:
        test()


def test_the_console_example_is_what_the_command_prints(
    run_cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    (console,) = blocks("console")
    command, *expected = console.strip().splitlines()
    args = command.removeprefix("$ callflow ").split()
    result = run_cli(*args)
    actual = [line.strip() for line in (result.out + result.err).strip().splitlines()]
    expected = [line.strip() for line in expected]
    assert len(actual) == len(expected)
    for want, got in zip(expected, actual, strict=True):
        if "…" in want:
            head, tail = want.split("…", 1)
            assert got.startswith(head) and got.endswith(tail.split("'", 1)[1]), got
        else:
            assert got == want


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
def test_the_documented_numbers_are_the_ones_the_simulator_uses(phrase: str, value: int) -> None:
    readme = section().replace("\n  ", " ")
    assert phrase.format(value) in readme
    docstring = (callflow.simulate.__doc__ or "").replace("\n", " ")
    assert str(value) in docstring
