"""Properties over generated flows and callers: every call ends, within limits, located."""

from __future__ import annotations

import contextlib

from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample
from lxml import etree

from callflow.document import Document
from callflow.schema import load_schema
from callflow.simulate import (
    Answered,
    Caller,
    Compared,
    Dialled,
    Ended,
    ErrorRuns,
    Gathered,
    HungUp,
    Limits,
    Paused,
    Payload,
    Played,
    Recorded,
    RecordingEnded,
    RecordStarted,
    RecordStopped,
    RecordWaited,
    Requested,
    Said,
    Transcript,
    simulate,
)
from callflow.testing import call_flows, caller_scripts, flow_texts, url_replies
from callflow.vocabulary import load_vocabulary

LIMITS = Limits(max_steps=400, max_fetches=8)

#: The JSON transcript's fields of each kind of event, in order (between ``event``/``at_ms``
#: and the location): the shape the typed payloads keep.
JSON_FIELDS: dict[type[Payload], list[str]] = {
    Answered: ["ms", "tag"],
    Said: ["text", "voice", "loop", "ms"],
    Played: ["url", "record", "loop", "leg", "failed", "ms"],
    Paused: ["ms"],
    HungUp: ["by", "tag"],
    Recorded: ["tag", "asr", "timeout_ms", "wraps", "ms"],
    RecordStarted: ["tag"],
    RecordStopped: ["ms"],
    RecordingEnded: ["tag", "ms"],
    RecordWaited: ["ms"],
    Gathered: ["digits", "attempt", "attempts", "timed_out", "branch", "match"],
    Dialled: ["targets", "target", "outcome", "ms"],
    Requested: ["url", "method", "of", "status", "reply", "error"],
    Compared: ["field", "value", "actual", "matched"],
    ErrorRuns: ["reason", "of"],
    Ended: ["reason"],
}
PAYLOAD_OF_KIND: dict[str, set[type[Payload]]] = {}
for _payload in JSON_FIELDS:
    PAYLOAD_OF_KIND.setdefault(_payload.kind, set()).add(_payload)


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


def test_the_generated_flows_use_every_tag_of_the_schema() -> None:
    wanted = set(load_vocabulary().elements)
    seen: set[str] = set()

    def all_seen(text: str) -> bool:
        seen.update(str(element.tag) for element in etree.fromstring(text).iter())
        return wanted <= seen

    # Generation only: the search ends at the first flow that completes the set.
    generate_only = settings(max_examples=2_000, phases=[Phase.generate], database=None)
    with contextlib.suppress(NoSuchExample):  # then `seen` tells which tags never came
        find(flow_texts(max_depth=3), all_seen, settings=generate_only)
    assert sorted(wanted - seen) == []


@settings(max_examples=60, deadline=None)
@given(call_flows(max_depth=3), caller_scripts(), url_replies())
def test_every_event_has_the_typed_payload_of_its_kind_and_reads_as_its_data(
    document: Document, caller: Caller, replies: dict[str, str]
) -> None:
    transcript = simulate(document, caller, app=replies, limits=LIMITS)
    for event in transcript:
        assert type(event.payload) in PAYLOAD_OF_KIND[event.kind], event
        assert event.data == event.payload.as_data()
        assert list(event.to_dict())[2:-4] == JSON_FIELDS[type(event.payload)]
        assert event.summary() == event.payload.summary()
