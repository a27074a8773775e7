"""`callflow apps …`: list, create, show, update and delete SIP Control Apps; manage TN leases."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from callflow.client import App, CallRecord, Client, TnLease
    from callflow.commands._common import Outcome

NAME = "apps"
HELP = "manage SIP Control Apps and their TN leases (on the API or the sandbox)"


def _add_fields(parser: argparse.ArgumentParser, *, creating: bool) -> None:
    if not creating:
        parser.add_argument("--name", help="new name (1..255 characters)")
    parser.add_argument("--subdomain", help="subdomain (3..255 characters)")
    active = parser.add_mutually_exclusive_group()
    active.add_argument(
        "--active",
        dest="is_active",
        action="store_true",
        default=None,
        help="the app takes calls",
    )
    active.add_argument(
        "--inactive", dest="is_active", action="store_false", help="the app takes no calls"
    )
    parser.add_argument(
        "--trunk-settings",
        type=_json_object,
        metavar="JSON",
        help='class4 egress trunk settings as a JSON object, e.g. \'{"trunk": "…"}\'',
    )
    parser.add_argument(
        "--outbound-voice-profile", metavar="UUID", help="the outbound voice profile's uuid"
    )
    parser.add_argument("--call-flow-url", metavar="URL", help="where the platform fetches flows")
    parser.add_argument(
        "--call-flow-method", choices=("GET", "POST"), help="how the platform fetches flows"
    )
    parser.add_argument(
        "--call-flow-timeout",
        type=int,
        metavar="MS",
        dest="call_flow_timeout",
        help="how long the platform waits for a flow, in milliseconds",
    )
    parser.add_argument("--webhook-url", metavar="URL", help="where the platform sends events")
    parser.add_argument(
        "--webhook-method", choices=("GET", "POST"), help="how the platform sends events"
    )
    parser.add_argument(
        "--webhook-timeout",
        type=int,
        metavar="MS",
        dest="webhook_timeout",
        help="how long the platform waits for the webhook, in milliseconds",
    )


def _json_object(text: str) -> dict[str, object]:
    import json

    try:
        value = json.loads(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not JSON: {error}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("expected a JSON object ({...})")
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    from callflow.commands._api import add_api_options
    from callflow.commands._common import add_format_option

    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="list the account's apps")
    create = actions.add_parser("create", help="create an app")
    create.add_argument("app_name", metavar="NAME", help="the app's name (1..255 characters)")
    _add_fields(create, creating=True)
    show = actions.add_parser("show", help="show one app with its TN leases")
    show.add_argument("uuid", metavar="UUID", help="the app's uuid")
    update = actions.add_parser("update", help="change an app's fields")
    update.add_argument("uuid", metavar="UUID", help="the app's uuid")
    _add_fields(update, creating=False)
    delete = actions.add_parser("delete", help="delete an app")
    delete.add_argument("uuid", metavar="UUID", help="the app's uuid")
    leases = actions.add_parser(
        "leases", help="list an app's TN leases, or assign (--add) and release (--remove) them"
    )
    leases.add_argument("uuid", metavar="UUID", help="the app's uuid")
    leases.add_argument("--add", nargs="+", default=[], metavar="LEASE", help="TN lease uuids")
    leases.add_argument("--remove", nargs="+", default=[], metavar="LEASE", help="TN lease uuids")
    for sub in (listing, create, show, update, delete, leases):
        add_format_option(sub, choices=("text", "json"))
        add_api_options(sub)


def _fields(args: argparse.Namespace) -> dict[str, object]:
    fields = {
        "name": getattr(args, "name", None),
        "subdomain": args.subdomain,
        "is_active": args.is_active,
        "trunk_settings": args.trunk_settings,
        "outbound_voice_profile": args.outbound_voice_profile,
        "call_flow_url": args.call_flow_url,
        "call_flow_method": args.call_flow_method,
        "call_flow_request_timeout": args.call_flow_timeout,
        "webhook_url": args.webhook_url,
        "webhook_method": args.webhook_method,
        "webhook_request_timeout": args.webhook_timeout,
    }
    return {name: value for name, value in fields.items() if value is not None}


def run(args: argparse.Namespace) -> Outcome:
    from callflow.commands._api import target_line, targeted_client
    from callflow.commands._common import Outcome
    from callflow.errors import InputError

    changes = _fields(args) if args.action == "update" else {}
    if args.action == "update" and not changes:
        raise InputError("update: nothing to change (see --help)")
    with targeted_client(args) as client:
        out = _act(client, args, changes)
        return Outcome(stdout=out, stderr=target_line(client), stderr_first=True)


def _act(client: Client, args: argparse.Namespace, changes: dict[str, object]) -> str:
    """What the action does, as the text (or JSON) it prints."""
    from callflow.commands._api import as_json

    json_out = args.format == "json"
    if args.action == "list":
        apps = client.list_apps()
        return as_json([app.to_dict() for app in apps]) if json_out else _apps_text(apps)
    if args.action == "create":
        return _app_text(client.create_app(args.app_name, **_fields(args)), args.format, "created")
    if args.action == "show":
        shown = _app_text(client.get_app(args.uuid), args.format, None)
        if client.is_sandbox and not json_out:
            shown += _app_calls_text([c for c in client.list_calls() if c.app_uuid == args.uuid])
        return shown
    if args.action == "update":
        return _app_text(client.update_app(args.uuid, **changes), args.format, "updated")
    if args.action == "delete":
        client.delete_app(args.uuid)
        return (
            as_json({"uuid": args.uuid, "deleted": True}) if json_out else f"deleted {args.uuid}\n"
        )
    if args.add or args.remove:
        leases = client.change_leases(args.uuid, add=args.add, remove=args.remove)
    else:
        leases = client.list_leases(args.uuid)
    return as_json([lease.to_dict() for lease in leases]) if json_out else _leases_text(leases)


def _lines(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


def _apps_text(apps: list[App]) -> str:
    if not apps:
        return "no apps\n"
    width = max(4, *(len(app.name) for app in apps))
    lines = [f"{'UUID':36}  {'NAME':{width}}  {'SUBDOMAIN':20}  ACTIVE"]
    for app in apps:
        active = "yes" if app.is_active else "no"
        lines.append(f"{app.uuid:36}  {app.name:{width}}  {app.subdomain or '-':20}  {active}")
    return _lines(lines)


def _app_text(app: App, fmt: str, verb: str | None) -> str:
    from callflow.commands._api import as_json

    if fmt == "json":
        return as_json(app.to_dict())
    lines = [f"{verb} {app.uuid}"] if verb else []
    for key, value in app.to_dict().items():
        if key == "tn_leases" or value is None:
            continue
        shown = ("yes" if value else "no") if isinstance(value, bool) else value
        lines.append(f"  {key}: {shown}")
    if app.tn_leases:
        lines.append("  tn_leases:")
        lines.extend(f"    {lease.uuid}  {lease.number or '?'}" for lease in app.tn_leases)
    return _lines(lines)


def _app_calls_text(calls: list[CallRecord]) -> str:
    # The sandbox's call log for this app (newest first): what each executed flow did.
    if not calls:
        return "  calls: none executed yet\n"
    lines = [f"  calls: {len(calls)} executed (see `callflow calls show ID`)"]
    for call in calls[:5]:
        heard = call.heard[0] if call.heard else "(nothing)"
        shown = "".join(ch if ch.isprintable() else "?" for ch in heard)[:50]
        lines.append(f"    {call.uuid}  ended by {call.ended_by or '?'}  first heard: {shown}")
    return _lines(lines)


def _leases_text(leases: list[TnLease]) -> str:
    if not leases:
        return "no TN leases assigned\n"
    lines = []
    for lease in leases:
        expires = lease.expired_on.date().isoformat() if lease.expired_on else "?"
        lines.append(f"{lease.uuid}  {lease.number or '?':15}  expires {expires}")
    return _lines(lines)
