"""TwiML → OpenTact call XML: one handler per TwiML verb, every unmapped part reported.

Each handler reads the attributes it maps from a working copy of the element's attributes;
whatever is left when it returns is reported as dropped, so no attribute can be lost
silently. Every TwiML element is either converted (and recorded in ``mapped``) or reported.
The converted tree keeps the TwiML document's order one verb to one tag (a verb with an
``action`` becomes its tag followed by a ``<Callback>``), which is what lets a template's
Jinja tags between verbs stay where they were.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import quote, urljoin, urlsplit

from lxml import etree

from callflow.diagnostics import Diagnostic, Severity
from callflow.document import Document
from callflow.sourcemap import SourceLocation
from callflow.twiml import _codes as codes

#: Private-use characters around a template placeholder's number (see `_template`).
MARK_OPEN = "\ue000"
MARK_CLOSE = "\ue001"
MARKER = re.compile(MARK_OPEN + r"(\d+)\s*" + MARK_CLOSE)

#: How many digits a TwiML ``<Gather>`` without ``numDigits`` (no limit) may take here.
UNLIMITED_DIGITS = 20
#: A TwiML ``loop="0"`` (for ever) becomes this many repeats (the lint's loop limit).
FOREVER_LOOP = 20

_Element = etree._Element


@dataclass
class _Origin:
    """The TwiML place an output element came from."""

    element: _Element
    attribute: str | None = None


@dataclass
class _State:
    source: Document
    base_url: str | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: (element, attribute or None) of each TwiML part converted, and of each reported.
    mapped: set[tuple[_Element, str | None]] = field(default_factory=set)
    reported: set[tuple[_Element, str | None]] = field(default_factory=set)
    origins: dict[_Element, _Origin] = field(default_factory=dict)
    #: Template placeholders holding seconds, to be scaled to milliseconds in Jinja.
    scaled: set[int] = field(default_factory=set)
    #: Generated tags whose lint findings the report already explains (a menu's Callbacks).
    explained: set[_Element] = field(default_factory=set)
    _paths: dict[_Element, str] | None = None

    def xpath(self, element: _Element) -> str:
        # One walk for all paths: getpath() per element counts siblings, quadratic overall.
        if self._paths is None:
            self._paths = element_paths(self.source.root)
        return self._paths.get(element) or self.source.xpath_of(element)

    # -- report ------------------------------------------------------------------

    def where(self, element: _Element, attribute: str | None = None) -> SourceLocation:
        return self.source.locate(element, attribute)

    def report(
        self,
        code: str,
        severity: Severity,
        element: _Element,
        message: str,
        *,
        attribute: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.diagnostics.append(
            Diagnostic(
                code,
                severity,
                message,
                self.where(element, attribute),
                xpath=self.xpath(element),
                hint=hint,
            )
        )
        self.reported.add((element, attribute))

    def mark(self, element: _Element, attribute: str | None = None) -> None:
        self.mapped.add((element, attribute))

    def cover(self, element: _Element) -> None:
        """``element`` was dropped whole (and reported): all its parts are accounted for."""
        for inner in element.iter(etree.Element):
            self.reported.add((inner, None))
            for name in inner.attrib:
                self.reported.add((inner, str(name)))

    # -- output ------------------------------------------------------------------

    def emit(
        self, parent: _Element, tag: str, element: _Element, attribute: str | None = None
    ) -> _Element:
        made = etree.SubElement(parent, tag)
        self.origins[made] = _Origin(element, attribute)
        return made


def element_paths(root: _Element) -> dict[_Element, str]:
    """Every element's path (as lxml's ``getpath`` writes it), in one linear walk."""
    paths = {root: f"/{root.tag!s}"}
    for parent in root.iter(etree.Element):
        counts: dict[str, int] = {}
        totals: dict[str, int] = {}
        children = [c for c in parent if isinstance(c.tag, str)]
        for child in children:
            totals[str(child.tag)] = totals.get(str(child.tag), 0) + 1
        for child in children:
            tag = str(child.tag)
            counts[tag] = counts.get(tag, 0) + 1
            step = f"{tag}[{counts[tag]}]" if totals[tag] > 1 else tag
            paths[child] = f"{paths[parent]}/{step}"
    return paths


# ---------------------------------------------------------------- values


def _tag(element: _Element) -> str:
    return str(element.tag)


def has_marker(value: str | None) -> bool:
    return value is not None and MARK_OPEN in value


def element_text(element: _Element) -> str:
    """An element's text with its template placeholders (processing instructions) inline."""
    parts = [element.text or ""]
    for child in element:
        if isinstance(child, etree._ProcessingInstruction) and child.target == "jinja":
            parts.append(f"{MARK_OPEN}{(child.text or '').strip()}{MARK_CLOSE}")
        parts.append(child.tail or "")
    return "".join(parts)


