"""Options and helpers shared by several subcommands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from callflow.diagnostics import Diagnostic


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


def print_diagnostics(diagnostics: Sequence[Diagnostic], fmt: str) -> None:
    """Write diagnostics to stdout in ``fmt`` (json and sarif always print, even when empty)."""
    from callflow.cli import version
    from callflow.reporters import render

    out = render(diagnostics, fmt, version=version() if fmt == "sarif" else "0")
    if out:
        sys.stdout.write(out)


def summary(diagnostics: Sequence[Diagnostic], files: int) -> str:
    errors = sum(1 for d in diagnostics if d.severity.value == "error")
    warnings = sum(1 for d in diagnostics if d.severity.value == "warning")
    noun = "file" if files == 1 else "files"
    if not errors and not warnings:
        return f"{files} {noun} checked, no problems"
    return f"{files} {noun} checked: {errors} error(s), {warnings} warning(s)"
