"""The README's two commands: the shape a newcomer copies, and the first one run for real in a
fresh copy of the checkout with a fresh virtual environment (the second is what .ci/run runs)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.docs.harness import DOCS

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def readme_commands() -> list[str]:
    document = DOCS.parse(README)
    shell = [example.parsed for example in document if example.parsed.language == "sh"]
    return str(shell[0].source).strip().splitlines()


def test_the_readme_is_short() -> None:
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 150


def test_the_readme_opens_with_the_two_commands_each_making_its_virtual_environment() -> None:
    first, second = readme_commands()
    assert first.startswith(
        "python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/callflow "
    )
    assert second.startswith("python3 -m venv .venv && .venv/bin/pip install -e '.[dev]' && ")
    assert "python -m pytest" in second


def test_ci_runs_exactly_the_readme_test_command() -> None:
    _, second = readme_commands()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert any(line.startswith(second) for line in ci.splitlines()), second


@pytest.mark.slow
def test_the_first_command_works_in_a_fresh_checkout(tmp_path: Path) -> None:
    first, _ = readme_commands()
    checkout = tmp_path / "callflow"
    shutil.copytree(
        ROOT,
        checkout,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "__pycache__", "*.egg-info", "build", "dist", "site"
        ),
    )
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("OPENTACT_", "CALLFLOW_", "VIRTUAL_ENV", "PYTHON"))
    }
    env["HOME"] = str(tmp_path)
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin"
    result = subprocess.run(
        ["bash", "-c", first],
        cwd=checkout,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "target: sandbox (in-process," in output
    assert "examples/ivr_menu.py: executed on app" in output and "accepted" in output