def _integer(value: str) -> int | None:
    value = value.strip()
    if not re.fullmatch(r"[0-9]{1,9}", value):
        return None
    return int(value)


#: Attributes whose values the report never quotes.
_SECRETS = frozenset({"password"})


class _Attributes:
    """The attributes of one TwiML element still to map; what is left gets reported."""

    def __init__(self, state: _State, element: _Element) -> None:
        self.state = state
        self.element = element
        self.left: dict[str, str] = {str(k): str(v) for k, v in element.attrib.items()}

    def take(self, name: str) -> str | None:
        value = self.left.pop(name, None)
        if value is not None:
            self.state.mark(self.element, name)
        return value

    def drop(self, name: str, hint: str, *, severity: Severity = Severity.WARNING) -> None:
        """Report ``name`` as dropped with a specific hint (a no-op when it is absent)."""
        value = self.left.pop(name, None)
        if value is None:
            return
        shown = "…" if name.lower() in _SECRETS else _short(value)
        self.state.report(
            codes.DROPPED_ATTRIBUTE,
            severity,
            self.element,
            f'<{_tag(self.element)} {name}="{shown}"> has no OpenTact equivalent; dropped',
            attribute=name,
            hint=hint,
        )

    def dropped_whole(self) -> None:
        self.left.clear()
        self.state.cover(self.element)

    def finish(self) -> None:
        for name in list(self.left):
            hint = _ATTRIBUTE_HINTS.get(_attribute_family(name), "OpenTact has no such setting")
            self.drop(name, hint)


def _attribute_family(name: str) -> str:
    for prefix in ("statusCallback", "recordingStatusCallback", "transcribeCallback"):
        if name.startswith(prefix):
            return prefix
    if name.startswith("partialResultCallback"):
        return "partialResultCallback"
    if name.startswith("amd") or name.startswith("machineDetection"):
        return "machineDetection"
    return name


_EVENTS = (
    "OpenTact sends no per-verb status webhooks; follow the call through the API's call object"
)
_ATTRIBUTE_HINTS = {
    "statusCallback": _EVENTS,
    "recordingStatusCallback": "fetch the recording through the OpenTact API instead",
    "transcribeCallback": 'asr="true" transcribes; fetch the text through the OpenTact API',
    "partialResultCallback": "OpenTact gathers DTMF only; there are no speech results",
    "machineDetection": "OpenTact has no answering-machine detection",
}


def _short(value: str, limit: int = 40) -> str:
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _seconds_to_ms(
    state: _State, element: _Element, attribute: str, value: str, *, allow_zero: bool = True
) -> str | None:
    """``value`` seconds as a millisecond string (a template expression is scaled too)."""
    if has_marker(value):
        whole = MARKER.fullmatch(value.strip())
        if whole is not None:
            state.scaled.add(int(whole.group(1)))  # the template pass multiplies it
            return value.strip()
        state.report(
            codes.TEMPLATE,
            Severity.WARNING,
            element,
            f"<{_tag(element)} {attribute}> mixes text and Jinja; its seconds cannot be "
            "converted to milliseconds; dropped",
            attribute=attribute,
            hint=f'write {attribute}="{{{{ seconds }}}}" with one expression',
        )
        return None
    number = _decimal(value)
    if number is None or (number == 0 and not allow_zero):
        state.report(
            codes.BAD_VALUE,
            Severity.WARNING,
            element,
            f'<{_tag(element)} {attribute}="{_short(value)}"> is not a number of seconds; dropped',
            attribute=attribute,
            hint="TwiML durations are whole seconds, e.g. 5",
        )
        return None
    return str(round(number * 1000))


