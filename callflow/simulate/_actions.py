"""Handlers of the plain actions: `<Answer>`, `<Say>`, `<Play>`, `<Pause>`, `<Hangup>`, `<Call>`.

Each takes the `Machine`, the document and the element; a plain one returns when done, one
that runs a block is a generator (it may need a request answered on the way).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lxml import etree

from callflow.document import Document
from callflow.simulate._clock import PAUSE_MS, PLAY_MS, SPEECH_MS_PER_WORD
from callflow.simulate._control import CallOver, Program
from callflow.simulate._events import Answered, Compared, HungUp, Paused, Played, Said, Voice

if TYPE_CHECKING:
    from callflow.simulate._machine import Machine

Element = etree._Element


def answer(machine: Machine, document: Document, element: Element) -> None:
    delay = machine.number(document, element, "delay", 0)
    machine.emit(document, element, Answered(delay, element.get("tag")))
    machine.clock += delay


def say(machine: Machine, document: Document, element: Element) -> None:
    raw = element.text if element.text and element.text.strip() else element.get("text", "")
    text = " ".join((raw or "").split())
    loop = machine.number(document, element, "loop", 1, minimum=1)
    duration = max(1, len(text.split())) * SPEECH_MS_PER_WORD * loop
    get = element.get
    voice = Voice(
        get("type", "Standard"), get("gender", "FEMALE"), get("lang", "en-US"), get("code")
    )
    machine.emit(document, element, Said(text, voice, loop, duration))
    machine.clock += duration


def play(machine: Machine, document: Document, element: Element) -> None:
    record = element.get("record")
    url = (element.text or "").strip() or element.get("url")
    loop = machine.number(document, element, "loop", 1, minimum=1)
    problem: str | None = None
    if record is not None and not url:
        url = None
        if record not in machine.recordings:
            problem = f"<Play> of recording {record!r}, but no recording has that tag yet"
    elif not url:
        problem = "<Play> has no URL"
    elif url in machine.caller.failing_media:
        problem = f"<Play> {url} failed to load"
    duration = 0 if problem else machine.caller.media_ms.get(url or "", PLAY_MS) * loop
    played = Played(url, record, loop, element.get("leg"), problem is not None, duration)
    machine.emit(document, element, played)
    machine.clock += duration
    if problem is not None:
        machine.escalate(document, element, "CF908", problem)


def pause(machine: Machine, document: Document, element: Element) -> None:
    length = machine.number(document, element, "length", PAUSE_MS)
    machine.emit(document, element, Paused(length))
    machine.clock += length


def hangup(machine: Machine, document: Document, element: Element) -> None:
    machine.emit(document, element, HungUp("flow", element.get("tag")))
    raise CallOver("hangup", document, element)


def call(machine: Machine, document: Document, element: Element) -> Program[None]:
    field = element.get("field", "")
    value = element.get("value", "")
    actual = {"from": machine.call.from_number, "to": machine.call.to_number}.get(field)
    matched = actual is not None and actual.strip() == value.strip()
    machine.emit(document, element, Compared(field, value, actual, matched))
    if matched:
        yield from machine.block(document, element)
