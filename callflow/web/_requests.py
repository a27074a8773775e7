"""What the platform sends to an app's URLs, as typed values parsed from raw HTTP parts.

The four requests are the ones `call-xml.md` lists: the call-flow webhook, a `<Gather url>`
request, the legacy `<Gather callback>` request and a `<Callback>` request. Parsing takes the
method, the raw query string, the content type and the body bytes, so it needs no web
framework (the flow server, the route helpers and `callflow invoke` share it). Every field
the platform sent is kept in ``fields``, the unknown ones too; a request that is not one
the platform sends raises `RequestError` naming what is wrong (the server answers 4xx).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, TypeVar

from callflow.errors import RequestError

#: The largest request body read (the platform sends a call object of a few hundred bytes).
MAX_REQUEST_BYTES = 64 * 1024
#: The longest query string read.
MAX_QUERY_BYTES = 8 * 1024
#: The most fields a query string or form body may hold.
MAX_FIELDS = 200
#: The methods a `<Callback>` may use; the webhook and `<Gather>` use GET or POST.
METHODS = frozenset({"GET", "POST", "PATCH", "DELETE"})
#: The events, by the name `callflow invoke --event` takes.
EVENTS = ("webhook", "gather", "legacy-gather", "callback")

_DTMF = re.compile(r"[0-9*#+]*")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


@dataclass(frozen=True)
class CallObject:
    """The call as the platform describes it in JSON bodies; ``data`` keeps every field."""

    uuid: str = ""
    direction: str = ""
    from_number: str = ""
    to_number: str = ""
    state: str = ""
    duration: int | None = None
    created_on: str = ""
    tn: str = ""
    sip_control_app: str = ""
    data: Mapping[str, object] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> CallObject:
        duration = data.get("duration")
        if duration is not None and (isinstance(duration, bool) or not isinstance(duration, int)):
            raise RequestError(f"call object: `duration` must be a whole number, got {duration!r}")
        return cls(
            uuid=_text(data.get("uuid")),
            direction=_text(data.get("direction")),
            from_number=_text(data.get("from")),
            to_number=_text(data.get("to")),
            state=_text(data.get("state")),
            duration=duration,
            created_on=_text(data.get("created_on")),
            tn=_text(data.get("tn")),
            sip_control_app=_text(data.get("sip_control_app")),
            data=dict(data),
        )


@dataclass(frozen=True)
class PlatformRequest:
    """One request the platform made to an app's URL.

    ``fields`` holds every query and form field (the first value of a repeated name),
    known or not; ``query`` the URL's query string alone; ``body`` the JSON body, when one
    was sent. A template sees the request as ``request`` (`to_context`): ``{{ request.from }}``,
    ``{{ request.dtmf }}``, ``{{ request.call.uuid }}``, any other field by its name.
    """

    event: ClassVar[str] = ""
    method: str = "GET"
    fields: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    body: Mapping[str, object] | None = None

    def get(self, name: str, default: str = "") -> str:
        """A field by its wire name, known or not."""
        return self.fields.get(name, default)

    def to_context(self) -> dict[str, object]:
        """The request as a template's ``request`` variable: plain, picklable values."""
        context: dict[str, object] = dict(self.fields)
        context.update(self._known())
        context["event"] = self.event
        context["method"] = self.method
        context["query"] = dict(self.query)
        context["body"] = dict(self.body) if self.body is not None else None
        return context

    def _known(self) -> dict[str, object]:
        return {}


def _call_context(call: CallObject | None) -> dict[str, object] | None:
    if call is None:
        return None
    context = dict(call.data)
    context.update(
        uuid=call.uuid,
        direction=call.direction,
        state=call.state,
        tn=call.tn,
        sip_control_app=call.sip_control_app,
        duration=call.duration,
        created_on=call.created_on,
    )
    context["from"] = call.from_number
    context["to"] = call.to_number
    return context