def _decimal(value: str) -> float | None:
    value = value.strip()
    if not re.fullmatch(r"[0-9]{1,7}(\.[0-9]{1,3})?", value):
        return None
    return float(value)


def _resolve_url(state: _State, element: _Element, value: str, attribute: str | None) -> str | None:
    """An absolute http(s) URL for ``value``, or None (reported) when there is none."""
    value = value.strip()
    if has_marker(value):
        return value
    where = f"<{_tag(element)} {attribute}>" if attribute else f"<{_tag(element)}>"
    scheme = urlsplit(value).scheme.lower() if value else ""
    if scheme in ("http", "https") and re.fullmatch(r"https?://\S+", value, re.IGNORECASE):
        return value
    if not value or scheme or re.search(r"\s", value):
        state.report(
            codes.BAD_VALUE,
            Severity.ERROR,
            element,
            f"{where} {_short(value) or 'is empty'}: not an http(s) URL; dropped",
            attribute=attribute,
            hint="OpenTact fetches http:// and https:// URLs only",
        )
        return None
    if state.base_url is None:
        state.report(
            codes.RELATIVE_URL,
            Severity.ERROR,
            element,
            f"{where} {_short(value)} is a relative URL and no base URL was given; dropped",
            attribute=attribute,
            hint="pass --base-url https://your.app/ (the URL this TwiML is served from)",
        )
        return None
    return urljoin(state.base_url, value)


def _loop(state: _State, element: _Element, value: str | None, out: _Element) -> None:
    if value is None:
        return
    if has_marker(value):
        out.set("loop", value)
        return
    count = _integer(value)
    if count is None:
        state.report(
            codes.BAD_VALUE,
            Severity.WARNING,
            element,
            f'<{_tag(element)} loop="{_short(value)}"> is not a whole number; dropped',
            attribute="loop",
            hint='write a count such as loop="2"',
        )
        return
    if count == 0:
        state.report(
            codes.APPROXIMATED,
            Severity.WARNING,
            element,
            f'<{_tag(element)} loop="0"> repeats for ever in TwiML; approximated as '
            f'loop="{FOREVER_LOOP}"',
            attribute="loop",
            hint="OpenTact's loop is a count of at least 1; write the count you need",
        )
        count = FOREVER_LOOP
    if count != 1:
        out.set("loop", str(count))


# ---------------------------------------------------------------- verbs


Handler = Callable[[_State, _Element, _Element], None]


def _say(state: _State, element: _Element, parent: _Element) -> None:
    attributes = _Attributes(state, element)
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
                f'<Say language="{_short(language)}"> is not a language code; dropped',
                attribute="language",
                hint="write a code such as en-US or es",
            )
    _loop(state, element, attributes.take("loop"), out)
    attributes.finish()


_GENDERS = {"man": "MALE", "woman": "FEMALE", "alice": "FEMALE"}


def _voice(state: _State, element: _Element, voice: str, out: _Element) -> None:
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
            f'<Say voice="{_short(name)}"> approximated as type="WaveNet"; the voice itself is '
            "not carried over",
            attribute="voice",
            hint="pick a voice with code= from the API's TTS dictionary",
        )
        return
    state.report(
        codes.DROPPED_ATTRIBUTE,
        Severity.WARNING,
        element,
        f'<Say voice="{_short(name)}"> names a TwiML voice OpenTact does not have; dropped '
        "(the default voice speaks)",
        attribute="voice",
        hint="pick a voice with code= from the API's TTS dictionary, or gender=",
    )


