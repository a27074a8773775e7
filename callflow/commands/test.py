"""`callflow test PATH...`: run scenario files (*.calls.toml) and report, with branch coverage."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "test"
HELP = "run scenario files (*.calls.toml): scripted calls with expectations, and flow coverage"

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="+",
        type=Path,
        metavar="PATH",
        help="scenario files, or folders searched for *.calls.toml",
    )
    parser.add_argument(
        "--update",
        action="store_true",
        help="write the snapshots of calls with snapshot = true instead of comparing them",
    )
    parser.add_argument(
        "--coverage", action="store_true", help="print the branch coverage of every flow run"
    )
    parser.add_argument(
        "--fail-under",
        type=float,
        metavar="PERCENT",
        help="fail (exit 1) when total branch coverage is below PERCENT (implies --coverage)",
    )
    parser.add_argument(
        "--coverage-report",
        action="append",
        default=[],
        metavar="KIND:PATH",
        help="also write coverage as json:PATH or cobertura:PATH (repeatable)",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="print only failures and the summary"
    )


def run(args: argparse.Namespace) -> int:
    from contextlib import nullcontext

    from callflow.coverage import CoverageData, record_coverage, report_spec_problem
    from callflow.errors import InputError, ScenarioError
    from callflow.reporters import render
    from callflow.scenarios import ScenarioRunner, find_scenario_files, read_scenario_file
    from callflow.scenarios._run import printable

    if args.fail_under is not None and not 0 <= args.fail_under <= 100:
        raise InputError(f"--fail-under {args.fail_under}: expected a percentage from 0 to 100")
    for spec in args.coverage_report:
        problem = report_spec_problem(spec)
        if problem is not None:
            raise InputError(f"--coverage-report: {problem}")
    measuring = bool(args.coverage or args.fail_under is not None or args.coverage_report)
    bad_files = passed = failed = written = 0
    out = sys.stdout
    data = CoverageData()
    with record_coverage(data) if measuring else nullcontext():
        for path, problem in find_scenario_files(args.paths):
            if problem is not None:
                print(f"{printable(str(path))}: {problem}", file=sys.stderr)
                bad_files += 1
                continue
            try:
                runner = ScenarioRunner(read_scenario_file(path), update_snapshots=args.update)
                results = runner.run_all()
            except ScenarioError as error:
                sys.stderr.write(render(list(error.diagnostics), "text", color=False))
                bad_files += 1
                continue
            for result in results:
                if result.passed:
                    passed += 1
                    if not args.quiet:
                        note = " (snapshot written)" if result.snapshot_written else ""
                        out.write(f"ok      {result.name}{note}\n")
                    written += result.snapshot_written
                else:
                    failed += 1
                    out.write(f"FAILED  {result.name}\n")
                    out.write(result.report())
    total = passed + failed
    summary = f"{total} call{'s' if total != 1 else ''}: {passed} passed, {failed} failed"
    if written:
        summary += f", {written} snapshot(s) written"
    if bad_files:
        summary += f"; {bad_files} scenario file(s) could not be used"
    code = EXIT_USAGE if bad_files else EXIT_FAILED if failed else EXIT_OK
    if measuring:
        out.write("\n" + data.report_text())
        for spec in args.coverage_report:
            data.write_report(spec)
        if args.fail_under is not None and data.percent < args.fail_under:
            summary += (
                f"; branch coverage {data.percent:.1f}% is under --fail-under {args.fail_under:g}"
            )
            code = max(code, EXIT_FAILED)
    out.write(summary + "\n")
    return code
