"""The sandbox as one WSGI application: the OpenTact REST endpoints callflow drives, emulated.

`SandboxHandler` is a WSGI callable (served in-process by `httpx.WSGITransport` and on
loopback by waitress); `SandboxHandler.handle` takes one request as plain values, so tests
and tools can call it without HTTP. Endpoints are found in one route table. Every answer is
the API's JSON envelope; bad input of any kind gets a 4xx envelope, never a 500, and is
refused before anything is written: each request's reads and writes are one transaction.
"""

from __future__ import annotations

import base64
import binascii
import email.parser
import email.policy
import functools
import json
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from lxml import etree

from callflow.document import MAX_DOCUMENT_BYTES, safe_parser
from callflow.errors import ApiError
from callflow.sandbox._store import Row, Store

logger = logging.getLogger("callflow.sandbox")

#: Largest request body accepted, in bytes (the 413 limit).
MAX_BODY_BYTES = MAX_DOCUMENT_BYTES

#: Deepest nesting of arrays and objects accepted in a JSON body.
MAX_JSON_DEPTH = 32

#: Most digits accepted in a JSON integer (anything longer is no id, count or duration).
MAX_INTEGER_DIGITS = 18

#: Longest JSON number literal with a fraction or exponent accepted.
MAX_NUMBER_CHARS = 40

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
    try:
        body = json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        # Text that is not Unicode never gets in (see `_checked`); a row from an older
        # sandbox might still hold some, and is sent escaped rather than failing the list.
        body = json.dumps(document).encode("ascii")
    return SandboxResponse(status, body)


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
        # The parser's own log: the exception's is the thread's global one, which can still
        # hold what earlier parses in this thread (a rendered template, say) complained of.
        entries = [e for e in parser.error_log if e.level >= etree.ErrorLevels.ERROR][:5]
        lines = [f"line {e.line}, column {e.column}: {e.message}" for e in entries] or [str(error)]
        return "Invalid call XML: " + "\n".join(lines), 0
    with _schema_lock:  # one compiled schema; its error log is per instance
        schema = _call_schema()
        problems = [] if schema.validate(root) else list(schema.error_log)[:10]
    if problems:
        return "Invalid call XML: " + "\n".join(f"line {e.line}: {e.message}" for e in problems), 0
    return None, sum(1 for _ in root.iter(etree.Element))


# ---------------------------------------------------------------- JSON bodies


class _BadNumber(ValueError):
    pass


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise _BadNumber(f"an integer of {len(text.lstrip('-'))} digits")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text) if len(text) <= MAX_NUMBER_CHARS else math.inf
    if not math.isfinite(value):
        raise _BadNumber(f"the number {text[:20]}{'…' if len(text) > 20 else ''}")
    return value


def _parse_constant(name: str) -> object:
    raise _BadNumber(name)


