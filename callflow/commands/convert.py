"""`callflow convert FLOW.xml --to python`: a builder script that reproduces an XML flow.

`callflow convert FILE --from twiml`: a TwiML document (or a template producing one)
converted to OpenTact call XML, with the migration report on standard error.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from callflow.commands._common import Outcome

NAME = "convert"
HELP = (
    "convert a call XML file into a Python builder script that reproduces it, or TwiML "
    "into OpenTact call XML"
)
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
        choices=["python", "xml"],
        default=None,
        help="what to convert to (default: python, a builder script; xml with --from twiml)",
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
    add_twiml_options(parser)


def add_twiml_options(parser: argparse.ArgumentParser) -> None:
    from callflow.reporters import FORMATS

    parser.add_argument(
        "--from",
        dest="source_format",
        choices=["xml", "twiml"],
        default="xml",
        help="what FLOW is: OpenTact call XML (default) or TwiML (a document or a *.xml.j2 "
        "template producing one)",
    )
    parser.add_argument(
        "--base-url",
        metavar="URL",
        help="with --from twiml: the URL the TwiML is served from; relative URLs in it are "
        "resolved against it",
    )
    parser.add_argument(
        "--format",
        choices=list(FORMATS),
        default="text",
        help="with --from twiml: the migration report's format, on standard error (default: text)",
    )


def run(args: argparse.Namespace) -> Outcome:
    from callflow.commands._common import Outcome, flow_from_args
    from callflow.errors import InputError

    if args.source_format == "twiml":
        return run_twiml(args)
    if args.to == "xml" or args.base_url is not None:
        raise InputError("--to xml and --base-url go with --from twiml")
    from callflow._files import check_output
    from callflow.diagnostics import Diagnostic, Severity
    from callflow.dsl._parsing import parse
    from callflow.dsl._pysource import flow_script
    from callflow.errors import BuildError, ValidationError
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
    from callflow._files import write_atomically

    write_atomically(output, script.encode("utf-8"))
    return Outcome(stderr=f"callflow convert: wrote {output}\n")


def run_twiml(args: argparse.Namespace) -> Outcome:
    """`--from twiml`: convert, report on standard error, write only what carries no error."""
    from callflow._files import check_output
    from callflow.commands._common import Outcome
    from callflow.errors import InputError, ValidationError
    from callflow.reporters import FileLines, LineSource, render
    from callflow.sources import read_stdin
    from callflow.twiml import convert_twiml

    source = Path(args.source)
    output: Path | None = args.output
    template = source.name.lower().endswith(".j2")
    if template and args.to == "python":
        raise InputError(
            "a TwiML template converts to an OpenTact template; --to python needs a TwiML document"
        )
    if output is not None:
        check_output(output, force=args.force, source=args.source)
    lines: LineSource | None = None
    if str(source) == "-":
        data = read_stdin()
        if not isinstance(data, bytes):
            raise InputError(data.message, [data])
        name = args.stdin_filename or "<stdin>"
        conversion = convert_twiml(data, base_url=args.base_url, filename=name)
        lines = FileLines({name: data.decode("utf-8", errors="replace")})
    else:
        conversion = convert_twiml(str(source), base_url=args.base_url)
    report = render(conversion.diagnostics, args.format, lines=lines)
    if not conversion.ok or conversion.text is None or conversion.document is None:
        return Outcome(
            stderr=f"{report}callflow convert: {source}: not converted "
            "(the report above says why)\n",
            problems=True,
        )
    text = conversion.text
    if args.to == "python":
        from callflow.dsl._parsing import parse
        from callflow.dsl._pysource import flow_script

        try:
            text = flow_script(parse(conversion.document), source=source.name)
        except ValidationError as error:  # pragma: no cover - the conversion validated it
            return Outcome(stderr=report + render(list(error.diagnostics), "text"), problems=True)
    if output is None:
        return Outcome(stdout=text, stderr=report, stderr_first=True)
    from callflow._files import write_atomically

    write_atomically(output, text.encode("utf-8"))
    return Outcome(stderr=report + f"callflow convert: wrote {output}\n")
