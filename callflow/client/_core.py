"""What the sync and async clients share: configuration, the endpoint calls, retries, replies.

Each endpoint is described once as a `Call` (method, path, body, how to read the payload,
whether a retry is safe); `Client` and `AsyncClient` only differ in how they wait for I/O.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import urlsplit

import httpx

from callflow._text import declare_utf8
from callflow.client._models import (
    TRUNK_SETTINGS_FIELDS,
    App,
    CallRecord,
    Execution,
    TnLease,
    items_of,
)
from callflow.client._transport import IDEMPOTENT
from callflow.client._wire import ACCEPT_ENCODING, ReplyTooLarge, ReplyTooSlow
from callflow.document import Document
from callflow.errors import (
    ApiError,
    AuthenticationError,
    InputError,
    TransportError,
    ValidationError,
)
from callflow.sources import (
    DEFAULT_POLICY,
    LoadedSource,
    ReadPolicy,
    SupportsToDocument,
    load_flow,
)

logger = logging.getLogger("callflow.client")

T = TypeVar("T")

Upload = Literal["multipart", "raw"]

#: Connect quickly or fail; allow the platform a while to validate and answer.
DEFAULT_TIMEOUT = httpx.Timeout(20.0, connect=5.0)

#: Environment variables read when no argument is given.
ENV_URL = "OPENTACT_API_URL"
ENV_TOKEN = "OPENTACT_TOKEN"
ENV_EMAIL = "OPENTACT_EMAIL"
ENV_PASSWORD = "OPENTACT_PASSWORD"


#: What `execute` accepts: a Document, a builder flow, a loaded source (e.g. a rendered
#: template), XML text or bytes, or a path.
Flow = Document | SupportsToDocument | LoadedSource | str | Path | bytes


# ---------------------------------------------------------------- retries


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before trying a request again.

    ``attempts`` counts every try (1 = never retry). The longest wait doubles from
    ``backoff`` up to ``max_backoff``, and each wait is drawn at random between zero and that
    ("full jitter": a fleet of clients that failed together does not retry in lockstep); a
    ``Retry-After`` header replaces the computed delay, and one longer than
    ``max_retry_after`` is not waited for (the error is raised, saying when to retry).

    What is retried: any request that never reached the server (connect errors); any
    request the server refused with 429 (it did no work); and only *idempotent* requests
    (GET, DELETE, PATCH, lease changes) after a 5xx or a connection lost mid-request. Creating
    an app and executing a flow are never retried once they may have reached the server.
    """

    attempts: int = 3
    backoff: float = 0.25
    max_backoff: float = 8.0
    max_retry_after: float = 60.0
    statuses: frozenset[int] = frozenset({429, 500, 502, 503, 504})

    def ceiling(self, attempt: int) -> float:
        """The longest wait after try number ``attempt`` (1-based)."""
        return float(min(self.max_backoff, self.backoff * (2 ** min(attempt - 1, 64))))

    def delay(self, attempt: int, random: Callable[[], float]) -> float:
        """The wait after try number ``attempt``: ``random()`` (in [0, 1)) times the ceiling."""
        return self.ceiling(attempt) * min(1.0, max(0.0, random()))


NO_RETRY = RetryPolicy(attempts=1)

#: How long one try may take in all, connecting to reading the last byte, in seconds.
DEFAULT_DEADLINE = 60.0

#: Largest answer accepted, counted on the wire and again once decoded, in bytes.
MAX_REPLY_BYTES = 16 * 1024 * 1024


# ---------------------------------------------------------------- calls


@dataclass
class Call(Generic[T]):
    """One endpoint request and how to read its answer."""

    method: str
    path: str
    decode: Callable[[object], T]
    idempotent: bool
    json_body: object = None
    content: bytes | None = None
    files: Mapping[str, tuple[str, bytes, str]] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    basic: tuple[str, str] | None = None  # login: Basic credentials instead of the token
    document: Document | None = None  # error messages are mapped back to it
    gone_is_done: bool = False  # DELETE: a 404 after an uncertain first try means done


def check_text(value: object, where: str) -> None:
    """Refuse, before sending, any string inside ``value`` that is not Unicode text (a lone
    surrogate such as ``"\\ud800"`` cannot be encoded as UTF-8, so no server could read it)."""
    pending: list[tuple[object, str]] = [(value, where)]
    while pending:
        item, place = pending.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as error:
                code = ord(item[error.start])
                raise InputError(
                    f"{place}: character {error.start} is a lone surrogate (\\u{code:04x}), "
                    "not Unicode text; nothing was sent"
                ) from None
        elif isinstance(item, Mapping):
            for key, inner in item.items():
                pending.append((key, f"{place} (a key)"))
                pending.append((inner, f"{place}.{key}"))
        elif isinstance(item, list | tuple):
            pending.extend((inner, f"{place}[{n}]") for n, inner in enumerate(item))


