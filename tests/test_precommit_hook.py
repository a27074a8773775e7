"""Acceptance: the pre-commit hook, run as pre-commit runs it, fails a bad file at its place."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml  # comes with pre-commit

ROOT = Path(__file__).resolve().parent.parent


def test_hook_definitions_select_files_by_pattern() -> None:
    hooks = {
        hook["id"]: hook for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    }
    validate = hooks["callflow-validate"]
    assert validate["entry"] == "callflow validate"
    assert validate["files"] == r"\.xml$"
    # identify tags .xsd and .svg as xml: the hook must not select by the xml type
    assert "xml" not in validate.get("types", [])


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.mark.slow
def test_pre_commit_try_repo_fails_a_bad_flow_and_names_the_place(
    tmp_path: Path, checkout_snapshot: Callable[[Path], Path]
) -> None:
    pre_commit = shutil.which("pre-commit", path=os.path.dirname(sys.executable))
    assert pre_commit is not None, "pre-commit is part of the dev extra"
    source = checkout_snapshot(tmp_path)

    project = tmp_path / "project"
    project.mkdir()
    (project / "flows").mkdir()
    (project / "flows" / "menu.xml").write_text(
        '<Response>\n  <Gather numDigts="1"/>\n</Response>\n'
    )
    (project / "flows" / "ok.xml").write_text("<Response><Say>Hi</Say></Response>\n")
    (project / "schema.xsd").write_text("<not-a-call-flow/>\n")
    _git("init", "-q", cwd=project)
    _git("add", "-A", cwd=project)

    env = dict(os.environ, PRE_COMMIT_HOME=str(tmp_path / "cache"))
    proc = subprocess.run(
        [pre_commit, "try-repo", str(source), "callflow-validate", "--all-files"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    assert "flows/menu.xml:2:11: CF203" in output
    assert "numDigits" in output
    assert "schema.xsd" not in output.split("Failed")[-1]


def _page_blocks() -> list[object]:
    from tests.docs.harness import DOCS

    document = DOCS.parse(ROOT / "docs" / "guides" / "pre-commit.md")
    return [example.parsed for example in document]


def test_the_documented_local_hooks_are_the_manifest_hooks_run_by_the_installed_callflow() -> None:
    # The page's console block runs `pre-commit run` on this configuration (doc-test harness);
    # here it is held to the manifest, so the two forms cannot drift apart.
    manifest = {
        hook["id"]: hook for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    }
    (local,) = [
        block
        for block in _page_blocks()
        if getattr(block, "title", None) == ".pre-commit-config.yaml"
    ]
    (repo,) = yaml.safe_load(str(local.source))["repos"]  # type: ignore[attr-defined]
    assert repo["repo"] == "local"
    assert {hook["id"] for hook in repo["hooks"]} == set(manifest)
    for hook in repo["hooks"]:
        assert hook["language"] == "system"  # the callflow on PATH: nothing to fetch
        for key in ("entry", "files", "name"):
            assert hook[key] == manifest[hook["id"]][key], (hook["id"], key)


def test_the_documented_remote_form_names_the_manifest_hooks_and_a_release_tag() -> None:
    remote = [
        yaml.safe_load(str(block.source))  # type: ignore[attr-defined]
        for block in _page_blocks()
        if getattr(block, "language", "") == "yaml" and getattr(block, "title", None) is None
    ]
    (config,) = remote
    (repo,) = config["repos"]
    assert repo["repo"] == "REPOSITORY-URL"  # the placeholder the page marks as such
    assert re.fullmatch(r"v\d+\.\d+\.\d+", repo["rev"])
    assert repo["rev"] == f"v{version('opentact-callflow')}"
    manifest = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert [hook["id"] for hook in repo["hooks"]] == [hook["id"] for hook in manifest]