def _speech_text(state: _State, element: _Element) -> str:
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
                f"SSML <{_tag(child)}> inside <Say> has no OpenTact equivalent; its tags are "
                "dropped and its words kept",
                hint="OpenTact's <Say> speaks plain text",
            )
            state.cover(child)  # reported above: the tags go, the words stay
            parts.append(_plain_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _plain_text(element: _Element) -> str:
    return "".join(element.itertext(tag=None, with_tail=False))


def _play(state: _State, element: _Element, parent: _Element) -> None:
    attributes = _Attributes(state, element)
    digits = attributes.take("digits")
    if digits is not None:
        state.report(
            codes.DROPPED_ATTRIBUTE,
            Severity.WARNING,
            element,
            f'<Play digits="{_short(digits)}"> plays DTMF tones; OpenTact has no equivalent, '
            "dropped",
            attribute="digits",
            hint="play a recording of the tones with <Play>URL</Play> if the far end needs them",
        )
    raw = element_text(element).strip()
    for child in element:
        if isinstance(child, etree._Element) and isinstance(child.tag, str):
            _unknown(state, child, "inside <Play>")
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
    url = _resolve_url(state, element, raw, None)
    if url is None:
        attributes.dropped_whole()
        return
    out = state.emit(parent, "Play", element)
    out.text = url
    state.mark(element)
    _loop(state, element, attributes.take("loop"), out)
    attributes.finish()


def _pause(state: _State, element: _Element, parent: _Element) -> None:
    attributes = _Attributes(state, element)
    out = state.emit(parent, "Pause", element)
    state.mark(element)
    length = attributes.take("length")
    milliseconds = "1000"  # TwiML's default pause is one second
    if length is not None:
        milliseconds = _seconds_to_ms(state, element, "length", length) or milliseconds
    out.set("length", milliseconds)
    _children_not_allowed(state, element)
    attributes.finish()


def _hangup(state: _State, element: _Element, parent: _Element) -> None:
    attributes = _Attributes(state, element)
    state.emit(parent, "Hangup", element)
    state.mark(element)
    _children_not_allowed(state, element)
    attributes.finish()


def _reject(state: _State, element: _Element, parent: _Element) -> None:
    attributes = _Attributes(state, element)
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
            f'<Reject reason="{_short(reason)}"> is neither rejected nor busy; dropped',
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
    _children_not_allowed(state, element)
    attributes.finish()


def _redirect(state: _State, element: _Element, parent: _Element) -> None:
    attributes = _Attributes(state, element)
    method = _method(state, element, attributes.take("method"), "POST")
    url = _resolve_url(state, element, element_text(element), None)
    _children_not_allowed(state, element, text=True)
    if url is None:
        attributes.dropped_whole()
        return
    out = state.emit(parent, "Callback", element)
    state.mark(element)
    out.set("url", url)
    out.set("method", method)
    attributes.finish()


def _method(state: _State, element: _Element, value: str | None, default: str) -> str:
    if value is None:
        return default
    method = value.strip().upper()
    if method in ("GET", "POST") or has_marker(value):
        return method if not has_marker(value) else value.strip()
    state.report(
        codes.BAD_VALUE,
        Severity.WARNING,
        element,
        f'<{_tag(element)} method="{_short(value)}"> is neither GET nor POST; {default} used',
        attribute="method",
        hint="TwiML methods are GET and POST",
    )
    return default


def _callback_after(
    state: _State,
    element: _Element,
    parent: _Element,
    attributes: _Attributes,
    what: str,
    *,
    defaults_to_document: bool,
) -> None:
    """The ``action`` of a Dial or Record: a ``<Callback>`` after the converted tag.

    Without ``action`` TwiML's ``<Record>`` requests the document's own URL (the base URL);
    ``<Dial>`` goes on with the next verb.
    """
    action = attributes.take("action")
    method = _method(state, element, attributes.take("method"), "POST")
    url: str | None
    if action is None:
        if not defaults_to_document:
            return
        if state.base_url is None:
            state.report(
                codes.RELATIVE_URL,
                Severity.WARNING,
                element,
                f"<{_tag(element)}> without action: TwiML requests the document's own URL "
                f"after {what}, unknown without a base URL; the flow goes on with the next tag",
                hint="pass --base-url (the URL this TwiML is served from) or give an action",
            )
            return
        url = state.base_url
        state.report(
            codes.APPROXIMATED,
            Severity.INFO,
            element,
            f"<{_tag(element)}> without action: TwiML requests the document's own URL after "
            f"{what}; converted as a <Callback> to the base URL {_short(url)}",
            hint="give the verb an action URL to go elsewhere",
        )
    else:
        url = _resolve_url(state, element, action, "action")
        if url is None:
            return
        state.report(
            codes.APPROXIMATED,
            Severity.WARNING,
            element,
            f"<{_tag(element)} action> approximated as a <Callback> after it: OpenTact fetches "
            f"the next document from {_short(url)} but sends none of TwiML's parameters "
            f"about {what}",
            attribute="action",
            hint="read the call's state from the OpenTact API at that URL (tag= names the step)",
        )
    callback = state.emit(parent, "Callback", element, "action")
    callback.set("url", url)
    callback.set("method", method)


def _gather(state: _State, element: _Element, parent: _Element) -> None:
    attributes = _Attributes(state, element)
    out = state.emit(parent, "Gather", element)
    state.mark(element)
    action = attributes.take("action")
    method = attributes.take("method")
    url: str | None = None
    if action is not None:
        url = _resolve_url(state, element, action, "action")
    elif state.base_url is not None:
        url = state.base_url
    else:
        state.report(
            codes.RELATIVE_URL,
            Severity.WARNING,
            element,
            "<Gather> without action: TwiML posts the digits to the document's own URL, "
            "unknown without a base URL; the digits are not sent anywhere",
            hint="pass --base-url (the URL this TwiML is served from) or give an action",
        )
    if url is not None:
        out.set("url", url)
    num_digits = attributes.take("numDigits")
    if num_digits is not None and (has_marker(num_digits) or (_integer(num_digits) or 0) >= 1):
        out.set("numDigits", num_digits.strip())
    else:
        if num_digits is not None:
            state.report(
                codes.BAD_VALUE,
                Severity.WARNING,
                element,
                f'<Gather numDigits="{_short(num_digits)}"> is not a count of at least 1',
                attribute="numDigits",
                hint='write a count such as numDigits="1"',
            )
        out.set("numDigits", str(UNLIMITED_DIGITS))
        state.report(
            codes.APPROXIMATED,
            Severity.INFO,
            element,
            f"<Gather> without numDigits takes any number of digits in TwiML; approximated as "
            f'numDigits="{UNLIMITED_DIGITS}" (the finish key still ends input)',
            hint="write numDigits when the menu expects a known number of keys",
        )
    out.set("attempts", "1")
    timeout = attributes.take("timeout")
    milliseconds = "5000"  # TwiML's default: five seconds
    if timeout is not None:
        milliseconds = (
            _seconds_to_ms(state, element, "timeout", timeout, allow_zero=False) or milliseconds
        )
    out.set("timeout", milliseconds)
    finish = attributes.take("finishOnKey")
    key = "#"  # TwiML's default; OpenTact's is *
    if finish is not None:
        if has_marker(finish) or re.fullmatch(r"[0-9*#]", finish.strip()):
            key = finish.strip()
        else:
            state.report(
                codes.APPROXIMATED,
                Severity.WARNING,
                element,
                f'<Gather finishOnKey="{_short(finish)}">: OpenTact always has one finish key; '
                'approximated as finishOnKey="#"',
                attribute="finishOnKey",
                hint="OpenTact's finishOnKey is one of 0-9, *, #, +",
            )
    out.set("finishOnKey", key)
    speech = attributes.take("input")
    if speech is not None and "speech" in speech.lower():
        state.report(
            codes.APPROXIMATED,
            Severity.WARNING,
            element,
            f'<Gather input="{_short(speech)}">: OpenTact gathers keys (DTMF) only; speech input '
            "is dropped",
            attribute="input",
            hint="ask callers to press keys instead of speaking",
        )
    for name in (
        "speechTimeout",
        "speechModel",
        "hints",
        "language",
        "profanityFilter",
        "enhanced",
    ):
        attributes.drop(name, "OpenTact gathers DTMF only; there are no speech settings")
    attributes.drop(
        "actionOnEmptyResult",
        "OpenTact requests the url after every attempt, also when nothing was typed",
        severity=Severity.INFO,
    )
    for child in element:
        if not isinstance(child.tag, str):
            _carry_over(child, out)
            continue
        handler = _PROMPTS.get(child.tag)
        if handler is None:
            _unknown(state, child, "inside <Gather> (only Say, Play and Pause are prompts)")
            continue
        handler(state, child, out)
    stray_text(state, element)
    if url is not None:
        fetch = _method(state, element, method, "POST")
        where = "action" if action is not None else None
        named = "<Gather action>" if action is not None else "<Gather> without action"
        if out.get("numDigits") == "1":
            del out.attrib["url"]
            _key_menu(state, element, out, url, fetch, key)
            state.report(
                codes.APPROXIMATED,
                Severity.INFO,
                element,
                f"{named} → a <Switch> with a <Case> per key, each a <Callback> to "
                f"{_short(url)} with ?Digits=KEY ({fetch}); nothing is requested when no key "
                "is pressed and the verbs after the Gather run, as in TwiML",
                attribute=where,
                hint="the app reads `Digits` from the query string; TwiML's other request "
                "parameters (From, CallSid, ...) are not sent",
            )
        else:
            state.report(
                codes.APPROXIMATED,
                Severity.INFO,
                element,
                f"{named} → url: OpenTact requests {_short(url)} with GET and the digits as "
                f"`dtmf` (TwiML: {fetch} with `Digits`), also when nothing was typed",
                attribute=where,
                hint="read `dtmf` (and `from`, `tn`, `call`) in the app; answer an empty body "
                "when dtmf is empty so the verbs after the Gather run, as in TwiML",
            )
    attributes.finish()


#: The keys a one-digit menu can receive.
_KEYS = "1234567890*#"


def _key_menu(
    state: _State, element: _Element, out: _Element, url: str, method: str, finish: str
) -> None:
    """One ``<Case>`` per key, each sending the key to ``url`` as TwiML's ``Digits``."""
    switch = state.emit(out, "Switch", element)
    joiner = "&" if "?" in url else "?"
    for key in _KEYS:
        if key == finish:
            continue  # the finish key ends input: TwiML sends nothing
        case = state.emit(switch, "Case", element)
        case.set("dtmf", key)
        callback = state.emit(case, "Callback", element, "action")
        callback.set("url", f"{url}{joiner}Digits={quote(key, safe='*')}")
        callback.set("method", method)
        state.explained.add(callback)
    state.emit(switch, "Default", element)  # no key, or the finish key: the verbs after run


def _dial(state: _State, element: _Element, parent: _Element) -> None:
    attributes = _Attributes(state, element)
    out = etree.Element("Dial")
    state.origins[out] = _Origin(element)
    bare = (element.text or "").strip()
    nouns = [c for c in element if isinstance(c, etree._Element) and isinstance(c.tag, str)]
    if not nouns:
        text = element_text(element).strip()
        if text:
            _to(state, element, text, out)
    elif bare:
        state.report(
            codes.BAD_VALUE,
            Severity.WARNING,
            element,
            f"<Dial> mixes a bare number ({_short(bare)}) with nouns; the number is dropped",
            hint="put the number in a <Number> noun",
        )
    for child in element:
        if not isinstance(child.tag, str):
            _carry_over(child, out, jinja=bool(nouns))
            continue
        if child.tag == "Number":
            _number(state, child, out)
        elif child.tag == "Sip":
            _sip(state, child, out)
        else:
            _unknown(state, child, "inside <Dial>")
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
    dial_hints = {
        "timeout": "OpenTact rings for its own time; there is no ring timeout to set",
        "callerId": "the caller ID comes from the OpenTact number or SIP trunk the call uses",
        "record": "wrap the <Dial> in <Record> to record the conversation",
        "timeLimit": "end the call from the app through the API after the time limit",
        "hangupOnStar": "OpenTact's <Dial> has no key to end the dialled leg",
        "ringTone": "OpenTact plays its own ringback",
        "answerOnBridge": "OpenTact answers the caller before dialling",
        "trim": "recordings are not trimmed",
    }
    for name, hint in dial_hints.items():
        attributes.drop(name, hint)
    _callback_after(
        state, element, parent, attributes, "the dialled call", defaults_to_document=False
    )
    attributes.finish()


def _to(state: _State, element: _Element, text: str, out: _Element) -> None:
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
        f"<{_tag(element)}> {_short(text)} is not a phone number; dropped",
        hint="write digits with an optional leading +, e.g. +14155550100",
    )


