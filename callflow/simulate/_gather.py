"""The `<Gather>` handler: prompts, the caller's keys, the branch taken, the digits sent to a URL.

A Gather reads its own children (`<Switch>` with `<Case>`/`<Default>`/`<Error>`, or the
legacy `<DTMF>`/`<Default>`/`<Error>` and nested `<Gather>`) once per document: its
`GatherPlan`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from lxml import etree

from callflow.document import Document
from callflow.simulate._callback import FetchResult, fetch
from callflow.simulate._clock import (
    FETCH_TIMEOUT_MS,
    FINISH_ON_KEY,
    GATHER_CALLBACK_METHOD,
    GATHER_TIMEOUT_MS,
    KEY_MS,
)
from callflow.simulate._control import Program, Redirect
from callflow.simulate._events import ErrorRuns, Gathered
from callflow.simulate._model import HANG_UP
from callflow.simulate._tags import CASE, DEFAULT, DTMF, ERROR, GATHER, PROMPTS, SWITCH

if TYPE_CHECKING:
    from callflow.simulate._machine import Machine

Element = etree._Element

# What became of one attempt: a branch was chosen, its request failed, or no branch matched.
_CHOSEN, _FAILED, _MISSED = "chosen", "failed", "missed"


class GatherPlan:
    """A `<Gather>`'s structure: prompts, branches by digits, Default, Error, nested Gather."""

    __slots__ = ("branches", "default", "handler", "nested", "prompts")

    def __init__(self, element: Element) -> None:
        self.prompts = [c for c in element if c.tag in PROMPTS]
        self.branches: dict[str, Element] = {}
        switch = element.find(SWITCH)
        handler: Element | None = None
        if switch is not None:
            for case in switch.iterfind(CASE):
                self.branches.setdefault(case.get("dtmf", "").strip(), case)
            self.default = switch.find(DEFAULT)
            handler = switch.find(ERROR)
        else:
            for dtmf in element.iterfind(DTMF):
                self.branches.setdefault(dtmf.get("value", "").strip(), dtmf)
            self.default = element.find(DEFAULT)
        self.handler = handler if handler is not None else element.find(ERROR)
        self.nested = element.find(GATHER)


def _plan(machine: Machine, document: Document, element: Element) -> GatherPlan:
    plans = machine.cache(document).plans
    plan = plans.get(element)
    if plan is None:
        plan = plans[element] = GatherPlan(element)
    return cast(GatherPlan, plan)


class _Attempt:
    """What one attempt heard: the digits, whether it timed out, when it began."""

    __slots__ = ("attempt", "attempts", "digits", "started", "timed_out")

    def __init__(self, attempt: int, attempts: int, started: int) -> None:
        self.attempt = attempt
        self.attempts = attempts
        self.started = started
        self.digits = ""
        self.timed_out = False

    def event(self, branch: str, match: str | None = None) -> Gathered:
        return Gathered(self.digits, self.attempt, self.attempts, self.timed_out, branch, match)


def gather(machine: Machine, document: Document, element: Element) -> Program[None]:
    num_digits = machine.number(
        document, element, "numDigits", 1, alternatives=("dtmf_length", "length"), minimum=1
    )
    attempts = machine.number(document, element, "attempts", 1, minimum=1)
    timeout = machine.number(document, element, "timeout", GATHER_TIMEOUT_MS)
    finish = element.get("finishOnKey") or element.get("dtmf_stop") or FINISH_ON_KEY
    plan = _plan(machine, document, element)
    for number in range(1, attempts + 1):
        if number > 1:
            machine.step(document, element)
        for prompt in plan.prompts:
            machine.prompt(document, prompt)
        attempt = _Attempt(number, attempts, machine.clock)
        entry = machine.next_press()
        if entry == HANG_UP:
            raise machine.caller_hangs_up(document, element)
        attempt.digits, finished, keys = collect(entry, num_digits, finish)
        machine.clock += keys * KEY_MS + (0 if finished else timeout)
        attempt.timed_out = not finished
        outcome = yield from _answer(machine, document, element, plan, attempt)
        if outcome == _FAILED:
            return  # the request failed: its <Error> ran, and no nested Gather follows
        if outcome == _CHOSEN:
            break
    if plan.nested is not None:
        machine.step(document, plan.nested)
        yield from gather(machine, document, plan.nested)


def _answer(
    machine: Machine, document: Document, element: Element, plan: GatherPlan, attempt: _Attempt
) -> Program[str]:
    """What the flow does with one attempt's digits: `_CHOSEN`, `_FAILED` or `_MISSED`."""
    remote = yield from _gather_request(machine, document, element, attempt)
    if isinstance(remote, Document):
        machine.emit(document, element, attempt.event("remote"), at=attempt.started)
        raise Redirect(remote)
    handler = plan.handler
    if isinstance(remote, FetchResult):
        machine.emit(document, element, attempt.event("error"), at=attempt.started)
        assert remote.code is not None and remote.problem is not None
        yield from machine.failed(document, element, handler, remote.code, remote.problem)
        return _FAILED
    digits = attempt.digits
    matched = plan.branches.get(digits) if digits else None
    if matched is not None:
        machine.emit(document, element, attempt.event("case", digits), at=attempt.started)
        yield from machine.block(document, matched)
        return _CHOSEN
    last = attempt.attempt == attempt.attempts
    default = plan.default
    if default is not None:
        branch = "default"
    elif last and handler is not None:
        branch = "error"
    else:
        branch = "none" if last else "retry"
    machine.emit(document, element, attempt.event(branch), at=attempt.started)
    if default is not None:
        yield from machine.block(document, default)
    if last and handler is not None:
        count = attempt.attempts
        reason = f"no valid digits after {count} attempt{'s' if count > 1 else ''}"
        machine.emit(document, handler, ErrorRuns(reason, GATHER))
        yield from machine.block(document, handler)
    return _MISSED


def _gather_request(
    machine: Machine, document: Document, element: Element, attempt: _Attempt
) -> Program[Document | FetchResult | None]:
    """Send the digits to a `<Gather url>` or legacy `callback`; None means "carry on"."""
    url = element.get("url")
    timeout = FETCH_TIMEOUT_MS
    digits = attempt.digits
    if url is not None:
        call = machine.call
        params = {
            "dtmf": digits,
            "from": call.from_number,
            "tn": call.to_number,
            "state": "live",
            "sca": call.sip_control_app,
            "call": call.uuid,
        }
        result = yield from fetch(machine, document, element, "GET", url, timeout, params=params)
    else:
        callback = element.get("callback")
        if callback is None:
            return None
        method = (element.get("method") or GATHER_CALLBACK_METHOD).upper()
        fields = {
            "code": digits,
            "success": "true" if digits else "false",
            "attempts": str(attempt.attempt),
        }
        if method == "GET":
            result = yield from fetch(
                machine, document, element, method, callback, timeout, params=fields
            )
        else:
            result = yield from fetch(
                machine, document, element, method, callback, timeout, form=fields
            )
    if result.document is not None:
        return result.document
    if result.empty:
        return None
    return result


def collect(entry: str, num_digits: int, finish: str) -> tuple[str, bool, int]:
    """The digits a Gather takes from what the caller typed: (digits, finished, keys used).

    Collection stops at the finish key (not included) or at ``num_digits`` digits; keys
    typed after that are not heard. Without either, the Gather times out with what it has.
    """
    digits: list[str] = []
    for used, key in enumerate(entry, start=1):
        if key == finish:
            return "".join(digits), True, used
        digits.append(key)
        if len(digits) >= num_digits:
            return "".join(digits), True, used
    return "".join(digits), False, len(entry)
