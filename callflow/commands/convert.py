"""`callflow convert FLOW.xml --to python`: a builder script that reproduces an XML flow."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from callflow.commands._common import Outcome

NAME = "convert"
HELP = "convert a call XML file into a Python builder script that reproduces it"
#: Diagnostics go to stderr: stdout carries the output.
DIAGNOSTICS_STREAM = "stderr"


def configure(parser: argparse.ArgumentParser) -> None:
    from callflow.commands._common import add_flow_arguments

    add_flow_arguments(
        parser,
        metavar="FLOW",
        help="a call XML file (or any flow: a template, a builder script, a library "
        "template name, - for standard input)",
    )
    parser.add_argument(
        "--to",
        choices=["python"],
        default="python",
        help="what to convert to (default: python, a builder script)",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="FILE",
        help="write the script here instead of printing it (an existing file is kept "
        "unless --force)",
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing --output file")
    parser.add_argument(
        "--allow-unknown",
        action="store_true",
        help="keep tags and attributes the schema does not know (through the builder's "
        "escape hatches) instead of refusing the document",
    )


def run(args: argparse.Namespace) -> Outcome:
    from callflow.commands._common import Outcome, flow_from_args
    from callflow.diagnostics import Diagnostic, Severity
    from callflow.dsl.parsing import parse
    from callflow.dsl.pysource import flow_script
    from callflow.errors import BuildError, ValidationError
    from callflow.files import check_output
    from callflow.reporters import render

    source = Path(args.source)
    output: Path | None = args.output
    if output is not None:
        check_output(output, force=args.force, source=args.source)
    document = flow_from_args(args)
    try:
        flow = parse(document, strict=not args.allow_unknown)
    except ValidationError as error:
        message = (
            f"callflow convert: {source} is not a valid call flow; nothing converted "
            "(--allow-unknown keeps unknown tags and attributes)\n"
        )
        return Outcome(stderr=render(list(error.diagnostics), "text") + message, problems=True)
    except BuildError as error:
        location = error.location
        assert location is not None  # parse locates every node it builds
        problem = Diagnostic("CF701", Severity.ERROR, error.message, location, hint=error.hint)
        return Outcome(stderr=render([problem], "text"), problems=True)
    script = flow_script(flow, source=source.name)
    if output is None:
        return Outcome(stdout=script)
    from callflow.files import write_atomically

    write_atomically(output, script.encode("utf-8"))
    return Outcome(stderr=f"callflow convert: wrote {output}\n")