_NUMBER_HINTS = {
    "sendDigits": "play the digits after connecting is not supported; dropped",
    "url": "OpenTact runs no whisper document for the called party",
    "method": "OpenTact runs no whisper document for the called party",
    "byoc": "OpenTact routes through the app's SIP trunk",
}


def _number(state: _State, element: _Element, out: _Element) -> None:
    attributes = _Attributes(state, element)
    before = len(out)
    _to(state, element, element_text(element).strip(), out)
    if len(out) > before:
        state.mark(element)
    for name, hint in _NUMBER_HINTS.items():
        attributes.drop(name, hint)
    attributes.finish()


def _sip(state: _State, element: _Element, out: _Element) -> None:
    attributes = _Attributes(state, element)
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
                f"<Sip> URI parameters or headers ({_short(parameters or headers)}) have no "
                "OpenTact equivalent; dropped",
                hint="OpenTact's <Sip> is user@host[:port]",
            )
    else:
        state.report(
            codes.BAD_VALUE,
            Severity.WARNING,
            element,
            f"<Sip> {_short(text) or '(empty)'} is not a SIP address user@host[:port]; dropped",
            hint="write sip:user@host or user@host",
        )
    for name in ("username", "password"):
        attributes.drop(name, "SIP credentials belong to the OpenTact SIP trunk, not the flow")
    for name in ("url", "method"):
        attributes.drop(name, "OpenTact runs no whisper document for the called party")
    attributes.finish()


