"""`callflow validate PATH...`: check call flow files and report every problem."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from pathlib import Path

    from callflow.commands._common import Outcome
    from callflow.diagnostics import Diagnostic
    from callflow.document import Document
    from callflow.lint import LintConfig
    from callflow.sources import ReadPolicy

NAME = "validate"
HELP = "validate call flow files (*.xml, *.xml.j2 templates, *.py builder scripts)"

#: From this many files on, checking is spread over worker processes (one per core).
PARALLEL_THRESHOLD = 400


def configure(parser: argparse.ArgumentParser) -> None:
    from callflow.commands._common import add_flow_arguments, add_format_option

    add_flow_arguments(
        parser,
        many=True,
        dest="paths",
        metavar="PATH",
        help="files or directories (directories are searched for *.xml, *.xml.j2), library "
        "template names (callflow/ivr_menu.xml.j2), or - for standard input",
        context=False,
        max_bytes=True,
    )
    add_format_option(parser)
    parser.add_argument(
        "--schema",
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
    parser.add_argument(
        "--force", action="store_true", help="with --fix, rewrite read-only files too"
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=0,
        metavar="N",
        help=f"worker processes (default: one per core from {PARALLEL_THRESHOLD} files on)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no summary line")


class Options(NamedTuple):
    """What every file is checked with; picklable, for worker processes."""

    schema: str | None
    lint: bool
    select: tuple[str, ...] | None
    ignore: tuple[str, ...] | None
    policy: ReadPolicy
    stdin_filename: str | None = None
    #: Whether the report shows lint findings' XPaths, and quotes their lines (each format
    #: shows one or the other, or neither: `callflow.reporters.SHOWS_XPATH`, ``QUOTES_LINES``).
    xpaths: bool = True
    quotes: bool = True


def _codes(values: list[str] | None) -> tuple[str, ...] | None:
    if not values:
        return None
    return tuple(code.strip() for value in values for code in value.split(",") if code.strip())


def check_files(files: Sequence[tuple[str, str | None]], options: Options) -> list[Diagnostic]:
    """Every problem in ``files``: (name, root) pairs from `expand_flow_names`."""
    from callflow.check import collector_paused, iter_document_diagnostics
    from callflow.schema import load_schema
    from callflow.sources import load_flow_name, quote_lines

    schema = load_schema(options.schema)
    found: list[Diagnostic] = []
    # Files in one folder share their pyproject.toml. The key is the name up to its last
    # separator: cheaper than `os.path.dirname` (or a Path) for every file, and two names
    # with one key are in one folder (a folder spelled two ways only looks it up twice).
    configs: dict[str, LintConfig] = {}
    separator = os.sep if os.altsep is None else None  # (with two separators: dirname)
    # A batch makes no cycles, only diagnostics that live to the end: the collector would
    # walk all those gathered so far again at every pass. It runs again when the batch ends.
    with collector_paused():
        for name, root in files:
            shown = (options.stdin_filename or "-") if name == "-" else name
            if separator is not None:
                folder = shown[: shown.rfind(separator) + 1]
            else:  # pragma: no cover - Windows
                folder = os.path.dirname(shown)
            config = configs.get(folder)
            if config is None:
                # The command line's --select/--ignore on top, once per folder (not once
                # per document).
                config = configs[folder] = _config(shown).with_options(
                    select=options.select, ignore=options.ignore
                )
            loaded = load_flow_name(
                name, root, filename=options.stdin_filename, policy=options.policy
            )
            for source in loaded:
                found.extend(source.diagnostics)
                document = source.document
                if document is None:
                    continue
                checked = list(
                    iter_document_diagnostics(
                        document,
                        schema=schema,
                        lint=options.lint,
                        config=config,
                        xpaths=options.xpaths,
                    )
                )
                if not checked:
                    continue
                if source.text is not None:  # standard input: quote what was read
                    quote_lines(checked, document.name, source.text)
                elif options.quotes:  # a file: from what was read, not read again
                    _quote_from_memory(checked, document)
                found.extend(checked)
    return found


#: Files up to this many characters are quoted from memory: at most 4 bytes a character,
#: they are under the 4 MiB a reporter quotes from a file (`callflow.reporters`).
_QUOTED_FROM_MEMORY = 1_000_000


def _quote_from_memory(diagnostics: list[Diagnostic], document: Document) -> None:
    """Diagnostics about an XML file just read quote its lines from the bytes already in
    memory, as a reporter would from the file, so that the file is not read twice. Anything
    a reporter would not quote from the file (bytes that do not decode, a large file, a
    template's or a script's lines) is left to the reporter."""
    source_map = document.source_map
    if not source_map.identity or source_map.lines or source_map.elements:
        return
    lines: list[str] | None = None
    name = document.name
    for diagnostic in diagnostics:
        if diagnostic.snippet is None and diagnostic.location.file == name:
            if lines is None:
                lines = document.file_lines()
                if lines is None or len(document.text) > _QUOTED_FROM_MEMORY:
                    return
            line = diagnostic.location.line
            diagnostic.snippet = lines[line - 1] if 0 < line <= len(lines) else ""


def _config(path: str | os.PathLike[str]) -> LintConfig:
    """The ``[tool.callflow]`` settings of the nearest pyproject.toml above ``path``."""
    from callflow.lint import config_for

    return config_for(path)


def _check_in_parallel(
    files: list[tuple[str, str | None]], options: Options, jobs: int
) -> list[Diagnostic]:
    # Imported once here, not once per forked worker: every share reads its folders'
    # [tool.callflow] settings through callflow.lint, with lint or without.
    import callflow.lint  # noqa: F401

    # Standard input is this process's: it is read here, and the files go to the workers.
    found = check_files([item for item in files if item[0] == "-"], options)
    files = [item for item in files if item[0] != "-"]
    if not files:
        return found
    if hasattr(os, "fork"):  # (asked of os: importing multiprocessing to ask costs 8 ms)
        import functools

        from callflow._forks import check_in_forks, from_columns, to_columns

        check = functools.partial(check_files, options=options)
        for share in check_in_forks(files, check, jobs, pack=to_columns, unpack=from_columns):
            found.extend(share)
        return found
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # Contiguous chunks, a few per worker, so that a slow stretch does not idle a core.
    chunks = max(jobs * 4, 1)
    size = -(-len(files) // chunks)
    batches = [files[i : i + size] for i in range(0, len(files), size)]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        for result in pool.map(check_files, batches, [options] * len(batches)):
            found.extend(result)
    return found


def run(args: argparse.Namespace) -> Outcome:
    from callflow.check import collector_paused
    from callflow.commands._common import Outcome, format_diagnostics, policy_from_args, summary
    from callflow.diagnostics import collapse_repeats, has_errors, in_order
    from callflow.errors import InputError
    from callflow.reporters import QUOTES_LINES, SHOWS_XPATH
    from callflow.schema import load_schema
    from callflow.sources import expand_flow_names

    schema_path = None
    if args.schema is not None:  # made absolute for worker processes ("" is the folder: refused)
        from pathlib import Path

        schema_path = str(Path(args.schema).resolve())
    load_schema(schema_path)
    if args.jobs < 0:
        raise InputError("--jobs takes a positive number")
    if args.force and not args.fix:
        raise InputError("--force goes with --fix")
    policy = policy_from_args(args)
    if (args.fix or args.diff) and args.no_lint:
        raise InputError("--fix and --diff need lint; drop --no-lint")
    options = Options(
        schema=schema_path,
        lint=not args.no_lint,
        select=_codes(args.select),
        ignore=_codes(args.ignore),
        policy=policy,
        stdin_filename=args.stdin_filename,
        xpaths=args.format in SHOWS_XPATH,
        quotes=args.format in QUOTES_LINES,
    )
    fixed = _fix(args, policy.max_bytes) if args.fix or args.diff else None
    if args.diff and fixed is not None:
        return fixed
    found: list[Diagnostic] = []
    files: list[tuple[str, str | None]] = []
    for name, root, problem in expand_flow_names(args.paths, policy=policy):
        if problem is not None:
            found.append(problem)
        else:
            files.append((name, root))
    jobs = args.jobs or (os.cpu_count() or 1 if len(files) >= PARALLEL_THRESHOLD else 1)
    if jobs > 1 and len(files) > 1:
        found.extend(_check_in_parallel(files, options, min(jobs, len(files))))
    else:
        found.extend(check_files(files, options))  # a broken [tool.callflow] raises InputError
    # Ordering and formatting make no cycles, only objects that live to the end: the
    # collector would walk every diagnostic again at each pass (a third of this step for
    # 70,000 diagnostics).
    with collector_paused():
        ordered = collapse_repeats(in_order(found))
        # With --fix, what was fixed (and what could not be) comes before the check's summary.
        return Outcome(
            stdout=format_diagnostics(ordered, args.format),
            stderr=(fixed.stderr if fixed else "")
            + ("" if args.quiet else summary(ordered, len(files)) + "\n"),
            problems=has_errors(ordered) or bool(fixed and fixed.problems),
        )


def _fix(args: argparse.Namespace, max_bytes: int) -> Outcome:
    """Fix (or, with --diff, show the fixes for) every XML file named.

    With --diff: the diff, and problems when one is shown. With --fix: what was fixed on
    stderr, and problems when a file could not be fixed.
    """
    from pathlib import Path

    from callflow._files import LeftoverCleaner, fix_hold_seam
    from callflow.commands._common import Outcome
    from callflow.fix import fix_file, iter_fix_paths
    from callflow.sources import expand_flow_names

    files: list[Path] = []
    said: list[str] = []  # the lines for stderr
    diffs: list[str] = []
    missing = False
    for name, _, problem in expand_flow_names(args.paths):
        if problem is None:
            files.append(Path(name))
        elif args.diff:  # with --fix, the check that follows reports it
            said.append(f"callflow validate: {problem}")
            missing = True
    changed = fixed = 0
    not_fixed: list[Path] = []
    cleaner = LeftoverCleaner()
    hold = fix_hold_seam()
    for path in iter_fix_paths(files):
        config = _config(path).with_options(select=_codes(args.select), ignore=_codes(args.ignore))
        outcome = fix_file(
            path,
            config=config,
            write=not args.diff,
            max_bytes=max_bytes,
            force=args.force,
            cleaner=cleaner,
            before_replace=hold,
        )
        said.extend(f"callflow validate: {path}: note: {note}" for note in outcome.notes)
        result = outcome.result
        if result.refused:
            said.append(f"callflow validate: {path}: {result.refused}")
            not_fixed.append(path)
            continue
        if not result.changed:
            continue
        changed += 1
        fixed += len(result.applied)
        if args.diff:
            diffs.append(result.diff(str(path)))
    if not args.quiet:
        said.extend(_fix_summary(args.diff, changed, fixed, not_fixed))
    return Outcome(
        stdout="".join(diffs),
        stderr="".join(line + "\n" for line in said),
        problems=bool(changed or missing) if args.diff else bool(not_fixed),
    )


def _fix_summary(diff: bool, changed: int, fixed: int, not_fixed: list[Path]) -> list[str]:
    noun = "file" if changed == 1 else "files"
    lines = []
    if changed:
        lines.append(f"{'would fix' if diff else 'fixed'} {fixed} problem(s) in {changed} {noun}")
    elif not not_fixed:
        lines.append("nothing to fix")
    if not_fixed and not diff:
        names = ", ".join(str(path) for path in not_fixed[:10])
        more = f" and {len(not_fixed) - 10} more (named above)" if len(not_fixed) > 10 else ""
        lines.append(f"not fixed: {len(not_fixed)} file(s): {names}{more}")
    return lines
