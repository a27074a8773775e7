"""`callflow serve DIR`: serve a folder of flows to the platform on uvicorn, every reply
validated before it leaves."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from callflow.commands._common import Outcome

NAME = "serve"
HELP = "serve a folder of flows (*.xml, *.xml.j2, *.py) to the platform, validating every reply"
DIAGNOSTICS_STREAM = "stderr"

#: How `create_app` gets its options in each worker (uvicorn imports the app by name).
ENVIRONMENT = "CALLFLOW_SERVE_OPTIONS"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", metavar="DIR", help="the folder of flows to serve")
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, loopback)"
    )
    parser.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    parser.add_argument(
        "--reload",
        action="store_true",
        help="restart when a flow, template or module in DIR changes (development)",
    )
    parser.add_argument(
        "--workers", type=int, default=1, metavar="N", help="worker processes (production)"
    )
    parser.add_argument(
        "--fallback",
        metavar="FLOW",
        help="the flow a caller hears when a reply fails validation (default: an apology "
        "and a hang-up)",
    )
    parser.add_argument(
        "--follow-links",
        action="store_true",
        help="follow symbolic links that lead out of DIR (refused by default)",
    )
    parser.add_argument("--no-lint", action="store_true", help="schema checks only")
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="log level (default: info: one line per request and per reply)",
    )


def _options(args: argparse.Namespace) -> dict[str, object]:
    return {
        "folder": args.folder,
        "fallback": args.fallback,
        "follow_links": args.follow_links,
        "lint": not args.no_lint,
    }


def run(args: argparse.Namespace) -> Outcome:
    import json
    import os

    from callflow.commands._common import Outcome
    from callflow.errors import InputError
    from callflow.sources import expand_flow_names

    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise InputError(
            "callflow serve needs the serve extra: pip install 'opentact-callflow[serve]'"
        ) from None
    if args.workers < 1:
        raise InputError("--workers takes a positive number")
    if not 0 <= args.port <= 65535:
        raise InputError("--port takes a number from 0 to 65535")
    for name, _root, problem in expand_flow_names([args.folder]):
        if problem is not None and problem.code in ("CF001", "CF007", "CF008"):
            raise InputError(f"{name}: {problem.message}")
    options = _options(args)
    # Made once here so that a bad fallback or folder is a usage error, not a worker crash.
    from callflow.web._asgi import app_from_options

    app = app_from_options(options)
    os.environ[ENVIRONMENT] = json.dumps(options)
    from callflow.web._asgi import log_config, run_uvicorn

    many = args.reload or args.workers > 1
    run_uvicorn(
        "callflow.web._asgi:app_from_environment" if many else app,
        factory=many,
        host=args.host,
        port=args.port,
        reload=args.reload,
        reload_dirs=[os.fspath(args.folder)] if args.reload else None,
        reload_includes=["*.xml", "*.xml.j2", "*.py"] if args.reload else None,
        workers=args.workers if args.workers > 1 else None,
        log_level=args.log_level,
        log_config=log_config(args.log_level),
        lifespan="off",
    )
    return Outcome(stderr="callflow serve: stopped\n")
