"""`callflow render TEMPLATE`: render a call XML template, validate it, print the XML."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from callflow.commands._common import Outcome

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
        "--trusted-templates",
        action="store_true",
        help="render outside Jinja's sandbox (only for templates you wrote; sandboxed by default)",
    )
    # The sandbox is the default now; the old flag stays accepted for one release.
    parser.add_argument("--sandbox", action="store_true", help=argparse.SUPPRESS)
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


# A run of whitespace-only lines between two tags (a macro's or a block's empty line).
_BLANK_LINES = re.compile(r"(?<=>)[ \t]*\n(?:[ \t]*\n)+(?=[ \t]*<)")


def _without_blank_lines(text: str) -> str:
    """``text`` as rendered, less the whitespace-only lines left between tags."""
    return _BLANK_LINES.sub("\n", text)


def run(args: argparse.Namespace) -> Outcome:
    from callflow.check import iter_document_diagnostics
    from callflow.commands._common import Outcome, format_diagnostics
    from callflow.commands._context import read_context
    from callflow.diagnostics import collapse_repeats, has_errors, in_order
    from callflow.errors import InputError, TemplateError
    from callflow.sources import template_source
    from callflow.templating import TemplateRenderer, search_path_for

    context = read_context(args) or {}
    template, shown = template_source(args.template)
    folders = (
        tuple(p.resolve() for p in args.search_path)
        if shown is None
        else search_path_for(Path(shown), args.search_path)
    )
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
        raise InputError(str(error)) from None
    if document is not None:
        found.extend(iter_document_diagnostics(document, lint=not args.no_lint))
    ordered = collapse_repeats(in_order(found))
    if has_errors(ordered) or document is None:
        return Outcome(stdout=format_diagnostics(ordered, args.format), problems=True)
    # Warnings go to stderr so that stdout stays the XML.
    warnings = format_diagnostics(ordered, args.format) if ordered else ""
    text = _pretty(document.text) if args.pretty else _without_blank_lines(document.text)
    return Outcome(
        stdout=text if text.endswith("\n") else text + "\n", stderr=warnings, stderr_first=True
    )
