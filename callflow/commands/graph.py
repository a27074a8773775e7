"""`callflow graph SOURCE`: draw a call flow as a Mermaid, dot, svg or png diagram."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from callflow.commands._common import Outcome
    from callflow.graph import FindExecutable

NAME = "graph"
HELP = "draw a call flow (*.xml, *.xml.j2, *.py) as a diagram: mermaid, dot, svg or png"
FORMATS = ("mermaid", "dot", "svg", "png")


def configure(parser: argparse.ArgumentParser) -> None:
    from callflow.commands._common import add_flow_arguments

    add_flow_arguments(parser)
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="mermaid",
        help="mermaid (default), dot, or svg/png (rendered by Graphviz's dot)",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="FILE",
        help="write here instead of stdout (an existing file is replaced only if callflow "
        "graph wrote it, or with --force)",
    )
    parser.add_argument(
        "--force", action="store_true", help="replace FILE even if callflow did not write it"
    )
    parser.add_argument(
        "--dot",
        metavar="PATH",
        default="dot",
        help="the Graphviz dot executable for svg/png (default: dot on PATH)",
    )


def run(args: argparse.Namespace, *, find_executable: FindExecutable = shutil.which) -> Outcome:
    from callflow.commands._common import Outcome, flow_from_args
    from callflow.errors import InputError
    from callflow.graph import build_graph, find_dot, render_image, to_dot, to_mermaid

    document = flow_from_args(args)
    graph = build_graph(document)
    if args.format == "mermaid":
        return _emit(args, to_mermaid(graph).encode("utf-8"))
    dot_source = to_dot(graph)
    if args.format == "dot":
        return _emit(args, dot_source.encode("utf-8"))
    dot_path = find_dot(find_executable, args.dot)
    if dot_path is None:
        message = (
            f"callflow graph: Graphviz `{args.dot}` was not found, so no {args.format} was "
            "made. Install Graphviz (e.g. `apt-get install graphviz` or `brew install "
            "graphviz`), or use --format mermaid or dot. The dot text follows on stdout.\n"
        )
        return Outcome(stdout=dot_source, stderr=message, problems=True, stderr_first=True)
    image = render_image(dot_source, args.format, dot_path)
    if args.format == "png" and args.output is None and sys.stdout.isatty():
        raise InputError("a PNG is binary; write it with -o FILE")
    return _emit(args, image)


def _emit(args: argparse.Namespace, data: bytes) -> Outcome:
    """To -o FILE (atomically, never over a file callflow did not write), else for stdout."""
    from callflow._files import check_output, write_atomically
    from callflow.commands._common import Outcome
    from callflow.graph import is_previous_output

    output: Path | None = args.output
    if output is None:
        return Outcome(stdout=data)
    check_output(
        output, force=args.force, written_by_us=is_previous_output, writer="callflow graph"
    )
    write_atomically(output, data)
    return Outcome(stderr=f"wrote {output}\n")
