"""The README's lint and diagram section says what the code does."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from callflow.lint import RULES
from callflow.lint.config import config_from_table

README = Path(__file__).parents[2] / "README.md"
MENU = """<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <Gather numDigits="1" timeout="8">
    <Say>For sales press 1.</Say>
    <Switch>
      <Case dtmf="1"><Say>Sales.</Say></Case>
      <Default><Say>Sorry.</Say></Default>
    </Switch>
  </Gather>
</Response>
"""


def section() -> str:
    text = README.read_text()
    start = text.index("## Lint rules and diagrams")
    return text[start : text.index("\n## ", start + 1)]


def test_the_rules_table_lists_every_rule_with_its_default_severity_and_fix() -> None:
    rows = {
        cells[0]: cells
        for cells in (
            [c.strip() for c in line.strip("|").split("|")]
            for line in section().splitlines()
            if re.match(r"\| CF3\d\d \|", line)
        )
    }
    assert sorted(rows) == sorted(RULES)
    for code, rule in RULES.items():
        _, name, severity, _, fix = rows[code]
        assert (name, severity) == (rule.name, rule.severity.value)
        assert fix.startswith("yes") == rule.fixable, code


def test_the_toml_example_is_a_valid_configuration() -> None:
    (block,) = re.findall(r"```toml\n(.*?)```", section(), re.DOTALL)
    config = config_from_table(tomllib.loads(block)["tool"]["callflow"])
    assert config.ignore == ("CF313",)


def test_the_console_example_is_what_validate_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Callable[..., Any]
) -> None:
    (transcript,) = re.findall(r"```console\n\$ (.*?)\n(.*?)```", section(), re.DOTALL)
    command, expected = transcript
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "menu.xml").write_text(MENU)
    monkeypatch.chdir(tmp_path)
    result = run_cli(*command.split()[1:])
    assert result.out + result.err == expected


def test_the_python_example_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(README.parent)
    (block,) = re.findall(r"```python\n(.*?)```", section(), re.DOTALL)
    namespace: dict[str, Any] = {}
    exec(compile(block, "README.md", "exec"), namespace)
    assert namespace["problems"] == []
    assert not namespace["fixed"].changed
    assert namespace["mermaid"].startswith("flowchart TD")