def _app_fields(
    fields: Mapping[str, object], trunk_field: str, *, creating: bool
) -> dict[str, object]:
    body: dict[str, object] = {}
    for name, value in fields.items():
        if value is None:
            continue
        check_text(value, f"the app's {name}")
        if name in ("trunk_settings", *TRUNK_SETTINGS_FIELDS):
            body[trunk_field] = dict(value) if isinstance(value, Mapping) else value
        else:
            body[name] = value
    if creating and "name" not in body:
        raise ValueError("an app needs a name")
    return body


def _check_uuid(value: str, what: str = "uuid") -> str:
    if not isinstance(value, str) or not _UUID.match(value):
        raise InputError(f"{what} {value!r} is not a uuid (8-4-4-4-12 lower-case hex digits)")
    return value


_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _app(payload: object) -> App:
    return App.from_payload(payload)


def _apps(payload: object) -> list[App]:
    return [App.from_payload(item) for item in items_of(payload)]


def _leases(payload: object) -> list[TnLease]:
    return [TnLease.from_payload(item) for item in items_of(payload)]


def _token(payload: object) -> str:
    token = payload.get("token") if isinstance(payload, Mapping) else None
    if not isinstance(token, str) or not token:
        raise TransportError("the API's login answer carries no token")
    return token


def _nothing(payload: object) -> None:
    return None


def _call_records(payload: object) -> list[CallRecord]:
    return [CallRecord.from_payload(item) for item in items_of(payload)]


#: The header that carries a scripted caller with an execute (read by the sandbox only).
CALLER_HEADER = "X-Callflow-Caller"


def caller_header(caller: object) -> str:
    """A `callflow.simulate.Caller` (or a mapping of its fields) as the caller header's JSON."""
    from callflow.simulate import Caller

    if isinstance(caller, Caller):
        fields: dict[str, object] = {
            "presses": list(caller.presses),
            "dial": {
                target: getattr(outcome, "value", outcome)
                for target, outcome in caller.dial.items()
            },
            "dial_default": getattr(caller.dial_default, "value", caller.dial_default),
            "failing_media": sorted(caller.failing_media),
        }
        for name in ("hang_up_at_step", "hang_up_at_ms"):
            if getattr(caller, name) is not None:
                fields[name] = getattr(caller, name)
    elif isinstance(caller, Mapping):
        fields = dict(caller)
    else:
        raise TypeError(f"caller must be a Caller or a mapping, not {type(caller).__name__}")
    return json.dumps(fields, ensure_ascii=True)


class Calls:
    """The endpoints of api.md, each as a `Call` (shared by `Client` and `AsyncClient`)."""

    def __init__(self, trunk_field: str) -> None:
        self.trunk_field = trunk_field

    def login(self, email: str, password: str) -> Call[str]:
        return Call("GET", "/auth", _token, idempotent=True, basic=(email, password))

    def list_apps(self) -> Call[list[App]]:
        return Call("GET", "/sip/app", _apps, idempotent=True)

    def create_app(self, fields: Mapping[str, object]) -> Call[App]:
        body = _app_fields(fields, self.trunk_field, creating=True)
        return Call("POST", "/sip/app", _app, idempotent=False, json_body=body)

    def get_app(self, uuid: str) -> Call[App]:
        return Call("GET", f"/sip/app/{_check_uuid(uuid, 'app')}", _app, idempotent=True)

    def update_app(self, uuid: str, fields: Mapping[str, object]) -> Call[App]:
        body = _app_fields(fields, self.trunk_field, creating=False)
        # Every field is sent as an absolute value, so repeating the PATCH changes nothing.
        path = f"/sip/app/{_check_uuid(uuid, 'app')}"
        return Call("PATCH", path, _app, idempotent=True, json_body=body)

    def delete_app(self, uuid: str) -> Call[None]:
        path = f"/sip/app/{_check_uuid(uuid, 'app')}"
        return Call("DELETE", path, _nothing, idempotent=True, gone_is_done=True)

    def list_leases(self, uuid: str) -> Call[list[TnLease]]:
        path = f"/sip/app/{_check_uuid(uuid, 'app')}/tnlease"
        return Call("GET", path, _leases, idempotent=True)

    def change_leases(
        self, uuid: str, add: Sequence[str], remove: Sequence[str]
    ) -> Call[list[TnLease]]:
        body = {
            "add": [_check_uuid(x, "TN lease") for x in add],
            "remove": [_check_uuid(x, "TN lease") for x in remove],
        }
        # Assigning what is assigned, or releasing what is released, leaves the same state.
        path = f"/sip/app/{_check_uuid(uuid, 'app')}/tnlease"
        return Call("POST", path, _leases, idempotent=True, json_body=body)

    def list_calls(self) -> Call[list[CallRecord]]:
        return Call("GET", "/sandbox/calls", _call_records, idempotent=True)

    def get_call(self, uuid: str) -> Call[CallRecord]:
        path = f"/sandbox/calls/{_check_uuid(uuid, 'call')}"
        return Call("GET", path, CallRecord.from_payload, idempotent=True)

    def execute(
        self,
        uuid: str,
        document: Document,
        upload: Upload,
        caller: object = None,
        *,
        sandbox: bool = False,
    ) -> Call[Execution]:
        app_uuid = _check_uuid(uuid, "app")
        data = wire_bytes(document)

        def decode(payload: object) -> Execution:
            return Execution.from_payload(app_uuid, payload)

        call = Call(
            "POST", f"/sip/app/call/{app_uuid}", decode, idempotent=False, document=document
        )
        if caller is not None:
            call.headers[CALLER_HEADER] = caller_header(caller)
        if upload == "raw":
            call.content = data
            call.headers["Content-Type"] = "application/xml; charset=utf-8"
        elif upload == "multipart":
            call.files = {"file": (_upload_name(document), data, "application/xml")}
            authored = author_lines(document) if sandbox else None
            if authored is not None:  # the call log names the author's lines; OpenTact never
                call.files["source"] = ("source.json", authored, "application/json")
        else:
            raise ValueError(f"upload must be 'multipart' or 'raw', not {upload!r}")
        return call


