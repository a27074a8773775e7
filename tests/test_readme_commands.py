"""The README's first command, run as a newcomer would (in-process, on a private sandbox)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text("utf-8")


def test_the_readme_opens_with_an_install_and_run_command_and_the_test_command() -> None:
    block = re.search(r"```sh\n(.*?)```", README, re.DOTALL)
    assert block is not None
    first, second = block.group(1).strip().splitlines()
    assert first.startswith("python3 -m pip install . && callflow ")
    assert second == "python3 -m pip install -e '.[dev]' && python3 -m pytest"
    ci = (ROOT / ".ci" / "run").read_text("utf-8")
    assert second in ci.splitlines()


def test_the_first_command_runs_the_main_job_on_the_sandbox(
    run_cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    block = re.search(r"```sh\n(.*?)```", README, re.DOTALL)
    assert block is not None
    command = block.group(1).strip().splitlines()[0].split(" && ", 1)[1].split()
    assert command[0] == "callflow"
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("CALLFLOW_SANDBOX_DB", str(tmp_path / "sandbox.sqlite3"))
    for name in ("OPENTACT_API_URL", "OPENTACT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    result = run_cli(*command[1:])
    assert result.code == 0, result.err
    assert "sandbox" in result.err
    assert "accepted" in result.out
