"""`callflow build SCRIPT`: run a Python builder script and print its validated XML."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from callflow.commands._common import Outcome

NAME = "build"
HELP = "run a Python builder script (defining `flow` or `build()`) and print its XML"
#: Diagnostics go to stderr: stdout carries the output.
DIAGNOSTICS_STREAM = "stderr"


def configure(parser: argparse.ArgumentParser) -> None:
    from callflow.commands._common import add_flow_arguments, add_format_option

    add_flow_arguments(
        parser,
        dest="script",
        metavar="SCRIPT",
        help="a *.py builder script (or any flow, e.g. - with --stdin-filename NAME.py)",
        context=False,
    )
    parser.add_argument("--pretty", action="store_true", help="indent the XML")
    parser.add_argument("--no-lint", action="store_true", help="schema checks only")
    add_format_option(parser)


def run(args: argparse.Namespace) -> Outcome:
    # The builder (and lxml with it) is imported here only: `callflow validate x.xml`
    # should not pay for it at start-up.
    from lxml import etree

    from callflow.check import iter_document_diagnostics
    from callflow.commands._common import Outcome, flow_from_args
    from callflow.diagnostics import has_errors, in_order
    from callflow.reporters import render

    document = flow_from_args(args, dest="script")
    ordered = in_order(iter_document_diagnostics(document, lint=not args.no_lint))
    report = render(ordered, args.format) if ordered or args.format in ("json", "sarif") else ""
    if has_errors(ordered):
        message = f"callflow build: {args.script}: no XML written\n"
        return Outcome(stderr=report + message, problems=True)
    if args.pretty:
        return Outcome(stdout=document.text, stderr=report, stderr_first=True)
    # The Document holds the pretty-printed text; the compact form drops its indentation.
    parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)
    root = etree.fromstring(document.text.encode("utf-8"), parser)
    tree = etree.tostring(root.getroottree(), encoding="unicode")
    return Outcome(stdout=_DECLARATION + tree + "\n", stderr=report, stderr_first=True)


_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
