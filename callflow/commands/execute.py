"""`callflow execute SOURCE`: validate a flow, post it to a SIP Control App, map any rejection."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from callflow.commands._common import Outcome

NAME = "execute"
HELP = "validate a call flow and execute it on a SIP Control App (the sandbox by default)"


def configure(parser: argparse.ArgumentParser) -> None:
    from callflow.commands._api import add_api_options
    from callflow.commands._common import add_flow_arguments, add_format_option

    add_flow_arguments(parser, context=False)
    parser.add_argument(
        "--app",
        metavar="UUID",
        help="the SIP Control App (required on the API; on the sandbox the default is the "
        "demo app 'callflow-demo', created on first use)",
    )
    from callflow.commands._context import add_context_options

    add_context_options(parser)
    parser.add_argument(
        "--no-validate",
        action="store_true",
        help="send without validating first (to test the platform's own checks)",
    )
    parser.add_argument(
        "--press",
        action="append",
        default=[],
        metavar="DIGITS",
        help="sandbox only: keys the simulated caller of the call log types at the next "
        "<Gather> attempt (repeat for each attempt; '' or 'silence' for none, 'hangup' to "
        "hang up there); see `callflow calls show ID`",
    )
    parser.add_argument(
        "--upload",
        choices=("multipart", "raw"),
        default="multipart",
        help="multipart field 'file' (default) or a raw application/xml body",
    )
    add_format_option(parser)
    add_api_options(parser)


def _caller(args: argparse.Namespace) -> object:
    """The scripted caller the sandbox plays the flow to (None: its default caller)."""
    from callflow.errors import InputError, SimulationError
    from callflow.simulate import Caller

    if not args.press:
        return None
    try:
        return Caller(presses=args.press)
    except SimulationError as error:  # a bad option value
        raise InputError(str(error)) from None


def run(args: argparse.Namespace) -> Outcome:
    import json

    from callflow.check import check_document
    from callflow.commands._api import DEMO_APP_NAME, demo_app, target_line, targeted_client
    from callflow.commands._common import Outcome, flow_from_args, format_diagnostics
    from callflow.diagnostics import has_errors, in_order
    from callflow.errors import ApiError, InputError

    document = flow_from_args(args)
    found = [] if args.no_validate else in_order(check_document(document))
    if has_errors(found):
        return Outcome(
            stdout=format_diagnostics(found, args.format),
            stderr=f"{args.source}: not sent: fix the errors above first\n",
            problems=True,
        )
    # Warnings are shown, not blocking.
    shown = format_diagnostics(found, args.format) if found and args.format == "text" else ""
    with targeted_client(args) as client:
        notes = target_line(client)
        app_uuid = args.app
        if app_uuid is None:
            if not client.is_sandbox:
                raise InputError(
                    "--app UUID is required when the target is the API "
                    "(list apps with `callflow apps list`)"
                )
            app, created = demo_app(client)
            app_uuid = app.uuid
            made = "created now" if created else "use --app to choose another"
            notes += f"app: {DEMO_APP_NAME} {app_uuid} ({made})\n"
        if args.press and not client.is_sandbox:
            raise InputError(
                "--press scripts the sandbox's simulated caller; the API places no such call"
            )
        try:
            execution = client.execute(
                app_uuid, document, validate=False, upload=args.upload, caller=_caller(args)
            )
        except ApiError as error:
            if not error.diagnostics:
                raise
            return Outcome(
                stdout=shown + format_diagnostics(in_order(error.diagnostics), args.format),
                stderr=notes
                + f"{args.source}: rejected by {client.target} (HTTP {error.status})\n",
                problems=True,
                stderr_first=True,
            )
        if args.format == "json":
            result = {"source": str(args.source), "target": client.target, **execution.to_dict()}
            out = json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n"
        elif args.format == "text":
            out = (
                f"{args.source}: executed on app {app_uuid} at {client.target}: "
                f"{execution.status or 'ok'}"
                + (f" (execution {execution.uuid})" if execution.uuid else "")
                + "\n"
            )
        else:
            out = format_diagnostics([], args.format)
    return Outcome(stdout=shown + out, stderr=notes, stderr_first=True)
