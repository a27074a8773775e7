"""The TwiML verbs that convert one to one: Say, Play, Pause, Hangup, Reject, Redirect, Record."""

from __future__ import annotations

import re

from lxml import etree

from callflow.diagnostics import Severity
from callflow.twiml import _codes as codes
from callflow.twiml._report import children_not_allowed, unknown
from callflow.twiml._state import MARK_CLOSE, MARK_OPEN, Element, State
from callflow.twiml._values import (
    Attributes,
    element_text,
    has_marker,
    http_method,
    loop,
    resolve_url,
    seconds_to_ms,
    short,
    tag_name,
)


def say(state: State, element: Element, parent: Element) -> None:
    attributes = Attributes(state, element)
    text = _speech_text(state, element)
    if not text.strip():
        state.report(
            codes.DROPPED_VERB,
            Severity.WARNING,
            element,
            "<Say> with nothing to say; dropped",
            hint="OpenTact refuses an empty <Say>; write the words to speak",
        )
        attributes.dropped_whole()
        return
    out = state.emit(parent, "Say", element)
    out.text = text
    state.mark(element)
    voice = attributes.take("voice")
    if voice is not None:
        _voice(state, element, voice, out)
    language = attributes.take("language")
    if language is not None:
        if has_marker(language) or re.fullmatch(
            r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*", language.strip()
        ):
            out.set("lang", language.strip())
        else:
            state.report(
                codes.BAD_VALUE,
                Severity.WARNING,
                element,
                f'<Say language="{short(language)}"> is not a language code; dropped',
                attribute="language",
                hint="write a code such as en-US or es",
            )
    loop(state, element, attributes.take("loop"), out)
    attributes.finish()


_GENDERS = {"man": "MALE", "woman": "FEMALE", "alice": "FEMALE"}


def _voice(state: State, element: Element, voice: str, out: Element) -> None:
    name = voice.strip()
    if has_marker(name):
        state.report(
            codes.TEMPLATE,
            Severity.WARNING,
            element,
            "<Say voice> is a template expression; its TwiML voice names cannot be mapped; dropped",
            attribute="voice",
            hint='set gender="MALE|FEMALE" (and code) in the converted template',
        )
        return
    gender = _GENDERS.get(name.lower())
    if gender is not None:
        out.set("gender", gender)
        if name.lower() == "alice":
            state.report(
                codes.APPROXIMATED,
                Severity.INFO,
                element,
                f'<Say voice="{name}"> approximated as gender="FEMALE" (OpenTact\'s default voice)',
                attribute="voice",
                hint="pick a voice with code= from the API's TTS dictionary",
            )
        return
    if "wavenet" in name.lower():
        out.set("type", "WaveNet")
        state.report(
            codes.APPROXIMATED,
            Severity.WARNING,
            element,
            f'<Say voice="{short(name)}"> approximated as type="WaveNet"; the voice itself is '
            "not carried over",
            attribute="voice",
            hint="pick a voice with code= from the API's TTS dictionary",
        )
        return
    state.report(
        codes.DROPPED_ATTRIBUTE,
        Severity.WARNING,
        element,
        f'<Say voice="{short(name)}"> names a TwiML voice OpenTact does not have; dropped '
        "(the default voice speaks)",
        attribute="voice",
        hint="pick a voice with code= from the API's TTS dictionary, or gender=",
    )


