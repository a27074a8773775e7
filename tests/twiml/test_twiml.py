"""`convert_twiml`: what each TwiML verb becomes, and the located report of what changed."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from lxml import etree

from callflow import InputError, TwimlConversion, convert_twiml
from callflow.check import check_document
from callflow.simulate import Caller, simulate

BASE = "https://app.example.com/ivr/"


def convert(body: str, base_url: str | None = BASE) -> TwimlConversion:
    return convert_twiml(f"<Response>\n{body}\n</Response>", base_url=base_url, filename="in.xml")


def only(conversion: TwimlConversion, xpath: str) -> etree._Element:
    assert conversion.document is not None, [str(d) for d in conversion.diagnostics]
    found = conversion.document.root.xpath(xpath)
    assert isinstance(found, list) and len(found) == 1, conversion.text
    element = found[0]
    assert isinstance(element, etree._Element)
    return element


def codes_at(conversion: TwimlConversion, line: int) -> list[str]:
    return [d.code for d in conversion.diagnostics if d.location.line == line]


# ------------------------------------------------------------------- Say, Play, Pause


def test_say_voice_language_and_loop_become_gender_lang_and_loop() -> None:
    say = only(convert('<Say voice="man" language="en-GB" loop="3">Hi</Say>'), "/Response/Say")
    assert dict(say.attrib) == {"gender": "MALE", "lang": "en-GB", "loop": "3"}
    assert say.text == "Hi"


def test_a_voice_opentact_lacks_is_reported_at_its_attribute() -> None:
    conversion = convert('<Say voice="Polly.Joanna">Hi</Say>')
    (problem,) = conversion.diagnostics
    assert (problem.code, problem.location.line, problem.location.column) == ("CF1002", 2, 6)
    assert "dropped" in problem.message and problem.hint


def test_loop_zero_is_approximated_and_reported() -> None:
    conversion = convert('<Play loop="0">https://cdn.example.com/a.mp3</Play>')
    assert only(conversion, "/Response/Play").get("loop") == "20"
    assert codes_at(conversion, 2) == ["CF1003"]
    assert "approximated" in conversion.diagnostics[0].message


def test_play_digits_is_reported_as_dropped() -> None:
    conversion = convert('<Play digits="123">https://cdn.example.com/a.mp3</Play>')
    only(conversion, "/Response/Play")
    assert codes_at(conversion, 2) == ["CF1002"]


def test_pause_seconds_become_milliseconds() -> None:
    conversion = convert('<Pause length="3"/><Pause/>')
    lengths = [p.get("length") for p in conversion.document.root] if conversion.document else []
    assert lengths == ["3000", "1000"]
    assert conversion.diagnostics == []


# ------------------------------------------------------------------- Gather


def test_gather_maps_action_timeout_digits_and_keeps_its_prompts() -> None:
    conversion = convert(
        '<Gather action="menu" timeout="8" numDigits="2" finishOnKey="*">'
        '<Say>Press</Say><Play>a.mp3</Play><Pause length="1"/></Gather>'
    )
    gather = only(conversion, "/Response/Gather")
    assert dict(gather.attrib) == {
        "url": "https://app.example.com/ivr/menu",
        "numDigits": "2",
        "attempts": "1",
        "timeout": "8000",
        "finishOnKey": "*",
    }
    assert [child.tag for child in gather] == ["Say", "Play", "Pause"]
    assert gather[1].text == "https://app.example.com/ivr/a.mp3"


def test_gather_defaults_are_twilios_written_out() -> None:
    gather = only(convert('<Gather action="/m"><Say>x</Say></Gather>'), "/Response/Gather")
    assert (gather.get("timeout"), gather.get("finishOnKey")) == ("5000", "#")


def test_gather_reports_that_the_url_receives_dtmf() -> None:
    conversion = convert('<Gather action="/m" numDigits="3"><Say>x</Say></Gather>')
    (note,) = conversion.diagnostics
    assert note.code == "CF1003" and "`dtmf`" in note.message and "Digits" in note.message


def test_speech_input_is_reported() -> None:
    conversion = convert('<Gather action="/m" numDigits="1" input="speech"><Say>x</Say></Gather>')
    assert any("speech" in d.message and d.code == "CF1003" for d in conversion.diagnostics)


def test_a_one_key_menu_sends_each_key_as_twilios_digits() -> None:
    conversion = convert(
        '<Gather action="/m?lang=en" method="GET" numDigits="1" finishOnKey="#">'
        "<Say>x</Say></Gather>"
    )
    gather = only(conversion, "/Response/Gather")
    assert gather.get("url") is None
    cases = gather.findall("Switch/Case")
    assert [case.get("dtmf") for case in cases] == list("1234567890*")  # not the finish key
    first = cases[0].find("Callback")
    assert first is not None
    assert dict(first.attrib) == {
        "url": "https://app.example.com/m?lang=en&Digits=1",
        "method": "GET",
    }
    assert gather.find("Switch/Default") is not None
    assert [d.code for d in conversion.diagnostics] == ["CF1003"]


def _menu_app(request: httpx.Request) -> str | None:
    if request.url.params.get("Digits") == "1":
        return "<Response><Say>Sales speaking.</Say></Response>"
    return None  # an empty reply: carry on with the verbs after the Gather


def test_no_input_falls_through_to_the_next_verb_as_in_twiml() -> None:
    conversion = convert(
        '<Gather action="/m" numDigits="1"><Say>Press 1.</Say></Gather>'
        "<Say>We did not get your choice.</Say>"
    )
    assert conversion.document is not None
    silent = simulate(conversion.document, Caller(presses=[""]), app=_menu_app)
    assert silent.said("did not get your choice")


def test_digits_go_to_the_action_and_its_reply_replaces_the_document() -> None:
    conversion = convert(
        '<Gather action="/m" numDigits="1"><Say>Press 1.</Say></Gather>'
        "<Say>We did not get your choice.</Say>"
    )
    assert conversion.document is not None
    pressed = simulate(conversion.document, Caller(presses=["1"]), app=_menu_app)
    assert pressed.said("Sales speaking") and not pressed.said("did not get")


def test_gather_without_action_posts_to_the_base_url() -> None:
    gather = only(convert('<Gather numDigits="2"><Say>x</Say></Gather>'), "/Response/Gather")
    assert gather.get("url") == BASE


def test_gather_without_action_or_base_url_is_a_located_warning() -> None:
    conversion = convert('<Gather numDigits="1"><Say>x</Say></Gather>', base_url=None)
    assert conversion.ok
    assert codes_at(conversion, 2) == ["CF1004"]


def test_a_verb_nested_in_gather_is_dropped_with_a_report() -> None:
    conversion = convert('<Gather action="/m" numDigits="2"><Say>x</Say>\n<Hangup/></Gather>')
    assert [c.tag for c in only(conversion, "/Response/Gather")] == ["Say"]
    assert codes_at(conversion, 3) == ["CF1001"]


# ------------------------------------------------------------------- Dial, Record


def test_a_bare_number_becomes_a_to_target_without_formatting() -> None:
    to = only(convert("<Dial>+1 (415) 555-0100</Dial>"), "/Response/Dial/To")
    assert to.text == "+14155550100"


def test_number_and_sip_nouns_become_to_and_sip() -> None:
    conversion = convert(
        "<Dial><Number>+14155550100</Number><Sip>sip:desk@pbx.example.com:5060</Sip></Dial>"
    )
    dial = only(conversion, "/Response/Dial")
    assert [(c.tag, c.text) for c in dial] == [
        ("To", "+14155550100"),
        ("Sip", "desk@pbx.example.com:5060"),
    ]


def test_dial_action_becomes_a_callback_after_the_dial() -> None:
    conversion = convert('<Dial action="done" method="GET" timeout="10">+14155550100</Dial>')
    assert conversion.document is not None
    assert [c.tag for c in conversion.document.root] == ["Dial", "Callback"]
    callback = conversion.document.root[1]
    assert dict(callback.attrib) == {"url": "https://app.example.com/ivr/done", "method": "GET"}
    assert "CF1002" in codes_at(conversion, 2)  # timeout: OpenTact's Dial has none


def test_dial_without_action_goes_on_with_the_next_verb() -> None:
    conversion = convert("<Dial>+14155550100</Dial><Say>Bye</Say>")
    assert conversion.document is not None
    assert [c.tag for c in conversion.document.root] == ["Dial", "Say"]


def test_a_dial_with_no_callable_target_is_dropped_and_reported() -> None:
    conversion = convert("<Dial><Client>bob</Client></Dial><Hangup/>")
    assert conversion.document is not None
    assert [c.tag for c in conversion.document.root] == ["Hangup"]
    assert codes_at(conversion, 2) == ["CF1001", "CF1001"]


def test_sip_credentials_are_reported_without_quoting_the_password() -> None:
    conversion = convert('<Dial><Sip username="u" password="hunter2">sip:a@b.example</Sip></Dial>')
    assert all("hunter2" not in d.message for d in conversion.diagnostics)
    assert sum("password" in d.message for d in conversion.diagnostics) == 1


def test_record_max_length_becomes_timeout_in_milliseconds() -> None:
    conversion = convert('<Record maxLength="20" transcribe="true" action="/saved"/>')
    assert conversion.document is not None
    record, callback = conversion.document.root
    assert dict(record.attrib) == {"timeout": "20000", "asr": "true"}
    assert callback.get("url") == "https://app.example.com/saved"


def test_record_timeout_and_beep_are_reported_as_dropped() -> None:
    conversion = convert('<Record timeout="5" playBeep="false" finishOnKey="#" action="/s"/>')
    messages = [d.message for d in conversion.diagnostics if d.code == "CF1002"]
    assert len(messages) == 3


# ------------------------------------------------------------------- Hangup, Redirect, Reject


def test_redirect_becomes_a_callback_with_twilios_default_method() -> None:
    callback = only(convert("<Redirect>../next</Redirect>"), "/Response/Callback")
    assert dict(callback.attrib) == {"url": "https://app.example.com/next", "method": "POST"}


def test_reject_becomes_a_tagged_hangup_reported_as_approximated() -> None:
    conversion = convert('<Reject reason="busy"/>')
    assert only(conversion, "/Response/Hangup").get("tag") == "busy"
    assert codes_at(conversion, 2) == ["CF1003"]


def test_hangup_stays_hangup() -> None:
    conversion = convert("<Hangup/>")
    only(conversion, "/Response/Hangup")
    assert conversion.diagnostics == []


# ------------------------------------------------------------------- URLs and the report


def test_a_relative_url_without_base_url_is_an_error_at_its_attribute() -> None:
    conversion = convert('<Gather action="/menu" numDigits="1"><Say>x</Say></Gather>', None)
    assert not conversion.ok
    (problem,) = [d for d in conversion.diagnostics if d.is_error]
    assert (problem.code, problem.location.line, problem.location.column) == ("CF1004", 2, 9)
    assert problem.hint is not None and "--base-url" in problem.hint


def test_unmappable_verbs_are_dropped_and_reported_at_their_line() -> None:
    conversion = convert("<Say>x</Say>\n<Enqueue>support</Enqueue>\n<Conference>r</Conference>")
    assert conversion.ok
    assert codes_at(conversion, 3) == ["CF1001"] and codes_at(conversion, 4) == ["CF1001"]
    assert all(d.hint for d in conversion.diagnostics)


def test_status_callbacks_are_reported_wherever_they_appear() -> None:
    conversion = convert(
        '<Dial statusCallback="/s" statusCallbackEvent="answered">'
        '<Number statusCallback="/n">+1555</Number></Dial>'
    )
    assert sum("statusCallback" in d.message for d in conversion.diagnostics) == 3


def test_lint_findings_on_the_output_point_at_the_twiml_line() -> None:
    conversion = convert("<Hangup/>\n\n<Say>never</Say>")
    (unreachable,) = [d for d in conversion.diagnostics if d.code == "CF301"]
    assert unreachable.location.file == "in.xml" and unreachable.location.line == 4


def test_the_converted_document_carries_no_errors() -> None:
    conversion = convert(
        '<Say voice="woman">Hi</Say><Gather action="/g"><Say>x</Say></Gather>'
        '<Dial action="/d">+15550100</Dial><Record/><Redirect>/r</Redirect>'
    )
    assert conversion.ok and conversion.document is not None
    assert [d for d in check_document(conversion.document) if d.is_error] == []


def test_comments_are_kept() -> None:
    conversion = convert("<!-- main menu --><Hangup/>")
    assert conversion.text is not None and "<!-- main menu -->" in conversion.text


def test_a_root_other_than_response_is_refused() -> None:
    conversion = convert_twiml("<Document><Say>x</Say></Document>")
    assert conversion.document is None and not conversion.ok
    assert [d.code for d in conversion.diagnostics] == ["CF1005"]


def test_a_base_url_that_is_not_absolute_is_an_input_error() -> None:
    with pytest.raises(InputError, match="absolute"):
        convert_twiml("<Response/>", base_url="app.example.com/")


# ------------------------------------------------------------------- hostile input


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (
            b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><Response>&x;</Response>',
            "CF103",
        ),
        (
            b'<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            b"<Response><Say>&b;</Say></Response>",
            "CF104",
        ),
        (b"\x00\x01\x02binary", "CF004"),
        (b"<Response><Say>unclosed</Response>", "CF101"),
        (b"", "CF003"),
        (b"<Response>" + b"<Pause/>" * 200_000 + b"</Response>", "CF006"),
    ],
    ids=["xxe", "entity-bomb", "binary", "malformed", "empty", "oversize"],
)
def test_hostile_twiml_is_refused_with_a_diagnostic(data: bytes, code: str) -> None:
    conversion = convert_twiml(data, filename="hostile.xml")
    assert conversion.document is None
    assert code in [d.code for d in conversion.diagnostics]


def test_a_file_with_any_suffix_is_read_as_twiml(tmp_path: Path) -> None:
    path = tmp_path / "bin.twiml"
    path.write_text("<Response><Hangup/></Response>", encoding="utf-8")
    assert convert_twiml(path).ok


def test_a_python_file_is_not_run(tmp_path: Path) -> None:
    path = tmp_path / "flow.py"
    path.write_text("raise SystemExit('ran')\n", encoding="utf-8")
    conversion = convert_twiml(path)
    assert [d.code for d in conversion.diagnostics] == ["CF008"]


def test_a_missing_file_is_a_diagnostic(tmp_path: Path) -> None:
    conversion = convert_twiml(tmp_path / "missing.xml")
    assert [d.code for d in conversion.diagnostics] == ["CF001"]


def test_text_outside_any_verb_is_reported_not_dropped_silently() -> None:
    conversion = convert("stray words\n<Pause>5</Pause>\n<Say>x</Say> more")
    found = [(d.code, d.location.line) for d in conversion.diagnostics]
    assert found == [("CF1006", 1), ("CF1006", 3), ("CF1006", 4)]
    assert all("belongs to no verb" in d.message for d in conversion.diagnostics)


def test_record_without_action_or_base_url_says_the_flow_goes_on() -> None:
    conversion = convert("<Record/>\n<Say>after</Say>", base_url=None)
    assert conversion.ok and conversion.document is not None
    assert [c.tag for c in conversion.document.root] == ["Record", "Say"]
    assert codes_at(conversion, 2) == ["CF1004"]


def test_the_characters_placeholders_are_made_of_are_refused_in_the_input() -> None:
    conversion = convert("<Say>a\ue000 0\ue001b</Say>")
    assert conversion.document is None
    assert [(d.code, d.location.line, d.location.column) for d in conversion.diagnostics] == [
        ("CF1006", 2, 7)
    ]