def author_lines(document: Document) -> bytes | None:
    """JSON mapping each line of the posted XML that starts an element to where the author
    wrote that element (``{"12": ["flows/menu.py", 7]}``), for the sandbox call log; None
    for XML that is the author's own file (its lines are the author's: nothing to send)."""
    source_map = document.source_map
    if source_map.identity and not source_map.lines and not source_map.elements:
        return None
    lines: dict[str, list[object]] = {}
    for element in document.root.iter("*"):
        line = element.sourceline
        if isinstance(line, int) and str(line) not in lines:
            where = document.locate(element)
            lines[str(line)] = [where.file, where.line]
    return json.dumps(lines).encode("utf-8")


def _upload_name(document: Document) -> str:
    name = Path(document.name).name or "flow.xml"
    return name if name.endswith(".xml") else "flow.xml"


def wire_bytes(document: Document) -> bytes:
    """The bytes to post: the document's own text, so line n there is line n of ``text``.

    Keeping the author's text (rather than reserialising) is what lets a line number in the
    platform's complaint be mapped back through the source map.
    """
    text = declare_utf8(document.text)
    return text.encode("utf-8")


# ---------------------------------------------------------------- preparing a flow


def prepare_flow(
    flow: Flow,
    *,
    validate: bool,
    context: Mapping[str, object] | None = None,
    sample: str | None = None,
    filename: str | None = None,
    policy: ReadPolicy = DEFAULT_POLICY,
) -> Document:
    """The Document to post for any kind of flow, through the front door
    (`callflow.sources.load_flow`); raise `ValidationError` if it has errors, `InputError`
    if it cannot be read."""
    document = load_flow(flow, context=context, sample=sample, filename=filename, policy=policy)
    if validate:
        from callflow.check import check_document
        from callflow.diagnostics import has_errors

        found = check_document(document)
        if has_errors(found):
            errors = [d for d in found if d.is_error]
            raise ValidationError(
                f"{document.name}: {len(errors)} error(s) found before sending; first: {errors[0]}",
                found,
            )
    return document


