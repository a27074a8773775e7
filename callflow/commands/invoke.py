"""`callflow invoke URL --event …`: send a flow server exactly the request the platform would,
and show its reply validated."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from callflow.commands._common import Outcome

NAME = "invoke"
HELP = "send an app's URL the request the platform would send, and validate the reply"
DIAGNOSTICS_STREAM = "stderr"


def configure(parser: argparse.ArgumentParser) -> None:
    from callflow.web._requests import EVENTS

    parser.add_argument("url", metavar="URL", help="the app's URL (http or https)")
    parser.add_argument(
        "--event",
        choices=EVENTS,
        default="webhook",
        help="which request to send (default: webhook)",
    )
    parser.add_argument(
        "--dtmf", default="1", help="the digits (gather, legacy-gather; default: 1)"
    )
    parser.add_argument("--from", dest="from_number", metavar="N", help="the caller's number")
    parser.add_argument("--to", dest="to_number", metavar="N", help="the number called")
    parser.add_argument("--tag", help="the <Callback tag> (callback)")
    parser.add_argument(
        "--method",
        type=str.upper,
        choices=["GET", "POST", "PATCH", "DELETE"],
        help="HTTP method (default: GET, POST for a callback)",
    )
    parser.add_argument(
        "--body",
        action="store_true",
        help='send the call object as a JSON body (a callback with body="true"; a POST webhook)',
    )
    parser.add_argument(
        "--attempt", type=int, default=1, metavar="N", help="the attempt number (legacy-gather)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="seconds to wait (default: 10)",
    )
    parser.add_argument("--no-lint", action="store_true", help="schema checks only")
    parser.add_argument(
        "--format",
        choices=["text", "json"],
        default="text",
        help="diagnostics format (default: text)",
    )


def platform_request(
    args: argparse.Namespace,
) -> tuple[str, dict[str, str], dict[str, str] | None, object]:
    """(method, query fields, form fields, JSON body) as the platform sends them."""
    from callflow.simulate import CallInfo

    defaults = CallInfo()
    call = CallInfo(
        from_number=args.from_number or defaults.from_number,
        to_number=args.to_number or defaults.to_number,
    )
    call_object = call.call_object(0)
    if args.event == "webhook":
        method = args.method or ("POST" if args.body else "GET")
        body = call_object if method != "GET" else None
        return method, {"from": call.from_number, "to": call.to_number}, None, body
    if args.event == "gather":
        fields = {
            "dtmf": args.dtmf,
            "from": call.from_number,
            "tn": call.to_number,
            "state": "live",
            "sca": call.sip_control_app,
            "call": call.uuid,
        }
        return args.method or "GET", fields, None, None
    if args.event == "legacy-gather":
        fields = {
            "code": args.dtmf,
            "success": "true" if args.dtmf else "false",
            "attempts": str(args.attempt),
        }
        method = args.method or "GET"
        return (method, fields, None, None) if method == "GET" else (method, {}, fields, None)
    tag = {"tag": args.tag} if args.tag is not None else {}
    return args.method or "POST", tag, None, call_object if args.body else None


def run(args: argparse.Namespace) -> Outcome:
    import httpx

    from callflow.check import check_document
    from callflow.commands._common import Outcome, format_diagnostics
    from callflow.diagnostics import has_errors, in_order
    from callflow.errors import InputError
    from callflow.sources import load_flows

    if not args.url.startswith(("http://", "https://")):
        raise InputError(f"{args.url}: expected an http:// or https:// URL")
    method, query, form, body = platform_request(args)
    try:
        with httpx.Client(timeout=args.timeout, follow_redirects=False) as client:
            reply = client.request(method, args.url, params=query, data=form, json=body)
    except httpx.HTTPError as error:
        raise InputError(f"{args.url}: no answer: {type(error).__name__}: {error}") from None
    shown = f"{reply.request.method} {reply.request.url}"
    answered = reply.headers.get("content-type", "(no content type)")
    head = f"{shown}\n-> {reply.status_code} {answered}\n"
    if not reply.is_success:
        text = reply.text[:2000]
        return Outcome(
            stdout=text,
            stderr=f"{head}callflow invoke: the app answered {reply.status_code}\n",
            problems=True,
        )
    sources = load_flows(reply.content, filename=args.url)
    found = [d for s in sources for d in s.diagnostics]
    for source in sources:
        if source.document is not None:
            found.extend(check_document(source.document, lint=not args.no_lint))
    ordered = in_order(found)
    content_type = reply.headers.get("content-type", "").split(";")[0].strip().lower()
    stderr = head
    problems = has_errors(ordered) or not any(s.document for s in sources)
    if content_type not in ("text/xml", "application/xml"):
        stderr += (
            f"callflow invoke: the reply's content type is {content_type or 'missing'}, "
            "not text/xml\n"
        )
        problems = True
    if ordered:
        stderr += format_diagnostics(ordered, args.format, sources)
    stderr += "reply is valid call XML\n" if not problems else "reply is NOT valid call XML\n"
    text = reply.text
    return Outcome(
        stdout=text if text.endswith("\n") else text + "\n", stderr=stderr, problems=problems
    )
