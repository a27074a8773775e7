"""Typed results of the API: SIP Control Apps, TN leases and executions.

Each model reads a payload tolerantly: fields it does not know are kept in ``extra``, missing
optional fields are None, and the trunk settings are read under either spelling.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from callflow.errors import TransportError

#: The trunk-settings field: responses spell it this way; the published request docs use the
#: second spelling. Both are read; `Client` sends the one configured (see its docs).
TRUNK_SETTINGS_FIELDS = ("class4_egress_trunk_settings", "class4_egress_trunk_stings")

WEBHOOK_FIELDS = (
    "call_flow_url",
    "call_flow_method",
    "call_flow_request_timeout",
    "webhook_url",
    "webhook_method",
    "webhook_request_timeout",
)


def _object(payload: object, what: str) -> Mapping[str, Any]:
    if not isinstance(payload, Mapping):
        raise TransportError(f"the API sent {type(payload).__name__} where {what} was expected")
    if not isinstance(payload.get("uuid"), str):
        raise TransportError(f"the API sent {what} without a uuid")
    return payload


def _when(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def items_of(payload: object) -> list[object]:
    """A list payload, whether bare or a search result (``{"total": n, "data": [...]}``)."""
    if isinstance(payload, list):
        return payload
    if isinstance(payload, Mapping) and isinstance(payload.get("data"), list):
        return list(payload["data"])
    raise TransportError("the API sent something other than a list where a list was expected")


@dataclass(frozen=True)
class TnLease:
    """A phone number (TN) leased by the account, and the app it is assigned to, if any."""

    uuid: str
    number: str | None
    expired_on: datetime | None
    autorenew: bool | None
    app_uuid: str | None
    tn: Mapping[str, Any] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_payload(cls, payload: object) -> TnLease:
        data = _object(payload, "a TN lease")
        tn = data.get("tn")
        number = tn.get("number") if isinstance(tn, Mapping) else tn
        assigned = data.get("sip_app") or data.get("app") or data.get("sip_control_app")
        app_uuid = assigned.get("uuid") if isinstance(assigned, Mapping) else _text(assigned)
        known = {"uuid", "tn", "expired_on", "autorenew", "sip_app", "app", "sip_control_app"}
        return cls(
            uuid=data["uuid"],
            number=str(number) if isinstance(number, str | int) else None,
            expired_on=_when(data.get("expired_on")),
            autorenew=data.get("autorenew") if isinstance(data.get("autorenew"), bool) else None,
            app_uuid=app_uuid,
            tn=dict(tn) if isinstance(tn, Mapping) else {},
            extra={k: v for k, v in data.items() if k not in known},
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "uuid": self.uuid,
            "number": self.number,
            "expired_on": self.expired_on.isoformat() if self.expired_on else None,
            "autorenew": self.autorenew,
            "app_uuid": self.app_uuid,
        }


@dataclass(frozen=True)
class App:
    """A SIP Control App. ``tn_leases`` is filled by `Client.get_app` when the API sends them."""

    uuid: str
    name: str
    subdomain: str | None = None
    is_active: bool = True
    trunk_settings: Mapping[str, Any] | None = None
    outbound_voice_profile: str | None = None
    call_flow_url: str | None = None
    call_flow_method: str | None = None
    call_flow_request_timeout: int | None = None
    webhook_url: str | None = None
    webhook_method: str | None = None
    webhook_request_timeout: int | None = None
    created_on: datetime | None = None
    modified_on: datetime | None = None
    account: Mapping[str, Any] | None = None
    tn_leases: tuple[TnLease, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_payload(cls, payload: object) -> App:
        data = _object(payload, "a SIP Control App")
        trunk = next(
            (data[name] for name in TRUNK_SETTINGS_FIELDS if isinstance(data.get(name), Mapping)),
            None,
        )
        voice_profile = data.get("outbound_voice_profile")
        if isinstance(voice_profile, Mapping):
            voice_profile = voice_profile.get("uuid")
        leases = data.get("tn_leases")
        known = {
            "uuid",
            "name",
            "subdomain",
            "is_active",
            "outbound_voice_profile",
            "created_on",
            "modified_on",
            "account",
            "tn_leases",
            *TRUNK_SETTINGS_FIELDS,
            *WEBHOOK_FIELDS,
        }
        return cls(
            uuid=data["uuid"],
            name=str(data.get("name") or ""),
            subdomain=_text(data.get("subdomain")),
            is_active=data.get("is_active") is not False,
            trunk_settings=dict(trunk) if trunk is not None else None,
            outbound_voice_profile=_text(voice_profile),
            call_flow_url=_text(data.get("call_flow_url")),
            call_flow_method=_text(data.get("call_flow_method")),
            call_flow_request_timeout=_int(data.get("call_flow_request_timeout")),
            webhook_url=_text(data.get("webhook_url")),
            webhook_method=_text(data.get("webhook_method")),
            webhook_request_timeout=_int(data.get("webhook_request_timeout")),
            created_on=_when(data.get("created_on")),
            modified_on=_when(data.get("modified_on")),
            account=dict(data["account"]) if isinstance(data.get("account"), Mapping) else None,
            tn_leases=tuple(TnLease.from_payload(item) for item in leases)
            if isinstance(leases, list)
            else (),
            extra={k: v for k, v in data.items() if k not in known},
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (what ``callflow apps show --format json`` prints)."""
        return {
            "uuid": self.uuid,
            "name": self.name,
            "subdomain": self.subdomain,
            "is_active": self.is_active,
            "class4_egress_trunk_settings": self.trunk_settings,
            "outbound_voice_profile": self.outbound_voice_profile,
            **{name: getattr(self, name) for name in WEBHOOK_FIELDS},
            "created_on": self.created_on.isoformat() if self.created_on else None,
            "modified_on": self.modified_on.isoformat() if self.modified_on else None,
            "tn_leases": [lease.to_dict() for lease in self.tn_leases],
        }


