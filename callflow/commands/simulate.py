"""`callflow simulate SOURCE`: run a call flow offline against scripted key presses."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from callflow.commands._common import Outcome
    from callflow.document import Document

NAME = "simulate"
HELP = "simulate a call through a flow (*.xml, *.xml.j2, *.py) with scripted key presses"
#: Diagnostics go to stderr: stdout carries the output.
DIAGNOSTICS_STREAM = "stderr"


def configure(parser: argparse.ArgumentParser) -> None:
    from callflow.commands._api import add_api_options
    from callflow.commands._common import add_flow_arguments

    add_flow_arguments(
        parser,
        optional=True,
        help="a *.xml flow, *.xml.j2 template, *.py builder script, a library template name "
        "(callflow/ivr_menu.xml.j2) or - for standard input; without it, --app UUID names "
        "the SIP Control App whose call_flow_url gives the flow",
    )
    parser.add_argument(
        "--press",
        action="append",
        default=[],
        metavar="DIGITS",
        help="keys typed at the next <Gather> attempt (repeat for each attempt; '' or "
        "'silence' for none, 'hangup' to hang up there)",
    )
    parser.add_argument("--from", dest="from_number", metavar="N", help="the caller's number")
    parser.add_argument("--to", dest="to_number", metavar="N", help="the number called")
    parser.add_argument(
        "--app",
        metavar="MODULE:APP|UUID",
        help="MODULE:APP: answer <Callback>/<Gather> URLs in-process with this WSGI/ASGI app "
        "or function (e.g. myapp.web:app or examples/ivr_app.py:app); UUID (without "
        "SOURCE): fetch the flow from that SIP Control App's call_flow_url, as the platform "
        "does when a call arrives (the sandbox by default; see the target options)",
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        help="without --app, fail every URL request instead of using the network",
    )
    parser.add_argument(
        "--network",
        action="store_true",
        help="let real requests reach hosts beyond this machine (default: loopback only)",
    )
    parser.add_argument(
        "--dial",
        action="append",
        default=[],
        metavar="TARGET=OUTCOME",
        help="what a <Dial> target does: answered, busy, no-answer, failed, caller-hangs-up",
    )
    parser.add_argument(
        "--dial-default",
        default="answered",
        metavar="OUTCOME",
        help="outcome for targets not named by --dial (default: answered)",
    )
    parser.add_argument(
        "--fail-media",
        action="append",
        default=[],
        metavar="URL",
        help="a <Play> URL that fails to load (repeatable)",
    )
    parser.add_argument(
        "--hang-up-at-step",
        type=int,
        metavar="N",
        help="the caller hangs up before step N (1-based) runs",
    )
    parser.add_argument(
        "--format",
        choices=["text", "json"],
        default="text",
        help="text (default): one line per event; json: an array of event objects",
    )
    add_api_options(parser)


def load_app(spec: str) -> Any:
    """The object named by ``module:attr`` or ``path/to/file.py:attr``.

    Raises `InputError` with a message naming what is wrong.
    """
    import importlib
    import importlib.util

    from callflow.errors import InputError

    module_name, colon, attribute = spec.rpartition(":")
    if not colon or not module_name or not attribute:
        raise InputError(f"--app {spec!r}: expected MODULE:APP, e.g. myapp.web:app")
    try:
        if module_name.endswith(".py") or "/" in module_name or "\\" in module_name:
            path = Path(module_name)
            loader_spec = importlib.util.spec_from_file_location(path.stem, path)
            if loader_spec is None or loader_spec.loader is None:
                raise InputError(f"--app {spec!r}: cannot load {module_name}")
            module = importlib.util.module_from_spec(loader_spec)
            loader_spec.loader.exec_module(module)
        else:
            if "" not in sys.path:
                sys.path.insert(0, "")
            module = importlib.import_module(module_name)
    except InputError:
        raise
    except FileNotFoundError:
        raise InputError(f"--app {spec!r}: no such file {module_name}") from None
    except Exception as error:  # the user's module failed to import: say how, briefly
        raise InputError(
            f"--app {spec!r}: importing {module_name} failed: {type(error).__name__}: {error}"
        ) from None
    target: Any = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise InputError(f"--app {spec!r}: {module_name} has no attribute {attribute!r}")
        target = getattr(target, part)
    return target


#: An app's uuid (``--app UUID``), as the API and the sandbox write them.
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _fetched_flow(args: argparse.Namespace) -> tuple[Document, str]:
    """The flow the app ``--app UUID`` names fetches from its call_flow_url (through the
    client, then the front door), and the lines that say where it came from."""
    from callflow._text import visible
    from callflow.commands._api import target_line, targeted_client
    from callflow.commands._common import policy_from_args
    from callflow.sources import load_flow

    with targeted_client(args) as client:
        url, data = client.fetch_call_flow(args.app, any_host=True if args.network else None)
        notes = target_line(client)
    notes += f"flow: {visible(url)} (the call_flow_url of app {visible(args.app)})\n"
    # Named so that its kind is XML whatever the URL ends with: what the platform runs.
    name = url if not url.endswith((".py", ".j2")) else f"{url}#xml"
    return load_flow(data, filename=name, policy=policy_from_args(args)), notes


def run(args: argparse.Namespace) -> Outcome:
    from callflow.commands._common import Outcome, flow_from_args
    from callflow.diagnostics import has_errors
    from callflow.errors import InputError, SimulationError
    from callflow.reporters import render
    from callflow.simulate import Backend, Caller, CallInfo, simulate

    dial: dict[str, str] = {}
    for item in args.dial:
        target, equals, outcome = item.rpartition("=")
        if not equals or not target.strip():
            raise InputError(f"--dial {item!r}: expected TARGET=OUTCOME")
        dial[target.strip()] = outcome
    try:
        caller = Caller(
            presses=args.press,
            dial=dial,
            dial_default=args.dial_default,
            failing_media=args.fail_media,
            hang_up_at_step=args.hang_up_at_step,
        )
    except SimulationError as error:  # a bad option value
        raise InputError(str(error)) from None
    defaults = CallInfo()
    call = CallInfo(
        from_number=args.from_number or defaults.from_number,
        to_number=args.to_number or defaults.to_number,
    )
    by_uuid = args.app is not None and _UUID.fullmatch(args.app) is not None
    if args.source is None and not by_uuid:
        raise InputError("give a SOURCE, or --app UUID of an app whose call_flow_url gives it")
    if args.source is not None and by_uuid:
        raise InputError(
            f"--app {args.app!r} is an app's uuid, whose call_flow_url gives the flow: "
            "give it or SOURCE, not both (--app MODULE:APP answers URLs in-process)"
        )
    try:
        if args.app and not by_uuid:
            backend = Backend.of(load_app(args.app))
        else:
            backend = (
                Backend.offline() if args.offline else Backend.network(everywhere=args.network)
            )
    except SimulationError as error:
        raise InputError(str(error)) from None
    notes = ""
    if by_uuid:
        document, notes = _fetched_flow(args)
    else:
        document = flow_from_args(args)
    transcript = simulate(document, caller, call=call, app=backend)
    stderr = notes
    if args.format == "json":
        stdout = transcript.to_json() + "\n"
    else:
        stdout = transcript.render()
        stderr += (
            f"call ended by {transcript.ended_by} after {transcript.duration_ms / 1000:.2f} "
            f"simulated seconds, {transcript.steps} steps\n"
        )
    if transcript.diagnostics:
        from callflow.reporters import FileLines

        lines = FileLines({d.name: d.text for d in transcript.documents})
        stderr += render(transcript.diagnostics, "text", lines=lines)
    return Outcome(stdout=stdout, stderr=stderr, problems=has_errors(transcript.diagnostics))
