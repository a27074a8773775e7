"""Reading TwiML values: attributes still to map, durations, URLs, counts and methods."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from lxml import etree

from callflow.diagnostics import Diagnostic, Severity
from callflow.sourcemap import SourceLocation
from callflow.twiml import _codes as codes
from callflow.twiml._state import FOREVER_LOOP, MARK_CLOSE, MARK_OPEN, MARKER, Element, State


def tag_name(element: Element) -> str:
    return str(element.tag)


def has_marker(value: str | None) -> bool:
    return value is not None and MARK_OPEN in value


def element_text(element: Element) -> str:
    """An element's text with its template placeholders (processing instructions) inline."""
    parts = [element.text or ""]
    for child in element:
        if isinstance(child, etree._ProcessingInstruction) and child.target == "jinja":
            parts.append(f"{MARK_OPEN}{(child.text or '').strip()}{MARK_CLOSE}")
        parts.append(child.tail or "")
    return "".join(parts)


def integer(value: str) -> int | None:
    value = value.strip()
    if not re.fullmatch(r"[0-9]{1,9}", value):
        return None
    return int(value)


def decimal(value: str) -> float | None:
    value = value.strip()
    if not re.fullmatch(r"[0-9]{1,7}(\.[0-9]{1,3})?", value):
        return None
    return float(value)


def short(value: str, limit: int = 40) -> str:
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


#: Attributes whose values the report never quotes.
_SECRETS = frozenset({"password"})


class Attributes:
    """The attributes of one TwiML element still to map; what is left gets reported."""

    def __init__(self, state: State, element: Element) -> None:
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
        shown = "…" if name.lower() in _SECRETS else short(value)
        self.state.report(
            codes.DROPPED_ATTRIBUTE,
            severity,
            self.element,
            f'<{tag_name(self.element)} {name}="{shown}"> has no OpenTact equivalent; dropped',
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


#: Name prefix -> the family of TwiML attributes it starts (``statusCallbackEvent``, ``amdX``).
_FAMILIES = (
    ("statusCallback", "statusCallback"),
    ("recordingStatusCallback", "recordingStatusCallback"),
    ("transcribeCallback", "transcribeCallback"),
    ("partialResultCallback", "partialResultCallback"),
    ("amd", "machineDetection"),
    ("machineDetection", "machineDetection"),
)


def _attribute_family(name: str) -> str:
    return next((family for prefix, family in _FAMILIES if name.startswith(prefix)), name)


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


def seconds_to_ms(
    state: State, element: Element, attribute: str, value: str, *, allow_zero: bool = True
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
            f"<{tag_name(element)} {attribute}> mixes text and Jinja; its seconds cannot be "
            "converted to milliseconds; dropped",
            attribute=attribute,
            hint=f'write {attribute}="{{{{ seconds }}}}" with one expression',
        )
        return None
    number = decimal(value)
    if number is None or (number == 0 and not allow_zero):
        state.report(
            codes.BAD_VALUE,
            Severity.WARNING,
            element,
            f'<{tag_name(element)} {attribute}="{short(value)}"> is not a number of seconds; '
            "dropped",
            attribute=attribute,
            hint="TwiML durations are whole seconds, e.g. 5",
        )
        return None
    return str(round(number * 1000))


def resolve_url(state: State, element: Element, value: str, attribute: str | None) -> str | None:
    """An absolute http(s) URL for ``value``, or None (reported) when there is none."""
    value = value.strip()
    if has_marker(value):
        return value
    where = f"<{tag_name(element)} {attribute}>" if attribute else f"<{tag_name(element)}>"
    scheme = urlsplit(value).scheme.lower() if value else ""
    if scheme in ("http", "https") and re.fullmatch(r"https?://\S+", value, re.IGNORECASE):
        return value
    if not value or scheme or re.search(r"\s", value):
        state.report(
            codes.BAD_VALUE,
            Severity.ERROR,
            element,
            f"{where} {short(value) or 'is empty'}: not an http(s) URL; dropped",
            attribute=attribute,
            hint="OpenTact fetches http:// and https:// URLs only",
        )
        return None
    if state.base_url is None:
        state.report(
            codes.RELATIVE_URL,
            Severity.ERROR,
            element,
            f"{where} {short(value)} is a relative URL and no base URL was given; dropped",
            attribute=attribute,
            hint="pass --base-url https://your.app/ (the URL this TwiML is served from)",
        )
        return None
    return urljoin(state.base_url, value)


def loop(state: State, element: Element, value: str | None, out: Element) -> None:
    if value is None:
        return
    if has_marker(value):
        out.set("loop", value)
        return
    count = integer(value)
    if count is None:
        state.report(
            codes.BAD_VALUE,
            Severity.WARNING,
            element,
            f'<{tag_name(element)} loop="{short(value)}"> is not a whole number; dropped',
            attribute="loop",
            hint='write a count such as loop="2"',
        )
        return
    if count == 0:
        state.report(
            codes.APPROXIMATED,
            Severity.WARNING,
            element,
            f'<{tag_name(element)} loop="0"> repeats for ever in TwiML; approximated as '
            f'loop="{FOREVER_LOOP}"',
            attribute="loop",
            hint="OpenTact's loop is a count of at least 1; write the count you need",
        )
        count = FOREVER_LOOP
    if count != 1:
        out.set("loop", str(count))


def http_method(state: State, element: Element, value: str | None, default: str) -> str:
    if value is None:
        return default
    method = value.strip().upper()
    if method in ("GET", "POST") or has_marker(value):
        return method if not has_marker(value) else value.strip()
    state.report(
        codes.BAD_VALUE,
        Severity.WARNING,
        element,
        f'<{tag_name(element)} method="{short(value)}"> is neither GET nor POST; {default} used',
        attribute="method",
        hint="TwiML methods are GET and POST",
    )
    return default


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
