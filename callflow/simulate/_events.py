"""What a simulated call is made of: an `Event` per step, each with the typed payload of its kind.

Each kind of event has one payload class (a frozen dataclass) that names its fields and says
itself in a few words (``summary``). `Event` carries the payload with the clock and the
author's location; ``event.data`` (and ``event["text"]``, ``event.get``) read the payload as
the plain dictionary of the JSON transcript, made when first asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

from callflow.sourcemap import SourceLocation


class Part:
    """Typed details (a dataclass) that read as the plain data of the JSON transcript."""

    __slots__ = ()
    _names: ClassVar[tuple[str, ...]] = ()

    def as_data(self) -> dict[str, Any]:
        """The fields as plain data, in order (nested parts and tuples as dicts and lists)."""
        cls = type(self)
        names = cls._names
        if not names:
            names = cls._names = tuple(f.name for f in fields(self))  # type: ignore[arg-type]
        return {name: _plain_data(getattr(self, name)) for name in names}


class Payload(Part):
    """The details of one kind of event: its fields, and ``summary`` for the printed line."""

    __slots__ = ()
    kind: ClassVar[str]

    def summary(self) -> str:
        raise NotImplementedError


def _plain_data(value: object) -> object:
    if isinstance(value, Part):
        return value.as_data()
    if isinstance(value, tuple | list):
        return [_plain_data(item) for item in value]
    return value


def _tagged(text: str, tag: str | None) -> str:
    return text + (f" tag={tag!r}" if tag else "")


def _plain(outcome: object) -> str:
    """A dial outcome in words: ``no-answer`` → ``no answer``."""
    return str(outcome).replace("-", " ")


def _recording(
    ms: int | None = None,
    tag: str | None = None,
    wraps: bool = False,
    asr: bool | None = None,
    timeout_ms: int | None = None,
) -> str:
    """A recording event in words: ``5000 ms, tag 'msg', transcribed, timeout 30000 ms``."""
    parts = []
    if ms is not None:
        parts.append(f"{ms} ms")
    if tag is not None:
        parts.append(f"tag {tag!r}")
    if wraps:
        parts.append("around its children")
    if asr is not None:
        parts.append("transcribed" if asr else "not transcribed")
    if timeout_ms is not None:
        parts.append(f"timeout {timeout_ms} ms")
    return ", ".join(parts)


# ------------------------------------------------------------------ one payload per kind


@dataclass(frozen=True, slots=True)
class Answered(Payload):
    """``answer``: `<Answer>`, after ``ms`` of delay."""

    kind: ClassVar[str] = "answer"
    ms: int
    tag: str | None

    def summary(self) -> str:
        return _tagged(f"{self.ms} ms", self.tag)


@dataclass(frozen=True, slots=True)
class Voice(Part):
    """How a `<Say>` sounds."""

    type: str
    gender: str
    lang: str
    code: str | None

    def summary(self) -> str:
        return f"{self.lang}, {self.gender}, {self.type}"


@dataclass(frozen=True, slots=True)
class Said(Payload):
    """``say``: the text spoken (``loop`` times, ``ms`` in all) and the voice."""

    kind: ClassVar[str] = "say"
    text: str
    voice: Voice
    loop: int
    ms: int

    def summary(self) -> str:
        extra = f" ×{self.loop}" if self.loop != 1 else ""
        return f"{self.text!r}{extra} [{self.voice.summary()}]"


@dataclass(frozen=True, slots=True)
class Played(Payload):
    """``play``: a URL or an earlier recording (``record``), or the failure to play it."""

    kind: ClassVar[str] = "play"
    url: str | None
    record: str | None
    loop: int
    leg: str | None
    failed: bool
    ms: int

    def summary(self) -> str:
        source = self.url if self.url is not None else f"recording {self.record!r}"
        return f"{source}" + (" FAILED" if self.failed else "")


@dataclass(frozen=True, slots=True)
class Paused(Payload):
    """``pause``: silence for ``ms``."""

    kind: ClassVar[str] = "pause"
    ms: int

    def summary(self) -> str:
        return f"{self.ms} ms"


@dataclass(frozen=True, slots=True)
class HungUp(Payload):
    """``hangup``: ``by`` the flow (a `<Hangup>`, with its ``tag``) or the caller."""

    kind: ClassVar[str] = "hangup"
    by: str
    tag: str | None

    def summary(self) -> str:
        return _tagged(f"by {self.by}", self.tag)


@dataclass(frozen=True, slots=True)
class Recorded(Payload):
    """``record``: a `<Record>`, empty (``ms`` of message) or wrapping tags (``wraps``)."""

    kind: ClassVar[str] = "record"
    tag: str | None
    asr: bool
    timeout_ms: int
    wraps: bool
    ms: int | None

    def summary(self) -> str:
        return _recording(self.ms, self.tag, self.wraps, self.asr, self.timeout_ms)


@dataclass(frozen=True, slots=True)
class RecordStarted(Payload):
    """``record-start``: a `<RecordStart>`."""

    kind: ClassVar[str] = "record-start"
    tag: str | None

    def summary(self) -> str:
        return _recording(tag=self.tag)


@dataclass(frozen=True, slots=True)
class RecordStopped(Payload):
    """``record-stop``: a `<RecordStop>`, ``ms`` after the recording started (0 if none ran)."""

    kind: ClassVar[str] = "record-stop"
    ms: int

    def summary(self) -> str:
        return _recording(self.ms)


@dataclass(frozen=True, slots=True)
class RecordingEnded(Payload):
    """``record-stop``: the end of a `<Record>` that wrapped tags, ``ms`` after it began."""

    kind: ClassVar[str] = "record-stop"
    tag: str | None
    ms: int

    def summary(self) -> str:
        return _recording(self.ms, self.tag)


@dataclass(frozen=True, slots=True)
class RecordWaited(Payload):
    """``record-wait``: a `<RecordWait>`, as long as the caller speaks."""

    kind: ClassVar[str] = "record-wait"
    ms: int

    def summary(self) -> str:
        return _recording(self.ms)


@dataclass(frozen=True, slots=True)
class Gathered(Payload):
    """``gather``: one `<Gather>` attempt, the digits typed and the ``branch`` taken."""

    kind: ClassVar[str] = "gather"
    digits: str
    attempt: int
    attempts: int
    timed_out: bool
    branch: str
    match: str | None

    def summary(self) -> str:
        digits = self.digits if self.digits else "(nothing)"
        timed = ", timed out" if self.timed_out else ""
        branch = self.branch + (f" {self.match!r}" if self.match else "")
        return f"attempt {self.attempt}/{self.attempts}: {digits}{timed} → {branch}"


@dataclass(frozen=True, slots=True)
class Ring(Part):
    """One `<Dial>` target and what it did."""

    target: str
    outcome: str

    def summary(self) -> str:
        return f"{self.target}: {_plain(self.outcome)}"


@dataclass(frozen=True, slots=True)
class Dialled(Payload):
    """``dial``: every target rung, the one that connected (``target``) and the outcome."""

    kind: ClassVar[str] = "dial"
    targets: tuple[Ring, ...]
    target: str | None
    outcome: str
    ms: int

    def summary(self) -> str:
        rings = ", ".join(ring.summary() for ring in self.targets)
        if self.target is None:
            return f"{rings} → nobody answered"
        return f"{rings} → {self.target} {_plain(self.outcome)}"


@dataclass(frozen=True, slots=True)
class Requested(Payload):
    """``callback``: a request made ``of`` a tag, its answer (``status``, ``reply``) or
    the ``error`` it met."""

    kind: ClassVar[str] = "callback"
    url: str
    method: str
    of: str
    status: int | None
    reply: str | None
    error: str | None

    def summary(self) -> str:
        state = f"HTTP {self.status}" if self.status is not None else "no reply"
        # An HTTP error status speaks for itself; other problems are spelled out.
        shown = self.error and (self.status is None or self.status < 400)
        problem = f" ({self.error})" if shown else ""
        return f"{self.method} {self.url} → {state}{problem}"


@dataclass(frozen=True, slots=True)
class Compared(Payload):
    """``call``: a `<Call>` condition, the call's ``actual`` value and whether it ``matched``."""

    kind: ClassVar[str] = "call"
    field: str
    value: str
    actual: str | None
    matched: bool

    def summary(self) -> str:
        verdict = "matched" if self.matched else "no match"
        return f"{self.field} {self.actual!r} = {self.value!r}? {verdict}"


