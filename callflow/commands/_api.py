"""Options and helpers shared by the commands that talk to the API (apps, execute)."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
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
    """The client the options ask for (`target_line` says which target it is)."""
    from callflow.client import Client
    from callflow.sandbox import Sandbox

    url = None if args.sandbox else (args.api_url or os.environ.get("OPENTACT_API_URL"))
    return Client(url) if url else Sandbox(args.sandbox_db).client()


def target_line(client: Client) -> str:
    """The line every API command starts its messages with: where its requests went."""
    return f"target: {client.target}\n"


@contextmanager
def targeted_client(args: argparse.Namespace) -> Iterator[Client]:
    """`open_client`, closed at the end; a `CallflowError` raised inside also names the
    target (its message gains a ``target: …`` line), as the command's output would have."""
    from callflow.errors import CallflowError

    with open_client(args) as client:
        try:
            yield client
        except CallflowError as error:
            # The message is what cli.py prints after "callflow COMMAND: ".
            text = str(error)
            error.args = (f"{text}\n{target_line(client).rstrip()}", *error.args[1:])
            raise


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


def as_json(value: object) -> str:
    """``value`` as the JSON the API commands print (indented, UTF-8, one trailing newline)."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n"
