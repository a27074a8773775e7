"""The CLI contract (callflow/cli.py's docstring): commands return an Outcome or raise; only
cli.py prints and picks exit codes; exceptions follow callflow/errors.py."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from callflow.cli import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, main, write_outcome
from callflow.commands._common import Outcome

COMMANDS = Path(__file__).resolve().parents[1] / "callflow" / "commands"

#: Commands whose run() follows the contract (apps and sandbox manage the sandbox's store
#: and keep their own output for now; validate --fix/--diff reports as it fixes).
CONTRACTED = ["build", "convert", "execute", "explain", "graph", "render", "simulate",
              "templates", "validate"]  # fmt: skip


def _run_function(module: str) -> ast.FunctionDef:
    tree = ast.parse((COMMANDS / f"{module}.py").read_text(encoding="utf-8"))
    return next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "run")


@pytest.mark.parametrize("module", CONTRACTED)
def test_a_command_never_prints_or_exits(module: str) -> None:
    run = _run_function(module)
    tree = ast.parse((COMMANDS / f"{module}.py").read_text(encoding="utf-8"))
    helpers = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)} - {"_fix"}
    for node in ast.walk(ast.Module(body=[n for n in tree.body if isinstance(n, ast.FunctionDef)
                                          and n.name in helpers], type_ignores=[])):  # fmt: skip
        if isinstance(node, ast.Call):
            called = ast.unparse(node.func)
            assert called not in ("print", "sys.exit", "exit"), f"{module}: {called}"
            assert not called.startswith(("sys.stdout.write", "sys.stderr.write")), module
    assert run.returns is not None and "Outcome" in ast.unparse(run.returns)


def test_an_outcome_with_problems_exits_1_and_prints_in_order(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert write_outcome(Outcome(stdout="out\n", stderr="err\n", problems=True)) == EXIT_PROBLEMS
    assert capsys.readouterr() == ("out\n", "err\n")
    assert write_outcome(Outcome(stdout=b"bytes\n")) == EXIT_OK
    assert capsys.readouterr().out == "bytes\n"


def test_an_unreadable_input_is_an_input_error_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import os

    os.mkfifo(tmp_path / "x.xml")
    for command in ("simulate", "graph", "convert", "build", "execute"):
        assert main([command, str(tmp_path / "x.xml")]) == EXIT_USAGE
        captured = capsys.readouterr()
        assert "CF010" in captured.out + captured.err
        assert f"callflow {command}: " in captured.err


def test_a_flow_that_does_not_load_is_a_validation_error_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bad.xml").write_text("<Response><Say>", encoding="utf-8")
    for command in ("simulate", "graph", "convert"):
        assert main([command, str(tmp_path / "bad.xml")]) == EXIT_PROBLEMS
        captured = capsys.readouterr()
        assert "CF101" in captured.out + captured.err
        assert "internal error" not in captured.err


def test_load_flow_raises_input_error_for_unreadable_input(tmp_path: Path) -> None:
    from callflow.errors import InputError, ValidationError
    from callflow.sources import load_flow

    with pytest.raises(InputError) as refused:
        load_flow(tmp_path / "missing.xml")
    assert not isinstance(refused.value, ValidationError)
    assert [d.code for d in refused.value.diagnostics] == ["CF001"]
