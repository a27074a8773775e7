"""The simulator's data: the scripted caller, the call, the limits and the transcript."""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from callflow.diagnostics import Diagnostic
from callflow.document import Document
from callflow.errors import SimulationError
from callflow.simulate._events import Dialled, ErrorRuns, Event, Gathered, Said

#: A caller-script entry: the caller stays silent for this Gather attempt (it times out).
SILENCE = ""
#: A caller-script entry: the caller hangs up when this Gather attempt asks for keys.
HANG_UP = "hangup"

_KEYS = re.compile(r"[0-9*#+]*")
_SILENCE_WORDS = frozenset({"", "silence", "timeout", "-"})


class DialOutcome(enum.Enum):
    """What one `<Dial>` target does when it rings."""

    ANSWERED = "answered"
    """It answers; later the dialled side hangs up and the caller's flow continues."""
    CALLER_HANGS_UP = "caller-hangs-up"
    """It answers, and the caller hangs up during the conversation: the call ends."""
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    FAILED = "failed"

    @property
    def connects(self) -> bool:
        return self in (DialOutcome.ANSWERED, DialOutcome.CALLER_HANGS_UP)

    @classmethod
    def parse(cls, value: DialOutcome | str) -> DialOutcome:
        if isinstance(value, DialOutcome):
            return value
        wanted = str(value).strip().lower().replace("_", "-").replace(" ", "-")
        for outcome in cls:
            if outcome.value == wanted:
                return outcome
        choices = ", ".join(o.value for o in cls)
        raise SimulationError(f"unknown dial outcome {value!r}; expected one of: {choices}")


def parse_press(entry: str | None) -> str | None:
    """One caller-script entry, normalised: keys, ``SILENCE`` or ``HANG_UP``.

    Raises `SimulationError` naming the entry when it is neither keys nor a known word.
    """
    if entry is None:
        return SILENCE
    text = str(entry).strip()
    if text.lower() in _SILENCE_WORDS:
        return SILENCE
    if text.lower() in ("hangup", "hang-up", "hang up"):
        return HANG_UP
    if _KEYS.fullmatch(text) is None:
        bad = next(ch for ch in text if _KEYS.fullmatch(ch) is None)
        raise SimulationError(
            f"key presses {text!r}: {bad!r} is not a phone key "
            "(use 0-9, *, #, +; '' or 'silence' for no keys, 'hangup' to hang up)"
        )
    return text


