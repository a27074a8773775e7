"""Properties of the TwiML conversion that hold for every document hypothesis can build."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from callflow.check import check_document
from callflow.schema import load_schema
from callflow.twiml import convert_twiml, convert_twiml_template

TAGS = [
    "Say", "Play", "Pause", "Gather", "Dial", "Number", "Sip", "Record", "Hangup", "Redirect",
    "Reject", "Enqueue", "Conference", "Sms", "Message", "Stream", "Connect", "Start", "Queue",
    "Client", "Refer", "Pay", "emphasis", "break", "Unknown",
]  # fmt: skip
ATTRIBUTES = [
    "voice", "language", "loop", "length", "action", "method", "timeout", "numDigits",
    "finishOnKey", "input", "maxLength", "transcribe", "playBeep", "digits", "reason",
    "callerId", "record", "statusCallback", "statusCallbackEvent", "url", "password",
    "username", "speechTimeout", "actionOnEmptyResult", "trim", "other",
]  # fmt: skip
VALUES = [
    "0", "1", "2", "5", "-1", "1.5", "99999999999", "abc", "", " ", "man", "woman", "alice",
    "Polly.Joanna", "Google.en-US-Wavenet-A", "en-US", "english", "GET", "POST", "put", "#",
    "*", "", "12", "speech", "dtmf speech", "true", "false", "/relative", "menu?x=1",
    "https://app.example.com/x", "http://b.example", "ftp://x", "busy", "rejected",
    "+14155550100", "415-555-0100", "sip:a@b.example;transport=tls", "a@b.example:5060",
    "{{ x }}",
]  # fmt: skip

xml_text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
    max_size=12,
)
values = st.one_of(st.sampled_from(VALUES), xml_text)


@st.composite
def elements(draw: st.DrawFn, depth: int = 0) -> etree._Element:
    element = etree.Element(draw(st.sampled_from(TAGS)))
    for name in draw(st.lists(st.sampled_from(ATTRIBUTES), max_size=4, unique=True)):
        element.set(name, draw(values))
    if draw(st.booleans()):
        element.text = draw(values)
    if depth < 2:
        for child in draw(st.lists(elements(depth + 1), max_size=3)):
            element.append(child)
            if draw(st.booleans()):
                child.tail = draw(values)
    return element


@st.composite
def twiml(draw: st.DrawFn) -> bytes:
    root = etree.Element(draw(st.sampled_from(["Response", "Response", "Response", "Other"])))
    for child in draw(st.lists(elements(), max_size=6)):
        root.append(child)
    return bytes(etree.tostring(root, encoding="UTF-8"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(twiml(), st.sampled_from([None, "https://app.example.com/ivr/"]))
def test_any_twiml_converts_to_a_valid_document_or_says_why_not(
    data: bytes, base_url: str | None
) -> None:
    conversion = convert_twiml(data, base_url=base_url, filename="gen.xml")
    assert all(
        d.location.file == "gen.xml" and d.location.line >= 1 for d in conversion.diagnostics
    )
    if conversion.ok:
        assert conversion.document is not None
        assert list(load_schema().iter_diagnostics(conversion.document)) == []
        assert [d for d in check_document(conversion.document) if d.is_error] == []
    else:
        assert any(d.is_error for d in conversion.diagnostics)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(twiml(), st.sampled_from([None, "https://app.example.com/ivr/"]))
def test_every_element_and_attribute_is_converted_or_reported(
    data: bytes, base_url: str | None
) -> None:
    conversion = convert_twiml(data, base_url=base_url, filename="gen.xml")
    assert conversion.unaccounted() == []


def test_a_document_refused_for_a_reserved_character_leaves_nothing_unaccounted() -> None:
    # Found by the property above: the refusal of the whole document is its report.
    data = '<Response><Say voice="\ue000"/></Response>'.encode()
    conversion = convert_twiml(data, filename="gen.xml")
    assert not conversion.ok
    assert [d.code for d in conversion.diagnostics] == ["CF1006"]
    assert conversion.unaccounted() == []


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    twiml(),
    st.lists(
        st.sampled_from(["{{ x }}", "{% if a %}", "{% endif %}", "{# note #}", "{%- raw %}"]),
        max_size=4,
    ),
    st.data(),
)
def test_any_template_converts_or_says_why_not(
    data: bytes, constructs: list[str], drawn: st.DataObject
) -> None:
    text = data.decode("utf-8")
    for construct in constructs:
        at = drawn.draw(st.integers(0, len(text)))
        text = text[:at] + construct + text[at:]
    conversion = convert_twiml_template(text, filename="gen.xml.j2")
    if conversion.ok:
        assert conversion.text is not None
    else:
        assert any(d.is_error for d in conversion.diagnostics)


@settings(max_examples=200, deadline=None)
@given(twiml())
def test_element_paths_from_one_walk_equal_lxmls_getpath(data: bytes) -> None:
    # The converted document's fast path for lint findings' XPaths, held to lxml's.
    # element_paths is private: the fast path is held to lxml here, not reachable publicly.
    from callflow.twiml._state import element_paths

    root = etree.fromstring(data)
    tree = root.getroottree()
    assert element_paths(root) == {element: tree.getpath(element) for element in root.iter()}
