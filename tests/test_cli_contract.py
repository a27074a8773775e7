"""The CLI contract (callflow/cli.py's docstring): commands return an Outcome or raise; only
cli.py prints and picks exit codes; exceptions follow callflow/errors.py."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from callflow.cli import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, main, write_outcome
from callflow.commands._common import Outcome

COMMANDS = Path(__file__).resolve().parents[1] / "callflow" / "commands"

#: Commands whose run() follows the contract.
CONTRACTED = ["apps", "build", "calls", "convert", "execute", "explain", "graph", "render",
              "sandbox", "serve", "simulate", "templates", "validate"]  # fmt: skip

#: Command modules that still write to the terminal themselves, and why. `test` exits 2 for
#: an unusable scenario file while still printing the others' results, which an Outcome
#: cannot say yet (it knows exit 0 and 1).
STILL_PRINTING = {"test"}


def _run_function(module: str) -> ast.FunctionDef:
    tree = ast.parse((COMMANDS / f"{module}.py").read_text(encoding="utf-8"))
    return next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "run")


_STREAMS = {"stdout", "stderr", "__stdout__", "__stderr__"}


def terminal_writes(source: str) -> list[str]:
    """Each place in ``source`` that prints, exits, or touches ``sys.stdout``/``sys.stderr``
    (asking ``isatty()`` aside), as ``line: what``."""
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found: list[tuple[int, int, str]] = []
    for node in ast.walk(tree):
        what = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in ("print", "exit", "quit", "breakpoint"):
                what = f"{node.func.id}()"
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id == "sys" and node.attr in _STREAMS | {"exit"}:
                parent = parents.get(node)
                asks = isinstance(parent, ast.Attribute) and parent.attr == "isatty"
                what = None if asks else f"sys.{node.attr}"
            elif node.value.id == "os" and node.attr in ("write", "_exit"):
                what = f"os.{node.attr}"
        elif isinstance(node, ast.ImportFrom) and node.module == "sys":
            named = {alias.name for alias in node.names} & (_STREAMS | {"exit"})
            what = f"from sys import {', '.join(sorted(named))}" if named else None
        if what is not None:
            found.append((node.lineno, node.col_offset, what))
    return [f"{line}: {what}" for line, _, what in sorted(found)]


def test_the_scan_finds_every_way_a_module_could_write_to_the_terminal() -> None:
    planted = """
import os, sys
from sys import stderr
def run(args):
    print("hi")
    sys.stdout.write("x")
    out = sys.stderr
    print("x", file=sys.stderr)
    sys.exit(3)
    os.write(1, b"x")
    return 0
"""
    assert terminal_writes(planted) == [
        "3: from sys import stderr", "5: print()", "6: sys.stdout", "7: sys.stderr",
        "8: print()", "8: sys.stderr", "9: sys.exit", "10: os.write",
    ]  # fmt: skip
    allowed = "import sys\ndef run(args):\n    return sys.stdout.isatty()\n"
    assert terminal_writes(allowed) == []


@pytest.mark.parametrize("module", sorted({p.stem for p in COMMANDS.glob("*.py")} - {"__init__"}))
def test_no_command_module_writes_to_the_terminal(module: str) -> None:
    found = terminal_writes((COMMANDS / f"{module}.py").read_text(encoding="utf-8"))
    if module in STILL_PRINTING:
        assert found, f"{module} no longer prints: take it off STILL_PRINTING"
    else:
        assert found == [], f"callflow/commands/{module}.py: {found}"


@pytest.mark.parametrize("module", CONTRACTED)
def test_a_command_returns_an_outcome(module: str) -> None:
    run = _run_function(module)
    assert run.returns is not None and ast.unparse(run.returns) == "Outcome", module


def test_an_outcome_with_problems_exits_1_and_prints_in_order(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert write_outcome(Outcome(stdout="out\n", stderr="err\n", problems=True)) == EXIT_PROBLEMS
    assert capsys.readouterr() == ("out\n", "err\n")
    assert write_outcome(Outcome(stdout=b"bytes\n")) == EXIT_OK
    assert capsys.readouterr().out == "bytes\n"


def test_an_outcome_compares_and_shows_by_its_fields() -> None:
    outcome = Outcome(stdout="x\n", problems=True)
    assert (outcome.stdout, outcome.stderr, outcome.problems, outcome.stderr_first) == (
        "x\n",
        "",
        True,
        False,
    )
    assert outcome == Outcome(stdout="x\n", problems=True)
    assert outcome != Outcome(stdout="x\n")
    assert repr(outcome) == ("Outcome(stdout='x\\n', stderr='', problems=True, stderr_first=False)")
    with pytest.raises(TypeError):
        hash(outcome)
    with pytest.raises(TypeError):
        Outcome("positional")  # type: ignore[call-arg]


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


def test_a_sandbox_that_cannot_listen_is_an_error_with_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        code = main(["sandbox", "serve", "--port", port, "--db", ":memory:", "-q"])
    assert code == EXIT_PROBLEMS
    err = capsys.readouterr().err
    assert f"callflow sandbox: cannot listen on 127.0.0.1:{port}: " in err
    assert "internal error" not in err


def test_an_api_error_names_the_target_it_came_from(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = "00000000-0000-0000-0000-000000000000"
    database = tmp_path / "s.sqlite3"
    assert main(["apps", "show", missing, "--db", str(database), "--sandbox"]) == EXIT_PROBLEMS
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"callflow apps: HTTP 404: SIP Control App {missing} not found",
        f"target: sandbox (in-process, {database})",
    ]
