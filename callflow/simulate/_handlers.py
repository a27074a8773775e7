"""The one dispatch table of the simulator: each action tag of the schema and its handler.

A *plain* handler runs and returns; a *flowing* one is a generator (it runs blocks or makes
requests). `READS` says which child tags a handler (or, for `<Response>`, the machine) reads
itself rather than running them as actions: a schema tag is handled when it has a handler
here or its parent's handler reads it (a test holds the table to the schema both ways).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from lxml import etree

from callflow.document import Document
from callflow.simulate import _actions, _callback, _dial, _gather, _record
from callflow.simulate._control import Program
from callflow.simulate._tags import (
    CALLBACK,
    CASE,
    DEFAULT,
    DIAL,
    DIAL_TARGETS,
    DTMF,
    ERROR,
    GATHER,
    PROMPTS,
    ROOT,
    SWITCH,
)

if TYPE_CHECKING:
    from callflow.simulate._machine import Machine

Element = etree._Element
PlainHandler = Callable[["Machine", Document, Element], None]
FlowingHandler = Callable[["Machine", Document, Element], Program[None]]

PLAIN: Mapping[str, PlainHandler] = {
    "Answer": _actions.answer,
    "Say": _actions.say,
    "Play": _actions.play,
    "Pause": _actions.pause,
    "Hangup": _actions.hangup,
    "RecordStart": _record.record_start,
    "RecordStop": _record.record_stop,
    "RecordWait": _record.record_wait,
}

FLOWING: Mapping[str, FlowingHandler] = {
    "Record": _record.record,
    GATHER: _gather.gather,
    DIAL: _dial.dial,
    CALLBACK: _callback.callback,
    "callback": _callback.callback,
    "Call": _actions.call,
}

#: Child tags read by their parent's handler (not run as actions), by parent tag.
READS: Mapping[str, frozenset[str]] = {
    ROOT: frozenset({ERROR}),
    GATHER: frozenset({*PROMPTS, SWITCH, DTMF, DEFAULT, ERROR, GATHER}),
    SWITCH: frozenset({CASE, DEFAULT, ERROR}),
    DIAL: frozenset({*DIAL_TARGETS, ERROR}),
    CALLBACK: frozenset({ERROR}),
}
