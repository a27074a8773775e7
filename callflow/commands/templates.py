"""`callflow templates`: list the bundled template library and each template's variables."""

from __future__ import annotations

import argparse
import json
import textwrap
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from callflow.commands._common import Outcome

NAME = "templates"
HELP = "list the bundled template library with each template's variables"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "name", nargs="?", metavar="NAME", help="show one template (e.g. voicemail) in full"
    )
    from callflow.commands._common import add_format_option

    add_format_option(parser, choices=("text", "json"))
    # The spelling of 0.x, kept for one release: --format json is the one every command takes.
    parser.add_argument(
        "--json", dest="format", action="store_const", const="json", help=argparse.SUPPRESS
    )


def run(args: argparse.Namespace) -> Outcome:
    from callflow.commands._common import Outcome
    from callflow.errors import InputError
    from callflow.templating import library_templates

    templates = library_templates()
    if args.name:
        wanted = args.name.removeprefix("callflow/").removesuffix(".xml.j2")
        templates = [t for t in templates if t.path.name.removesuffix(".xml.j2") == wanted]
        if not templates:
            raise InputError(f"no library template named {args.name!r}")
    if args.format == "json":
        return Outcome(
            stdout=json.dumps([t.to_dict() for t in templates], indent=2, ensure_ascii=False) + "\n"
        )
    out: list[str] = []
    for template in templates:
        header = template.header
        out.append(f"{template.name} — {header.title}")
        if args.name and header.description:
            out.extend("  " + line for line in header.description.splitlines())
        for variable in header.variables.values():
            default = (
                f" = {json.dumps(variable.default, ensure_ascii=False)}"
                if variable.has_default
                else " (required)"
            )
            out.append(f"  {variable.name}: {variable.type}{default}")
            out.extend(
                textwrap.wrap(
                    variable.meaning, 88, initial_indent="      ", subsequent_indent="      "
                )
            )
        if template.macros:
            signatures = ", ".join(f"{n}({', '.join(a)})" for n, a in template.macros.items())
            out.extend(
                textwrap.wrap(
                    "macros: " + signatures, 92, initial_indent="  ", subsequent_indent="    "
                )
            )
        if header.samples:
            out.append("  samples: " + ", ".join(header.samples))
        out.append("")
    return Outcome(stdout="\n".join(out))
