"""`callflow sandbox serve|info`: run the bundled OpenTact emulator for any HTTP client."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from callflow.commands._common import Outcome
    from callflow.sandbox import Sandbox

NAME = "sandbox"
HELP = "run the bundled OpenTact API emulator on a loopback port, or show its details"

DEFAULT_PORT = 8765


def _port(text: str) -> int:
    """A TCP port number for argparse: 0 (any free port) to 65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0 to 65535)")
    return port


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    serve = actions.add_parser("serve", help="serve the sandbox API over HTTP until interrupted")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT}; 0: any)"
    )
    serve.add_argument("-q", "--quiet", action="store_true", help="no request log on stderr")
    info = actions.add_parser("info", help="show the sandbox account, database and seeded leases")
    for sub in (serve, info):
        sub.add_argument(
            "--db",
            type=Path,
            metavar="PATH",
            help="SQLite file (default: $CALLFLOW_SANDBOX_DB, else "
            "~/.local/share/callflow/sandbox.sqlite3; ':memory:' keeps nothing)",
        )


def run(args: argparse.Namespace) -> Outcome:
    from callflow.commands._common import Outcome
    from callflow.errors import CallflowError
    from callflow.sandbox import SANDBOX_EMAIL, SANDBOX_PASSWORD, Sandbox, default_database_path
    from callflow.sandbox._server import serve_in_foreground

    database = str(args.db) if args.db is not None else str(default_database_path())
    sandbox = Sandbox(database)
    if args.action == "info":
        try:
            return Outcome(stdout=_info(sandbox, database))
        finally:
            sandbox.close()
    try:
        server = sandbox.serve(args.host, args.port)
    except OSError as error:
        sandbox.close()
        raise CallflowError(f"cannot listen on {args.host}:{args.port}: {error.strerror}") from None
    banner = (
        f"callflow sandbox: serving {server.url} (database: {database})\n"
        f"log in: curl -u {SANDBOX_EMAIL}:{SANDBOX_PASSWORD} {server.url}/auth\n"
        "then send the token as the X-Auth-Token header; Ctrl-C stops"
    )
    try:
        serve_in_foreground(server, banner, log_requests=not args.quiet)
    except KeyboardInterrupt:
        return Outcome(stderr="callflow sandbox: stopped\n")
    finally:
        sandbox.close()
    return Outcome()


def _info(sandbox: Sandbox, database: str) -> str:
    from callflow.sandbox import SANDBOX_EMAIL, SANDBOX_PASSWORD

    lines = [
        f"database: {database}",
        f"account: {SANDBOX_EMAIL} (password: {SANDBOX_PASSWORD})",
        "TN leases:",
    ]
    for lease in sandbox.store.all_leases({"uuid": _account_uuid()}):
        app = lease["sip_app"]["uuid"] if lease["sip_app"] else "unassigned"
        lines.append(f"  {lease['uuid']}  {lease['tn']['number']}  {app}")
    calls = sandbox.store.count("calls")
    lines.append(f"call log: {calls} executed call(s); see `callflow calls list`")
    return "".join(line + "\n" for line in lines)


def _account_uuid() -> str:
    from callflow.sandbox._store import SANDBOX_ACCOUNT_UUID

    return SANDBOX_ACCOUNT_UUID
