"""`callflow explain SOURCE ERROR_FILE`: map a saved API error to the lines of the flow's source."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "explain"
HELP = "map a saved API error body (JSON envelope or text) back to the flow's source lines"


def configure(parser: argparse.ArgumentParser) -> None:
    from callflow.commands._common import add_format_option
    from callflow.commands._context import add_context_options

    parser.add_argument(
        "source", type=Path, metavar="SOURCE", help="the flow that was sent (*.xml, *.xml.j2, *.py)"
    )
    parser.add_argument(
        "error_file", metavar="ERROR_FILE", help="the API's error body, or - for stdin"
    )
    add_context_options(parser)
    add_format_option(parser)


def run(args: argparse.Namespace) -> int:
    from callflow.apierrors import map_error_message, read_error_body
    from callflow.commands._common import print_diagnostics
    from callflow.commands._context import read_context
    from callflow.sources import load_path_sources, single_document

    try:
        if args.error_file == "-":
            data = sys.stdin.buffer.read()
        else:
            data = Path(args.error_file).read_bytes()
    except OSError as error:
        print(
            f"callflow explain: {args.error_file}: cannot read: {error.strerror}", file=sys.stderr
        )
        return 2
    body = read_error_body(data)
    sources = load_path_sources(args.source, context=read_context(args), sample=args.sample)
    problems = [d for source in sources for d in source.diagnostics]
    document = single_document(args.source, sources)
    found = [*problems, *map_error_message(body.message, document)]
    print_diagnostics(found, args.format)
    status = f" (HTTP {body.status})" if body.status is not None else ""
    where = args.source if document is not None else "no source (it could not be loaded)"
    print(
        f"{len(found)} problem(s) from the platform's message{status}, mapped to {where}",
        file=sys.stderr,
    )
    return 1