@dataclass(frozen=True)
class Caller:
    """The scripted person on the phone.

    ``presses`` holds one entry per `<Gather>` attempt, in the order the attempts happen:
    the keys typed (``"2"``, ``"1234#"``), `SILENCE` (or ``""``/``None``: the attempt times
    out) or `HANG_UP`. When the script runs out, the caller stays silent.
    ``dial`` maps a `<Dial>` target (the text of its `<To>`/`<Sip>`) to a `DialOutcome`
    (or its value, e.g. ``"busy"``); other targets get ``dial_default``.
    ``failing_media`` lists `<Play>` URLs that fail to load; ``media_ms`` gives the length
    of a URL's audio (default `PLAY_MS`). The caller can hang up before step
    ``hang_up_at_step`` (1-based) runs or once the clock reaches ``hang_up_at_ms``.
    ``message_ms`` is how long the caller speaks when recorded; ``talk_ms`` how long an
    answered `<Dial>` conversation lasts.
    """

    presses: Sequence[str | None] = ()
    dial: Mapping[str, DialOutcome | str] = field(default_factory=dict)
    dial_default: DialOutcome | str = DialOutcome.ANSWERED
    failing_media: Collection[str] = frozenset()
    media_ms: Mapping[str, int] = field(default_factory=dict)
    hang_up_at_step: int | None = None
    hang_up_at_ms: int | None = None
    message_ms: int = 5_000
    talk_ms: int = 30_000

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "presses", tuple(parse_press(p) for p in self.presses))
        set_(
            self,
            "dial",
            {str(k).strip(): DialOutcome.parse(v) for k, v in dict(self.dial).items()},
        )
        set_(self, "dial_default", DialOutcome.parse(self.dial_default))
        set_(self, "failing_media", frozenset(self.failing_media))
        set_(self, "media_ms", dict(self.media_ms))
        for name in ("hang_up_at_step", "hang_up_at_ms"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 0):
                raise SimulationError(f"Caller {name} must be a whole number ≥ 0, not {value!r}")
        for name in ("message_ms", "talk_ms"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise SimulationError(f"Caller {name} must be a whole number ≥ 0, not {value!r}")

    def outcome_for(self, target: str) -> DialOutcome:
        found = self.dial.get(target)
        outcome = found if found is not None else self.dial_default
        assert isinstance(outcome, DialOutcome)
        return outcome


@dataclass(frozen=True)
class CallInfo:
    """The simulated call: who calls (``from_number``), which number (``to_number``)."""

    from_number: str = "+15550001234"
    to_number: str = "+15550100000"
    uuid: str = "00000000-0000-4000-8000-000000000001"
    sip_control_app: str = "00000000-0000-4000-8000-000000000a99"

    def call_object(self, clock_ms: int) -> dict[str, object]:
        """The call as the platform describes it in request bodies."""
        return {
            "uuid": self.uuid,
            "direction": "in",
            "from": self.from_number,
            "to": self.to_number,
            "tn": self.to_number,
            "state": "live",
            "duration": clock_ms // 1000,
            "created_on": "1970-01-01T00:00:00Z",
            "sip_control_app": self.sip_control_app,
        }


@dataclass(frozen=True)
class Limits:
    """Guards that stop a simulation (each trip is a CF9xx diagnostic, never a hang)."""

    max_steps: int = 10_000
    """Action tags executed in one call (each `<Gather>` attempt counts as one)."""
    max_fetches: int = 100
    """`<Callback>` and `<Gather>` URL requests in one call: stops callback loops."""
    max_redirects: int = 5
    """HTTP redirects followed for one request."""
    max_call_ms: int = 4 * 3600 * 1000
    """Simulated call length."""


class Transcript:
    """Everything that happened in one simulated call, in order.

    Iterate it for `Event` objects; ``diagnostics`` holds the failures met on the way
    (fetches that failed, guards that tripped). ``ended_by`` is ``"hangup"`` (a
    `<Hangup>`), ``"caller"``, ``"document-end"`` or ``"limit"``; ``steps`` counts the
    action tags run; ``documents`` holds the flow and every document fetched.
    """

    __slots__ = ("call", "diagnostics", "documents", "duration_ms", "ended_by", "events", "steps")

    def __init__(
        self,
        events: list[Event],
        diagnostics: list[Diagnostic],
        call: CallInfo,
        ended_by: str,
        duration_ms: int,
        steps: int,
        documents: Sequence[Document] = (),
    ) -> None:
        self.events = events
        self.documents: tuple[Document, ...] = tuple(documents)
        """The documents the call ran, in order: the flow, then each one fetched."""
        self.diagnostics = diagnostics
        self.call = call
        self.ended_by = ended_by
        self.duration_ms = duration_ms
        self.steps = steps

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self.events)

    def __getitem__(self, index: int) -> Event:
        return self.events[index]

    def __repr__(self) -> str:
        return (
            f"Transcript({len(self.events)} events, {self.duration_ms} ms, "
            f"ended by {self.ended_by})"
        )

    def __str__(self) -> str:
        return self.render()

    # -- views --------------------------------------------------------------------

    def of(self, kind: str) -> list[Event]:
        """The events of one kind, e.g. ``transcript.of("say")``."""
        return [e for e in self.events if e.kind == kind]

    @property
    def spoken(self) -> list[str]:
        """Every text said, in order."""
        return [e.payload.text for e in self.events if isinstance(e.payload, Said)]

    @property
    def branches(self) -> list[str]:
        """Branches taken at each `<Gather>` attempt: the matched digits, or ``default``,
        ``retry``, ``error``, ``none``, ``remote`` (a URL replied with a new document)."""
        taken: list[str] = []
        for e in self.events:
            payload = e.payload
            if isinstance(payload, Gathered):
                taken.append(str(payload.match) if payload.branch == "case" else payload.branch)
            elif (
                isinstance(payload, ErrorRuns)
                and payload.of == "Gather"
                and (not taken or taken[-1] != "error")
            ):
                taken.append("error")
        return taken

    @property
    def dialled(self) -> list[str]:
        """Every target rung, in order."""
        return [
            ring.target
            for e in self.events
            if isinstance(e.payload, Dialled)
            for ring in e.payload.targets
        ]

    @property
    def hung_up(self) -> bool:
        """True when the call ended by a `<Hangup>` or the caller hanging up."""
        return self.ended_by in ("hangup", "caller")

    def said(self, pattern: str | re.Pattern[str]) -> bool:
        """True when some `<Say>` text contains ``pattern`` (a regex, searched)."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        return any(regex.search(text) for text in self.spoken)

    # -- output -------------------------------------------------------------------

    def to_list(self) -> list[dict[str, Any]]:
        return [event.to_dict() for event in self.events]

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_list(), indent=indent, ensure_ascii=False)

    def render(self) -> str:
        """The printed transcript: one line per event, clock first, location last."""
        return "".join(f"{event}\n" for event in self.events)
