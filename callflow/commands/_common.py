"""Options and helpers shared by several subcommands."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from callflow.diagnostics import Diagnostic, Severity

if TYPE_CHECKING:
    from pathlib import Path

    from callflow.document import Document
    from callflow.sources import LoadedSource, ReadPolicy


class Outcome:
    """What a command produced, for `callflow.cli` to print: ``stdout`` (text, or bytes
    such as a PNG), ``stderr`` (messages and summaries), and whether ``problems`` were
    found (exit 1). ``stderr_first``: messages that come before the output (a warning
    about the flow ahead of its XML).

    A plain class rather than a dataclass: every command's start-up makes this class, and
    a dataclass's methods are generated and compiled as it is made (about 1 ms)."""

    __slots__ = ("problems", "stderr", "stderr_first", "stdout")

    def __init__(
        self,
        *,
        stdout: str | bytes = "",
        stderr: str = "",
        problems: bool = False,
        stderr_first: bool = False,
    ) -> None:
        self.stdout = stdout
        self.stderr = stderr
        self.problems = problems
        self.stderr_first = stderr_first

    def _fields(self) -> tuple[str | bytes, str, bool, bool]:
        return (self.stdout, self.stderr, self.problems, self.stderr_first)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Outcome):
            return NotImplemented
        return self._fields() == other._fields()

    # Unhashable, as a dataclass with __eq__ and without frozen=True is.
    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Outcome(stdout={self.stdout!r}, stderr={self.stderr!r}, "
            f"problems={self.problems!r}, stderr_first={self.stderr_first!r})"
        )


def format_diagnostics(
    diagnostics: Sequence[Diagnostic], fmt: str, sources: Sequence[LoadedSource] = ()
) -> str:
    """Diagnostics in ``fmt`` (json and sarif always give a document, even when empty).

    Lines are quoted from ``sources`` that did not come from disk (standard input, buffers),
    else from the files named."""
    from callflow.cli import version
    from callflow.reporters import FileLines, render

    texts = {str(s.path): s.text for s in sources if s.text is not None}
    lines = FileLines(texts) if texts else None
    return render(diagnostics, fmt, lines=lines, version=version() if fmt == "sarif" else "0")


def add_format_option(
    parser: argparse.ArgumentParser, *, choices: Sequence[str] | None = None
) -> None:
    from callflow.reporters import FORMATS

    parser.add_argument(
        "--format",
        choices=list(choices or FORMATS),
        default="text",
        help="output format (default: text)",
    )


def summary(diagnostics: Sequence[Diagnostic], files: int) -> str:
    errors = sum(1 for d in diagnostics if d.severity is Severity.ERROR)
    warnings = sum(1 for d in diagnostics if d.severity is Severity.WARNING)
    noun = "file" if files == 1 else "files"
    if not errors and not warnings:
        return f"{files} {noun} checked, no problems"
    return f"{files} {noun} checked: {errors} error(s), {warnings} warning(s)"


# ---------------------------------------------------------------- flows on the command line


def add_flow_arguments(
    parser: argparse.ArgumentParser,
    *,
    many: bool = False,
    dest: str = "source",
    metavar: str = "SOURCE",
    help: str = "a *.xml flow, *.xml.j2 template, *.py builder script, a library template "
    "name (callflow/ivr_menu.xml.j2) or - for standard input",
    context: bool = True,
    max_bytes: bool = False,
    optional: bool = False,
) -> None:
    """The flow argument(s) and reading options every command takes, read by `flows_from_args`
    and `flow_from_args` through the front door (`callflow.sources`). ``optional``: the
    command can get its one flow another way (the argument is then None)."""
    nargs = "+" if many else "?" if optional else None
    parser.add_argument(dest, nargs=nargs, metavar=metavar, help=help)
    group = parser.add_argument_group("reading flows")
    group.add_argument(
        "--stdin-filename",
        metavar="NAME",
        help="the name standard input (-) goes by in locations; its ending decides the kind "
        "(*.xml.j2 a template, *.py a builder script, else XML)",
    )
    group.add_argument(
        "--follow-links",
        action="store_true",
        help="follow symbolic links that lead out of the folder named (not followed by default)",
    )
    group.add_argument(
        "--trusted-templates",
        action="store_true",
        help="render templates outside Jinja's sandbox (only for templates you wrote)",
    )
    group.add_argument(
        "--script-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="how long a *.py builder script may run (default: 10)",
    )
    if max_bytes:
        group.add_argument(
            "--max-bytes",
            type=int,
            default=None,
            metavar="N",
            help="refuse files larger than N bytes (default: 1 MiB)",
        )
    if context:
        from callflow.commands._context import add_context_options

        add_context_options(parser)


def policy_from_args(args: argparse.Namespace) -> ReadPolicy:
    """The reading policy the options give; raises `InputError` for bad numbers."""
    from callflow.errors import InputError
    from callflow.sources import DEFAULT_POLICY, ReadPolicy

    max_bytes = getattr(args, "max_bytes", None)
    timeout = getattr(args, "script_timeout", None)
    if max_bytes is not None and max_bytes < 1:
        raise InputError("--max-bytes takes a positive number")
    if timeout is not None and not timeout > 0:
        raise InputError("--script-timeout takes a positive number of seconds")
    return ReadPolicy(
        follow_links=getattr(args, "follow_links", False),
        trusted=getattr(args, "trusted_templates", False),
        max_bytes=max_bytes if max_bytes is not None else DEFAULT_POLICY.max_bytes,
        script_timeout=timeout if timeout is not None else DEFAULT_POLICY.script_timeout,
    )


def _variables(args: argparse.Namespace) -> tuple[Mapping[str, object] | None, str | None]:
    from callflow.commands._context import read_context

    if not hasattr(args, "var"):
        return None, None
    return read_context(args), getattr(args, "sample", None)


def flows_from_args(args: argparse.Namespace, *, dest: str = "source") -> list[LoadedSource]:
    """Every LoadedSource the flow argument(s) name (never raises for bad files; raises
    `InputError` for bad options)."""
    from callflow.sources import load_flows

    names = getattr(args, dest)
    policy = policy_from_args(args)
    context, sample = _variables(args)
    found: list[LoadedSource] = []
    for name in names if isinstance(names, list) else [names]:
        found.extend(
            load_flows(
                _as_path(os.fspath(name)),
                context=context,
                sample=sample,
                filename=args.stdin_filename if name == "-" else None,
                policy=policy,
            )
        )
    return found


def flow_from_args(args: argparse.Namespace, *, dest: str = "source") -> Document:
    """The one Document the flow argument names; raises `InputError` (unreadable, a folder,
    several samples) or `ValidationError` (it does not load)."""
    from callflow.sources import load_flow

    name = os.fspath(getattr(args, dest))
    context, sample = _variables(args)
    return load_flow(
        _as_path(name),
        context=context,
        sample=sample,
        filename=args.stdin_filename if name == "-" else None,
        policy=policy_from_args(args),
    )


def _as_path(name: str) -> str | Path:
    # A name on the command line is a path (or '-'), never XML text, whatever it holds.
    from pathlib import Path

    return name if name == "-" else Path(name)
