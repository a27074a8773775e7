"""Plain steps: clock, voices, Call matching, recording, media failures, hangups, limits."""

from __future__ import annotations

import json

import pytest

from callflow.document import Document
from callflow.errors import SimulationError, ValidationError
from callflow.simulate import Caller, CallInfo, Limits, simulate
from callflow.sourcemap import SourceLocation, SourceMap


def doc(text: str, name: str = "flow.xml") -> Document:
    return Document.from_text(text, name)


def test_clock_follows_answer_delay_speech_estimate_pause_and_play() -> None:
    transcript = simulate(
        doc(
            """<Response>
  <Answer delay="250"/>
  <Say loop="2">Three words here</Say>
  <Pause length="1500"/>
  <Pause/>
  <Play>https://media.example.com/a.wav</Play>
  <Play loop="2">https://media.example.com/b.wav</Play>
</Response>"""
        ),
        Caller(media_ms={"https://media.example.com/b.wav": 1000}),
    )
    assert [e.at_ms for e in transcript] == [0, 250, 2650, 4150, 5150, 8150, 10150]
    assert transcript.duration_ms == 10_150
    assert transcript.ended_by == "document-end"


def test_say_event_carries_text_and_voice_settings() -> None:
    transcript = simulate(
        doc('<Response><Say lang="es" gender="MALE" type="WaveNet" code="x1">Hola</Say></Response>')
    )
    say = transcript.of("say")[0]
    assert say["text"] == "Hola"
    assert say["voice"] == {"type": "WaveNet", "gender": "MALE", "lang": "es", "code": "x1"}


def test_say_text_attribute_is_spoken_and_whitespace_is_collapsed() -> None:
    transcript = simulate(doc('<Response><Say text="Hi  there"/><Say>a\n   b</Say></Response>'))
    assert transcript.spoken == ["Hi there", "a b"]


def test_hangup_ends_the_call_and_nothing_after_it_runs() -> None:
    transcript = simulate(doc('<Response><Hangup tag="bye"/><Say>Never.</Say></Response>'))
    assert transcript.spoken == []
    assert [e.kind for e in transcript] == ["hangup", "end"]
    assert transcript.of("hangup")[0]["tag"] == "bye"
    assert transcript.hung_up


def test_end_of_document_ends_the_call() -> None:
    transcript = simulate(doc("<Response><Say>Hi.</Say></Response>"))
    assert transcript[-1].kind == "end"
    assert transcript[-1]["reason"] == "document-end"
    assert not transcript.hung_up


@pytest.mark.parametrize(
    ("field", "value", "runs"),
    [
        ("from", "+15551112222", True),
        ("from", "+19999999999", False),
        ("to", " +15553334444 ", True),
    ],
)
def test_call_block_runs_only_when_the_call_field_matches(
    field: str, value: str, runs: bool
) -> None:
    text = f'<Response><Call field="{field}" value="{value}"><Say>Matched.</Say></Call></Response>'
    call = CallInfo(from_number="+15551112222", to_number="+15553334444")
    transcript = simulate(doc(text), call=call)
    assert transcript.said("Matched") is runs
    assert transcript.of("call")[0]["matched"] is runs


def test_record_lasts_the_callers_message_capped_by_its_timeout() -> None:
    text = '<Response><Record tag="vm" timeout="3000"/><Record tag="long"/></Response>'
    transcript = simulate(doc(text), Caller(message_ms=4000))
    assert [r["ms"] for r in transcript.of("record")] == [3000, 4000]


def test_record_wrapping_tags_records_while_they_run() -> None:
    text = '<Response><Record tag="call"><Pause length="700"/></Record></Response>'
    transcript = simulate(doc(text))
    assert [e.kind for e in transcript] == ["record", "pause", "record-stop", "end"]
    assert transcript.of("record-stop")[0]["ms"] == 700


def test_record_start_stop_wait() -> None:
    text = "<Response><RecordStart/><RecordWait/><RecordStop/><RecordStop/></Response>"
    transcript = simulate(doc(text), Caller(message_ms=2000))
    assert [e.get("ms") for e in transcript.of("record-stop")] == [2000, 0]
    assert [d.code for d in transcript.diagnostics] == ["CF911"]


def test_playing_back_a_recording_needs_the_recording_first() -> None:
    ok = simulate(doc('<Response><Record tag="vm"/><Play record="vm"/></Response>'))
    assert not ok.of("play")[0]["failed"]
    missing = simulate(doc('<Response><Play record="vm"/></Response>'))
    assert missing.of("play")[0]["failed"]
    assert [d.code for d in missing.diagnostics] == ["CF908"]


def test_failed_media_without_an_error_block_is_skipped_with_an_error_diagnostic() -> None:
    text = "<Response><Play>https://m.example.com/x.wav</Play><Say>Next.</Say></Response>"
    transcript = simulate(doc(text), Caller(failing_media={"https://m.example.com/x.wav"}))
    assert transcript.of("play")[0]["failed"]
    assert transcript.spoken == ["Next."]
    (problem,) = transcript.diagnostics
    assert (problem.code, problem.severity.value) == ("CF908", "error")
    assert problem.location == SourceLocation("flow.xml", 1, 12)  # the tag name


def test_failed_media_runs_the_documents_error_and_the_document_ends() -> None:
    text = """<Response>
  <Play>https://m.example.com/x.wav</Play>
  <Say>Skipped.</Say>
  <Error><Say>Media problem.</Say></Error>
  <Say>Also skipped.</Say>
</Response>"""
    transcript = simulate(doc(text), Caller(failing_media=["https://m.example.com/x.wav"]))
    assert transcript.spoken == ["Media problem."]
    assert transcript.of("error")[0]["of"] == "Response"
    assert transcript.diagnostics[0].severity.value == "warning"