@dataclass(frozen=True)
class WebhookRequest(PlatformRequest):
    """The app's call-flow webhook: ``from`` and ``to``; with POST, the call object."""

    event: ClassVar[str] = "webhook"
    from_number: str = ""
    to_number: str = ""
    call: CallObject | None = None

    def _known(self) -> dict[str, object]:
        return {"from": self.from_number, "to": self.to_number, "call": _call_context(self.call)}


@dataclass(frozen=True)
class GatherRequest(PlatformRequest):
    """A `<Gather url>` request: the digits, the caller, the number called, the call's state,
    the SIP Control App and the call's uuid (plus the URL's own query, in ``query``)."""

    event: ClassVar[str] = "gather"
    dtmf: str = ""
    from_number: str = ""
    tn: str = ""
    state: str = ""
    sca: str = ""
    call: str = ""

    def _known(self) -> dict[str, object]:
        return {
            "dtmf": self.dtmf,
            "from": self.from_number,
            "tn": self.tn,
            "state": self.state,
            "sca": self.sca,
            "call": self.call,
        }


@dataclass(frozen=True)
class LegacyGatherRequest(PlatformRequest):
    """A legacy `<Gather callback>` request: the digits (``code``), whether any came, and
    the attempt number."""

    event: ClassVar[str] = "legacy-gather"
    code: str = ""
    success: bool = False
    attempts: int = 0

    def _known(self) -> dict[str, object]:
        return {"code": self.code, "success": self.success, "attempts": self.attempts}


@dataclass(frozen=True)
class CallbackRequest(PlatformRequest):
    """A `<Callback>` request: its ``tag`` when set, the call data when ``body="true"``."""

    event: ClassVar[str] = "callback"
    tag: str = ""
    call: CallObject | None = None

    def _known(self) -> dict[str, object]:
        return {"tag": self.tag, "call": _call_context(self.call)}


# ---------------------------------------------------------------- parsing


def _pairs(raw: bytes, what: str) -> dict[str, str]:
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as error:
        raise RequestError(
            f"the {what} holds a byte that is not ASCII (0x{raw[error.start]:02x} at offset "
            f"{error.start}); the platform sends percent-encoded UTF-8"
        ) from None
    try:
        return query_fields(text)
    except UnicodeDecodeError:
        raise RequestError(f"the {what} decodes to bytes that are not UTF-8") from None
    except ValueError as error:  # more fields than max_num_fields
        raise RequestError(f"the {what} is not readable: {error}") from None


_HEX = "0123456789abcdefABCDEF"
_BYTE = {a + b: int(a + b, 16) for a in _HEX for b in _HEX}
_ASCII = {pair: chr(byte) for pair, byte in _BYTE.items() if byte < 0x80}
_ASCII_PLAIN = {pair: character for pair, character in _ASCII.items() if character not in "&="}


def _unquoted(text: str) -> str:
    """``unquote(text.replace("+", " "), errors="strict")``: each ``%XX``
    a byte, a ``%`` not followed by two hex digits kept, the bytes decoded as UTF-8."""
    if text.isascii():  # the usual case: every %XX an ASCII character (%2B, %20)
        decoded = _ascii_decoded(text, _ASCII)
        if decoded is not None:
            return decoded
    pieces = text.replace("+", " ").split("%")
    data = bytearray(pieces[0], "utf-8")
    for piece in pieces[1:]:
        byte = _BYTE.get(piece[:2])
        if byte is None:
            data += b"%"
            data += piece.encode("utf-8")
        else:
            data.append(byte)
            data += piece[2:].encode("utf-8")
    return data.decode("utf-8")


def _ascii_decoded(text: str, table: Mapping[str, str]) -> str | None:
    """``text`` with ``+`` as a space and each ``%XX`` replaced by its character in
    ``table``; None as soon as one ``%`` is not followed by a pair the table holds."""
    pieces = text.replace("+", " ").split("%")
    decoded = [pieces[0]]
    for piece in pieces[1:]:
        character = table.get(piece[:2])
        if character is None:
            return None
        decoded += (character, piece[2:])
    return "".join(decoded)


