"""The `<Dial>` handler: every target rings at once, the first to answer in document order wins."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lxml import etree

from callflow.document import Document
from callflow.simulate._clock import DIAL_MS, RING_MS
from callflow.simulate._control import Program
from callflow.simulate._events import Dialled, ErrorRuns, Ring
from callflow.simulate._model import DialOutcome
from callflow.simulate._tags import DIAL, DIAL_TARGETS, ERROR

if TYPE_CHECKING:
    from callflow.simulate._machine import Machine

Element = etree._Element
_CANCELLED = "cancelled"


def dial(machine: Machine, document: Document, element: Element) -> Program[None]:
    rung: list[Ring] = []
    winner: str | None = None
    winner_outcome: DialOutcome | None = None
    for child in element:
        if child.tag not in DIAL_TARGETS:
            continue
        target = (child.text or "").strip()
        outcome = machine.caller.outcome_for(target)
        if winner is not None and outcome.connects:
            rung.append(Ring(target, _CANCELLED))
            continue
        rung.append(Ring(target, outcome.value))
        if winner is None and outcome.connects:
            winner, winner_outcome = target, outcome
    if winner_outcome is not None:
        overall = winner_outcome.value
        duration = RING_MS + machine.caller.talk_ms
    else:
        seen = {ring.outcome for ring in rung}
        overall = next(
            (o.value for o in (DialOutcome.NO_ANSWER, DialOutcome.BUSY) if o.value in seen),
            DialOutcome.FAILED.value,
        )
        duration = max((DIAL_MS[DialOutcome(ring.outcome)] for ring in rung), default=0)
    machine.emit(document, element, Dialled(tuple(rung), winner, overall, duration))
    machine.clock += duration
    if winner_outcome is DialOutcome.CALLER_HANGS_UP:
        raise machine.caller_hangs_up(document, element)
    if winner is None:
        handler = next((c for c in element if c.tag == ERROR), None)
        if handler is not None:
            reason = f"no target connected ({overall})"
            machine.emit(document, handler, ErrorRuns(reason, DIAL))
            yield from machine.block(document, handler)
