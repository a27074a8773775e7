"""[tool.callflow] in pyproject.toml, and --select/--ignore on `callflow validate`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from callflow.diagnostics import Severity
from callflow.errors import InputError
from callflow.lint import DEFAULT_CONFIG, config_for, config_from_table, find_pyproject

Write = Callable[[str, str], Path]

FLOW = '<Response>\n  <Pause length="5"/>\n  <Say loop="30">Hi</Say>\n</Response>\n'


def test_the_nearest_pyproject_with_a_callflow_table_wins(write: Write) -> None:
    outer = write("pyproject.toml", '[tool.callflow]\nignore = ["CF305"]\n')
    write("flows/pyproject.toml", '[project]\nname = "not-callflow-settings"\n')
    flow = write("flows/ivr/menu.xml", FLOW)
    assert find_pyproject(flow) == outer.resolve()


def test_the_settings_of_the_found_file_apply(write: Write) -> None:
    write("pyproject.toml", "[tool.callflow]\nmax-loop = 7\n")
    flow = write("flows/menu.xml", FLOW)
    config = config_for(flow)
    assert config is not DEFAULT_CONFIG and config.max_loop == 7


def test_select_ignore_severity_and_limits_are_read() -> None:
    config = config_from_table(
        {
            "select": ["CF3"],
            "ignore": ["cf313"],
            "severity": {"CF305": "error"},
            "max-loop": 50,
            "max-attempts": 4,
        }
    )
    assert config.select == ("CF3",) and config.ignore == ("CF313",)
    assert config.severity == {"CF305": Severity.ERROR}
    assert (config.max_loop, config.max_attempts) == (50, 4)


@pytest.mark.parametrize(
    ("table", "complaint"),
    [
        ({"ignroe": ["CF301"]}, "did you mean `ignore`"),
        ({"ignore": "CF301"}, "expected a list"),
        ({"select": ["E501"]}, "not a callflow code"),
        ({"severity": {"CF301": "fatal"}}, "expected one of error, warning, info"),
        ({"max-loop": 0}, "1 or more"),
    ],
)
def test_bad_settings_are_refused_with_a_reason(table: dict[str, object], complaint: str) -> None:
    with pytest.raises(InputError, match=complaint):
        config_from_table(table)


def test_validate_applies_the_pyproject_settings(write: Write, run_cli: Callable[..., Any]) -> None:
    write(
        "pyproject.toml",
        '[tool.callflow]\nignore = ["CF305"]\nmax-loop = 40\nseverity = { CF320 = "error" }\n',
    )
    flow = write("menu.xml", FLOW.replace('loop="30"', 'loop="45"'))
    result = run_cli("validate", flow, "--format", "json")
    import json

    found = json.loads(result.out)
    assert [(d["code"], d["severity"]) for d in found] == [("CF320", "error")]
    assert result.code == 1


def test_validate_refuses_a_broken_pyproject(write: Write, run_cli: Callable[..., Any]) -> None:
    write("pyproject.toml", "[tool.callflow]\nselect = [\n")
    flow = write("menu.xml", FLOW)
    result = run_cli("validate", flow)
    assert result.code == 2
    assert "not valid TOML" in result.err


def test_command_line_select_replaces_and_ignore_adds(
    write: Write, run_cli: Callable[..., Any]
) -> None:
    write("pyproject.toml", '[tool.callflow]\nselect = ["CF305"]\n')
    flow = write("menu.xml", FLOW)
    selected = run_cli("validate", flow, "--select", "CF320", "--format", "json")
    assert '"CF320"' in selected.out and '"CF305"' not in selected.out
    ignored = run_cli("validate", flow, "--ignore", "CF305", "--format", "json")
    assert ignored.out.strip() == "[]"


def test_select_never_hides_schema_errors(write: Write, run_cli: Callable[..., Any]) -> None:
    flow = write("menu.xml", '<Response><Pause lenght="5"/></Response>')
    result = run_cli("validate", flow, "--select", "CF305", "--format", "json")
    assert '"CF203"' in result.out


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_command_line_options_go_on_top_of_each_folders_settings(
    write: Write, run_cli: Callable[..., Any], jobs: str
) -> None:
    # The options are merged with each folder's settings once, for every file of the folder,
    # in this process and in forked workers alike.
    root = write("a/pyproject.toml", "[tool.callflow]\nmax-loop = 40\n").parent.parent
    write("b/pyproject.toml", '[tool.callflow]\nselect = ["CF305"]\n')
    for index in range(3):
        write(f"a/{index}.xml", FLOW.replace('loop="30"', 'loop="45"'))
        write(f"b/{index}.xml", FLOW.replace("<Pause", '<Pause lenght="1"'))
    result = run_cli(
        "validate", str(root / "a"), str(root / "b"), "--ignore", "CF305", "--jobs", jobs,
        "--format", "json",
    )  # fmt: skip
    import json

    found = sorted((Path(d["file"]).parent.name, d["code"]) for d in json.loads(result.out))
    # a: CF305 ignored on the command line, CF320 over its own max-loop of 40;
    # b: its own select (CF305) minus the command line's ignore leaves the schema error only.
    assert found == [("a", "CF320")] * 3 + [("b", "CF203")] * 3
