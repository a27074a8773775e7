"""The README's template section runs as written."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
SECTION = README[README.index("## Templates") : README.index("## Executing flows")]


def block(language: str, index: int = 0) -> str:
    return re.findall(rf"```{language}\n(.*?)```", SECTION, re.DOTALL)[index]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "support.xml.j2").write_text(block("jinja"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_readme_template_validates_with_its_sample(
    project: Path, run_cli: Callable[..., object]
) -> None:
    result = run_cli("validate", "flows/support.xml.j2")
    assert result.code == 0 and result.out == "", result  # type: ignore[attr-defined]


def test_readme_error_example_is_what_render_prints(
    project: Path, run_cli: Callable[..., object]
) -> None:
    example = block("console", 1)
    command, _, expected = example.partition("\n")
    args = command.removeprefix("$ callflow ").split()
    result = run_cli(*args)
    assert result.code == 1  # type: ignore[attr-defined]
    assert result.out == expected  # type: ignore[attr-defined]


def test_readme_render_commands_work(project: Path, run_cli: Callable[..., object]) -> None:
    (project / "caller.json").write_text('{"greeting": "Hi", "agents": ["+15550100"]}')
    for line in block("console", 0).splitlines()[1:3]:
        result = run_cli(*shlex.split(line.removeprefix("$ callflow "), comments=True))
        assert result.code == 0, (line, result)  # type: ignore[attr-defined]
        assert result.out.startswith("<Response>")  # type: ignore[attr-defined]


def test_readme_python_example_runs(project: Path) -> None:
    namespace: dict[str, object] = {}
    exec(block("python"), namespace)
    assert "<Record" in str(namespace["xml_reply"])


def test_readme_library_table_lists_every_library_template() -> None:
    from callflow.templating import library_templates

    for template in library_templates():
        assert f"`{template.name}`" in SECTION
        for macro in template.macros:
            assert f"`{macro}`" in SECTION, macro


def test_readme_library_chain_example_matches_the_library(write: Callable[..., Path]) -> None:
    from callflow.check import check_document
    from callflow.templating import load_template_sources

    example = re.search(
        r'\("(in macro `dial_target` \(callflow/actions\.xml\.j2:\d+\))"\)', SECTION
    )
    assert example is not None
    path = write(
        "mine.xml.j2",
        "{# callflow\n[samples.basic]\n#}\n"
        '{% from "callflow/actions.xml.j2" import dial %}\n'
        "<Response>\n{{ dial('not a number') }}\n</Response>\n",
    )
    (source,) = load_template_sources(path)
    assert source.document is not None
    (problem,) = check_document(source.document)
    assert problem.location.chain[0] == example.group(1)
