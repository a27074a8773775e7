"""Handlers of recording: `<Record>` (empty, or wrapping tags), `<RecordStart>`, `<RecordStop>`,
`<RecordWait>`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lxml import etree

from callflow.diagnostics import Severity
from callflow.document import Document
from callflow.simulate._clock import RECORD_TIMEOUT_MS
from callflow.simulate._control import Program
from callflow.simulate._events import (
    Recorded,
    RecordingEnded,
    RecordStarted,
    RecordStopped,
    RecordWaited,
)

if TYPE_CHECKING:
    from callflow.simulate._machine import Machine

Element = etree._Element


def record(machine: Machine, document: Document, element: Element) -> Program[None]:
    tag = element.get("tag")
    asr = element.get("asr") == "true"
    timeout = machine.number(document, element, "timeout", RECORD_TIMEOUT_MS)
    if any(isinstance(child.tag, str) for child in element):
        machine.emit(document, element, Recorded(tag, asr, timeout, True, None))
        started = machine.clock
        yield from machine.block(document, element)
        machine.emit(document, element, RecordingEnded(tag, machine.clock - started))
    else:
        duration = min(machine.caller.message_ms, timeout)
        machine.emit(document, element, Recorded(tag, asr, timeout, False, duration))
        machine.clock += duration
    if tag is not None:
        machine.recordings.add(tag)


def record_start(machine: Machine, document: Document, element: Element) -> None:
    machine.emit(document, element, RecordStarted(element.get("tag")))
    machine.recording_since = machine.clock


def record_stop(machine: Machine, document: Document, element: Element) -> None:
    if machine.recording_since is None:
        machine.diagnose(
            document, element, "CF911", Severity.INFO, "<RecordStop> with no recording running"
        )
        machine.emit(document, element, RecordStopped(0))
        return
    machine.emit(document, element, RecordStopped(machine.clock - machine.recording_since))
    machine.recording_since = None


def record_wait(machine: Machine, document: Document, element: Element) -> None:
    machine.emit(document, element, RecordWaited(machine.caller.message_ms))
    machine.clock += machine.caller.message_ms
