"""Shared fixtures: running the CLI in-process and writing flow files."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from callflow.cli import main


def load_script(name: str, folder: str = "scripts") -> ModuleType:
    """The module of ``FOLDER/NAME.py`` under the checkout (``scripts``: the generators a test
    holds their output to; ``tests/benchmarks``: a benchmark whose peers a test checks)."""
    path = Path(__file__).resolve().parents[1] / folder / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class CliResult:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code = code
        self.out = out
        self.err = err

    def __repr__(self) -> str:
        return f"CliResult(code={self.code}, out={self.out!r}, err={self.err!r})"


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run ``callflow ARGS`` in-process; argparse's SystemExit becomes the exit code."""

    def run(*args: str | Path) -> CliResult:
        capsys.readouterr()
        try:
            code = main([str(a) for a in args])
        except SystemExit as exit_:
            code = int(exit_.code or 0) if not isinstance(exit_.code, str) else 2
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str | bytes], Path]:
    """Write a file under tmp_path and return its path."""

    def _write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return _write


@pytest.fixture
def in_fresh_process(request: pytest.FixtureRequest) -> Callable[[], bool]:
    """``if in_fresh_process(): return`` at a test's top runs the test again in a new pytest
    process and holds this run to its result (True here, False in that process).

    For the cost tests that count calls with a profiler hook: in a long-lived worker, state
    left by earlier tests (threads, caches) can change or stall what the hook sees."""
    import os
    import subprocess
    import sys

    def run() -> bool:
        if os.environ.get("CALLFLOW_FRESH_PROCESS"):
            return False
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-n", "0", request.node.nodeid],
            cwd=request.config.rootpath,
            env={**os.environ, "CALLFLOW_FRESH_PROCESS": "1"},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return True

    return run


@pytest.fixture
def checkout_snapshot() -> Callable[[Path], Path]:
    """``checkout_snapshot(folder)``: this checkout, uncommitted work included, committed as a
    new git repository under ``folder`` (what ``pre-commit try-repo`` clones)."""
    import shutil
    import subprocess

    root = Path(__file__).resolve().parent.parent

    def git(*args: str, cwd: Path) -> None:
        subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, timeout=60)

    def snapshot(folder: Path) -> Path:
        source = folder / "callflow-src"
        shutil.copytree(
            root,
            source,
            ignore=shutil.ignore_patterns(
                ".git", ".venv", "__pycache__", "*.egg-info", "build", "dist"
            ),
        )
        identity = ["-c", "user.name=callflow tests", "-c", "user.email=tests@callflow.invalid"]
        git("init", "-q", cwd=source)
        git("add", "-A", cwd=source)
        git(*identity, "commit", "-q", "-m", "snapshot", cwd=source)
        return source

    return snapshot