# ---------------------------------------------------------------- configuration


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class Settings:
    """Where to send requests and with which credentials (never shown in reprs)."""

    base_url: str
    token: str | None = field(default=None, repr=False)
    email: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    target: str = ""
    in_process: bool = False
    owned: list[Any] = field(default_factory=list, repr=False)  # closed with the client

    def close_owned(self) -> None:
        for resource in self.owned:
            resource.close()
        self.owned.clear()

    @property
    def local(self) -> bool:
        """True when requests stay on this machine (in-process or loopback)."""
        return self.in_process or is_loopback(urlsplit(self.base_url).hostname or "")

    def check_secure(self) -> None:
        """Refuse to send credentials in clear text to anything but this machine."""
        if self.in_process:
            return
        parts = urlsplit(self.base_url)
        if parts.scheme == "https":
            return
        if parts.scheme == "http" and is_loopback(parts.hostname or ""):
            return
        raise TransportError(
            f"refusing to send credentials to {parts.scheme}://{parts.hostname}: use https "
            "(plain http is allowed only to a loopback address such as 127.0.0.1)"
        )

    def redact(self, text: str) -> str:
        """``text`` with the token and password masked wherever they stand as a whole word,
        and any ``jwt=`` query value masked.

        The sandbox's documented password is public (it is printed by ``callflow sandbox
        info``), so it is no secret: masking it would turn every "sandbox" into "***".
        """
        from callflow.sandbox._store import SANDBOX_PASSWORD

        for secret in (self.token, self.password):
            if secret and secret != SANDBOX_PASSWORD:
                text = re.sub(rf"(?<!\w){re.escape(secret)}(?!\w)", "***", text)
        return _JWT_QUERY.sub(r"\1***", text)


_JWT_QUERY = re.compile(r"([?&](?:jwt|token|access_token)=)[^&#\s]+", re.IGNORECASE)


def env_proxy(settings: Settings) -> str | None:
    """The proxy the environment names for the API's URL (``HTTPS_PROXY`` …), if any."""
    import urllib.request

    parts = urlsplit(settings.base_url)
    if settings.in_process or urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return urllib.request.getproxies().get(parts.scheme) or None


def fetch_app_flow(app: App, sandbox: bool, any_host: bool | None) -> tuple[str, bytes]:
    """`Client.fetch_call_flow` once the app is read: its ``call_flow_url`` and the bytes."""
    from callflow.errors import InputError, TransportError
    from callflow.web._platform import fetch_call_flow

    if not app.call_flow_url:
        raise InputError(
            f"app {app.uuid} has no call_flow_url (set one with "
            f"`callflow apps update {app.uuid} --call-flow-url URL`)"
        )
    record = {
        "uuid": app.uuid,
        "call_flow_url": app.call_flow_url,
        "call_flow_method": app.call_flow_method,
        "call_flow_request_timeout": app.call_flow_request_timeout,
    }
    try:
        data = fetch_call_flow(record, any_host=not sandbox if any_host is None else any_host)
    except ApiError as error:  # the sandbox's wording of a refusal, without its status
        raise TransportError(error.message) from None
    return app.call_flow_url, data


def resolve_settings(
    base_url: str | None,
    *,
    token: str | None,
    email: str | None,
    password: str | None,
    env: Mapping[str, str] | None,
    transport: object,
    target: str | None,
) -> tuple[Settings, object]:
    """Settings from the arguments, then the environment, else the default sandbox.

    Returns the settings and the transport to use (the sandbox's when it is the target).
    """
    environment = os.environ if env is None else env
    url = base_url or environment.get(ENV_URL) or None
    in_process = bool(getattr(transport, "in_process", False))
    if url is None and transport is None:
        from callflow.sandbox import IN_PROCESS_URL, SANDBOX_EMAIL, SANDBOX_PASSWORD, Sandbox

        sandbox = Sandbox(environment.get("CALLFLOW_SANDBOX_DB") or None)
        settings = Settings(
            IN_PROCESS_URL,
            email=SANDBOX_EMAIL,
            password=SANDBOX_PASSWORD,
            target=sandbox.description,
            in_process=True,
            owned=[sandbox],
        )
        return settings, sandbox.transport
    if url is None:
        raise ValueError("base_url is required with a custom transport")
    url = url.rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"API URL {url!r} is not an http(s) URL")
    settings = Settings(
        url,
        token=token if token is not None else environment.get(ENV_TOKEN) or None,
        email=email if email is not None else environment.get(ENV_EMAIL) or None,
        password=password if password is not None else environment.get(ENV_PASSWORD) or None,
        target=target or url,
        in_process=in_process,
    )
    return settings, transport


# ---------------------------------------------------------------- requests and replies


def build_request(
    http: httpx.Client | httpx.AsyncClient, settings: Settings, call: Call[Any]
) -> httpx.Request:
    headers = {"Accept": "application/json", "Accept-Encoding": ACCEPT_ENCODING, **call.headers}
    if call.basic is not None:
        settings.check_secure()
        pair = f"{call.basic[0]}:{call.basic[1]}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    elif settings.token:
        settings.check_secure()
        headers["X-Auth-Token"] = settings.token
    return http.build_request(
        call.method,
        settings.base_url + call.path,
        headers=headers,
        json=call.json_body,
        content=call.content,
        files=call.files,
        extensions={IDEMPOTENT: call.idempotent},
    )


