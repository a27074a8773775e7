"""`callflow calls list|show`: the sandbox call log, what each executed flow did."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from callflow.client import CallRecord
    from callflow.commands._common import Outcome

NAME = "calls"
HELP = "show the sandbox call log: what the caller heard and where each executed call went"


def configure(parser: argparse.ArgumentParser) -> None:
    from callflow.commands._api import add_api_options
    from callflow.commands._common import add_format_option

    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="list the executed calls, newest first")
    show = actions.add_parser(
        "show", help="show one call: what the caller heard, each step with its source line"
    )
    show.add_argument("uuid", metavar="ID", help="the execution id `callflow execute` printed")
    for sub in (listing, show):
        add_format_option(sub, choices=("text", "json"))
        add_api_options(sub)


def run(args: argparse.Namespace) -> Outcome:
    from callflow.commands._api import as_json, target_line, targeted_client
    from callflow.commands._common import Outcome

    with targeted_client(args) as client:
        if args.action == "list":
            calls = client.list_calls()
            if args.format == "json":
                out = as_json([call.to_dict() for call in calls])
            else:
                out = _calls_text(calls)
        else:
            call = client.get_call(args.uuid)
            out = as_json(call.to_dict()) if args.format == "json" else render_call(call)
        return Outcome(stdout=out, stderr=target_line(client), stderr_first=True)


def _seconds(ms: int | None) -> str:
    return f"{(ms or 0) / 1000:.2f}s"


def _calls_text(calls: list[CallRecord]) -> str:
    if not calls:
        return "no calls yet: execute a flow on the sandbox (`callflow execute FLOW`)\n"
    lines = [f"{'ID':36}  {'WHEN':24}  {'ENDED BY':12}  {'LENGTH':>8}  FIRST HEARD"]
    for call in calls:
        when = call.created_on.isoformat(timespec="seconds") if call.created_on else "?"
        first = _clip(call.heard[0], 40) if call.heard else "(nothing)"
        lines.append(
            f"{call.uuid:36}  {when:24}  {call.ended_by or '?':12}  "
            f"{_seconds(call.duration_ms):>8}  {first}"
        )
    return "".join(line + "\n" for line in lines)


def _clip(text: str, width: int) -> str:
    text = _printable(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def _printable(text: str) -> str:
    # The flow is the user's, but its text reaches a terminal: no control characters.
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)


def render_call(call: CallRecord) -> str:
    """The text form of a logged call: a header, what was heard, then each step."""
    lines = [f"call {call.uuid}"]
    when = call.created_on.isoformat(timespec="seconds") if call.created_on else "?"
    lines.append(f"  flow: {_printable(call.name)}, executed {when} on app {call.app_uuid}")
    presses = call.caller.get("presses") if call.caller else None
    script = (
        "presses " + ", ".join(repr(p) for p in presses)
        if isinstance(presses, list) and presses
        else "the default caller (presses nothing)"
    )
    lines.append(f"  caller: {_printable(script)}")
    went = f"dialled {', '.join(map(_printable, call.dialled))}; " if call.dialled else ""
    lines.append(
        f"  {went}ended by {call.ended_by or '?'} after {_seconds(call.duration_ms)} "
        "of simulated time"
    )
    lines.append("heard:")
    lines.extend(f"  {_printable(text)!s}" for text in call.heard or ["(nothing)"])
    lines.append("steps:")
    for step in call.steps:
        where = f"{_printable(step.file or '?')}:{step.line or '?'}"
        if step.author_file:
            where = f"{_printable(step.author_file)}:{step.author_line or '?'}; {where}"
        source = f"  | {_printable(step.source)}" if step.source else ""
        lines.append(
            f"  {_seconds(step.at_ms):>8}  {step.event:<12} {_printable(step.summary)}"
            f"  ({where}){source}"
        )
    for problem in call.diagnostics:
        lines.append(
            f"{_printable(str(problem.get('file')))}:{problem.get('line')}: "
            f"{problem.get('code')} {_printable(str(problem.get('message')))}"
        )
    return "\n".join(lines) + "\n"