@dataclass(frozen=True, slots=True)
class ErrorRuns(Payload):
    """``error``: an `<Error>` block runs, ``of`` which tag, for what ``reason``."""

    kind: ClassVar[str] = "error"
    reason: str
    of: str

    def summary(self) -> str:
        return self.reason


@dataclass(frozen=True, slots=True)
class Ended(Payload):
    """``end``: the call is over, and why (``document-end``, ``hangup``, ``caller``, ``limit``)."""

    kind: ClassVar[str] = "end"
    reason: str

    def summary(self) -> str:
        return self.reason


class Event:
    """One step of a simulated call: what happened, when, and where the author wrote it.

    ``kind`` is one of ``answer``, ``say``, ``play``, ``pause``, ``record``,
    ``record-start``, ``record-stop``, ``record-wait``, ``gather``, ``dial``, ``callback``,
    ``call``, ``error``, ``hangup``, ``end``; ``payload`` holds its typed details (`Said`,
    `Gathered`, `Dialled` …), ``data`` the same as a plain dictionary (``text``, ``url``,
    ``digits``, ``target`` …); ``at_ms`` is the simulated clock when it started.
    """

    __slots__ = ("_data", "at_ms", "kind", "location", "payload", "xpath")

    def __init__(
        self,
        payload: Payload,
        at_ms: int,
        location: SourceLocation,
        xpath: str | None = None,
    ) -> None:
        self.kind = payload.kind
        self.payload = payload
        self.at_ms = at_ms
        self.location = location
        self.xpath = xpath
        self._data: dict[str, Any] | None = None

    @property
    def data(self) -> dict[str, Any]:
        """The payload as a plain dictionary (what the JSON transcript holds)."""
        data = self._data
        if data is None:
            data = self._data = self.payload.as_data()
        return data

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def __repr__(self) -> str:
        return f"Event({self.kind!r} at {self.at_ms} ms, {self.location}, {self.data!r})"

    def __str__(self) -> str:
        return f"{self.at_ms / 1000:8.2f}s  {self.kind:<12} {self.summary()}  ({self.location})"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``event``, ``at_ms``, the data, ``file``, ``line``, ``column``."""
        out: dict[str, Any] = {"event": self.kind, "at_ms": self.at_ms}
        out.update(self.data)
        out["file"] = self.location.file
        out["line"] = self.location.line
        out["column"] = self.location.column
        if self.location.chain:
            out["chain"] = list(self.location.chain)
        out["xpath"] = self.xpath
        return out

    def summary(self) -> str:
        """The event's details in a few words, for the printed transcript."""
        return self.payload.summary()