def _checked(value: object) -> None:
    """Refuse nesting deeper than `MAX_JSON_DEPTH` and text that is not Unicode.

    Iterative, so no depth of input can exhaust the stack; a lone surrogate (``"\\ud800"``,
    legal in JSON's escapes) could be neither stored as UTF-8 nor sent back.
    """
    pending: list[tuple[object, str, int]] = [(value, "$", 1)]
    while pending:
        item, where, depth = pending.pop()
        if isinstance(item, str):
            _encodable(item, where)
            continue
        if not isinstance(item, dict | list):
            continue
        if depth > MAX_JSON_DEPTH:
            raise _refused(400, f"request body is nested deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(item, dict):
            for key, inner in item.items():
                _encodable(key, f"{where} (a key)")
                pending.append((inner, f"{where}.{key}", depth + 1))
        else:
            pending.extend((inner, f"{where}[{n}]", depth + 1) for n, inner in enumerate(item))


def _encodable(text: str, where: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise _refused(
            400,
            f"{where.encode('ascii', 'backslashreplace').decode()} holds a lone surrogate "
            f"(\\u{ord(text[error.start]):04x}) at character {error.start}: not Unicode text",
        ) from None


def read_json_object(body: bytes) -> dict[str, object]:
    """A request body as a checked JSON object, or `ApiError` (400) saying what is wrong."""
    if not body.strip():
        raise _refused(400, "request body is empty; expected a JSON object")
    try:
        value = json.loads(
            body.decode("utf-8"),
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_parse_constant,
        )
    except UnicodeDecodeError:
        raise _refused(400, "request body is not UTF-8 text") from None
    except _BadNumber as error:
        raise _refused(
            400,
            f"request body holds {error}; numbers are limited to {MAX_INTEGER_DIGITS} digits "
            "and finite values",
        ) from None
    except json.JSONDecodeError as error:
        raise _refused(
            400,
            f"request body is not valid JSON: {error.msg} (line {error.lineno}, "
            f"column {error.colno})",
        ) from None
    except RecursionError:
        raise _refused(400, f"request body is nested deeper than {MAX_JSON_DEPTH} levels") from None
    if not isinstance(value, dict):
        raise _refused(400, f"request body must be a JSON object, got {_json_type(value)}")
    _checked(value)
    return value


# ---------------------------------------------------------------- the route table

Endpoint = Callable[["SandboxHandler", "_Context"], SandboxResponse]


@dataclass(frozen=True)
class Route:
    """A path pattern and, for each method it allows, the endpoint that answers it.

    ``authenticated`` routes need a token; ``transaction`` is how the endpoint's store work
    runs: ``"read"`` or ``"write"`` (the whole endpoint in one transaction) or ``"own"`` (the
    endpoint opens its one transaction itself, after work that must not hold the lock).
    """

    pattern: re.Pattern[str]
    methods: Mapping[str, tuple[str, str]]
    authenticated: bool = True


@dataclass
class _Context:
    request: SandboxRequest
    query: str
    uuid: str | None
    account: Row | None = None

    @property
    def owner(self) -> Row:
        assert self.account is not None
        return self.account


_ROUTES: tuple[Route, ...] = (
    Route(re.compile(r"^/rest/auth$"), {"GET": ("_auth", "write")}, authenticated=False),
    Route(
        re.compile(r"^/rest/sip/app$"),
        {"GET": ("_list_apps", "read"), "POST": ("_create_app", "write")},
    ),
    Route(re.compile(r"^/rest/sip/app/call/(?P<uuid>[^/]*)$"), {"POST": ("_execute", "own")}),
    Route(
        re.compile(r"^/rest/sip/app/(?P<uuid>[^/]+)/tnlease$"),
        {"GET": ("_list_leases", "read"), "POST": ("_change_leases", "write")},
    ),
    Route(
        re.compile(r"^/rest/sip/app/(?P<uuid>[^/]+)$"),
        {
            "GET": ("_get_app", "read"),
            "PATCH": ("_update_app", "write"),
            "DELETE": ("_delete_app", "write"),
        },
    ),
    # Sandbox only, not part of OpenTact's API: the call log of executed flows.
    Route(re.compile(r"^/rest/sandbox/calls$"), {"GET": ("_list_calls", "read")}),
    Route(re.compile(r"^/rest/sandbox/calls/(?P<uuid>[^/]+)$"), {"GET": ("_get_call", "read")}),
)

#: The sandbox-only path of the call log (see docs/sandbox.md).
CALL_LOG_PATH = "/rest/sandbox/calls"

#: The request header that carries a scripted caller (JSON) with an execute, sandbox only.
CALLER_HEADER = "x-callflow-caller"


def query_token(query: str) -> str | None:
    """The token of a ``jwt=`` query parameter, spelt exactly so (an encoded name is no name)."""
    for part in query.split("&"):
        name, equals, value = part.partition("=")
        if equals and name == "jwt":
            return unquote(value)
    return None


# ---------------------------------------------------------------- logging

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\\\\]")


def escape_for_log(text: str) -> str:
    """``text`` with control characters (and backslashes) written as escapes: one log line."""
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def masked_target(target: str) -> str:
    """The request target for a log line: every query value whose name, decoded, speaks of a
    token or jwt is masked, and control characters are escaped."""
    path, question, query = target.partition("?")
    if not question:
        return escape_for_log(path)
    parts = []
    for part in query.split("&"):
        name, equals, value = part.partition("=")
        spoken = unquote(name).lower()
        if equals and value and ("jwt" in spoken or "token" in spoken or "auth" in spoken):
            value = "***"
        parts.append(f"{name}{equals}{value}")
    return escape_for_log(f"{path}?{'&'.join(parts)}")


# ---------------------------------------------------------------- the application


class SandboxHandler:
    """Answers OpenTact API requests from a `Store`: a WSGI application.

    ``simulate_calls`` runs each executed flow through the simulator for the call log
    (on by default); ``network`` lets those simulations reach hosts beyond loopback.
    """

    def __init__(self, store: Store, *, simulate_calls: bool = True, network: bool = False) -> None:
        self.store = store
        self.simulate_calls = simulate_calls
        self.network = network

    def __repr__(self) -> str:
        return f"SandboxHandler({self.store!r})"

    # -- WSGI ------------------------------------------------------------------------

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        started = time.perf_counter()
        request = _request_of(environ)
        response = self.handle(request) if isinstance(request, SandboxRequest) else request
        reason = _reason(response.status)
        headers = [*response.headers, ("Content-Length", str(len(response.body)))]
        start_response(f"{response.status} {reason}", headers)
        method = str(environ.get("REQUEST_METHOD", "?"))
        target = str(environ.get("REQUEST_URI") or _target_of(environ))
        logger.info(
            '%s "%s %s %s" %d %.1fms',
            escape_for_log(str(environ.get("REMOTE_ADDR", "-"))),
            escape_for_log(method),
            masked_target(target),
            escape_for_log(str(environ.get("SERVER_PROTOCOL", "HTTP/1.1"))),
            response.status,
            (time.perf_counter() - started) * 1000,
        )
        return [b"" if method == "HEAD" else response.body]

    # -- one request as plain values --------------------------------------------------

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        try:
            return self._dispatch(request)
        except ApiError as refused:  # raised below for any refused input
            return error_response(refused.status or 400, refused.message)
        except Exception:  # a sandbox bug: answer like a server would, and keep serving
            logger.exception(
                "sandbox failed on %s %s",
                escape_for_log(request.method),
                masked_target(request.target.split("?")[0]),
            )
            return error_response(500, "internal sandbox error")

    def _dispatch(self, request: SandboxRequest) -> SandboxResponse:
        parts = urlsplit(request.target)
        path = unquote(parts.path).rstrip("/") or "/"
        for route in _ROUTES:
            match = route.pattern.match(path)
            if match is not None:
                break
        else:
            return error_response(404, f"no such endpoint: {escape_for_log(path)}")
        method = request.method.upper()
        if method not in route.methods:
            allowed = ", ".join(route.methods)
            return error_response(
                405, f"{escape_for_log(method)} is not allowed on {path}; use {allowed}"
            )
        if len(request.body) > MAX_BODY_BYTES:
            return error_response(413, f"request body is larger than {MAX_BODY_BYTES} bytes")
        name, transaction = route.methods[method]
        context = _Context(request, parts.query, match.groupdict().get("uuid"))
        if context.uuid is not None and not UUID_PATTERN.match(context.uuid):
            return error_response(
                400,
                f"'{escape_for_log(context.uuid)}' is not a uuid (expected {UUID_PATTERN.pattern})",
            )
        endpoint: Endpoint = getattr(type(self), name)
        if transaction == "own":
            if route.authenticated:
                with self.store.transaction(write=False):
                    context.account = self._account(context)
            return endpoint(self, context)
        with self.store.transaction(write=transaction == "write"):
            if route.authenticated:
                context.account = self._account(context)
            return endpoint(self, context)

    def _account(self, context: _Context) -> Row:
        token = context.request.headers.get("x-auth-token", "").strip()
        if not token:
            token = (query_token(context.query) or "").strip()
        if not token:
            raise ApiError(
                status=401, message="authentication required: send the X-Auth-Token header"
            )
        account = self.store.account_for_token(token) if len(token) <= 4096 else None
        if account is None:
            raise _refused(401, "invalid or expired token")
        return account

    def _app_of(self, context: _Context) -> Row:
        assert context.uuid is not None
        app = self.store.get_app(context.owner, context.uuid)
        if app is None:
            raise _refused(404, f"SIP Control App {context.uuid} not found")
        return app

    # -- the endpoints ------------------------------------------------------------------

    def _auth(self, context: _Context) -> SandboxResponse:
        header = context.request.headers.get("authorization", "")
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

    def _list_apps(self, context: _Context) -> SandboxResponse:
        return _envelope(200, self.store.list_apps(context.owner))

    def _create_app(self, context: _Context) -> SandboxResponse:
        fields = _app_fields(read_json_object(context.request.body), creating=True)
        self._check_subdomain(fields, None)
        return _envelope(201, self.store.create_app(context.owner, fields))

    def _get_app(self, context: _Context) -> SandboxResponse:
        app = self._app_of(context)
        return _envelope(
            200, {**app, "tn_leases": self.store.list_leases(context.owner, app["uuid"])}
        )

    def _update_app(self, context: _Context) -> SandboxResponse:
        app = self._app_of(context)
        changes = _app_fields(read_json_object(context.request.body), creating=False)
        self._check_subdomain(changes, app["uuid"])
        return _envelope(200, self.store.update_app(context.owner, app["uuid"], changes))

    def _delete_app(self, context: _Context) -> SandboxResponse:
        app = self._app_of(context)
        self.store.delete_app(context.owner, app["uuid"])
        return _envelope(200, {"uuid": app["uuid"], "deleted": True})

    def _check_subdomain(self, fields: Mapping[str, object], app_uuid: str | None) -> None:
        subdomain = fields.get("subdomain")
        if isinstance(subdomain, str) and self.store.subdomain_taken(subdomain, app_uuid):
            raise _refused(
                409,
                f"subdomain '{escape_for_log(subdomain)}' is already used by another app; "
                "choose another (subdomains are unique across the platform)",
            )

    def _list_leases(self, context: _Context) -> SandboxResponse:
        app = self._app_of(context)
        return _envelope(200, self.store.list_leases(context.owner, app["uuid"]))

    def _change_leases(self, context: _Context) -> SandboxResponse:
        app = self._app_of(context)
        body = read_json_object(context.request.body)
        unknown = sorted(set(body) - {"add", "remove"})
        if unknown:
            return error_response(400, f"unknown field(s): {', '.join(unknown)}; use add, remove")
        reason = self.store.change_leases(
            context.owner, app["uuid"], _lease_list(body, "add"), _lease_list(body, "remove")
        )
        if reason is not None:
            return error_response(404 if reason.endswith("not found") else 400, reason)
        return _envelope(200, self.store.list_leases(context.owner, app["uuid"]))

    def _execute(self, context: _Context) -> SandboxResponse:
        # Checked and simulated outside the store's lock (a flow's callbacks take real
        # time); the app is read again inside the one transaction that records the call.
        with self.store.transaction(write=False):
            app = self._app_of(context)
        if not app.get("is_active", True):
            return error_response(400, f"SIP Control App {app['uuid']} is not active")
        if not context.request.body and app.get("call_flow_url"):  # as the platform does
            from callflow.web._platform import fetch_call_flow

            name, data = str(app["call_flow_url"]), fetch_call_flow(app, any_host=self.network)
            authored: dict[str, object] = {}
        else:
            name, data, authored = _posted_xml(context.request)
        complaint, elements = check_call_xml(data)
        if complaint is not None:
            return error_response(400, complaint)
        caller = _caller_of(context.request)
        text = data.decode("utf-8", errors="replace")
        record = self._simulated(name, data, caller, authored) if self.simulate_calls else None
        with self.store.transaction(write=True):
            self._app_of(context)
            execution = self.store.record_execution(
                context.owner, app["uuid"], text, elements, name=name, call=record
            )
        return _envelope(200, execution)

    def _simulated(
        self,
        name: str,
        data: bytes,
        caller: Mapping[str, object],
        authored: Mapping[str, object],
    ) -> dict[str, object]:
        from callflow.sandbox._calllog import simulate_for_log

        return simulate_for_log(name, data, caller, authored, network=self.network)

    def _list_calls(self, context: _Context) -> SandboxResponse:
        return _envelope(200, self.store.list_calls(context.owner))

    def _get_call(self, context: _Context) -> SandboxResponse:
        assert context.uuid is not None
        found = self.store.get_call(context.owner, context.uuid)
        if found is None:
            return error_response(404, f"call {context.uuid} not found in the sandbox call log")
        return _envelope(200, found)


def _caller_of(request: SandboxRequest) -> dict[str, object]:
    header = request.headers.get(CALLER_HEADER)
    if header is None:
        return {}
    try:
        return read_json_object(header.encode("utf-8", "surrogateescape"))
    except ApiError as error:
        raise _refused(400, f"the {CALLER_HEADER} header: {error.message}") from None


def _posted_xml(request: SandboxRequest) -> tuple[str, bytes, dict[str, object]]:
    """The posted flow's file name, its bytes, and (sandbox only) where its author wrote each
    line: the multipart field ``source`` the client adds when the target is local."""
    content_type = request.headers.get("content-type", "")
    kind = content_type.split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: "
            + content_type.encode("latin-1", "replace")
            + b"\r\n\r\n"
            + request.body
        )
        if not message.is_multipart():
            raise _refused(400, "malformed multipart body")
        found: dict[str, tuple[str, bytes]] = {}
        for part in message.iter_parts():
            field_name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if field_name in ("file", "source") and isinstance(payload, bytes):
                found.setdefault(str(field_name), (_upload_name(part.get_filename()), payload))
        if "file" not in found:
            raise ApiError(
                status=400, message="multipart body has no field 'file' holding the call XML"
            )
        authored = read_json_object(found["source"][1]) if "source" in found else {}
        return found["file"][0], found["file"][1], authored
    if kind in ("application/xml", "text/xml"):
        return "flow.xml", request.body, {}
    raise _refused(
        415,
        "send the call XML as multipart/form-data field 'file' or as an application/xml body",
    )


