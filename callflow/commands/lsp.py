"""`callflow lsp`: the language server, over standard input and output."""

from __future__ import annotations

import argparse

NAME = "lsp"
HELP = "run the language server (LSP over stdio) for editors: diagnostics, completion, hover"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stdio",
        action="store_true",
        help="talk over standard input and output (the default and only transport; accepted "
        "because editors pass it)",
    )


def run(args: argparse.Namespace) -> int:
    from callflow.errors import InputError

    try:
        from callflow.lsp import serve
    except ModuleNotFoundError as error:  # pygls is an extra
        raise InputError(
            f"callflow lsp needs the lsp extra ({error.name} is missing): "
            "install callflow with its lsp extra"
        ) from None
    serve()
    return 0
