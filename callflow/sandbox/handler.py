"""The sandbox's request handler: the OpenTact REST endpoints callflow drives, emulated.

`SandboxHandler.handle` takes one request as plain values and returns one response, so the
same code serves the in-process httpx transport and the loopback HTTP server. Every answer
is the API's JSON envelope; bad input of any kind gets a 4xx envelope, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import email.parser
import email.policy
import functools
import json
import logging
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from lxml import etree

from callflow.document import MAX_DOCUMENT_BYTES, safe_parser
from callflow.errors import ApiError
from callflow.sandbox.store import Row, Store

logger = logging.getLogger("callflow.sandbox")

#: Largest request body accepted, in bytes (the 413 limit).
MAX_BODY_BYTES = MAX_DOCUMENT_BYTES

UUID_PATTERN = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

_TRUNK_FIELDS = ("class4_egress_trunk_settings", "class4_egress_trunk_stings")


@dataclass(frozen=True)
class SandboxRequest:
    """One HTTP request as plain values; header names are lower-case."""

    method: str
    target: str  # path and query, e.g. "/rest/sip/app?x=1"
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True)
class SandboxResponse:
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = (("content-type", "application/json"),)


def _envelope(status: int, payload: object = None, message: str | None = None) -> SandboxResponse:
    if message is None:
        document: dict[str, object] = {"success": True, "payload": payload}
    else:
        document = {"success": False, "message": message, "status": status}
    return SandboxResponse(status, json.dumps(document, ensure_ascii=False).encode("utf-8"))


def _refused(status: int, message: str) -> ApiError:
    # Raised inside the handler and turned into an envelope by `SandboxHandler.handle`.
    return ApiError(message, status=status)


def error_response(status: int, message: str) -> SandboxResponse:
    return _envelope(status, message=message)


# ---------------------------------------------------------------- field validation


def _string(name: str, low: int, high: int) -> Callable[[object], object]:
    def check(value: object) -> object:
        if not isinstance(value, str):
            raise ApiError(
                status=400, message=f"'{name}' must be a string, got {_json_type(value)}"
            )
        if not low <= len(value) <= high:
            raise ApiError(
                status=400,
                message=f"'{name}' must be {low} to {high} characters long, got {len(value)}",
            )
        return value

    return check


def _boolean(name: str) -> Callable[[object], object]:
    def check(value: object) -> object:
        if not isinstance(value, bool):
            raise ApiError(
                status=400, message=f"'{name}' must be true or false, got {_json_type(value)}"
            )
        return value

    return check


def _object(name: str) -> Callable[[object], object]:
    def check(value: object) -> object:
        if not isinstance(value, dict):
            raise ApiError(
                status=400, message=f"'{name}' must be an object, got {_json_type(value)}"
            )
        return value

    return check


def _uuid_field(name: str) -> Callable[[object], object]:
    def check(value: object) -> object:
        if not isinstance(value, str) or not UUID_PATTERN.match(value):
            raise ApiError(
                status=400, message=f"'{name}' must be a uuid matching {UUID_PATTERN.pattern}"
            )
        return value

    return check


def _method(name: str) -> Callable[[object], object]:
    def check(value: object) -> object:
        if value not in ("GET", "POST"):
            raise _refused(400, f"'{name}' must be GET or POST")
        return value

    return check


def _milliseconds(name: str) -> Callable[[object], object]:
    def check(value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 3_600_000:
            raise ApiError(
                status=400, message=f"'{name}' must be a whole number of milliseconds (0..3600000)"
            )
        return value

    return check


_APP_FIELDS: dict[str, Callable[[object], object]] = {
    "name": _string("name", 1, 255),
    "subdomain": _string("subdomain", 3, 255),
    "is_active": _boolean("is_active"),
    "class4_egress_trunk_settings": _object("class4_egress_trunk_settings"),
    "class4_egress_trunk_stings": _object("class4_egress_trunk_stings"),
    "outbound_voice_profile": _uuid_field("outbound_voice_profile"),
    "call_flow_url": _string("call_flow_url", 1, 2048),
    "call_flow_method": _method("call_flow_method"),
    "call_flow_request_timeout": _milliseconds("call_flow_request_timeout"),
    "webhook_url": _string("webhook_url", 1, 2048),
    "webhook_method": _method("webhook_method"),
    "webhook_request_timeout": _milliseconds("webhook_request_timeout"),
}


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _app_fields(body: dict[str, object], *, creating: bool) -> dict[str, object]:
    unknown = sorted(set(body) - set(_APP_FIELDS))
    if unknown:
        raise _refused(
            400, f"unknown field(s): {', '.join(unknown)}; allowed: {', '.join(_APP_FIELDS)}"
        )
    if creating and "name" not in body:
        raise _refused(400, "'name' is required")
    fields = {name: _APP_FIELDS[name](value) for name, value in body.items()}
    # The request spelling in the published docs is a typo of the response's; store one.
    spelled = [name for name in _TRUNK_FIELDS if name in fields]
    if len(spelled) == 2 and fields[_TRUNK_FIELDS[0]] != fields[_TRUNK_FIELDS[1]]:
        raise ApiError(
            status=400, message="both spellings of the trunk settings field are given, differently"
        )
    if spelled:
        value = fields.pop(spelled[0])
        fields.pop(_TRUNK_FIELDS[1], None)
        fields[_TRUNK_FIELDS[0]] = value
    if creating:
        fields.setdefault("is_active", True)
    return fields


def _lease_list(body: dict[str, object], name: str) -> list[str]:
    value = body.get(name, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _refused(400, f"'{name}' must be an array of TN lease uuids")
    for item in value:
        if not UUID_PATTERN.match(item):
            raise _refused(400, f"'{name}' holds {item!r}, not a uuid")
    return list(dict.fromkeys(value))


# ---------------------------------------------------------------- call XML


_schema_lock = threading.Lock()


@functools.lru_cache(maxsize=1)
def _call_schema() -> etree.XMLSchema:
    # The sandbox validates with its own compiled schema and words its errors like a platform
    # would (raw libxml2 text with a line), independent of callflow's diagnostic pipeline.
    from callflow.resources import default_schema_path

    return etree.XMLSchema(etree.parse(str(default_schema_path()), safe_parser()))


def check_call_xml(data: bytes) -> tuple[str | None, int]:
    """A platform-style complaint about the posted XML (or None) and its element count."""
    if not data.strip():
        return "Invalid call XML: the document is empty", 0
    head = data[:4096]
    if b"<!DOCTYPE" in head or b"<!ENTITY" in data:
        line = data[: data.find(b"<!")].count(b"\n") + 1
        return f"Invalid call XML: line {line}: DOCTYPE is not allowed", 0
    parser = safe_parser()
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        entries = [e for e in error.error_log if e.level >= etree.ErrorLevels.ERROR][:5]
        lines = [f"line {e.line}, column {e.column}: {e.message}" for e in entries] or [str(error)]
        return "Invalid call XML: " + "\n".join(lines), 0
    with _schema_lock:  # one compiled schema; its error log is per instance
        schema = _call_schema()
        problems = [] if schema.validate(root) else list(schema.error_log)[:10]
    if problems:
        return "Invalid call XML: " + "\n".join(f"line {e.line}: {e.message}" for e in problems), 0
    return None, sum(1 for _ in root.iter(etree.Element))


def _posted_xml(request: SandboxRequest) -> bytes:
    content_type = request.headers.get("content-type", "")
    kind = content_type.split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + request.body
        )
        if not message.is_multipart():
            raise _refused(400, "malformed multipart body")
        for part in message.iter_parts():
            if part.get_param("name", header="content-disposition") == "file":
                payload = part.get_payload(decode=True)
                if isinstance(payload, bytes):
                    return payload
        raise ApiError(
            status=400, message="multipart body has no field 'file' holding the call XML"
        )
    if kind in ("application/xml", "text/xml"):
        return request.body
    raise _refused(
        415,
        "send the call XML as multipart/form-data field 'file' or as an application/xml body",
    )


# ---------------------------------------------------------------- the handler


_ROUTES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^/rest/auth$"), "auth"),
    (re.compile(r"^/rest/sip/app$"), "apps"),
    (re.compile(r"^/rest/sip/app/call/(?P<uuid>[^/]*)$"), "call"),
    (re.compile(r"^/rest/sip/app/(?P<uuid>[^/]+)/tnlease$"), "leases"),
    (re.compile(r"^/rest/sip/app/(?P<uuid>[^/]+)$"), "app"),
)

_METHODS = {
    "auth": ("GET",),
    "apps": ("GET", "POST"),
    "call": ("POST",),
    "leases": ("GET", "POST"),
    "app": ("GET", "PATCH", "DELETE"),
}


class SandboxHandler:
    """Answers OpenTact API requests from a `Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def __repr__(self) -> str:
        return f"SandboxHandler({self.store!r})"

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        try:
            return self._route(request)
        except ApiError as refused:  # raised below for any refused input
            return error_response(refused.status or 400, refused.message)
        except Exception:  # a sandbox bug: answer like a server would, and keep serving
            logger.exception(
                "sandbox failed on %s %s", request.method, request.target.split("?")[0]
            )
            return error_response(500, "internal sandbox error")

    def _route(self, request: SandboxRequest) -> SandboxResponse:
        parts = urlsplit(request.target)
        path = unquote(parts.path).rstrip("/") or "/"
        for pattern, name in _ROUTES:  # noqa: B007 - the loop finds `name`
            match = pattern.match(path)
            if match is not None:
                break
        else:
            return error_response(404, f"no such endpoint: {path}")
        method = request.method.upper()
        if method not in _METHODS[name]:
            return error_response(
                405, f"{method} is not allowed on {path}; use {', '.join(_METHODS[name])}"
            )
        if len(request.body) > MAX_BODY_BYTES:
            return error_response(413, f"request body is larger than {MAX_BODY_BYTES} bytes")
        if name == "auth":
            return self._auth(request)
        account = self._account(request, parts.query)
        uuid = match.groupdict().get("uuid")
        if uuid is not None and not UUID_PATTERN.match(uuid):
            return error_response(400, f"'{uuid}' is not a uuid (expected {UUID_PATTERN.pattern})")
        if name == "apps":
            if method == "GET":
                return _envelope(200, self.store.list_apps(account))
            fields = _app_fields(self._json(request), creating=True)
            return _envelope(201, self.store.create_app(account, fields))
        assert uuid is not None
        if name == "call":
            return self._call(request, account, uuid)
        app = self.store.get_app(account, uuid)
        if app is None:
            return error_response(404, f"SIP Control App {uuid} not found")
        if name == "leases":
            if method == "POST":
                body = self._json(request)
                unknown = sorted(set(body) - {"add", "remove"})
                if unknown:
                    return error_response(
                        400, f"unknown field(s): {', '.join(unknown)}; use add, remove"
                    )
                reason = self.store.change_leases(
                    account, uuid, _lease_list(body, "add"), _lease_list(body, "remove")
                )
                if reason is not None:
                    return error_response(404 if reason.endswith("not found") else 400, reason)
            return _envelope(200, self.store.list_leases(account, uuid))
        if method == "GET":
            return _envelope(200, {**app, "tn_leases": self.store.list_leases(account, uuid)})
        if method == "PATCH":
            changes = _app_fields(self._json(request), creating=False)
            return _envelope(200, self.store.update_app(account, uuid, changes))
        self.store.delete_app(account, uuid)
        return _envelope(200, {"uuid": uuid, "deleted": True})

    def _auth(self, request: SandboxRequest) -> SandboxResponse:
        header = request.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic" or not encoded.strip():
            return error_response(401, "send HTTP Basic credentials (email:password)")
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return error_response(401, "malformed Basic credentials")
        email_address, separator, password = decoded.partition(":")
        account = self.store.authenticate(email_address, password) if separator else None
        if account is None:
            return error_response(401, "wrong email or password")
        return _envelope(200, {"token": self.store.issue_token(account)})

    def _account(self, request: SandboxRequest, query: str) -> Row:
        token = request.headers.get("x-auth-token", "").strip()
        if not token:
            token = (parse_qs(query).get("jwt") or [""])[0].strip()
        if not token:
            raise ApiError(
                status=401, message="authentication required: send the X-Auth-Token header"
            )
        account = self.store.account_for_token(token) if len(token) <= 4096 else None
        if account is None:
            raise _refused(401, "invalid or expired token")
        return account

    def _json(self, request: SandboxRequest) -> dict[str, object]:
        if not request.body.strip():
            raise _refused(400, "request body is empty; expected a JSON object")
        try:
            body = json.loads(request.body.decode("utf-8"))
        except UnicodeDecodeError:
            raise _refused(400, "request body is not UTF-8 text") from None
        except json.JSONDecodeError as error:
            raise _refused(
                400,
                f"request body is not valid JSON: {error.msg} (line {error.lineno}, "
                f"column {error.colno})",
            ) from None
        except RecursionError:
            raise _refused(400, "request body is nested too deeply") from None
        if not isinstance(body, dict):
            raise ApiError(
                status=400, message=f"request body must be a JSON object, got {_json_type(body)}"
            )
        return body

    def _call(self, request: SandboxRequest, account: Row, uuid: str) -> SandboxResponse:
        app = self.store.get_app(account, uuid)
        if app is None:
            return error_response(404, f"SIP Control App {uuid} not found")
        if not app.get("is_active", True):
            return error_response(400, f"SIP Control App {uuid} is not active")
        if not request.body and app.get("call_flow_url"):  # as the platform does on a call
            from callflow.web._platform import fetch_call_flow

            data = fetch_call_flow(app)
        else:
            data = _posted_xml(request)
        complaint, elements = check_call_xml(data)
        if complaint is not None:
            return error_response(400, complaint)
        text = data.decode("utf-8", errors="replace")
        return _envelope(200, self.store.record_execution(account, uuid, text, elements))