@dataclass(frozen=True)
class Execution:
    """The API's answer to an executed call flow; ``payload`` is everything it said."""

    app_uuid: str
    uuid: str | None
    status: str | None
    payload: Mapping[str, Any]

    @classmethod
    def from_payload(cls, app_uuid: str, payload: object) -> Execution:
        data: Mapping[str, Any] = payload if isinstance(payload, Mapping) else {"value": payload}
        return cls(
            app_uuid=app_uuid,
            uuid=_text(data.get("uuid")),
            status=_text(data.get("status")),
            payload=dict(data),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "app_uuid": self.app_uuid,
            "uuid": self.uuid,
            "status": self.status,
            "payload": dict(self.payload),
        }


@dataclass(frozen=True)
class CallStep:
    """One event of a logged call: what happened, when, and the flow line it came from
    (``file``/``line``/``source`` in the posted XML; ``author_*`` where its author wrote it,
    when the flow came from a builder script or a template)."""

    event: str
    at_ms: int
    summary: str
    file: str | None
    line: int | None
    source: str | None
    author_file: str | None = None
    author_line: int | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_payload(cls, payload: object) -> CallStep:
        data: Mapping[str, Any] = payload if isinstance(payload, Mapping) else {}
        author = data.get("author")
        author = author if isinstance(author, Mapping) else {}
        return cls(
            author_file=_text(author.get("file")),
            author_line=_int(author.get("line")),
            event=str(data.get("event") or "?"),
            at_ms=_int(data.get("at_ms")) or 0,
            summary=str(data.get("summary") or ""),
            file=_text(data.get("file")),
            line=_int(data.get("line")),
            source=_text(data.get("source")),
            data=dict(data),
        )


@dataclass(frozen=True)
class CallRecord:
    """An entry of the sandbox call log: an executed flow, as the simulator played it.

    ``heard`` is every text the caller heard, in order; ``steps`` the events with their
    source lines (empty in a listing, filled by `Client.get_call`); ``flow`` the posted XML.
    """

    uuid: str
    app_uuid: str | None
    name: str
    created_on: datetime | None
    ended_by: str | None
    duration_ms: int | None
    heard: tuple[str, ...] = ()
    dialled: tuple[str, ...] = ()
    steps: tuple[CallStep, ...] = ()
    diagnostics: tuple[Mapping[str, Any], ...] = ()
    caller: Mapping[str, Any] = field(default_factory=dict)
    flow: str | None = None

    @classmethod
    def from_payload(cls, payload: object) -> CallRecord:
        data = _object(payload, "a call log entry")
        events = data.get("events")
        heard = data.get("heard")
        dialled = data.get("dialled")
        diagnostics = data.get("diagnostics")
        caller = data.get("caller")
        return cls(
            uuid=data["uuid"],
            app_uuid=_text(data.get("app_uuid")),
            name=str(data.get("name") or "flow.xml"),
            created_on=_when(data.get("created_on")),
            ended_by=_text(data.get("ended_by")),
            duration_ms=_int(data.get("duration_ms")),
            heard=tuple(str(x) for x in heard) if isinstance(heard, list) else (),
            dialled=tuple(str(x) for x in dialled) if isinstance(dialled, list) else (),
            steps=tuple(CallStep.from_payload(e) for e in events)
            if isinstance(events, list)
            else (),
            diagnostics=tuple(d for d in diagnostics if isinstance(d, Mapping))
            if isinstance(diagnostics, list)
            else (),
            caller=dict(caller) if isinstance(caller, Mapping) else {},
            flow=_text(data.get("flow")),
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (what ``callflow calls show --format json`` prints)."""
        return {
            "uuid": self.uuid,
            "app_uuid": self.app_uuid,
            "name": self.name,
            "created_on": self.created_on.isoformat() if self.created_on else None,
            "ended_by": self.ended_by,
            "duration_ms": self.duration_ms,
            "heard": list(self.heard),
            "dialled": list(self.dialled),
            "caller": dict(self.caller),
            "steps": [
                {
                    "event": s.event,
                    "at_ms": s.at_ms,
                    "summary": s.summary,
                    "file": s.file,
                    "line": s.line,
                    "source": s.source,
                    "author": {"file": s.author_file, "line": s.author_line}
                    if s.author_file
                    else None,
                }
                for s in self.steps
            ],
            "diagnostics": [dict(d) for d in self.diagnostics],
            "flow": self.flow,
        }
