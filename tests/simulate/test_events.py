"""Events: a typed payload per kind, read as the plain data of the JSON transcript."""

from __future__ import annotations

import json
import re

import callflow.simulate
from callflow.document import Document
from callflow.simulate import (
    Caller,
    Dialled,
    Event,
    Gathered,
    Payload,
    Ring,
    Said,
    Voice,
    simulate,
)

MENU = """<Response>
  <Say lang="en-GB" loop="2">Press one.</Say>
  <Gather numDigits="1"><Switch><Case dtmf="1"><Dial><To>+15550100001</To>
    <To>+15550100002</To></Dial></Case></Switch></Gather>
</Response>"""


def run_menu() -> callflow.simulate.Transcript:
    return simulate(
        Document.from_text(MENU, "menu.xml"),
        Caller(presses=["1"], dial={"+15550100001": "busy"}),
    )


def test_a_say_event_carries_its_text_and_voice_typed() -> None:
    said = run_menu()[0].payload
    assert isinstance(said, Said)
    assert (said.text, said.loop, said.ms) == ("Press one.", 2, 2 * 2 * 400)
    assert said.voice == Voice("Standard", "FEMALE", "en-GB", None)


def test_the_payload_reads_as_the_data_and_the_json_of_before() -> None:
    event = run_menu()[0]
    assert event["voice"]["lang"] == "en-GB"
    assert event.get("loop") == 2 and event.get("missing", "none") == "none"
    assert event.data == {
        "text": "Press one.",
        "voice": {"type": "Standard", "gender": "FEMALE", "lang": "en-GB", "code": None},
        "loop": 2,
        "ms": 1600,
    }
    assert json.loads(json.dumps(event.to_dict()))["voice"] == event.data["voice"]


def test_a_dial_event_holds_each_ring_typed_and_lists_them_in_its_data() -> None:
    transcript = run_menu()
    [dial] = transcript.of("dial")
    assert isinstance(dial.payload, Dialled)
    assert dial.payload.targets == (
        Ring("+15550100001", "busy"),
        Ring("+15550100002", "answered"),
    )
    assert dial["targets"] == [
        {"target": "+15550100001", "outcome": "busy"},
        {"target": "+15550100002", "outcome": "answered"},
    ]
    assert dial.summary() == ("+15550100001: busy, +15550100002: answered → +15550100002 answered")
    assert transcript.dialled == ["+15550100001", "+15550100002"]


def test_each_kind_says_itself_in_a_few_words() -> None:
    transcript = run_menu()
    assert [event.summary() for event in transcript][:2] == [
        "'Press one.' ×2 [en-GB, FEMALE, Standard]",
        "attempt 1/1: 1 → case '1'",
    ]
    assert isinstance(transcript[1].payload, Gathered)


def test_the_kinds_the_event_docstring_lists_are_the_payloads_kinds() -> None:
    listed = (Event.__doc__ or "").split("is one of", 1)[1].split(";")[0]
    documented = set(re.findall(r"``([a-z-]+)``", listed))
    payloads = {
        value.kind
        for value in vars(callflow.simulate).values()
        if isinstance(value, type) and issubclass(value, Payload) and value is not Payload
    }
    assert documented == payloads
