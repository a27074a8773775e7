"""The builder examples and the README's builder snippets run, and say what they claim."""

from __future__ import annotations

import contextlib
import io
import os
import re
import runpy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from callflow.check import check_document
from callflow.document import Document
from callflow.dsl import Response, parse

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
RunCli = Callable[..., Any]  # the conftest fixture, returning a CliResult


def readme_section() -> str:
    text = (ROOT / "README.md").read_text("utf-8")
    start = text.index("## Builder DSL")
    return text[start : text.index("\n## ", start + 1)]


def example_flow(name: str) -> Response:
    namespace = runpy.run_path(str(EXAMPLES / f"{name}.py"), run_name="example")
    flow = namespace["build"]() if "build" in namespace else namespace["flow"]
    assert isinstance(flow, Response)
    return flow


@pytest.mark.parametrize("name", ["ivr_menu", "voicemail", "call_forwarding"])
def test_each_builder_example_builds_its_xml_example(name: str) -> None:
    expected = parse((EXAMPLES / f"{name}.xml").read_bytes())
    expected.with_comments()  # the XML file's header comment is not part of the script
    assert example_flow(name) == expected


@pytest.mark.parametrize("name", ["ivr_menu", "voicemail", "call_forwarding"])
def test_each_builder_example_validates_clean(name: str, run_cli: RunCli) -> None:
    result = run_cli("validate", EXAMPLES / f"{name}.py")
    assert (result.code, result.out) == (0, "")


def test_the_readme_builder_snippet_runs_and_prints_a_valid_flow() -> None:
    [snippet] = re.findall(r"```python\n(.*?)```", readme_section(), re.DOTALL)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(snippet, "README.md", "exec"), {"__name__": "readme"})
    document = Document.from_text(printed.getvalue())
    assert check_document(document) == []
    assert printed.getvalue().startswith('<?xml version="1.0" encoding="UTF-8"?>\n<Response>')
    assert '<Gather numDigits="1" timeout="8000" finishOnKey="#">' in printed.getvalue()
    assert printed.getvalue().count("<Hangup") == 2


def test_the_readme_build_command_prints_the_example(run_cli: RunCli) -> None:
    result = run_cli("build", EXAMPLES / "ivr_menu.py", "--pretty")
    expected = (EXAMPLES / "ivr_menu.xml").read_text("utf-8")
    assert result.code == 0
    assert result.out == re.sub(r"<!--.*?-->\n", "", expected)


def test_the_readme_error_example_is_what_a_typo_gives(tmp_path: Path, run_cli: RunCli) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    lines = [
        "from callflow.dsl import Gather, Response",
        *[""] * 10,
        "flow = Response(Gather(num_digts=1))",
    ]
    (flows / "menu.py").write_text("\n".join(lines) + "\n", "utf-8")
    [quoted] = re.findall(r"```text\n(.*?)```", readme_section(), re.DOTALL)
    first, hint = (line.strip() for line in quoted.strip().splitlines())
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = run_cli("validate", "flows/menu.py")
    finally:
        os.chdir(cwd)
    assert f"{first.replace('flows/menu.py:12:', 'flows/menu.py:12: CF701')}" in result.out
    assert hint.removesuffix("…") in result.out