def _record(state: _State, element: _Element, parent: _Element) -> None:
    attributes = _Attributes(state, element)
    out = state.emit(parent, "Record", element)
    state.mark(element)
    length = attributes.take("maxLength")
    milliseconds = "3600000"  # TwiML's default: one hour
    if length is not None:
        milliseconds = _seconds_to_ms(state, element, "maxLength", length) or milliseconds
    out.set("timeout", milliseconds)
    transcribe = attributes.take("transcribe")
    if transcribe is not None and transcribe.strip().lower() == "true":
        out.set("asr", "true")
    attributes.drop(
        "timeout",
        "OpenTact's Record timeout is the longest recording (from maxLength); it does not "
        "stop at silence",
    )
    attributes.drop("finishOnKey", "OpenTact's <Record> cannot be ended with a key")
    attributes.drop("playBeep", "OpenTact plays no beep; put a short <Play> before <Record>")
    attributes.drop("trim", "recordings are not trimmed")
    attributes.drop("storageUrl", "recordings stay on OpenTact; fetch them through the API")
    attributes.drop("storageUrlMethod", "recordings stay on OpenTact; fetch them through the API")
    _children_not_allowed(state, element)
    _callback_after(state, element, parent, attributes, "the recording", defaults_to_document=True)
    attributes.finish()


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