def _speech_text(state: State, element: Element) -> str:
    """The words of a ``<Say>``: SSML tags are reported and their text kept."""
    parts = [element.text or ""]
    for child in element:
        if isinstance(child, etree._ProcessingInstruction) and child.target == "jinja":
            parts.append(f"{MARK_OPEN}{(child.text or '').strip()}{MARK_CLOSE}")
        elif isinstance(child, etree._Element) and isinstance(child.tag, str):
            state.report(
                codes.APPROXIMATED,
                Severity.WARNING,
                child,
                f"SSML <{tag_name(child)}> inside <Say> has no OpenTact equivalent; its tags are "
                "dropped and its words kept",
                hint="OpenTact's <Say> speaks plain text",
            )
            state.cover(child)  # reported above: the tags go, the words stay
            parts.append(_plain_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _plain_text(element: Element) -> str:
    return "".join(element.itertext(tag=None, with_tail=False))


def play(state: State, element: Element, parent: Element) -> None:
    attributes = Attributes(state, element)
    digits = attributes.take("digits")
    if digits is not None:
        state.report(
            codes.DROPPED_ATTRIBUTE,
            Severity.WARNING,
            element,
            f'<Play digits="{short(digits)}"> plays DTMF tones; OpenTact has no equivalent, '
            "dropped",
            attribute="digits",
            hint="play a recording of the tones with <Play>URL</Play> if the far end needs them",
        )
    raw = element_text(element).strip()
    for child in element:
        if isinstance(child, etree._Element) and isinstance(child.tag, str):
            unknown(state, child, "inside <Play>")
    if not raw:
        if digits is None:
            state.report(
                codes.BAD_VALUE,
                Severity.WARNING,
                element,
                "<Play> has no URL; dropped",
                hint="write the audio URL as the element's text",
            )
        attributes.dropped_whole()
        return
    url = resolve_url(state, element, raw, None)
    if url is None:
        attributes.dropped_whole()
        return
    out = state.emit(parent, "Play", element)
    out.text = url
    state.mark(element)
    loop(state, element, attributes.take("loop"), out)
    attributes.finish()


def pause(state: State, element: Element, parent: Element) -> None:
    attributes = Attributes(state, element)
    out = state.emit(parent, "Pause", element)
    state.mark(element)
    length = attributes.take("length")
    milliseconds = "1000"  # TwiML's default pause is one second
    if length is not None:
        milliseconds = seconds_to_ms(state, element, "length", length) or milliseconds
    out.set("length", milliseconds)
    children_not_allowed(state, element)
    attributes.finish()


def hangup(state: State, element: Element, parent: Element) -> None:
    attributes = Attributes(state, element)
    state.emit(parent, "Hangup", element)
    state.mark(element)
    children_not_allowed(state, element)
    attributes.finish()


def reject(state: State, element: Element, parent: Element) -> None:
    attributes = Attributes(state, element)
    reason = attributes.take("reason")
    out = state.emit(parent, "Hangup", element)
    state.mark(element)
    tag = "rejected"
    if reason is not None and reason.strip() in ("rejected", "busy"):
        tag = reason.strip()
    elif reason is not None:
        state.report(
            codes.BAD_VALUE,
            Severity.WARNING,
            element,
            f'<Reject reason="{short(reason)}"> is neither rejected nor busy; dropped',
            attribute="reason",
            hint='TwiML knows reason="rejected" and reason="busy"',
        )
    out.set("tag", tag)
    state.report(
        codes.APPROXIMATED,
        Severity.WARNING,
        element,
        f'<Reject> approximated as <Hangup tag="{tag}">: OpenTact has no way to refuse a call '
        "unanswered; the caller may hear the call answered, then ended",
        hint="turn off auto-answer on the SIP Control App so the call is not answered first",
    )
    children_not_allowed(state, element)
    attributes.finish()


def redirect(state: State, element: Element, parent: Element) -> None:
    attributes = Attributes(state, element)
    method = http_method(state, element, attributes.take("method"), "POST")
    url = resolve_url(state, element, element_text(element), None)
    children_not_allowed(state, element, text=True)
    if url is None:
        attributes.dropped_whole()
        return
    out = state.emit(parent, "Callback", element)
    state.mark(element)
    out.set("url", url)
    out.set("method", method)
    attributes.finish()


#: TwiML's Record settings OpenTact has no equivalent for, each with what to do instead.
_RECORD_HINTS = {
    "timeout": "OpenTact's Record timeout is the longest recording (from maxLength); it does "
    "not stop at silence",
    "finishOnKey": "OpenTact's <Record> cannot be ended with a key",
    "playBeep": "OpenTact plays no beep; put a short <Play> before <Record>",
    "trim": "recordings are not trimmed",
    "storageUrl": "recordings stay on OpenTact; fetch them through the API",
    "storageUrlMethod": "recordings stay on OpenTact; fetch them through the API",
}


def record(state: State, element: Element, parent: Element) -> None:
    attributes = Attributes(state, element)
    out = state.emit(parent, "Record", element)
    state.mark(element)
    length = attributes.take("maxLength")
    milliseconds = "3600000"  # TwiML's default: one hour
    if length is not None:
        milliseconds = seconds_to_ms(state, element, "maxLength", length) or milliseconds
    out.set("timeout", milliseconds)
    transcribe = attributes.take("transcribe")
    if transcribe is not None and transcribe.strip().lower() == "true":
        out.set("asr", "true")
    for name, hint in _RECORD_HINTS.items():
        attributes.drop(name, hint)
    children_not_allowed(state, element)
    callback_after(state, element, parent, attributes, "the recording", defaults_to_document=True)
    attributes.finish()


def callback_after(
    state: State,
    element: Element,
    parent: Element,
    attributes: Attributes,
    what: str,
    *,
    defaults_to_document: bool,
) -> None:
    """The ``action`` of a Dial or Record: a ``<Callback>`` after the converted tag.

    Without ``action`` TwiML's ``<Record>`` requests the document's own URL (the base URL);
    ``<Dial>`` goes on with the next verb.
    """
    action = attributes.take("action")
    method = http_method(state, element, attributes.take("method"), "POST")
    url: str | None
    if action is None:
        if not defaults_to_document:
            return
        if state.base_url is None:
            state.report(
                codes.RELATIVE_URL,
                Severity.WARNING,
                element,
                f"<{tag_name(element)}> without action: TwiML requests the document's own URL "
                f"after {what}, unknown without a base URL; the flow goes on with the next tag",
                hint="pass --base-url (the URL this TwiML is served from) or give an action",
            )
            return
        url = state.base_url
        state.report(
            codes.APPROXIMATED,
            Severity.INFO,
            element,
            f"<{tag_name(element)}> without action: TwiML requests the document's own URL after "
            f"{what}; converted as a <Callback> to the base URL {short(url)}",
            hint="give the verb an action URL to go elsewhere",
        )
    else:
        url = resolve_url(state, element, action, "action")
        if url is None:
            return
        state.report(
            codes.APPROXIMATED,
            Severity.WARNING,
            element,
            f"<{tag_name(element)} action> approximated as a <Callback> after it: OpenTact fetches "
            f"the next document from {short(url)} but sends none of TwiML's parameters "
            f"about {what}",
            attribute="action",
            hint="read the call's state from the OpenTact API at that URL (tag= names the step)",
        )
    callback = state.emit(parent, "Callback", element, "action")
    callback.set("url", url)
    callback.set("method", method)
