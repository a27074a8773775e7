"""`callflow apps …`: list, create, show, update and delete SIP Control Apps; manage TN leases."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from callflow.client import App, CallRecord, TnLease

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


def run(args: argparse.Namespace) -> int:
    from callflow.commands._api import open_client, print_json

    with open_client(args) as client:
        if args.action == "list":
            apps = client.list_apps()
            if args.format == "json":
                print_json([app.to_dict() for app in apps])
            else:
                _print_apps(apps)
            return 0
        if args.action == "create":
            app = client.create_app(args.app_name, **_fields(args))
            _print_app(app, args.format, "created")
            return 0
        if args.action == "show":
            _print_app(client.get_app(args.uuid), args.format, None)
            if client.is_sandbox and args.format == "text":
                _print_app_calls([c for c in client.list_calls() if c.app_uuid == args.uuid])
            return 0
        if args.action == "update":
            changes = _fields(args)
            if not changes:
                print("callflow apps update: nothing to change (see --help)", file=sys.stderr)
                return 2
            _print_app(client.update_app(args.uuid, **changes), args.format, "updated")
            return 0
        if args.action == "delete":
            client.delete_app(args.uuid)
            if args.format == "json":
                print_json({"uuid": args.uuid, "deleted": True})
            else:
                print(f"deleted {args.uuid}")
            return 0
        if args.add or args.remove:
            leases = client.change_leases(args.uuid, add=args.add, remove=args.remove)
        else:
            leases = client.list_leases(args.uuid)
        if args.format == "json":
            print_json([lease.to_dict() for lease in leases])
        else:
            _print_leases(leases)
        return 0


def _print_apps(apps: list[App]) -> None:
    if not apps:
        print("no apps")
        return
    width = max(4, *(len(app.name) for app in apps))
    print(f"{'UUID':36}  {'NAME':{width}}  {'SUBDOMAIN':20}  ACTIVE")
    for app in apps:
        active = "yes" if app.is_active else "no"
        print(f"{app.uuid:36}  {app.name:{width}}  {app.subdomain or '-':20}  {active}")


def _print_app(app: App, fmt: str, verb: str | None) -> None:
    from callflow.commands._api import print_json

    if fmt == "json":
        print_json(app.to_dict())
        return
    if verb:
        print(f"{verb} {app.uuid}")
    for key, value in app.to_dict().items():
        if key == "tn_leases" or value is None:
            continue
        shown = ("yes" if value else "no") if isinstance(value, bool) else value
        print(f"  {key}: {shown}")
    if app.tn_leases:
        print("  tn_leases:")
        for lease in app.tn_leases:
            print(f"    {lease.uuid}  {lease.number or '?'}")


def _print_app_calls(calls: list[CallRecord]) -> None:
    # The sandbox's call log for this app (newest first): what each executed flow did.
    if not calls:
        print("  calls: none executed yet")
        return
    print(f"  calls: {len(calls)} executed (see `callflow calls show ID`)")
    for call in calls[:5]:
        heard = call.heard[0] if call.heard else "(nothing)"
        shown = "".join(ch if ch.isprintable() else "?" for ch in heard)[:50]
        print(f"    {call.uuid}  ended by {call.ended_by or '?'}  first heard: {shown}")


def _print_leases(leases: list[TnLease]) -> None:
    if not leases:
        print("no TN leases assigned")
        return
    for lease in leases:
        expires = lease.expired_on.date().isoformat() if lease.expired_on else "?"
        print(f"{lease.uuid}  {lease.number or '?':15}  expires {expires}")