def _unknown(state: _State, element: _Element, where: str = "") -> None:
    tag = str(element.tag)
    hint = _UNMAPPED_HINTS.get(tag)
    known = hint is not None or tag in _VERBS
    message = (
        f"<{tag}> has no OpenTact equivalent; dropped"
        if known
        else f"<{tag}> is not a TwiML verb callflow knows; dropped"
    )
    if where:
        message = f"<{tag}> {where} has no OpenTact equivalent; dropped"
    state.report(
        codes.DROPPED_VERB,
        Severity.WARNING,
        element,
        message + _contents(element),
        hint=hint or "remove it, or rebuild what it did in the app",
    )
    state.cover(element)


def _contents(element: _Element) -> str:
    inner = sum(1 for c in element.iter() if isinstance(c.tag, str)) - 1
    return f" (with the {inner} element(s) inside it)" if inner > 0 else ""


def _children_not_allowed(state: _State, element: _Element, *, text: bool = False) -> None:
    """Report children of a verb that holds none (and its text, unless ``text`` is used)."""
    for child in element:
        if isinstance(child.tag, str):
            _unknown(state, child, f"inside <{_tag(element)}>")
    if not text:
        stray_text(state, element)


def stray_text(state: _State, element: _Element, *, own: bool = True) -> None:
    """Report text that belongs to no verb: ``element``'s own (with ``own``) and its
    children's tails. TwiML ignores it too, but it usually means a verb went missing."""
    if own and (element.text or "").strip():
        state.report(
            codes.BAD_VALUE,
            Severity.WARNING,
            element,
            f"text {_short(element.text or '')!r} inside <{_tag(element)}> belongs to no verb; "
            "dropped",
            hint="put words in <Say>, URLs in <Play> or <Redirect>",
        )
    for child in element:
        if (child.tail or "").strip():
            verb = isinstance(child.tag, str)
            after = f"<{_tag(child)}>" if verb else "a comment or template tag"
            state.report(
                codes.BAD_VALUE,
                Severity.WARNING,
                child if verb else element,
                f"text {_short(child.tail or '')!r} after {after} belongs to no verb; dropped",
                hint="put words in <Say>, URLs in <Play> or <Redirect>",
            )


