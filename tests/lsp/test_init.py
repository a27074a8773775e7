"""`callflow init`: a project that validates clean, whose test passes, and that keeps files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from callflow.cli import main
from callflow.commands.init import scaffold
from callflow.resources import default_schema_path

ROOT = Path(__file__).resolve().parents[2]


def test_init_writes_every_file_of_the_project(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", str(tmp_path / "project")]) == 0
    out = capsys.readouterr().out
    for relative in scaffold(tmp_path / "project"):
        assert (tmp_path / "project" / relative).is_file()
        assert relative in out


def test_the_project_validates_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["init", str(tmp_path)])
    capsys.readouterr()
    flows = tmp_path / "flows"
    assert main(["validate", str(flows), str(flows / "menu.py")]) == 0
    assert "3 files checked, no problems" in capsys.readouterr().err


def test_the_projects_pytest_test_passes(tmp_path: Path) -> None:
    main(["init", str(tmp_path)])
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout


def test_init_never_overwrites_and_says_what_it_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'mine'\n")
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "menu.xml").write_text("<Response/>")
    assert main(["init", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "skipped" in err and "pyproject.toml" in err and "menu.xml" in err
    assert (tmp_path / "pyproject.toml").read_text() == "[project]\nname = 'mine'\n"
    assert (tmp_path / "flows" / "menu.xml").read_text() == "<Response/>"
    assert (tmp_path / "flows" / "menu.py").is_file()


def test_init_does_not_follow_a_link_of_a_name_it_would_write(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    project = tmp_path / "p"
    project.mkdir()
    (project / "pyproject.toml").symlink_to(outside)
    main(["init", str(project)])
    assert outside.read_text() == "keep"


def test_the_vscode_settings_bind_flows_to_the_shipped_schema_and_start_the_server(
    tmp_path: Path,
) -> None:
    main(["init", str(tmp_path)])
    settings = json.loads((tmp_path / ".vscode" / "settings.json").read_text())
    (association,) = settings["xml.fileAssociations"]
    assert association["pattern"] == "**/*.xml"
    assert association["systemId"] == default_schema_path().resolve().as_uri()
    assert [settings["glspc.server.command"], *settings["glspc.server.commandArguments"]] == [
        "callflow",
        "lsp",
    ]


def test_the_callflow_table_and_the_hooks_are_wired(tmp_path: Path) -> None:
    import yaml

    main(["init", str(tmp_path)])
    project = tomllib.loads((tmp_path / "pyproject.toml").read_text())
    assert "callflow" in project["tool"]
    hooks = yaml.safe_load((tmp_path / ".pre-commit-config.yaml").read_text())
    shipped = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    (repo,) = hooks["repos"]
    assert repo["repo"] == "local"
    assert [h["id"] for h in repo["hooks"]] == [h["id"] for h in shipped]
    for ours, theirs in zip(repo["hooks"], shipped, strict=True):
        assert (ours["entry"], ours["files"]) == (theirs["entry"], theirs["files"])


def test_init_refuses_a_file_as_the_folder(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    assert main(["init", str(tmp_path / "file")]) == 2
