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


#: What a copy leaves out when the checkout is not a git one (an unpacked source archive).
NOT_IN_A_CHECKOUT = (
    ".git", ".venv", "__pycache__", "*.egg-info", "build", "dist", "site",
    ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis", ".callflow",
)  # fmt: skip


def fresh_copy(target: Path, source: Path = ROOT) -> None:
    """Copy what a fresh checkout holds: the files git tracks, and new ones it would track
    (not what .gitignore leaves out). Other tests run tools that write their caches into the
    checkout (mypy's database files come and go) while this copy is made."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=source,
        capture_output=True,
        check=False,
    )
    if listed.returncode != 0:
        shutil.copytree(source, target, ignore=shutil.ignore_patterns(*NOT_IN_A_CHECKOUT))
        return
    for name in listed.stdout.decode("utf-8").split("\0"):
        path = source / name
        if not name or not path.is_file():
            continue  # the list's end, or a file deleted in the working tree
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)


def test_a_fresh_copy_holds_tracked_and_new_files_and_nothing_ignored(tmp_path: Path) -> None:
    repository = tmp_path / "repository"
    (repository / "package").mkdir(parents=True)
    (repository / ".gitignore").write_text(".mypy_cache/\n", encoding="utf-8")
    (repository / "package" / "tracked.py").write_text("x = 1\n", encoding="utf-8")
    subprocess.run(["git", "init", "-q"], cwd=repository, check=True)
    subprocess.run(["git", "add", "."], cwd=repository, check=True)
    (repository / "package" / "new.py").write_text("y = 2\n", encoding="utf-8")
    (repository / ".mypy_cache").mkdir()
    (repository / ".mypy_cache" / "cache.db-wal").write_bytes(b"")
    fresh_copy(tmp_path / "copy", repository)
    copied = sorted(
        str(path.relative_to(tmp_path / "copy")) for path in (tmp_path / "copy").rglob("*")
    )
    assert copied == [".gitignore", "package", "package/new.py", "package/tracked.py"]


@pytest.mark.slow
def test_the_first_command_works_in_a_fresh_checkout(tmp_path: Path) -> None:
    first, _ = readme_commands()
    checkout = tmp_path / "callflow"
    fresh_copy(checkout)
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
