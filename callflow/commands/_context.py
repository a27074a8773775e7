"""Template variables on the command line: ``--var``, ``--context`` and ``--sample``.

Every command that takes a SOURCE (render, execute, explain, simulate, graph) reads them the
same way, so a variable means the same thing to each.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")


def add_context_options(parser: argparse.ArgumentParser, *, sample: bool = True) -> None:
    group = parser.add_argument_group("template variables (for *.xml.j2 sources)")
    group.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a variable; a variable the template's header declares is converted to "
        "its declared type (a list or table written as JSON), an undeclared one is read as "
        'JSON when it is JSON (numbers, true, [lists], {tables}, "text"), else as plain '
        "text; dotted keys set nested values",
    )
    group.add_argument(
        "--context",
        type=Path,
        metavar="FILE",
        help="variables from a .json or .toml file (--var values override them)",
    )
    if sample:
        group.add_argument(
            "--sample",
            metavar="NAME",
            help="start from a sample context the template declares (--context and --var "
            "override its values)",
        )


def parse_var(text: str) -> tuple[list[str], object]:
    """``key=value`` → (key path, value); the value is JSON when it parses as JSON."""
    from callflow.errors import InputError

    key, separator, raw = text.partition("=")
    key = key.strip()
    if not separator or not _KEY.fullmatch(key):
        raise InputError(
            f"--var {text!r}: expected KEY=VALUE with KEY a name such as greeting or voice.lang"
        )
    value: object
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return key.split("."), value


def _set(context: dict[str, Any], path: list[str], value: object) -> None:
    target = context
    for part in path[:-1]:
        existing = target.get(part)
        if not isinstance(existing, dict):
            existing = target[part] = {}
        target = existing
    target[path[-1]] = value


def read_context_file(path: Path) -> dict[str, Any]:
    """A context file: a JSON object or a TOML document; raises `InputError` when unusable."""
    from callflow.errors import InputError
    from callflow.sources import read_input

    data = read_input(str(path), what="--context")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(f"--context {path}: not UTF-8 text (byte offset {error.start})") from None
    if path.suffix.lower() == ".toml":
        import tomllib

        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise InputError(f"--context {path}: not valid TOML: {error}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(
            f"--context {path}:{error.lineno}:{error.colno}: not valid JSON: {error.msg}"
        ) from None
    if not isinstance(data, dict):
        raise InputError(f"--context {path}: expected a JSON object of variables")
    return data


def read_context(args: argparse.Namespace) -> Mapping[str, object] | None:
    """The variables the options give, or None when none were given (then a template renders
    once per sample); raises `InputError` for bad input."""
    from callflow.templating._header import CommandLineContext

    context: dict[str, Any] = read_context_file(args.context) if args.context else {}
    texts: dict[str, str] = {}
    for item in args.var:
        key, value = parse_var(item)
        _set(context, key, value)
        if len(key) == 1:  # a declared variable is converted from this text to its type
            texts[key[0]] = item.partition("=")[2]
        else:
            texts.pop(key[0], None)
    if not (context or args.context is not None):
        return None
    return CommandLineContext(context, texts)
