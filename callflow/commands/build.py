"""`callflow build SCRIPT`: run a Python builder script and print its validated XML."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "build"
HELP = "run a Python builder script (defining `flow` or `build()`) and print its XML"


def configure(parser: argparse.ArgumentParser) -> None:
    from callflow.commands._common import add_format_option

    parser.add_argument("script", metavar="SCRIPT", type=Path, help="a *.py builder script")
    parser.add_argument("--pretty", action="store_true", help="indent the XML")
    parser.add_argument("--no-lint", action="store_true", help="schema checks only")
    add_format_option(parser)


def run(args: argparse.Namespace) -> int:
    # The builder (and lxml with it) is imported here only: `callflow validate x.xml`
    # should not pay for it at start-up.
    from callflow.check import iter_document_diagnostics
    from callflow.diagnostics import has_errors, in_order
    from callflow.dsl.script import run_script
    from callflow.reporters import render

    result = run_script(args.script)
    found = list(result.diagnostics)
    if result.flow is not None:
        document = result.flow.to_document(result.path)
        found.extend(iter_document_diagnostics(document, lint=not args.no_lint))
    ordered = in_order(found)
    if ordered or args.format in ("json", "sarif"):
        sys.stderr.write(render(ordered, args.format))
    if result.flow is None or has_errors(ordered):
        print(f"callflow build: {args.script}: no XML written", file=sys.stderr)
        return 1
    if args.pretty:
        sys.stdout.write(result.flow.to_xml(pretty=True))
    else:
        sys.stdout.write(result.flow.to_xml() + "\n")
    return 0
