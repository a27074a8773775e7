"""The builder examples run, and the builder page quotes what a typo really gives."""

from __future__ import annotations

import os
import re
import runpy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from callflow.dsl import Response, parse

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
RunCli = Callable[..., Any]  # the conftest fixture, returning a CliResult


def builder_page() -> str:
    # The page's blocks run under the doc-test harness; this checks what its prose quotes.
    return (ROOT / "docs" / "guides" / "builder.md").read_text("utf-8")


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


def test_build_pretty_prints_the_xml_example(run_cli: RunCli) -> None:
    result = run_cli("build", EXAMPLES / "ivr_menu.py", "--pretty")
    expected = (EXAMPLES / "ivr_menu.xml").read_text("utf-8")
    assert result.code == 0
    assert result.out == re.sub(r"<!--.*?-->\n", "", expected)


def test_the_builder_page_error_example_is_what_a_typo_gives(
    tmp_path: Path, run_cli: RunCli
) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    lines = [
        "from callflow.dsl import Gather, Response",
        *[""] * 10,
        "flow = Response(Gather(num_digts=1))",
    ]
    (flows / "menu.py").write_text("\n".join(lines) + "\n", "utf-8")
    [quoted] = re.findall(r"```text\n(.*?)```", builder_page(), re.DOTALL)
    first, hint = (line.strip() for line in quoted.strip().splitlines())
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = run_cli("validate", "flows/menu.py")
    finally:
        os.chdir(cwd)
    assert first.replace("flows/menu.py:12:24:", "flows/menu.py:12:24: CF701") in result.out
    assert hint.removesuffix("…") in result.out
