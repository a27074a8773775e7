"""Context-aware escaping: template values in URL-typed attributes are percent-encoded for the
part of the URL they land in."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from lxml import etree

from callflow.errors import ValidationError
from callflow.sources import load_flow
from callflow.templating import TemplateRenderer, render_template
from callflow.templating._urls import url_typed  # private: the URL table has no public name


def _render(template: str, **values: object) -> etree._Element:
    document = load_flow(template, filename="t.xml.j2", context=values)
    return etree.fromstring(document.text.encode())


def _callback_url(template: str, **values: object) -> str:
    found = _render(template, **values).find(".//Callback")
    assert found is not None
    return found.get("url") or ""


QUERY = (
    '<Response><Callback url="https://x.test/next?from={{ v }}&amp;k=1" method="GET"/></Response>'
)


def test_the_url_attributes_are_read_from_the_schema() -> None:
    attributes, texts = url_typed()
    assert {
        ("Callback", "url"),
        ("Gather", "url"),
        ("Gather", "callback"),
        ("Play", "url"),
    } <= attributes
    assert ("Callback", "tag") not in attributes and ("Say", "text") not in attributes
    assert "Play" in texts and "Say" not in texts


def test_a_value_holding_an_ampersand_stays_one_query_value() -> None:
    url = _callback_url(QUERY, v="&x=1")
    assert parse_qsl(urlsplit(url).query) == [("from", "&x=1"), ("k", "1")]


def test_a_value_with_spaces_and_quotes_no_longer_breaks_the_url() -> None:
    url = _callback_url(QUERY, v='a "b" <c>')
    assert url == "https://x.test/next?from=a%20%22b%22%20%3Cc%3E&k=1"


def test_each_part_of_the_url_gets_its_own_encoding() -> None:
    template = (
        '<Response><Callback url="{{ base }}/a/{{ v }}?{{ v }}={{ v }}#{{ v }}" method="GET"/>'
        "</Response>"
    )
    url = _callback_url(template, base="https://x.test", v="a/b?c#d e")
    assert url == "https://x.test/a/a/b%3Fc%23d%20e?a/b?c%23d%20e=a/b?c%23d%20e#a/b?c%23d%20e"


def test_a_value_starting_the_url_keeps_its_structure() -> None:
    url = _callback_url(
        '<Response><Callback url="{{ v }}" method="GET"/></Response>',
        v="https://x.test/a b?c=d&e=f",
    )
    assert url == "https://x.test/a%20b?c=d&e=f"


def test_an_already_encoded_value_is_left_alone() -> None:
    assert _callback_url(QUERY, v="a%20b%26c").startswith("https://x.test/next?from=a%20b%26c&")


def test_a_percent_that_is_not_an_escape_is_encoded() -> None:
    url = _callback_url(QUERY, v="100% a%20b")
    assert parse_qsl(urlsplit(url).query)[0] == ("from", "100% a%20b")


def test_urlencode_still_works_and_is_not_encoded_twice() -> None:
    template = (
        '<Response><Callback url="https://x.test/n?{{ q|urlencode }}" method="GET"/></Response>'
    )
    url = _callback_url(template, q={"a": "1 2", "b": "&"})
    assert parse_qsl(urlsplit(url).query) == [("a", "1 2"), ("b", "&")]


def test_safe_opts_out() -> None:
    template = '<Response><Callback url="https://x.test/n?a={{ v|safe }}" method="GET"/></Response>'
    assert _callback_url(template, v="x=1&amp;y=2") == "https://x.test/n?a=x=1&y=2"


def test_values_outside_urls_are_escaped_as_xml_only() -> None:
    template = '<Response><Say>{{ v }}</Say><Hangup tag="{{ v }}"/></Response>'
    root = _render(template, v="a b&c=1")
    assert root.findtext("Say") == "a b&c=1"
    hangup = root.find("Hangup")
    assert hangup is not None and hangup.get("tag") == "a b&c=1"


def test_a_play_url_in_element_text_is_encoded_too() -> None:
    root = _render("<Response><Play>https://x.test/{{ v }}.mp3</Play></Response>", v="a b")
    assert root.findtext("Play") == "https://x.test/a%20b.mp3"


def test_a_lone_surrogate_follows_the_control_character_policy(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="CF606"):
        load_flow(QUERY, filename="t.xml.j2", context={"v": "a\ud800b"})
    (tmp_path / "t.xml.j2").write_text(QUERY)
    renderer = TemplateRenderer([tmp_path], control_characters="strip")
    document, problems = renderer.render_document(tmp_path / "t.xml.j2", {"v": "a\ud800b"})
    assert document is not None and not problems
    assert "from=ab&amp;k=1" in document.text


def test_control_characters_in_a_url_are_percent_encoded() -> None:
    url = _callback_url(QUERY, v="a\x01\x7fb")
    assert url.startswith("https://x.test/next?from=a%01%7Fb&")


def test_callflow_render_encodes_url_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from callflow.cli import main

    (tmp_path / "t.xml.j2").write_text(QUERY)
    code = main(["render", str(tmp_path / "t.xml.j2"), "--var", "v=&x=1 2"])
    assert code == 0
    assert "from=%26x%3D1%202&amp;k=1" in capsys.readouterr().out


_ENCODED_LOOKING = re.compile(r"%[0-9A-Fa-f]{2}")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=30))
def test_every_value_comes_back_whole_from_the_query(value: str) -> None:
    # A value holding %XX escapes is taken as already encoded (test_an_already_encoded_...).
    assume(not _ENCODED_LOOKING.search(value))
    url = _callback_url(QUERY, v=value)
    assert parse_qsl(urlsplit(url).query, keep_blank_values=True) == [("from", value), ("k", "1")]


def test_comments_cdata_and_processing_instructions_are_skipped_by_the_url_scan() -> None:
    # What looks like a URL attribute inside them is not one; the URL after them still is.
    template = (
        '<Response><!-- <Callback url="{{ v }}"/> --><Say><![CDATA[ <Play> ]]></Say>'
        "<?pi <Play>?><Play>https://x.test/{{ v }}.mp3</Play></Response>"
    )
    document = load_flow(template, filename="t.xml.j2", context={"v": "a b"})
    assert '<!-- <Callback url="a b"/> -->' in document.text
    assert "<Play>https://x.test/a%20b.mp3</Play>" in document.text


def test_single_quotes_and_spaces_around_the_equals_sign_still_make_a_url_attribute() -> None:
    template = "<Response><Callback url = 'https://x.test/?q={{ v }}' method=\"GET\"/></Response>"
    assert _callback_url(template, v="a b") == "https://x.test/?q=a%20b"


def test_an_attribute_after_a_url_attribute_is_not_encoded() -> None:
    template = (
        '<Response><Play loop="1" url="https://x.test/{{ v }}" tag="{{ v }}"/><Hangup/></Response>'
    )
    play = _render(template, v="a b").find("Play")
    assert (
        play is not None and play.get("tag") == "a b" and play.get("url") == "https://x.test/a%20b"
    )


_SCANNED = (
    "<Response><!-- a <Play> note --><Say><![CDATA[ <Play> ]]></Say><?pi x?>"
    "<Play loop = '2'>https://x.test/{{ v }}.mp3</Play>"
    '<Gather numDigits="1" url="https://x.test/g?d={{ v }}#{{ v }}"><Say>{{ v }}</Say></Gather>'
    "<Callback url = 'https://x.test/n?a={{ v }}' method=\"GET\"/></Response>"
)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, len(_SCANNED)), max_size=6), st.sampled_from(["a b", "&x=1", "é#?"]))
def test_where_the_template_text_is_split_does_not_change_the_encoding(
    cuts: list[int], value: str
) -> None:
    # A {# comment #} renders nothing but splits the text the URL scan reads into pieces:
    # wherever the pieces end, every value is encoded as in the unsplit template.
    spans = [(m.start(), m.end()) for m in re.finditer(r"\{\{.*?\}\}", _SCANNED)]
    cuts = sorted({c for c in cuts if not any(start < c < end for start, end in spans)})
    pieces = [_SCANNED[a:b] for a, b in zip([0, *cuts], [*cuts, len(_SCANNED)], strict=True)]
    split = "{# cut #}".join(pieces)
    whole = load_flow(_SCANNED, filename="t.xml.j2", context={"v": value}).text
    assert load_flow(split, filename="t.xml.j2", context={"v": value}).text == whole


@pytest.mark.parametrize(
    "closed",
    ["<Play/>", "<Play />", '<Play url="https://x.test/a.mp3"/>', "<Play>https://x.test/a</Play>"],
)
def test_text_after_a_closed_play_is_not_in_its_url(tmp_path: Path, closed: str) -> None:
    # Not schema-valid (text in Response), so rendered without validation: the value after
    # the Play element, self-closed or ended, is escaped as XML text, not percent-encoded.
    path = tmp_path / "t.xml.j2"
    path.write_text(f"<Response>{closed}{{{{ v }}}}</Response>", encoding="utf-8")
    document = render_template(path, {"v": "a b"}, validate=False)
    play = etree.fromstring(document.text.encode()).find("Play")
    assert play is not None and play.tail == "a b"


@settings(max_examples=300)
@given(
    st.lists(st.characters(max_codepoint=127) | st.sampled_from(["%2B", "%zz", "é"])).map("".join),
    st.sampled_from(["url", "path", "query", "fragment"]),
)
def test_the_ascii_table_encodes_as_quote_does(value: str, part: str) -> None:
    from urllib.parse import quote

    from callflow.templating._urls import _ENCODED, SAFE, encode_for_url

    def expected(text: str) -> str:  # the definition: as it is when encoded, else `quote`
        return text if _ENCODED[part].fullmatch(text) else quote(text, safe=SAFE[part])

    assert encode_for_url(value, part) == expected(value)
    every = "".join(map(chr, range(128)))
    assert encode_for_url(every, part) == expected(every)
    for code in range(128):
        assert encode_for_url(chr(code) + "a", part) == expected(chr(code) + "a")