def transport_failure(
    error: httpx.RequestError, call: Call[Any], settings: Settings, attempts: int
) -> TransportError:
    kind: dict[type[Exception], str] = {
        ReplyTooLarge: "refused an oversize answer from",
        ReplyTooSlow: "got no complete answer in time from",
        httpx.ConnectTimeout: "timed out connecting to",
        httpx.ReadTimeout: "timed out waiting for an answer from",
        httpx.WriteTimeout: "timed out sending to",
        httpx.PoolTimeout: "found no free connection to",
        httpx.ConnectError: "could not connect to",
        httpx.RemoteProtocolError: "lost the connection to (or got a broken answer from)",
        httpx.ReadError: "lost the connection to",
        httpx.DecodingError: "could not decode the answer of",
    }
    said = next((text for cls, text in kind.items() if isinstance(error, cls)), "could not reach")
    tries = f" (after {attempts} attempts)" if attempts > 1 else ""
    detail = settings.redact(str(error)) or type(error).__name__
    return TransportError(
        f"{call.method} {settings.base_url}{call.path}: {said} the API{tries}: {detail}"
    )


_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def _json_or_none(body: bytes) -> object:
    """The body as JSON, or None when it is not JSON, is malformed or nests too deeply."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def _shown_location(response: httpx.Response) -> str:
    # A redirect target is shown without its query or fragment (where tokens travel).
    location = response.headers.get("location", "")
    if not location:
        return "nowhere (no Location header)"
    parts = urlsplit(location)
    shown = f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.scheme else parts.path
    shown = "".join(ch if ch.isprintable() else "?" for ch in shown)[:200]
    return shown + (" (query not shown)" if parts.query or parts.fragment else "")


def _describe_body(response: httpx.Response) -> str:
    body = response.content
    if not body.strip():
        return "an empty body"
    kind = response.headers.get("content-type", "").split(";")[0].strip() or "no content type"
    if b"<html" in body[:2048].lower() or kind == "text/html":
        title = _TITLE.search(body)
        shown = " ".join(title.group(1).decode("utf-8", "replace").split()) if title else ""
        return f"an HTML page ({shown!r})" if shown else "an HTML page"
    snippet = " ".join(body[:120].decode("utf-8", "replace").split())
    if _json_or_none(body) is None:
        if kind == "application/json" or body.lstrip()[:1] in (b"{", b"["):
            unreadable = "truncated or malformed, or nested too deeply"
            return f"JSON that cannot be read ({unreadable}): {snippet!r}"
    else:
        return f"JSON that is not the API's envelope: {snippet!r}"
    return f"{kind} that is not the API's JSON: {snippet!r}"


def finish(call: Call[T], response: httpx.Response, settings: Settings, attempts: int) -> T:
    """The call's result from the final response, or the right error."""
    status = response.status_code
    where = f"{call.method} {settings.base_url}{call.path}"
    tries = f" (after {attempts} attempts)" if attempts > 1 else ""
    if call.gone_is_done and status == 404 and attempts > 1:
        return call.decode(None)  # an earlier, uncertain try deleted it
    if 300 <= status < 400:
        raise TransportError(
            settings.redact(
                f"{where}: the API redirected to {_shown_location(response)}; not followed "
                "(configure the final https URL)"
            ),
            status=status,
        )
    envelope = _json_or_none(response.content)
    if not isinstance(envelope, dict) or (
        "success" not in envelope and "payload" not in envelope and "message" not in envelope
    ):
        raise TransportError(
            settings.redact(f"{where}: HTTP {status} with {_describe_body(response)}{tries}"),
            status=status,
        )
    ok = envelope.get("success") is not False and status < 400
    if ok:
        return call.decode(envelope.get("payload"))
    message = envelope.get("message")
    text = settings.redact(message if isinstance(message, str) else json.dumps(message))
    notes = [f"after {attempts} attempts"] if attempts > 1 else []
    if status == 401 and call.basic is None and not settings.token:
        notes.append(f"no credentials: set {ENV_TOKEN}, or {ENV_EMAIL} and {ENV_PASSWORD}")
    retry_after = response.headers.get("retry-after")
    if status == 429 and retry_after:
        notes.append(f"the API asks to retry after {retry_after.strip()}")
    diagnostics: list[Any] = []
    if call.document is not None and status in (400, 422):  # the flow itself was refused
        from callflow.apierrors import map_error_message

        diagnostics = map_error_message(text, call.document)
    error_type = AuthenticationError if status == 401 else ApiError
    raise error_type(text, status=status, diagnostics=diagnostics, note="; ".join(notes) or None)
