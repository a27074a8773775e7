"""Acceptance: the ``callflow-templates`` pre-commit hook renders in the sandbox."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.mark.slow
def test_the_templates_hook_fails_a_sandbox_escape_and_does_not_run_it(
    tmp_path: Path, checkout_snapshot: Callable[[Path], Path]
) -> None:
    pre_commit = shutil.which("pre-commit", path=os.path.dirname(sys.executable))
    assert pre_commit is not None, "pre-commit is part of the dev extra"
    source = checkout_snapshot(tmp_path)

    project = tmp_path / "project"
    (project / "flows").mkdir(parents=True)
    (project / "flows" / "evil.xml.j2").write_text(
        "{# callflow\n[samples.basic]\n#}\n"
        "<Response><Say>{{ lipsum.__globals__['os'].popen('touch X').read() }}</Say></Response>\n"
    )
    _git("init", "-q", cwd=project)
    _git("add", "-A", cwd=project)

    env = dict(os.environ, PRE_COMMIT_HOME=str(tmp_path / "cache"))
    proc = subprocess.run(
        [pre_commit, "try-repo", str(source), "callflow-templates", "--all-files"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    output = proc.stdout + proc.stderr
    assert not (project / "X").exists(), output
    assert proc.returncode == 1, output
    assert "Passed" not in output
    assert "flows/evil.xml.j2:4: CF605" in output
