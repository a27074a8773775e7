"""TwiML ``<Gather>`` → OpenTact ``<Gather>`` (a one-key menu becomes a ``<Switch>``).

The conversion reads the Gather's settings in the order a reader meets them (where the
digits go, how many, how long, which key ends input, speech), then its prompts, then says
how the digits reach the app: a ``<Switch>`` of ``<Callback>`` per key for a one-key menu,
else the Gather's own ``url``.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from callflow.diagnostics import Severity
from callflow.twiml import _codes as codes
from callflow.twiml._report import convert_children, stray_text
from callflow.twiml._state import UNLIMITED_DIGITS, Element, Handler, State
from callflow.twiml._values import (
    Attributes,
    has_marker,
    http_method,
    integer,
    resolve_url,
    seconds_to_ms,
    short,
)
from callflow.twiml._verbs import pause, play, say

#: What a TwiML ``<Gather>`` may hold: its prompts.
_PROMPTS: dict[str, Handler] = {"Say": say, "Play": play, "Pause": pause}

#: TwiML's speech settings: OpenTact gathers keys only.
_SPEECH_SETTINGS = (
    "speechTimeout",
    "speechModel",
    "hints",
    "language",
    "profanityFilter",
    "enhanced",
)

#: The keys a one-digit menu can receive.
_KEYS = "1234567890*#"


def gather(state: State, element: Element, parent: Element) -> None:
    attributes = Attributes(state, element)
    out = state.emit(parent, "Gather", element)
    state.mark(element)
    action = attributes.take("action")
    method = attributes.take("method")
    url = _digits_url(state, element, action)
    if url is not None:
        out.set("url", url)
    out.set("numDigits", _num_digits(state, element, attributes.take("numDigits")))
    out.set("attempts", "1")
    out.set("timeout", _timeout(state, element, attributes.take("timeout")))
    key = _finish_key(state, element, attributes.take("finishOnKey"))
    out.set("finishOnKey", key)
    _speech(state, element, attributes)
    convert_children(
        state, element, out, _PROMPTS, "inside <Gather> (only Say, Play and Pause are prompts)"
    )
    stray_text(state, element)
    if url is not None:
        fetch = http_method(state, element, method, "POST")
        _send_digits(state, element, out, url, fetch, key, action=action is not None)
    attributes.finish()


def _digits_url(state: State, element: Element, action: str | None) -> str | None:
    """Where the digits go: the action, else the document's own URL (the base URL)."""
    if action is not None:
        return resolve_url(state, element, action, "action")
    if state.base_url is not None:
        return state.base_url
    state.report(
        codes.RELATIVE_URL,
        Severity.WARNING,
        element,
        "<Gather> without action: TwiML posts the digits to the document's own URL, "
        "unknown without a base URL; the digits are not sent anywhere",
        hint="pass --base-url (the URL this TwiML is served from) or give an action",
    )
    return None


def _num_digits(state: State, element: Element, num_digits: str | None) -> str:
    if num_digits is not None and (has_marker(num_digits) or (integer(num_digits) or 0) >= 1):
        return num_digits.strip()
    if num_digits is not None:
        state.report(
            codes.BAD_VALUE,
            Severity.WARNING,
            element,
            f'<Gather numDigits="{short(num_digits)}"> is not a count of at least 1',
            attribute="numDigits",
            hint='write a count such as numDigits="1"',
        )
    state.report(
        codes.APPROXIMATED,
        Severity.INFO,
        element,
        f"<Gather> without numDigits takes any number of digits in TwiML; approximated as "
        f'numDigits="{UNLIMITED_DIGITS}" (the finish key still ends input)',
        hint="write numDigits when the menu expects a known number of keys",
    )
    return str(UNLIMITED_DIGITS)


def _timeout(state: State, element: Element, timeout: str | None) -> str:
    milliseconds = "5000"  # TwiML's default: five seconds
    if timeout is None:
        return milliseconds
    return seconds_to_ms(state, element, "timeout", timeout, allow_zero=False) or milliseconds


def _finish_key(state: State, element: Element, finish: str | None) -> str:
    if finish is None:
        return "#"  # TwiML's default; OpenTact's is *
    if has_marker(finish) or re.fullmatch(r"[0-9*#]", finish.strip()):
        return finish.strip()
    state.report(
        codes.APPROXIMATED,
        Severity.WARNING,
        element,
        f'<Gather finishOnKey="{short(finish)}">: OpenTact always has one finish key; '
        'approximated as finishOnKey="#"',
        attribute="finishOnKey",
        hint="OpenTact's finishOnKey is one of 0-9, *, #, +",
    )
    return "#"


def _speech(state: State, element: Element, attributes: Attributes) -> None:
    speech = attributes.take("input")
    if speech is not None and "speech" in speech.lower():
        state.report(
            codes.APPROXIMATED,
            Severity.WARNING,
            element,
            f'<Gather input="{short(speech)}">: OpenTact gathers keys (DTMF) only; speech input '
            "is dropped",
            attribute="input",
            hint="ask callers to press keys instead of speaking",
        )
    for name in _SPEECH_SETTINGS:
        attributes.drop(name, "OpenTact gathers DTMF only; there are no speech settings")
    attributes.drop(
        "actionOnEmptyResult",
        "OpenTact requests the url after every attempt, also when nothing was typed",
        severity=Severity.INFO,
    )


def _send_digits(
    state: State, element: Element, out: Element, url: str, fetch: str, key: str, *, action: bool
) -> None:
    """How the digits reach the app: a menu of Callbacks for one key, else the Gather's url."""
    where = "action" if action else None
    named = "<Gather action>" if action else "<Gather> without action"
    if out.get("numDigits") == "1":
        del out.attrib["url"]
        _key_menu(state, element, out, url, fetch, key)
        state.report(
            codes.APPROXIMATED,
            Severity.INFO,
            element,
            f"{named} → a <Switch> with a <Case> per key, each a <Callback> to "
            f"{short(url)} with ?Digits=KEY ({fetch}); nothing is requested when no key "
            "is pressed and the verbs after the Gather run, as in TwiML",
            attribute=where,
            hint="the app reads `Digits` from the query string; TwiML's other request "
            "parameters (From, CallSid, ...) are not sent",
        )
        return
    state.report(
        codes.APPROXIMATED,
        Severity.INFO,
        element,
        f"{named} → url: OpenTact requests {short(url)} with GET and the digits as "
        f"`dtmf` (TwiML: {fetch} with `Digits`), also when nothing was typed",
        attribute=where,
        hint="read `dtmf` (and `from`, `tn`, `call`) in the app; answer an empty body "
        "when dtmf is empty so the verbs after the Gather run, as in TwiML",
    )


def _key_menu(
    state: State, element: Element, out: Element, url: str, method: str, finish: str
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
