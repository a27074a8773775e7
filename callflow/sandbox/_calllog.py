"""The sandbox call log: each executed flow played through the simulator, kept as data.

`simulate_for_log` turns a posted flow and a caller script into the record the store keeps;
`CallRecord` (in `callflow.client`) reads it back. Each event carries the line of the posted
flow it came from, with that line's text, so a reader sees where each step was written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from callflow.errors import ApiError, CallflowError

#: What a scripted caller sent with an execute may set (see `callflow.simulate.Caller`).
CALLER_FIELDS = frozenset(
    {"presses", "dial", "dial_default", "failing_media", "hang_up_at_step", "hang_up_at_ms"}
)

#: The simulated call's bounds in the sandbox (an execute answers within real seconds).
MAX_FETCHES = 20

_SHOWN_LINE_CHARS = 200


def caller_of(spec: Mapping[str, object]) -> Any:
    """A `Caller` from the JSON sent with an execute; `ApiError` (400) if it is not one."""
    from callflow.simulate import Caller

    unknown = sorted(set(spec) - CALLER_FIELDS)
    if unknown:
        raise ApiError(
            f"the caller has unknown field(s): {', '.join(unknown)}; allowed: "
            f"{', '.join(sorted(CALLER_FIELDS))}",
            status=400,
        )
    presses = spec.get("presses", [])
    if not isinstance(presses, list) or not all(isinstance(p, str | type(None)) for p in presses):
        raise ApiError("the caller's 'presses' must be an array of strings", status=400)
    dial = spec.get("dial", {})
    if not isinstance(dial, dict) or not all(isinstance(v, str) for v in dial.values()):
        raise ApiError("the caller's 'dial' must map targets to outcomes", status=400)
    media = spec.get("failing_media", [])
    if not isinstance(media, list) or not all(isinstance(m, str) for m in media):
        raise ApiError("the caller's 'failing_media' must be an array of URLs", status=400)
    options: dict[str, Any] = {"presses": presses, "dial": dial, "failing_media": media}
    for name in ("dial_default", "hang_up_at_step", "hang_up_at_ms"):
        if name in spec:
            options[name] = spec[name]
    try:
        return Caller(**options)
    except (CallflowError, TypeError, ValueError) as error:
        raise ApiError(f"the caller is not a valid script: {error}", status=400) from None


def simulate_for_log(
    name: str,
    data: bytes,
    caller: Mapping[str, object],
    authored: Mapping[str, object] | None = None,
    *,
    network: bool = False,
) -> dict[str, object]:
    """The call-log record of ``data`` (checked call XML) played to ``caller``.

    ``authored`` maps a line of ``data`` (as text) to ``[file, line]``, where the author
    wrote the element on it (a builder script, a template); each step then names that too.
    """
    authored = authored or {}
    same_lines = authored.get("file")
    from callflow.document import Document
    from callflow.simulate import Limits, simulate

    scripted = caller_of(caller)
    document = Document.from_bytes(data, name)
    transcript = simulate(
        document, scripted, limits=Limits(max_fetches=MAX_FETCHES), network=network
    )
    texts = {d.name: d.text.splitlines() for d in transcript.documents}
    events = []
    for event in transcript:
        entry = event.to_dict()
        entry["summary"] = event.summary()
        lines = texts.get(event.location.file, [])
        line = event.location.line
        if isinstance(line, int) and 1 <= line <= len(lines):
            entry["source"] = lines[line - 1].strip()[:_SHOWN_LINE_CHARS]
        author = authored.get(str(line)) if event.location.file == name else None
        if isinstance(same_lines, str) and event.location.file == name:
            author = [same_lines, line]  # the posted XML is the author's file
        if (
            isinstance(author, list)
            and len(author) == 2
            and isinstance(author[0], str)
            and isinstance(author[1], int)
            and (author[0], author[1]) != (name, line)
        ):
            entry["author"] = {"file": author[0][:_SHOWN_LINE_CHARS], "line": author[1]}
        events.append(entry)
    return {
        "caller": dict(caller),
        "ended_by": transcript.ended_by,
        "duration_ms": transcript.duration_ms,
        "steps": transcript.steps,
        "heard": transcript.spoken,
        "dialled": transcript.dialled,
        "events": events,
        "diagnostics": [d.to_dict() for d in transcript.diagnostics],
    }
