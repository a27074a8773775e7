"""`callflow.parse`: XML back into builder objects, including legacy forms."""

from __future__ import annotations

from pathlib import Path

import pytest

import callflow
from callflow.document import Document
from callflow.dsl import (
    DTMF,
    Callback,
    Comment,
    Default,
    Gather,
    Hangup,
    LegacyCallback,
    Play,
    Response,
    Say,
    UncheckedElement,
    parse,
)
from callflow.errors import BuildError, ValidationError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

LEGACY = """<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <Say text="Attribute form."/>
  <Play url="https://media.example.com/a.mp3"/>
  <Gather dtmf_length="1" dtmf_stop="#" url="https://ivr.example.com/digits">
    <Say>Press 1.</Say>
    <DTMF value="1">
      <Hangup/>
    </DTMF>
    <Default>
      <Say>Nothing?</Say>
    </Default>
  </Gather>
  <Gather callback="https://ivr.example.com/cb" method="post"/>
  <callback>https://ivr.example.com/next</callback>
  <Callback url="https://ivr.example.com/next" method="post"/>
</Response>
"""


def test_parse_is_exported_from_callflow() -> None:
    assert callflow.parse is parse


def test_parse_builds_the_same_objects_the_builder_does() -> None:
    xml = '<Response><Gather numDigits="1" timeout="8000"><Say>Hi</Say></Gather></Response>'
    assert parse(xml) == Response(Gather(Say("Hi"), num_digits=1, timeout=8000))


def test_parse_accepts_bytes_and_documents() -> None:
    xml = b'<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>'
    assert parse(xml) == parse(Document.from_bytes(xml)) == Response(Hangup())


def test_legacy_forms_parse_into_their_builder_classes() -> None:
    flow = parse(LEGACY)
    assert flow == Response(
        Say(text="Attribute form."),
        Play(url="https://media.example.com/a.mp3"),
        Gather(
            Say("Press 1."),
            DTMF(Hangup(), value="1"),
            Default(Say("Nothing?")),
            dtmf_length=1,
            dtmf_stop="#",
            url="https://ivr.example.com/digits",
        ),
        Gather(callback="https://ivr.example.com/cb", method="post"),  # type: ignore[arg-type]
        LegacyCallback("https://ivr.example.com/next"),
        Callback(url="https://ivr.example.com/next", method="post"),  # type: ignore[arg-type]
    )


def test_parse_then_serialise_reproduces_legacy_documents_exactly() -> None:
    assert parse(LEGACY).to_xml(pretty=True) == LEGACY


@pytest.mark.parametrize("name", ["ivr_menu", "voicemail", "call_forwarding"])
def test_the_examples_round_trip_byte_for_byte(name: str) -> None:
    original = (EXAMPLES / f"{name}.xml").read_text("utf-8")
    assert parse(original).to_xml(pretty=True) == original


def test_parsed_nodes_carry_the_xml_line() -> None:
    flow = parse(Document.from_text("<Response>\n  <Say>Hi</Say>\n</Response>", "menu.xml"))
    say = flow.children[0]
    assert (say.location.file, say.location.line) == ("menu.xml", 2)


def test_comments_inside_and_around_the_flow_are_kept() -> None:
    flow = parse("<!-- head --><Response><!-- why --><Hangup/></Response><!-- tail -->")
    assert flow == Response(Comment(" why "), Hangup()).with_comments(" head ", after=[" tail "])


def test_an_invalid_document_raises_validation_error_with_diagnostics() -> None:
    with pytest.raises(ValidationError) as caught:
        parse('<Response><Gather numDigts="1"/></Response>')
    assert [d.code for d in caught.value.diagnostics] == ["CF203"]


def test_not_strict_keeps_unknown_tags_and_attributes_through_the_escape_hatch() -> None:
    xml = (
        '<Response><Say speed="fast">Hi</Say>'
        '<Transfer to="+1555"><Say>x</Say></Transfer></Response>'
    )
    flow = parse(xml, strict=False)
    assert flow == Response(
        Say("Hi", unchecked_attributes={"speed": "fast"}),
        UncheckedElement("Transfer", Say("x"), attributes={"to": "+1555"}),
    )
    assert flow.to_xml().endswith(xml)


def test_not_strict_still_refuses_a_bad_known_value_at_its_line() -> None:
    with pytest.raises(BuildError) as caught:
        parse('<Response>\n<Gather numDigits="zero"/></Response>', strict=False)
    assert caught.value.location is not None and caught.value.location.line == 2
    assert "numDigits='zero'" in caught.value.message


def test_a_root_other_than_response_is_refused() -> None:
    with pytest.raises(BuildError, match="root element is <Say>"):
        parse("<Say>Hi</Say>", strict=False)