def query_fields(text: str, max_fields: int = MAX_FIELDS) -> dict[str, str]:
    """The fields of a query string or form body, the first value of a repeated name: what
    ``urllib.parse.parse_qsl(text, keep_blank_values=True, errors="strict",
    max_num_fields=max_fields)`` gives, in one pass (a name or value without ``%`` or ``+``,
    the usual case, is taken as it is). Raises ValueError past ``max_fields`` fields and
    UnicodeDecodeError for percent-encoded bytes that are not UTF-8."""
    if not text:
        return {}
    if 1 + text.count("&") > max_fields:
        raise ValueError("Max number of fields exceeded")
    found: dict[str, str] = {}
    # Decoded at once when every %XX is an ASCII character other than & and = (the text then
    # splits into the same names and values, decoded or not).
    decoded = _ascii_decoded(text, _ASCII_PLAIN) if text.isascii() else None
    if decoded is not None:  # the names and values as they are, split where the text was
        for piece in decoded.split("&"):
            if piece:
                name, _, value = piece.partition("=")
                if name not in found:
                    found[name] = value
        return found
    for piece in text.split("&"):
        if not piece:
            continue
        name, _, value = piece.partition("=")
        if "%" in name or "+" in name:
            name = _unquoted(name)
        if "%" in value or "+" in value:  # decoded even when repeated: it must be UTF-8
            value = _unquoted(value)
        if name not in found:
            found[name] = value
    return found


