"""Builder scripts: `load_script_sources`, `callflow validate script.py`, `callflow build`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from callflow.diagnostics import CODES

# Private on purpose: the script runner is this module's subject (the CLI path is tested too).
from callflow.dsl._script import load_script_sources

Write = Callable[[str, str], Path]
RunCli = Callable[..., Any]  # the conftest fixture, returning a CliResult

GOOD = """\
from callflow.dsl import Hangup, Response, Say

flow = Response(
    Say("Hello."),
    Hangup(),
)
"""


def test_a_script_defining_flow_gives_a_document_mapped_to_its_lines(write: Write) -> None:
    script = write("hello.py", GOOD)
    [source] = load_script_sources(script)
    assert source.diagnostics == []
    assert source.document is not None
    elements = source.document.source_map.elements
    assert {path: (loc.file, loc.line) for path, loc in elements.items()} == {
        "/Response": (str(script), 3),
        "/Response/Say": (str(script), 4),
        "/Response/Hangup": (str(script), 5),
    }


def test_a_script_may_define_build_instead(write: Write) -> None:
    script = write(
        "built.py",
        "from callflow.dsl import Response, Say\n\ndef build() -> Response:\n"
        "    return Response(Say('Hi'))\n",
    )
    [source] = load_script_sources(script)
    assert source.document is not None
    assert source.document.source_map.elements["/Response/Say"].line == 4


def test_a_main_block_does_not_run_when_loaded(write: Write) -> None:
    script = write("main.py", GOOD + "\nif __name__ == '__main__':\n    raise SystemExit(3)\n")
    [source] = load_script_sources(script)
    assert source.diagnostics == [] and source.document is not None


def test_a_script_can_import_a_fragment_module_next_to_it(write: Write) -> None:
    write(
        "parts_for_test.py",
        "from callflow.dsl import Say\n\ndef hello() -> Say:\n    return Say('Hi')\n",
    )
    script = write(
        "uses_parts.py",
        "from callflow.dsl import Response\nfrom parts_for_test import hello\n\n"
        "flow = Response(hello())\n",
    )
    [source] = load_script_sources(script)
    assert source.document is not None
    location = source.document.source_map.elements["/Response/Say"]
    assert location.file.endswith("parts_for_test.py") and location.line == 4
    assert location.chain == (f"called from {script}:4",)


def _only(script: Path) -> tuple[str, int, str]:
    [source] = load_script_sources(script)
    assert source.document is None
    [problem] = source.diagnostics
    return problem.code, problem.location.line, problem.message


def test_a_build_error_becomes_cf701_at_the_scripts_line(write: Write) -> None:
    script = write(
        "typo.py",
        "from callflow.dsl import Gather, Response\n\n"
        "flow = Response(\n    Gather(num_digts=1),\n)\n",
    )
    code, line, message = _only(script)
    assert (code, line) == ("CF701", 4)
    assert "num_digts" in message


def test_an_exception_becomes_cf702_at_the_raising_line(write: Write) -> None:
    script = write("boom.py", "x = 1\ny = x / 0\n")
    assert _only(script) == ("CF702", 2, "the script raised ZeroDivisionError: division by zero")


def test_sys_exit_in_a_script_is_reported_not_obeyed(write: Write) -> None:
    script = write("exits.py", "import sys\nsys.exit(4)\n")
    assert _only(script)[:2] == ("CF702", 2)


def test_a_script_without_flow_or_build_is_cf703(write: Write) -> None:
    assert _only(write("empty.py", "x = 1\n"))[:2] == ("CF703", 1)


def test_a_flow_that_is_not_a_response_is_cf704_at_its_assignment(write: Write) -> None:
    script = write("wrong.py", "from callflow.dsl import Say\n\n\nflow = Say('Hi')\n")
    assert _only(script) == ("CF704", 4, "`flow` is a Say, not a Response")


def test_a_syntax_error_is_cf705_at_its_line(write: Write) -> None:
    assert _only(write("broken.py", "flow = (\n\nx = ]\n"))[:1] == ("CF705",)


def test_an_incomplete_flow_is_reported_at_the_incomplete_nodes_line(write: Write) -> None:
    script = write(
        "incomplete.py",
        "from callflow.dsl import Dial, Response\n\nflow = Response(\n    Dial(),\n)\n",
    )
    code, line, message = _only(script)
    assert (code, line) == ("CF701", 4) and "incomplete" in message


def test_every_cf7_code_is_registered() -> None:
    assert {f"CF70{n}" for n in range(1, 6)} <= set(CODES)


# ---------------------------------------------------------------- the CLI


def test_validate_reports_schema_problems_at_the_scripts_line(
    write: Write, run_cli: RunCli
) -> None:
    script = write(
        "hatch.py",
        "from callflow.dsl import Response, Say, UncheckedElement\n\n"
        "flow = Response(\n"
        "    Say('Hi', unchecked_attributes={'speed': 'fast'}),\n"
        "    UncheckedElement('Transfer'),\n"
        ")\n",
    )
    result = run_cli("validate", script, "--format", "json")
    assert result.code == 1
    found = [(d["code"], d["line"]) for d in json.loads(result.out)]
    assert found == [("CF203", 4), ("CF201", 5)]
    assert all(d["file"] == str(script) for d in json.loads(result.out))


def test_validate_reports_a_build_error_with_its_hint(write: Write, run_cli: RunCli) -> None:
    script = write(
        "typo.py",
        "from callflow.dsl import Gather, Response\n\nflow = Response(Gather(num_digts=1))\n",
    )
    result = run_cli("validate", script)
    assert result.code == 1
    # At the keyword itself, line and column.
    assert f"{script}:3:24: CF701 Gather(): unknown keyword argument `num_digts`=1" in result.out
    assert "hint: did you mean `num_digits`?" in result.out


def test_validate_passes_a_good_script(write: Write, run_cli: RunCli) -> None:
    result = run_cli("validate", write("good.py", GOOD))
    assert (result.code, result.out) == (0, "")


def test_build_prints_the_validated_xml(write: Write, run_cli: RunCli) -> None:
    result = run_cli("build", write("good.py", GOOD))
    assert result.code == 0
    assert result.out == (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Say>Hello.</Say><Hangup/></Response>\n'
    )


def test_build_pretty_indents(write: Write, run_cli: RunCli) -> None:
    result = run_cli("build", write("good.py", GOOD), "--pretty")
    assert result.out.splitlines()[1:] == [
        "<Response>",
        "  <Say>Hello.</Say>",
        "  <Hangup/>",
        "</Response>",
    ]


def test_build_keeps_the_scripts_prints_off_stdout(write: Write, run_cli: RunCli) -> None:
    result = run_cli("build", write("chatty.py", "print('debugging')\n" + GOOD))
    assert "debugging" not in result.out and "debugging" in result.err
    assert result.out.startswith("<?xml")


def test_build_of_an_invalid_flow_prints_no_xml_and_exits_1(write: Write, run_cli: RunCli) -> None:
    script = write(
        "bad.py",
        "from callflow.dsl import Response, Say\n\n"
        "flow = Response(Say('Hi', unchecked_attributes={'speed': 'fast'}))\n",
    )
    result = run_cli("build", script)
    assert (result.code, result.out) == (1, "")
    assert f"{script}:3: CF203" in result.err


def test_build_of_a_missing_script_is_cf001_and_an_input_error(
    tmp_path: Path, run_cli: RunCli
) -> None:
    result = run_cli("build", tmp_path / "nope.py")
    assert result.code == 2 and "CF001" in result.err


MULTILINE_TYPO = """\
from callflow.dsl import DTMF, Gather, Response, Say

flow = Response(
    Gather(
        DTMF(
            Say("Sales."),
            valuex="1",
        ),
    ),
)
"""


def test_validate_reports_a_bad_keyword_at_its_own_line_and_column(
    write: Write, run_cli: RunCli
) -> None:
    script = write("menu.py", MULTILINE_TYPO)
    result = run_cli("validate", script, "--format", "json")
    assert result.code == 1
    [found] = json.loads(result.out)
    assert (found["code"], found["line"], found["column"]) == ("CF701", 7, 13)


def test_an_unsaved_buffer_places_its_keyword_by_its_own_text(write: Write) -> None:
    script = write("menu.py", GOOD)  # the file on disk has no error, nor the same lines
    [source] = load_script_sources(script, text=MULTILINE_TYPO.encode())
    [problem] = source.diagnostics
    assert (problem.code, problem.location.line, problem.location.column) == ("CF701", 7, 13)
