"""What the conversion cannot carry: unknown verbs, stray text, and the walk over children."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from lxml import etree

from callflow.diagnostics import Severity
from callflow.document import Document
from callflow.twiml import _codes as codes
from callflow.twiml._state import Element, Handler, State
from callflow.twiml._values import short, tag_name

_UNMAPPED_HINTS = {
    "Enqueue": "OpenTact has no call queues; dial an agent group with <Dial> instead",
    "Leave": "OpenTact has no call queues",
    "Queue": "OpenTact has no call queues; dial the agent directly",
    "Conference": "OpenTact has no conference rooms in call XML",
    "Client": "OpenTact dials phone numbers and SIP addresses; give the client a SIP address",
    "Sim": "OpenTact dials phone numbers and SIP addresses",
    "Application": "OpenTact dials phone numbers and SIP addresses",
    "WhatsApp": "OpenTact dials phone numbers and SIP addresses",
    "Sms": "send the message through the OpenTact messaging API from the app",
    "Message": "send the message through the OpenTact messaging API from the app",
    "Stream": "OpenTact call XML has no media streams",
    "Connect": "OpenTact call XML has no media streams, rooms or virtual agents",
    "Start": "OpenTact call XML has no background streams or transcriptions",
    "Stop": "OpenTact call XML has no background streams or transcriptions",
    "Siprec": "OpenTact call XML has no SIPREC sessions",
    "Transcription": 'use <Record asr="true"> to transcribe',
    "Refer": "OpenTact call XML cannot transfer a SIP call with REFER; use <Dial>",
    "Pay": "OpenTact call XML has no payment capture",
    "Prompt": "OpenTact call XML has no payment capture",
    "Echo": "OpenTact call XML has no echo test",
    "Autopilot": "OpenTact call XML has no virtual agents",
    "VirtualAgent": "OpenTact call XML has no virtual agents",
    "Room": "OpenTact call XML has no video rooms",
    "Parameter": "OpenTact passes no custom parameters to streams or clients",
    "Identity": "OpenTact dials phone numbers and SIP addresses",
}


def unknown(state: State, element: Element, where: str = "") -> None:
    tag = str(element.tag)
    hint = _UNMAPPED_HINTS.get(tag)
    # Without ``where`` the element stands where a verb would and no verb handler took it:
    # a TwiML name this conversion knows (it has a hint) or one it does not know at all.
    if where:
        message = f"<{tag}> {where} has no OpenTact equivalent; dropped"
    elif hint is not None:
        message = f"<{tag}> has no OpenTact equivalent; dropped"
    else:
        message = f"<{tag}> is not a TwiML verb callflow knows; dropped"
    state.report(
        codes.DROPPED_VERB,
        Severity.WARNING,
        element,
        message + _contents(element),
        hint=hint or "remove it, or rebuild what it did in the app",
    )
    state.cover(element)


def _contents(element: Element) -> str:
    inner = sum(1 for c in element.iter() if isinstance(c.tag, str)) - 1
    return f" (with the {inner} element(s) inside it)" if inner > 0 else ""


def children_not_allowed(state: State, element: Element, *, text: bool = False) -> None:
    """Report children of a verb that holds none (and its text, unless ``text`` is used)."""
    for child in element:
        if isinstance(child.tag, str):
            unknown(state, child, f"inside <{tag_name(element)}>")
    if not text:
        stray_text(state, element)


def stray_text(state: State, element: Element, *, own: bool = True) -> None:
    """Report text that belongs to no verb: ``element``'s own (with ``own``) and its
    children's tails. TwiML ignores it too, but it usually means a verb went missing."""
    if own and (element.text or "").strip():
        state.report(
            codes.BAD_VALUE,
            Severity.WARNING,
            element,
            f"text {short(element.text or '')!r} inside <{tag_name(element)}> belongs to no verb; "
            "dropped",
            hint="put words in <Say>, URLs in <Play> or <Redirect>",
        )
    for child in element:
        if (child.tail or "").strip():
            verb = isinstance(child.tag, str)
            after = f"<{tag_name(child)}>" if verb else "a comment or template tag"
            state.report(
                codes.BAD_VALUE,
                Severity.WARNING,
                child if verb else element,
                f"text {short(child.tail or '')!r} after {after} belongs to no verb; dropped",
                hint="put words in <Say>, URLs in <Play> or <Redirect>",
            )


def convert_children(
    state: State,
    element: Element,
    out: Element,
    handlers: Mapping[str, Handler],
    where: str = "",
    *,
    jinja: bool = True,
) -> None:
    """Convert each child of ``element`` into ``out`` with its handler, found by tag name.

    A child no handler takes is reported (``where`` says where it stood); comments and
    (with ``jinja``) template constructs are carried over as they stand.
    """
    for child in element:
        if not isinstance(child.tag, str):
            carry_over(child, out, jinja=jinja)
            continue
        handler = handlers.get(child.tag)
        if handler is None:
            unknown(state, child, where)
            continue
        handler(state, child, out)


def carry_over(node: etree._Element, out: etree._Element, *, jinja: bool = True) -> None:
    """A comment, or (with ``jinja``) a Jinja construct kept as a processing instruction,
    copied into the converted element as it stands; other non-elements are dropped."""
    if isinstance(node, etree._Comment):
        out.append(etree.Comment(node.text or ""))
    elif jinja and isinstance(node, etree._ProcessingInstruction) and node.target == "jinja":
        out.append(etree.ProcessingInstruction("jinja", node.text or ""))


def iter_input_parts(source: Document) -> Iterator[tuple[Element, str | None]]:
    """Every element and attribute of a TwiML document (what the report must account for)."""
    for element in source.root.iter(etree.Element):
        yield element, None
        for name in element.attrib:
            yield element, str(name)
