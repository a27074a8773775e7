"""`callflow validate PATH...`: check call flow files and report every problem."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from callflow.lint.config import LintConfig

NAME = "validate"
HELP = "validate call flow files (*.xml, *.xml.j2 templates, *.py builder scripts)"


def configure(parser: argparse.ArgumentParser) -> None:
    from callflow.commands._common import add_format_option

    parser.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        type=Path,
        help="files or directories (directories are searched for *.xml, *.xml.j2)",
    )
    add_format_option(parser)
    parser.add_argument(
        "--schema",
        type=Path,
        metavar="XSD",
        help="validate against this XSD instead of callflow's own",
    )
    parser.add_argument("--no-lint", action="store_true", help="schema checks only")
    parser.add_argument(
        "--select",
        action="append",
        metavar="CODES",
        default=None,
        help="only report lint codes starting with these (comma-separated)",
    )
    parser.add_argument(
        "--ignore",
        action="append",
        metavar="CODES",
        default=None,
        help="do not report codes starting with these (comma-separated)",
    )
    parser.add_argument(
        "--max-bytes",
        type=int,
        default=None,
        metavar="N",
        help="refuse files larger than N bytes (default: 1 MiB)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no summary line")
    fixing = parser.add_mutually_exclusive_group()
    fixing.add_argument(
        "--fix",
        action="store_true",
        help="rewrite the safe cases (legacy forms, missing Callback method) in *.xml files, "
        "then report what is left",
    )
    fixing.add_argument(
        "--diff",
        action="store_true",
        help="print the fixes --fix would make as a unified diff; write nothing",
    )


def _codes(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [code.strip() for value in values for code in value.split(",") if code.strip()]


def run(args: argparse.Namespace) -> int:
    from callflow.check import iter_document_diagnostics
    from callflow.commands._common import print_diagnostics, summary
    from callflow.diagnostics import Diagnostic, has_errors, in_order
    from callflow.document import MAX_DOCUMENT_BYTES
    from callflow.errors import InputError
    from callflow.schema import load_schema
    from callflow.sources import expand_paths, load_path_sources

    try:
        schema = load_schema(args.schema.resolve() if args.schema else None)
    except InputError as error:
        print(f"callflow validate: {error}", file=sys.stderr)
        return 2
    max_bytes = args.max_bytes if args.max_bytes is not None else MAX_DOCUMENT_BYTES
    select, ignore = _codes(args.select), _codes(args.ignore)
    if args.fix or args.diff:
        if args.no_lint:
            print("callflow validate: --fix and --diff need lint; drop --no-lint", file=sys.stderr)
            return 2
        try:
            outcome = _fix(args, max_bytes)
        except InputError as error:
            print(f"callflow validate: {error}", file=sys.stderr)
            return 2
        if args.diff:
            return outcome
    found: list[Diagnostic] = []
    files = 0
    for path, problem in expand_paths(args.paths):
        if problem is not None:
            found.append(problem)
            continue
        files += 1
        try:
            config = _config(path)
        except InputError as error:
            print(f"callflow validate: {error}", file=sys.stderr)
            return 2
        for source in load_path_sources(path, max_bytes=max_bytes):
            found.extend(source.diagnostics)
            if source.document is not None:
                found.extend(
                    iter_document_diagnostics(
                        source.document,
                        schema=schema,
                        lint=not args.no_lint,
                        select=select,
                        ignore=ignore,
                        config=config,
                    )
                )
    ordered = in_order(found)
    print_diagnostics(ordered, args.format)
    if not args.quiet:
        print(summary(ordered, files), file=sys.stderr)
    return 1 if has_errors(ordered) else 0


def _config(path: Path) -> LintConfig:
    """The ``[tool.callflow]`` settings of the nearest pyproject.toml above ``path``."""
    from callflow.lint.config import config_for

    return config_for(path)


def _fix(args: argparse.Namespace, max_bytes: int) -> int:
    """Fix (or, with --diff, show the fixes for) every XML file named; 1 if a diff is shown."""
    from callflow.fix import fix_file, iter_fix_paths
    from callflow.sources import expand_paths

    files: list[Path] = []
    missing = False
    for path, problem in expand_paths(args.paths):
        if problem is None:
            files.append(path)
        elif args.diff:  # with --fix, the check that follows reports it
            print(f"callflow validate: {problem}", file=sys.stderr)
            missing = True
    changed = fixed = 0
    for path in iter_fix_paths(files):
        config = _config(path).with_options(select=_codes(args.select), ignore=_codes(args.ignore))
        outcome = fix_file(path, config=config, write=not args.diff, max_bytes=max_bytes)
        result = outcome.result
        if result.refused:
            print(f"callflow validate: {path}: {result.refused}", file=sys.stderr)
            continue
        if not result.changed:
            continue
        changed += 1
        fixed += len(result.applied)
        if args.diff:
            sys.stdout.write(result.diff(str(path)))
    if not args.quiet:
        noun = "file" if changed == 1 else "files"
        verb = "would fix" if args.diff else "fixed"
        if changed:
            print(f"{verb} {fixed} problem(s) in {changed} {noun}", file=sys.stderr)
        else:
            print("nothing to fix", file=sys.stderr)
    return 1 if args.diff and (changed or missing) else 0
