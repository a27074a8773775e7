"""The simulator and the graph stay easy to read: small modules, no function too branchy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "callflow"
MODULES = sorted([*PACKAGE.glob("simulate/*.py"), PACKAGE / "graph.py", PACKAGE / "coverage.py"])
MAX_LINES = 800
MAX_COMPLEXITY = 20


@pytest.mark.parametrize("module", MODULES, ids=lambda path: path.relative_to(PACKAGE).as_posix())
def test_the_module_stays_under_the_line_limit(module: Path) -> None:
    assert len(module.read_text(encoding="utf-8").splitlines()) <= MAX_LINES


def test_no_function_is_more_complex_than_the_limit() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--select",
            "C901",
            "--config",
            f"lint.mccabe.max-complexity={MAX_COMPLEXITY}",
            *map(str, MODULES),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
