"""`callflow convert FLOW.xml --to python`: a builder script that reproduces an XML flow.

`callflow convert FILE --from twiml`: a TwiML document (or a template producing one)
converted to OpenTact call XML, with the migration report on standard error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "convert"
HELP = (
    "convert a call XML file into a Python builder script that reproduces it, or TwiML "
    "into OpenTact call XML"
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="FLOW", type=Path, help="a call XML file")
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


def run(args: argparse.Namespace) -> int:
    if args.source_format == "twiml":
        return run_twiml(args)
    if args.to == "xml" or args.base_url is not None:
        print("callflow convert: --to xml and --base-url go with --from twiml", file=sys.stderr)
        return 2
    from callflow.diagnostics import Diagnostic, Severity
    from callflow.document import load_path
    from callflow.dsl.parsing import parse
    from callflow.dsl.pysource import flow_script
    from callflow.errors import BuildError, ValidationError
    from callflow.reporters import render

    source: Path = args.source
    output: Path | None = args.output
    if output is not None:
        if output.exists() and output.resolve() == source.resolve():
            print(f"callflow convert: refusing to write over the input {source}", file=sys.stderr)
            return 2
        if output.exists() and not args.force:
            print(
                f"callflow convert: {output} exists; pass --force to overwrite it",
                file=sys.stderr,
            )
            return 2
    document, problems = load_path(source, display=str(source))
    if document is None:
        sys.stderr.write(render(problems, "text"))
        return 1
    try:
        flow = parse(document, strict=not args.allow_unknown)
    except ValidationError as error:
        sys.stderr.write(render(list(error.diagnostics), "text"))
        print(
            f"callflow convert: {source} is not a valid call flow; nothing converted "
            "(--allow-unknown keeps unknown tags and attributes)",
            file=sys.stderr,
        )
        return 1
    except BuildError as error:
        location = error.location
        assert location is not None  # parse locates every node it builds
        problem = Diagnostic("CF701", Severity.ERROR, error.message, location, hint=error.hint)
        sys.stderr.write(render([problem], "text"))
        return 1
    script = flow_script(flow, source=source.name)
    if output is None:
        sys.stdout.write(script)
        return 0
    from callflow.files import write_atomically

    write_atomically(output, script.encode("utf-8"))
    print(f"callflow convert: wrote {output}", file=sys.stderr)
    return 0


def run_twiml(args: argparse.Namespace) -> int:
    """`--from twiml`: convert, report on standard error, write only what carries no error."""
    from callflow.errors import InputError, ValidationError
    from callflow.reporters import FileLines, LineSource, render
    from callflow.twiml import convert_twiml

    source = Path(args.source)
    output: Path | None = args.output
    template = source.name.lower().endswith(".j2")
    if template and args.to == "python":
        print(
            "callflow convert: a TwiML template converts to an OpenTact template; "
            "--to python needs a TwiML document",
            file=sys.stderr,
        )
        return 2
    if output is not None:
        if output.exists() and output.resolve() == source.resolve():
            print(f"callflow convert: refusing to write over the input {source}", file=sys.stderr)
            return 2
        if output.exists() and not args.force:
            print(
                f"callflow convert: {output} exists; pass --force to overwrite it", file=sys.stderr
            )
            return 2
    lines: LineSource | None = None
    try:
        if str(source) == "-":
            from callflow.document import MAX_DOCUMENT_BYTES

            data = sys.stdin.buffer.read(MAX_DOCUMENT_BYTES + 1)
            conversion = convert_twiml(data, base_url=args.base_url, filename="<stdin>")
            lines = FileLines({"<stdin>": data.decode("utf-8", errors="replace")})
        else:
            conversion = convert_twiml(str(source), base_url=args.base_url)
    except InputError as error:
        print(f"callflow convert: {error}", file=sys.stderr)
        return 2
    report = render(conversion.diagnostics, args.format, lines=lines)
    sys.stderr.write(report)
    if not conversion.ok or conversion.text is None or conversion.document is None:
        print(
            f"callflow convert: {source}: not converted (the report above says why)",
            file=sys.stderr,
        )
        return 1
    text = conversion.text
    if args.to == "python":
        from callflow.dsl.parsing import parse
        from callflow.dsl.pysource import flow_script

        try:
            text = flow_script(parse(conversion.document), source=source.name)
        except ValidationError as error:  # pragma: no cover - the conversion validated it
            sys.stderr.write(render(list(error.diagnostics), "text"))
            return 1
    if output is None:
        sys.stdout.write(text)
        return 0
    from callflow.files import write_atomically

    write_atomically(output, text.encode("utf-8"))
    print(f"callflow convert: wrote {output}", file=sys.stderr)
    return 0
