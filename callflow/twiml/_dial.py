"""TwiML ``<Dial>`` and its nouns ``<Number>`` and ``<Sip>`` → OpenTact ``<Dial>``."""

from __future__ import annotations

import re

from lxml import etree

from callflow.diagnostics import Severity
from callflow.twiml import _codes as codes
from callflow.twiml._report import convert_children, stray_text
from callflow.twiml._state import Element, Handler, Origin, State
from callflow.twiml._values import Attributes, element_text, has_marker, short, tag_name
from callflow.twiml._verbs import callback_after

#: TwiML's Dial settings OpenTact has no equivalent for, each with what to do instead.
_DIAL_HINTS = {
    "timeout": "OpenTact rings for its own time; there is no ring timeout to set",
    "callerId": "the caller ID comes from the OpenTact number or SIP trunk the call uses",
    "record": "wrap the <Dial> in <Record> to record the conversation",
    "timeLimit": "end the call from the app through the API after the time limit",
    "hangupOnStar": "OpenTact's <Dial> has no key to end the dialled leg",
    "ringTone": "OpenTact plays its own ringback",
    "answerOnBridge": "OpenTact answers the caller before dialling",
    "trim": "recordings are not trimmed",
}


def dial(state: State, element: Element, parent: Element) -> None:
    attributes = Attributes(state, element)
    out = etree.Element("Dial")
    state.origins[out] = Origin(element)
    nouns = [c for c in element if isinstance(c, etree._Element) and isinstance(c.tag, str)]
    _bare_number(state, element, out, nouns=bool(nouns))
    convert_children(state, element, out, _NOUNS, "inside <Dial>", jinja=bool(nouns))
    if nouns:
        stray_text(state, element, own=False)
    if not any(isinstance(c.tag, str) for c in out):
        state.report(
            codes.DROPPED_VERB,
            Severity.WARNING,
            element,
            "<Dial> has no target OpenTact can call; dropped",
            hint="OpenTact dials phone numbers (<Number>) and SIP addresses (<Sip>)",
        )
        attributes.dropped_whole()
        return
    parent.append(out)
    state.mark(element)
    for name, hint in _DIAL_HINTS.items():
        attributes.drop(name, hint)
    callback_after(
        state, element, parent, attributes, "the dialled call", defaults_to_document=False
    )
    attributes.finish()


def _bare_number(state: State, element: Element, out: Element, *, nouns: bool) -> None:
    """``<Dial>+1415…</Dial>``: the number as text, taken only when there are no nouns."""
    if not nouns:
        text = element_text(element).strip()
        if text:
            _to(state, element, text, out)
        return
    bare = (element.text or "").strip()
    if bare:
        state.report(
            codes.BAD_VALUE,
            Severity.WARNING,
            element,
            f"<Dial> mixes a bare number ({short(bare)}) with nouns; the number is dropped",
            hint="put the number in a <Number> noun",
        )


def _to(state: State, element: Element, text: str, out: Element) -> None:
    if has_marker(text):
        target = state.emit(out, "To", element)
        target.text = text
        return
    number = re.sub(r"[\s().-]", "", text)
    if re.fullmatch(r"\+?[0-9]+", number):
        target = state.emit(out, "To", element)
        target.text = number
        return
    state.report(
        codes.BAD_VALUE,
        Severity.WARNING,
        element,
        f"<{tag_name(element)}> {short(text)} is not a phone number; dropped",
        hint="write digits with an optional leading +, e.g. +14155550100",
    )


_NUMBER_HINTS = {
    "sendDigits": "play the digits after connecting is not supported; dropped",
    "url": "OpenTact runs no whisper document for the called party",
    "method": "OpenTact runs no whisper document for the called party",
    "byoc": "OpenTact routes through the app's SIP trunk",
}


def _number(state: State, element: Element, out: Element) -> None:
    attributes = Attributes(state, element)
    before = len(out)
    _to(state, element, element_text(element).strip(), out)
    if len(out) > before:
        state.mark(element)
    for name, hint in _NUMBER_HINTS.items():
        attributes.drop(name, hint)
    attributes.finish()


def _sip(state: State, element: Element, out: Element) -> None:
    attributes = Attributes(state, element)
    text = element_text(element).strip()
    address = re.sub(r"^sips?:", "", text, flags=re.IGNORECASE)
    address, _, parameters = address.partition(";")
    address, _, headers = address.partition("?")
    if has_marker(text) or re.fullmatch(r"[^@\s:]+@[^@\s:]+(:[0-9]{1,5})?", address):
        target = state.emit(out, "Sip", element)
        target.text = text if has_marker(text) else address
        state.mark(element)
        if (parameters or headers) and not has_marker(text):
            state.report(
                codes.DROPPED_ATTRIBUTE,
                Severity.WARNING,
                element,
                f"<Sip> URI parameters or headers ({short(parameters or headers)}) have no "
                "OpenTact equivalent; dropped",
                hint="OpenTact's <Sip> is user@host[:port]",
            )
    else:
        state.report(
            codes.BAD_VALUE,
            Severity.WARNING,
            element,
            f"<Sip> {short(text) or '(empty)'} is not a SIP address user@host[:port]; dropped",
            hint="write sip:user@host or user@host",
        )
    for name in ("username", "password"):
        attributes.drop(name, "SIP credentials belong to the OpenTact SIP trunk, not the flow")
    for name in ("url", "method"):
        attributes.drop(name, "OpenTact runs no whisper document for the called party")
    attributes.finish()


#: What a TwiML ``<Dial>`` may dial; any other noun is reported.
_NOUNS: dict[str, Handler] = {"Number": _number, "Sip": _sip}
