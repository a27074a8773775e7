"""Properties over generated flows and callers: every call ends, within limits, located."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from callflow.document import Document
from callflow.schema import load_schema
from callflow.simulate import Caller, Limits, Transcript, simulate
from callflow.testing import call_flows, caller_scripts, flow_texts, url_replies

LIMITS = Limits(max_steps=400, max_fetches=8)


@settings(max_examples=60, deadline=None)
@given(call_flows(max_depth=3))
def test_generated_flows_are_valid_call_xml(document: Document) -> None:
    assert load_schema().is_valid(document), document.text


@settings(max_examples=30, deadline=None)
@given(flow_texts())
def test_generated_flow_texts_put_each_element_on_its_own_line(text: str) -> None:
    document = Document.from_text(text)
    lines = [element.sourceline for element in document.iter_elements()]
    assert len(lines) == len(set(lines))


def _check_ended_within_limits(transcript: Transcript) -> None:
    codes = {d.code for d in transcript.diagnostics}
    assert transcript.events[-1].kind == "end"
    assert [e.kind for e in transcript].count("end") == 1
    assert transcript.steps <= LIMITS.max_steps + 1
    assert len(transcript.of("callback")) <= LIMITS.max_fetches
    assert (transcript.ended_by == "limit") == bool(codes & {"CF905", "CF906", "CF907"})
    clock = [e.at_ms for e in transcript]
    assert clock == sorted(clock)
    assert transcript.duration_ms >= clock[-1]


def _check_every_event_is_located(transcript: Transcript) -> None:
    texts = {d.name: d.text.splitlines() for d in transcript.documents}
    for event in transcript:
        assert event.location.file in texts, event
        assert 1 <= event.location.line <= len(texts[event.location.file]), event
        assert event.xpath is not None and event.xpath.startswith("/Response")


@settings(max_examples=80, deadline=None)
@given(call_flows(), caller_scripts(), url_replies())
def test_every_simulated_call_ends_within_the_limits_and_every_event_is_located(
    document: Document, caller: Caller, replies: dict[str, str]
) -> None:
    transcript = simulate(document, caller, app=replies, limits=LIMITS)
    _check_ended_within_limits(transcript)
    _check_every_event_is_located(transcript)


@settings(max_examples=40, deadline=None)
@given(call_flows(), st.lists(st.text(alphabet="0123456789*#", max_size=5), max_size=5))
def test_gathered_digits_respect_num_digits_and_never_hold_the_finish_key(
    document: Document, presses: list[str]
) -> None:
    transcript = simulate(document, Caller(presses=presses), app={}, limits=LIMITS)
    elements = {document.xpath_of(el): el for el in document.iter_elements()}
    for gather in transcript.of("gather"):
        if gather.location.file != document.name:
            continue  # a gather in a fetched document
        element = elements[gather.xpath or ""]
        finish = element.get("finishOnKey", "*")
        assert len(gather["digits"]) <= int(element.get("numDigits", "1"))
        assert finish not in gather["digits"]
