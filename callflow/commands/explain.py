"""`callflow explain SOURCE ERROR_FILE`: map a saved API error to the lines of the flow's source."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from callflow.commands._common import Outcome

NAME = "explain"
HELP = "map a saved API error body (JSON envelope or text) back to the flow's source lines"


def configure(parser: argparse.ArgumentParser) -> None:
    from callflow.commands._common import add_flow_arguments, add_format_option

    add_flow_arguments(
        parser,
        help="the flow that was sent (*.xml, *.xml.j2, *.py, a library "
        "template name, or - for standard input)",
    )
    parser.add_argument(
        "error_file", metavar="ERROR_FILE", help="the API's error body, or - for stdin"
    )
    add_format_option(parser)


def run(args: argparse.Namespace) -> Outcome:
    from callflow.apierrors import map_error_message, read_error_body
    from callflow.commands._common import Outcome, flows_from_args, format_diagnostics
    from callflow.errors import InputError
    from callflow.sources import read_input, single_flow_error

    if args.source == "-" and args.error_file == "-":
        raise InputError("the flow and the error body cannot both come from standard input")
    body = read_error_body(read_input(args.error_file, what="ERROR_FILE"))
    sources = flows_from_args(args)
    problems = [d for source in sources for d in source.diagnostics]
    refusal = single_flow_error(sources, args.source)
    if refusal is not None and not problems:  # several samples: the user must choose one
        raise refusal
    document = sources[0].document if refusal is None else None
    found = [*problems, *map_error_message(body.message, document)]
    status = f" (HTTP {body.status})" if body.status is not None else ""
    where = args.source if document is not None else "no source (it could not be loaded)"
    return Outcome(
        stdout=format_diagnostics(found, args.format, sources),
        stderr=f"{len(found)} problem(s) from the platform's message{status}, mapped to {where}\n",
        problems=True,  # an error body always reports a problem
    )