_UPLOAD_NAME = re.compile(r"^[\w.-]{1,100}$")


def _upload_name(name: object) -> str:
    # Only a plain file name is kept (it names the flow in the call log); anything else is
    # replaced, so no path or control character reaches the log or a terminal.
    text = str(name).rsplit("/", 1)[-1] if isinstance(name, str) else ""
    return text if _UPLOAD_NAME.match(text) else "flow.xml"


# ---------------------------------------------------------------- WSGI plumbing


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _target_of(environ: Mapping[str, Any]) -> str:
    path = str(environ.get("PATH_INFO", "/"))
    # WSGI hands the path over as latin-1 text of the raw bytes; quote it back.
    raw = quote(path.encode("latin-1", "replace"), safe="/:@!$&'()*+,;=-._~")
    query = str(environ.get("QUERY_STRING", ""))
    return raw + (f"?{query}" if query else "")


def _request_of(environ: Mapping[str, Any]) -> SandboxRequest | SandboxResponse:
    """The request as plain values, or the refusal of a body that is too long to read."""
    length_text = str(environ.get("CONTENT_LENGTH") or "0").strip()
    if not length_text.isdigit():
        return error_response(400, "bad Content-Length")
    length = int(length_text)
    if length > MAX_BODY_BYTES:
        return error_response(413, f"request body is larger than {MAX_BODY_BYTES} bytes")
    body = environ["wsgi.input"].read(length) if length else b""
    if len(body) != length:
        return error_response(400, "request body is shorter than its Content-Length")
    headers = {
        key[5:].replace("_", "-").lower(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = str(environ[key])
    method = str(environ.get("REQUEST_METHOD", "GET"))
    target = str(environ.get("REQUEST_URI") or _target_of(environ))
    return SandboxRequest(method, target, headers, body)


def iter_routes() -> Iterator[tuple[str, tuple[str, ...]]]:
    """Each route's pattern and methods (for docs and tests)."""
    for route in _ROUTES:
        yield route.pattern.pattern, tuple(route.methods)
