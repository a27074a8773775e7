"""The README's first command and its section on executing flows run as written."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
from pathlib import Path

import pytest

from callflow.cli import build_parser
from callflow.sandbox import SANDBOX_EMAIL, SANDBOX_PASSWORD, Sandbox

from .conftest import RunCli

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SECTION = README.split("## Executing flows and the sandbox", 1)[1].split("\n## ", 1)[0]


def blocks(language: str, text: str = SECTION) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, re.DOTALL)


@pytest.fixture
def in_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.chdir(ROOT)  # README paths are relative to the repository
    for name in ("OPENTACT_API_URL", "OPENTACT_TOKEN", "OPENTACT_EMAIL", "OPENTACT_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CALLFLOW_SANDBOX_DB", str(tmp_path / "sandbox.sqlite3"))
    return tmp_path


def test_the_first_command_executes_the_example_on_the_sandbox(
    run_cli: RunCli, in_root: Path
) -> None:
    first = blocks("sh", README)[0].splitlines()[0]
    command = shlex.split(first.split("&&", 1)[1])
    assert command[0] == "callflow"
    result = run_cli(*command[1:])
    assert result.code == 0, result.err
    assert "target: sandbox (in-process," in result.err
    assert "app: callflow-demo" in result.err
    assert "executed on app" in result.out and "accepted" in result.out


def test_every_command_shown_in_the_section_is_a_valid_command_line() -> None:
    parser = build_parser()
    lines = [
        line.split("#")[0].strip()
        for block in blocks("sh") + blocks("console")
        for line in block.splitlines()
        if line.lstrip("$ ").startswith("callflow ")
    ]
    assert len(lines) >= 10
    for line in lines:
        arguments = shlex.split(line.lstrip("$ "))[1:]
        parser.parse_args([a.replace("...", "x") for a in arguments if a != "..."])


def test_the_documented_sandbox_account_is_the_real_one() -> None:
    assert f"curl -u {SANDBOX_EMAIL}:{SANDBOX_PASSWORD} " in SECTION


def test_the_python_example_runs_and_prints_what_it_says(in_root: Path) -> None:
    example = blocks("python")[0]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(example, "README.md", "exec"), {})
    first, second = printed.getvalue().splitlines()
    assert first == "sandbox (in-process, :memory:) accepted"
    assert second.startswith("400 <flow>:1:19: CF801 rejected by")


def test_the_pytest_example_passes_with_the_plugin_fixture(in_root: Path) -> None:
    namespace: dict[str, object] = {}
    exec(compile(blocks("python")[1], "README.md", "exec"), namespace)
    test = namespace["test_my_deploy_script_executes_the_menu"]
    sandbox = Sandbox(":memory:")
    with sandbox.client() as client:
        test(client)  # type: ignore[operator]
    assert sandbox.store.count("executions") == 1
    assert os.environ["CALLFLOW_SANDBOX_DB"].startswith(str(in_root))