def _json_body(body: bytes) -> Mapping[str, object]:
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        raise RequestError(f"the JSON body is not UTF-8 (byte at offset {error.start})") from None
    except json.JSONDecodeError as error:
        raise RequestError(
            f"the JSON body is malformed: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    except (ValueError, RecursionError) as error:  # huge numbers, deep nesting
        raise RequestError(f"the JSON body is not readable: {type(error).__name__}") from None
    if not isinstance(data, dict):
        raise RequestError(f"the JSON body must be an object, not {type(data).__name__}")
    _no_surrogates(data, "the JSON body")
    return data


def _no_surrogates(value: object, where: str, depth: int = 0) -> None:
    # json.loads accepts "\ud800"; such a string cannot be encoded again, in XML or a URL.
    if isinstance(value, str):
        found = _SURROGATE.search(value)
        if found is not None:
            raise RequestError(f"{where} holds a lone surrogate (\\u{ord(found.group()):04x})")
    elif isinstance(value, dict):
        for key, item in value.items():
            _no_surrogates(key, where, depth + 1)
            _no_surrogates(item, f"{where}: `{key}`", depth + 1)
    elif isinstance(value, list):
        for item in value:
            _no_surrogates(item, where, depth + 1)


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def detect_event(fields: Mapping[str, str], query: Mapping[str, str]) -> str:
    """Which request the fields make: digits → gather, ``code``/``success`` → legacy gather,
    ``from``/``to`` in the query → webhook, else a callback."""
    if "dtmf" in fields:
        return "gather"
    if "code" in fields or "success" in fields:
        return "legacy-gather"
    if "from" in query or "to" in query:
        return "webhook"
    return "callback"


def parse_request(
    method: str,
    query: bytes | str = b"",
    *,
    content_type: str = "",
    body: bytes = b"",
    event: str | None = None,
    max_bytes: int = MAX_REQUEST_BYTES,
) -> PlatformRequest:
    """The typed request the raw parts make; raises `RequestError` with the status to answer.

    ``event`` names the kind (`EVENTS`); None detects it from the fields (`detect_event`).
    A form body (``application/x-www-form-urlencoded``) adds its fields; a JSON body is the
    call object. Any other body is refused (415), as is one over ``max_bytes`` (413).
    """
    method = method.upper()
    if method not in METHODS:
        raise RequestError(f"method {method} is not one the platform uses", status=405)
    raw_query = query.encode("latin-1", "replace") if isinstance(query, str) else query
    if len(raw_query) > MAX_QUERY_BYTES:
        raise RequestError(
            f"the query string is longer than the {MAX_QUERY_BYTES:,}-byte limit", status=414
        )
    if len(body) > max_bytes:
        raise RequestError(f"the body is larger than the {max_bytes:,}-byte limit", status=413)
    query_fields = _pairs(raw_query, "query string")
    fields = dict(query_fields)
    data: Mapping[str, object] | None = None
    if body.strip():
        media = _media_type(content_type)
        if media == "application/json" or media.endswith("+json"):
            data = _json_body(body)
        elif media == "application/x-www-form-urlencoded":
            for name, value in _pairs(body, "form body").items():
                fields.setdefault(name, value)
        else:
            shown = media or "no content type"
            raise RequestError(
                f"a body of {shown} is not one the platform sends (JSON or form data)", status=415
            )
    if event is None:
        event = detect_event(fields, query_fields)
    builder = _BUILDERS.get(event)
    if builder is None:
        raise RequestError(f"unknown event {event!r}: expected one of {', '.join(EVENTS)}")
    return builder(method, fields, query_fields, data)


_Made = TypeVar("_Made", bound=PlatformRequest)


def _made(kind: type[_Made], **values: object) -> _Made:
    """``kind(**values)`` for a request class given every one of its fields, without the
    frozen dataclass's ``__init__`` (one ``object.__setattr__`` a field): the same object,
    made with one dictionary update."""
    made = object.__new__(kind)
    made.__dict__.update(values)
    return made


def _call(data: Mapping[str, object] | None) -> CallObject | None:
    return CallObject.from_json(data) if data is not None else None


def _webhook(
    method: str, fields: dict[str, str], query: dict[str, str], data: Mapping[str, object] | None
) -> PlatformRequest:
    call = _call(data)
    return _made(
        WebhookRequest,
        method=method,
        fields=fields,
        query=query,
        body=data,
        from_number=fields.get("from", call.from_number if call else ""),
        to_number=fields.get("to", call.to_number if call else ""),
        call=call,
    )


def _gather(
    method: str, fields: dict[str, str], query: dict[str, str], data: Mapping[str, object] | None
) -> PlatformRequest:
    dtmf = fields.get("dtmf", "")
    if not _DTMF.fullmatch(dtmf):
        raise RequestError(f"field `dtmf` must hold keys 0-9, *, # or +, got {dtmf[:40]!r}")
    return _made(
        GatherRequest,
        method=method,
        fields=fields,
        query=query,
        body=data,
        dtmf=dtmf,
        from_number=fields.get("from", ""),
        tn=fields.get("tn", ""),
        state=fields.get("state", ""),
        sca=fields.get("sca", ""),
        call=fields.get("call", ""),
    )


def _legacy_gather(
    method: str, fields: dict[str, str], query: dict[str, str], data: Mapping[str, object] | None
) -> PlatformRequest:
    code = fields.get("code", "")
    if not _DTMF.fullmatch(code):
        raise RequestError(f"field `code` must hold keys 0-9, *, # or +, got {code[:40]!r}")
    success_text = fields.get("success", "true" if code else "false").strip().lower()
    if success_text not in ("true", "false"):
        raise RequestError(f"field `success` must be true or false, got {success_text[:40]!r}")
    attempts_text = fields.get("attempts", "1").strip()
    if not attempts_text.isascii() or not attempts_text.isdigit() or len(attempts_text) > 9:
        raise RequestError(f"field `attempts` must be a whole number, got {attempts_text[:40]!r}")
    return _made(
        LegacyGatherRequest,
        method=method,
        fields=fields,
        query=query,
        body=data,
        code=code,
        success=success_text == "true",
        attempts=int(attempts_text),
    )


def _callback(
    method: str, fields: dict[str, str], query: dict[str, str], data: Mapping[str, object] | None
) -> PlatformRequest:
    return _made(
        CallbackRequest,
        method=method,
        fields=fields,
        query=query,
        body=data,
        tag=fields.get("tag", ""),
        call=_call(data),
    )


_BUILDERS = {
    "webhook": _webhook,
    "gather": _gather,
    "legacy-gather": _legacy_gather,
    "callback": _callback,
}