def test_the_documents_error_block_is_not_run_as_a_step() -> None:
    text = "<Response><Say>A.</Say><Error><Say>E.</Say></Error><Say>B.</Say></Response>"
    assert simulate(doc(text)).spoken == ["A.", "B."]


def test_caller_hangs_up_before_a_given_step() -> None:
    text = "<Response><Say>One.</Say><Say>Two.</Say><Say>Three.</Say></Response>"
    transcript = simulate(doc(text), Caller(hang_up_at_step=3))
    assert transcript.spoken == ["One.", "Two."]
    assert transcript.ended_by == "caller"


def test_caller_hangs_up_at_a_time_cutting_the_step_short() -> None:
    text = '<Response><Pause length="10000"/><Say>Late.</Say></Response>'
    transcript = simulate(doc(text), Caller(hang_up_at_ms=4000))
    assert transcript.ended_by == "caller"
    assert transcript.of("hangup")[0].at_ms == 4000
    assert transcript.duration_ms == 4000


def test_step_limit_stops_a_long_flow_with_a_diagnostic() -> None:
    text = "<Response>" + '<Pause length="0"/>' * 50 + "</Response>"
    transcript = simulate(doc(text), limits=Limits(max_steps=10))
    assert transcript.ended_by == "limit"
    assert transcript.steps == 11
    assert [d.code for d in transcript.diagnostics] == ["CF906"]


def test_call_length_limit_stops_the_call() -> None:
    text = '<Response><Say loop="1000000000">Forever</Say><Say>Never.</Say></Response>'
    transcript = simulate(doc(text))
    assert transcript.ended_by == "limit"
    assert [d.code for d in transcript.diagnostics] == ["CF907"]


def test_unused_caller_entries_are_reported() -> None:
    transcript = simulate(doc("<Response><Say>Hi.</Say></Response>"), Caller(presses=["1", "2"]))
    (note,) = transcript.diagnostics
    assert note.code == "CF910" and note.severity.value == "info"
    assert "'1', '2'" in note.message


def test_unknown_tags_are_skipped_with_a_warning() -> None:
    transcript = simulate(doc("<Response><Bogus/><Say>Hi.</Say></Response>"))
    assert transcript.spoken == ["Hi."]
    assert [d.code for d in transcript.diagnostics] == ["CF909"]


def test_unreadable_numbers_fall_back_to_defaults_with_a_warning() -> None:
    transcript = simulate(doc('<Response><Pause length="soon"/></Response>'))
    assert transcript.of("pause")[0]["ms"] == 1000
    assert [d.code for d in transcript.diagnostics] == ["CF912"]


def test_bad_key_presses_are_refused_naming_the_key() -> None:
    with pytest.raises(SimulationError, match="'x' is not a phone key"):
        Caller(presses=["12x"])


# -- sources and locations -------------------------------------------------------------------


def test_events_carry_the_authors_location_through_the_source_map() -> None:
    source_map = SourceMap(
        "ivr.xml.j2",
        identity=False,
        lines={2: SourceLocation("ivr.xml.j2", 14, chain=("in macro `greet`",))},
        elements={"/Response/Hangup": SourceLocation("flows/build.py", 30)},
    )
    document = Document.from_text(
        "<Response>\n<Say>Hi.</Say>\n<Hangup/>\n</Response>", "ivr.xml", source_map=source_map
    )
    say, hangup, _end = simulate(document)
    assert say.location == SourceLocation("ivr.xml.j2", 14, chain=("in macro `greet`",))
    assert hangup.location == SourceLocation("flows/build.py", 30)
    assert say.to_dict()["chain"] == ["in macro `greet`"]


def test_a_path_source_is_loaded_through_the_source_loaders(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "hello.xml"
    path.write_text("<Response>\n  <Say>Hello.</Say>\n</Response>\n", encoding="utf-8")
    event = simulate(path)[0]
    assert (event.location.file, event.location.line) == (str(path), 2)


def test_an_unreadable_source_raises_validation_error_with_diagnostics(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "broken.xml"
    path.write_text("<Response><Say>", encoding="utf-8")
    with pytest.raises(ValidationError) as raised:
        simulate(path)
    assert raised.value.diagnostics[0].code == "CF101"


def test_xml_text_is_accepted_as_a_source() -> None:
    assert simulate("<Response><Say>Text.</Say></Response>").spoken == ["Text."]


def test_transcript_is_json_serialisable_with_event_data_and_location() -> None:
    transcript = simulate(doc('<Response>\n<Say>Hi.</Say>\n<Hangup tag="x"/>\n</Response>'))
    events = json.loads(transcript.to_json())
    assert events[0]["event"] == "say"
    assert events[0]["text"] == "Hi."
    assert (events[0]["file"], events[0]["line"]) == ("flow.xml", 2)
    assert events[1]["event"] == "hangup" and events[1]["tag"] == "x"


def test_printed_transcript_shows_clock_kind_details_and_location() -> None:
    transcript = simulate(doc("<Response>\n<Say>Hi.</Say>\n</Response>"))
    first = transcript.render().splitlines()[0]
    assert first.split() == [
        "0.00s",
        "say",
        "'Hi.'",
        "[en-US,",
        "FEMALE,",
        "Standard]",
        "(flow.xml:2:2)",
    ]
