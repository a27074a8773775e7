"""Options and helpers shared by the commands that talk to the API (apps, execute)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from callflow.client import App, Client

#: The app `callflow execute` uses on the sandbox when no ``--app`` is given.
DEMO_APP_NAME = "callflow-demo"


def add_api_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "target",
        "Where requests go: --api-url, else $OPENTACT_API_URL, else the bundled sandbox. "
        "Credentials come from $OPENTACT_TOKEN, or $OPENTACT_EMAIL and $OPENTACT_PASSWORD.",
    )
    group.add_argument("--api-url", metavar="URL", help="OpenTact API base URL (…/rest)")
    group.add_argument(
        "--sandbox",
        action="store_true",
        help="use the bundled sandbox even when $OPENTACT_API_URL is set",
    )
    group.add_argument(
        "--db",
        dest="sandbox_db",
        type=Path,
        metavar="PATH",
        help="the sandbox's SQLite file (default: $CALLFLOW_SANDBOX_DB, else "
        "~/.local/share/callflow/sandbox.sqlite3)",
    )
    # The spelling of 0.x, kept for one release: --db is the one every command takes.
    group.add_argument("--sandbox-db", dest="sandbox_db", type=Path, help=argparse.SUPPRESS)


def open_client(args: argparse.Namespace) -> Client:
    """The client the options ask for; says on stderr which target it is."""
    from callflow.client import Client
    from callflow.sandbox import Sandbox

    url = None if args.sandbox else (args.api_url or os.environ.get("OPENTACT_API_URL"))
    client = Client(url) if url else Sandbox(args.sandbox_db).client()
    print(f"target: {client.target}", file=sys.stderr)
    return client


def demo_app(client: Client) -> tuple[App, bool]:
    """The sandbox's demo app, created on first use; True when it was created now.

    Its subdomain is unique, so when several runs create it at once one wins and the others
    (refused with 409) use the winner's.
    """
    from callflow.errors import ApiError

    def existing() -> App | None:
        found = [app for app in client.list_apps() if app.subdomain == DEMO_APP_NAME]
        return found[0] if found else None

    app = existing()
    if app is not None:
        return app, False
    try:
        return client.create_app(DEMO_APP_NAME, subdomain=DEMO_APP_NAME), True
    except ApiError as error:
        app = existing() if error.status == 409 else None
        if app is None:
            raise
        return app, False


def print_json(value: object) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")
