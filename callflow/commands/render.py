"""`callflow render TEMPLATE`: render a call XML template, validate it, print the XML."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass

NAME = "render"
HELP = "render a *.xml.j2 template with variables, validate it and print the XML"


def configure(parser: argparse.ArgumentParser) -> None:
    from callflow.commands._common import add_format_option
    from callflow.commands._context import add_context_options

    parser.add_argument(
        "template",
        metavar="TEMPLATE",
        help="a template file, or a library name such as callflow/voicemail.xml.j2",
    )
    add_context_options(parser)
    parser.add_argument(
        "-I",
        "--search-path",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="another folder for includes and imports (after the template's own folder)",
    )
    parser.add_argument(
        "--sandbox", action="store_true", help="render in Jinja's sandbox (untrusted templates)"
    )
    parser.add_argument(
        "--strip-control-characters",
        action="store_true",
        help="drop characters XML cannot hold from values instead of reporting them",
    )
    parser.add_argument("--no-lint", action="store_true", help="schema checks only")
    parser.add_argument(
        "--pretty", action="store_true", help="re-indent the XML (default: exactly as rendered)"
    )
    add_format_option(parser)


def _pretty(text: str) -> str:
    from lxml import etree

    parser = etree.XMLParser(
        remove_blank_text=True, resolve_entities=False, no_network=True, load_dtd=False
    )
    root = etree.fromstring(text.encode("utf-8"), parser)
    return etree.tostring(root, pretty_print=True, encoding="unicode")


def run(args: argparse.Namespace) -> int:
    from callflow.check import iter_document_diagnostics
    from callflow.commands._common import print_diagnostics
    from callflow.commands._context import read_context
    from callflow.diagnostics import collapse_repeats, has_errors, in_order
    from callflow.errors import InputError, TemplateError
    from callflow.templating import LIBRARY_PREFIX, TemplateRenderer, search_path_for

    try:
        context = dict(read_context(args) or {})
    except InputError as error:
        print(f"callflow render: {error}", file=sys.stderr)
        return 2
    template: str | Path
    shown: str | None
    if args.template.startswith(LIBRARY_PREFIX + "/") and not Path(args.template).exists():
        folders = tuple(p.resolve() for p in args.search_path)
        template, shown = args.template, None
    else:
        path = Path(args.template)
        if not path.is_file():
            print(f"callflow render: {args.template}: no such template file", file=sys.stderr)
            return 2
        folders = search_path_for(path, args.search_path)
        template, shown = path.resolve(), str(path)
    renderer = TemplateRenderer(
        folders,
        trusted=getattr(args, "trusted_templates", False) and not args.sandbox,
        control_characters="strip" if args.strip_control_characters else "reject",
    )
    try:
        document, found = renderer.render_document(
            template, context, sample=args.sample, shown=shown
        )
    except TemplateError as error:  # an unknown --sample
        print(f"callflow render: {error}", file=sys.stderr)
        return 2
    if document is not None:
        found.extend(iter_document_diagnostics(document, lint=not args.no_lint))
    ordered = collapse_repeats(in_order(found))
    if has_errors(ordered) or document is None:
        print_diagnostics(ordered, args.format)
        return 1
    if ordered:
        # Warnings go to stderr so that stdout stays the XML.
        stdout, sys.stdout = sys.stdout, sys.stderr
        try:
            print_diagnostics(ordered, args.format)
        finally:
            sys.stdout = stdout
    text = _pretty(document.text) if args.pretty else document.text
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0
