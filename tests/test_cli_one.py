"""One CLI: every command documented, one spelling per concept, errors that name the
subcommand and the option."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from callflow.cli import build_parser


def _walk(
    parser: argparse.ArgumentParser, path: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _walk(sub, (*path, name))


def test_the_walk_reaches_every_subcommand() -> None:
    paths = {" ".join(path) for path, _ in _walk(build_parser(), ("callflow",))}
    for expected in (
        "callflow apps list",
        "callflow apps leases",
        "callflow sandbox serve",
        "callflow sandbox info",
        "callflow calls show",
        "callflow validate",
    ):
        assert expected in paths


def test_every_command_has_a_description_and_every_option_a_help_line() -> None:
    missing: list[str] = []
    for path, parser in _walk(build_parser(), ("callflow",)):
        where = " ".join(path)
        if not parser.description:
            missing.append(f"{where}: no description")
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for choice in action._choices_actions:
                    if not choice.help:
                        missing.append(f"{where} {choice.dest}: no help")
            elif action.help is None:
                missing.append(f"{where} {'/'.join(action.option_strings) or action.dest}: no help")
    assert missing == []


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {o for a in parser._actions if a.help != argparse.SUPPRESS for o in a.option_strings}


def test_one_spelling_per_concept() -> None:
    for path, parser in _walk(build_parser(), ("callflow",)):
        shown = _options(parser)
        assert "--json" not in shown, path
        assert "--sandbox-db" not in shown, path


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (["templates", "--json"], ["templates", "--format", "json"]),
        (["calls", "list", "--sandbox-db", "X"], ["calls", "list", "--db", "X"]),
        (["apps", "list", "--sandbox-db", "X"], ["apps", "list", "--db", "X"]),
        (["execute", "--sandbox-db", "X", "f.xml"], ["execute", "--db", "X", "f.xml"]),
    ],
)
def test_old_spellings_are_hidden_aliases(old: list[str], new: list[str]) -> None:
    parser = build_parser()
    a = vars(parser.parse_args(old))
    b = vars(parser.parse_args(new))
    a.pop("_run", None), b.pop("_run", None)
    assert a == b


def test_templates_format_json(run_cli: Callable[..., Any]) -> None:
    result = run_cli("templates", "--format", "json")
    assert result.code == 0 and result.out.lstrip().startswith("[")
    assert "--json" not in run_cli("templates", "--help").out


def test_an_unknown_option_after_the_path_names_the_subcommand(
    run_cli: Callable[..., Any], tmp_path: Path
) -> None:
    result = run_cli("validate", tmp_path, "--bogus")
    assert result.code == 2
    err = result.err
    assert "usage: callflow validate" in err
    assert "usage: callflow [-h]" not in err
    assert "callflow validate: error: unrecognized arguments: --bogus" in err


def test_an_unknown_option_is_named_even_when_the_path_is_missing(
    run_cli: Callable[..., Any],
) -> None:
    result = run_cli("validate", "--bogus")
    assert result.code == 2
    assert "--bogus" in result.err
    assert "callflow validate: error:" in result.err


def test_an_unknown_option_of_a_nested_subcommand_names_it(
    run_cli: Callable[..., Any],
) -> None:
    result = run_cli("apps", "list", "--bogus")
    assert result.code == 2
    assert "callflow apps list: error: unrecognized arguments: --bogus" in result.err