_PROMPTS: dict[str, Handler] = {"Say": _say, "Play": _play, "Pause": _pause}

_VERBS: dict[str, Handler] = {
    "Say": _say,
    "Play": _play,
    "Pause": _pause,
    "Gather": _gather,
    "Dial": _dial,
    "Record": _record,
    "Hangup": _hangup,
    "Redirect": _redirect,
    "Reject": _reject,
}


def convert_tree(source: Document, base_url: str | None) -> tuple[_Element, _State]:
    """The OpenTact tree for the TwiML ``source`` and what was reported while building it."""
    state = _State(source, base_url)
    root = source.root
    out = etree.Element("Response")
    if root.tag != "Response":
        state.report(
            codes.NOT_TWIML,
            Severity.ERROR,
            root,
            f"the root element is <{root.tag!s}>; a TwiML document's root is <Response>",
            hint="convert TwiML documents: <Response> with verbs inside",
        )
        state.cover(root)
        return out, state
    state.origins[out] = _Origin(root)
    state.mark(root)
    attributes = _Attributes(state, root)
    attributes.finish()
    for child in root:
        if not isinstance(child.tag, str):
            _carry_over(child, out)
            continue
        handler = _VERBS.get(child.tag)
        if handler is None:
            _unknown(state, child)
            continue
        handler(state, child, out)
    stray_text(state, root)
    return out, state


def reserved_character(text: str, name: str) -> Diagnostic | None:
    """A diagnostic when ``text`` holds the characters template placeholders are made of."""
    found = min((i for i in (text.find(MARK_OPEN), text.find(MARK_CLOSE)) if i >= 0), default=-1)
    if found < 0:
        return None
    line = text.count("\n", 0, found) + 1
    column = found - (text.rfind("\n", 0, found) + 1) + 1
    return Diagnostic(
        codes.BAD_VALUE,
        Severity.ERROR,
        "the private-use character U+E000 or U+E001 is reserved by the TwiML conversion; "
        "not converted",
        SourceLocation(name, line, column),
        hint="remove the character (it prints as nothing)",
    )


def iter_input_parts(source: Document) -> Iterator[tuple[_Element, str | None]]:
    """Every element and attribute of a TwiML document (what the report must account for)."""
    for element in source.root.iter(etree.Element):
        yield element, None
        for name in element.attrib:
            yield element, str(name)


def _carry_over(node: etree._Element, out: etree._Element, *, jinja: bool = True) -> None:
    """A comment, or (with ``jinja``) a Jinja construct kept as a processing instruction,
    copied into the converted element as it stands; other non-elements are dropped."""
    if isinstance(node, etree._Comment):
        out.append(etree.Comment(node.text or ""))
    elif jinja and isinstance(node, etree._ProcessingInstruction) and node.target == "jinja":
        out.append(etree.ProcessingInstruction("jinja", node.text or ""))
