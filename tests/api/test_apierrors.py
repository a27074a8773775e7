"""Reading places out of platform error messages, and mapping them back to the author's source."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callflow.apierrors import (
    map_error_message,
    parse_error_message,
    read_error_body,
    split_problems,
)
from callflow.document import Document
from callflow.sourcemap import SourceLocation, SourceMap

# (message, line, column, xpath, element, attribute) — wordings of real XML parsers.
CORPUS = [
    # libxml2 (lxml's str of an error: message, then ", line N")
    (
        "Element 'Gather', attribute 'numDigts': The attribute 'numDigts' is not allowed., line 5",
        5,
        None,
        None,
        "Gather",
        "numDigts",
    ),
    # xmllint output
    (
        "-:5: element Gather: Schemas validity error : Element 'Gather', attribute 'numDigts': "
        "The attribute 'numDigts' is not allowed.",
        5,
        None,
        None,
        "Gather",
        "numDigts",
    ),
    (
        "flow.xml:7: parser error : Opening and ending tag mismatch: Say line 6 and Gather",
        7,
        None,
        None,
        None,
        None,
    ),
    (
        "Opening and ending tag mismatch: Say line 3 and Gather, line 4, column 12",
        4,
        12,
        None,
        None,
        None,
    ),
    (
        "Element '{urn:x}Dial': This element is not expected. Expected is ( Say ).",
        None,
        None,
        None,
        "Dial",
        None,
    ),
    # Java / Xerces
    (
        'Error on line 11 of document : The element type "Say" must be terminated by the '
        'matching end-tag "</Say>".',
        11,
        None,
        None,
        "Say",
        None,
    ),
    (
        "lineNumber: 5; columnNumber: 3; cvc-complex-type.3.2.2: Attribute 'numDigts' is not "
        "allowed to appear in element 'Gather'.",
        5,
        3,
        None,
        "Gather",
        "numDigts",
    ),
    (
        "org.xml.sax.SAXParseException; lineNumber: 9; columnNumber: 14; cvc-complex-type.2.4.a: "
        "Invalid content was found starting with element 'Foo'.",
        9,
        14,
        None,
        "Foo",
        None,
    ),
    (
        "cvc-complex-type.4: Attribute 'url' must appear on element 'Callback'.",
        None,
        None,
        None,
        "Callback",
        "url",
    ),
    # Saxon
    (
        "Error on line 5 column 3 of flow.xml: SXXP0003: Error reported by XML parser",
        5,
        3,
        None,
        None,
        None,
    ),
    # JavaScript sax
    ("Unexpected close tag\nLine: 3\nColumn: 10\nChar: >", 3, 10, None, None, None),
    ("Unmatched closing tag: Gather\nLine: 8\nColumn: 9\nChar: >", 8, 9, None, "Gather", None),
    # .NET XmlReader
    (
        "The 'Say' start tag on line 3 position 4 does not match the end tag of 'Gather'. "
        "Line 5, position 3.",
        5,
        3,
        None,
        "Say",
        None,
    ),
    # Python expat, Go encoding/xml
    ("mismatched tag: line 4, column 2", 4, 2, None, None, None),
    ("XML syntax error on line 5: element <Say> closed by </Gather>", 5, None, None, "Say", None),
    # XPath-style paths
    (
        "Invalid element at /Response/Gather[1]/Switch/Case[2]",
        None,
        None,
        "/Response/Gather[1]/Switch/Case[2]",
        None,
        None,
    ),
    (
        "bad value at /Response/Gather[1]/@numDigits",
        None,
        None,
        "/Response/Gather[1]",
        None,
        "numDigits",
    ),
    # element and attribute names only
    ("Unknown element <Gathr>", None, None, None, "Gathr", None),
    ("attribute 'numDigts' is not allowed", None, None, None, None, "numDigts"),
    # bracketed positions, offsets
    ("parse error [12:4] unexpected '<'", 12, 4, None, None, None),
    ("unexpected end of input at offset 57", None, None, None, None, None),
    # no place at all
    ("Internal error while processing the call", None, None, None, None, None),
]


@pytest.mark.parametrize(
    ("message", "line", "column", "xpath", "element", "attribute"),
    CORPUS,
    ids=[f"{i:02d}" for i in range(len(CORPUS))],
)
def test_each_wording_gives_its_place(
    message: str,
    line: int | None,
    column: int | None,
    xpath: str | None,
    element: str | None,
    attribute: str | None,
) -> None:
    clues = parse_error_message(message)
    assert len(clues) == 1
    clue = clues[0]
    assert (clue.line, clue.column, clue.xpath, clue.element, clue.attribute) == (
        line,
        column,
        xpath,
        element,
        attribute,
    )
    assert clue.text == message.strip()


def test_an_offset_is_read_when_no_line_is_given() -> None:
    assert parse_error_message("unexpected end of input at offset 57")[0].offset == 57


def test_a_url_in_the_message_is_not_taken_for_an_element_path() -> None:
    clue = parse_error_message("callback url https://ivr.example.com/support/menu failed")[0]
    assert clue.xpath is None


def test_several_problems_in_one_message_are_split_and_a_heading_joins_the_first() -> None:
    pieces = split_problems("Validation failed:\nline 3: bad\nline 7: worse")
    assert pieces == ["Validation failed:\nline 3: bad", "line 7: worse"]
    assert [
        c.line for c in parse_error_message("Validation failed:\nline 3: bad\nline 7: worse")
    ] == [3, 7]


# ---------------------------------------------------------------- mapping

FLOW = """<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <Say>Hello</Say>
  <Gather numDigits="1" timeout="5000">
    <Say>Press 1</Say>
    <Switch>
      <Case dtmf="1"><Say>One</Say></Case>
      <Case dtmf="2"><Hangup/></Case>
    </Switch>
  </Gather>
</Response>
"""


def xml_document() -> Document:
    return Document.from_text(FLOW, "flows/menu.xml")


def test_a_line_maps_to_the_same_line_of_an_xml_file() -> None:
    [found] = map_error_message("lineNumber: 4; columnNumber: 11; bad attribute", xml_document())
    assert found.code == "CF801"
    assert found.location == SourceLocation("flows/menu.xml", 4, 11)
    assert found.xpath == "/Response/Gather"


def test_a_line_with_an_attribute_points_at_the_attribute() -> None:
    message = "line 4: Element 'Gather', attribute 'timeout': '5000' is not valid"
    [found] = map_error_message(message, xml_document())
    assert found.location == SourceLocation("flows/menu.xml", 4, 25)


def test_the_platforms_text_is_kept_in_the_diagnostic() -> None:
    message = "Error on line 3 of document : something odd about <Say>"
    [found] = map_error_message(message, xml_document())
    assert message in found.message


def test_a_path_maps_to_the_element_when_no_line_is_given() -> None:
    [found] = map_error_message("Invalid at /Response/Gather[1]/Switch/Case[2]", xml_document())
    assert found.code == "CF802"
    assert found.location == SourceLocation("flows/menu.xml", 8, 8)
    assert found.xpath == "/Response/Gather/Switch/Case[2]"


def test_a_path_without_the_root_step_still_maps() -> None:
    [found] = map_error_message("problem in /Gather/Switch/Case[1]", xml_document())
    assert found.location.line == 7


def test_a_tag_name_maps_to_the_first_such_element_and_says_so() -> None:
    [found] = map_error_message("Element 'Case': not expected here", xml_document())
    assert found.code == "CF803"
    assert found.location.line == 7
    assert found.hint is not None and "first of 2" in found.hint


def test_an_attribute_name_alone_finds_the_element_that_has_it() -> None:
    [found] = map_error_message("attribute 'dtmf' value is not supported", xml_document())
    assert found.location == SourceLocation("flows/menu.xml", 7, 13)


def test_a_bare_word_that_names_an_attribute_of_the_document_is_used() -> None:
    [found] = map_error_message("numDigits must be at most 1", xml_document())
    assert found.code == "CF803"
    assert found.location == SourceLocation("flows/menu.xml", 4, 11)


def test_a_message_without_a_place_applies_to_the_whole_document() -> None:
    [found] = map_error_message("Internal error while processing the call", xml_document())
    assert found.code == "CF804"
    assert found.location == SourceLocation("flows/menu.xml", 1, None)


def test_a_line_outside_the_document_degrades_to_the_named_element() -> None:
    [found] = map_error_message("line 999: Element 'Hangup': bad", xml_document())
    assert found.code == "CF803"
    assert found.location.line == 8


def test_an_offset_maps_to_its_line_and_column() -> None:
    document = xml_document()
    offset = document.text.index("<Switch>")
    [found] = map_error_message(f"bad token at offset {offset}", document)
    assert found.location == SourceLocation("flows/menu.xml", 6, 5)


def test_without_a_document_the_message_is_reported_unlocated() -> None:
    [found] = map_error_message("line 3: bad", None)
    assert found.code == "CF804"
    assert found.location.file == "<api>"


# A Document whose text was generated: its source map sends lines and elements elsewhere,
# the way templates (lines) and the builder (elements) do.


def template_document() -> Document:
    lines = {
        n: SourceLocation("flows/menu.xml.j2", n + 10, None, ("in macro `menu`",))
        for n in range(1, 12)
    }
    return Document.from_text(
        FLOW,
        "flows/menu.xml.j2",
        source_map=SourceMap("flows/menu.xml.j2", identity=False, lines=lines),
    )


def builder_document() -> Document:
    elements = {
        "/Response": SourceLocation("flows/menu.py", 3),
        "/Response/Gather": SourceLocation("flows/menu.py", 20),
        "/Response/Gather/Switch/Case[2]": SourceLocation("flows/menu.py", 31),
    }
    return Document.from_text(
        FLOW,
        "flows/menu.py",
        source_map=SourceMap("flows/menu.py", identity=False, elements=elements),
    )


def test_a_line_maps_through_a_template_line_map() -> None:
    [found] = map_error_message("lineNumber: 5; columnNumber: 6; bad", template_document())
    assert found.location == SourceLocation("flows/menu.xml.j2", 15, None, ("in macro `menu`",))


def test_a_line_maps_through_a_builder_element_map() -> None:
    [found] = map_error_message("Error on line 4 of document : bad Gather", builder_document())
    assert found.location == SourceLocation("flows/menu.py", 20)


def test_a_path_maps_through_a_builder_element_map() -> None:
    [found] = map_error_message("at /Response/Gather[1]/Switch/Case[2]", builder_document())
    assert found.location == SourceLocation("flows/menu.py", 31)


def test_a_tag_name_maps_through_a_builder_element_map() -> None:
    [found] = map_error_message("Element 'Gather': too many prompts", builder_document())
    assert found.location == SourceLocation("flows/menu.py", 20)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
def test_any_message_gives_at_least_one_diagnostic_keeping_its_words(message: str) -> None:
    found = map_error_message(message, xml_document())
    assert found
    words = " ".join(message.split())
    if words:
        assert all(d.message.startswith("rejected by the platform: ") for d in found)
        joined = " ".join(d.message.removeprefix("rejected by the platform: ") for d in found)
        assert set(joined.split()) == set(words.split())


# ---------------------------------------------------------------- error bodies


def test_an_envelope_gives_its_message_and_status() -> None:
    body = read_error_body(b'{"success": false, "message": "line 3: bad", "status": 400}')
    assert (body.message, body.status) == ("line 3: bad", 400)


def test_plain_text_is_its_own_message() -> None:
    assert (
        read_error_body("Error on line 2 of document : x\n").message
        == "Error on line 2 of document : x"
    )


def test_json_without_a_message_keeps_the_whole_text() -> None:
    assert read_error_body("[1, 2]").message == "[1, 2]"


LINE_AND_COLUMN_WORDINGS = [
    "lineNumber: {line}; columnNumber: {column}; cvc-elt.1: bad",
    "Unexpected close tag\nLine: {line}\nColumn: {column}\nChar: >",
    "Error on line {line} column {column} of flow.xml: SXXP0003",
    "not well-formed (invalid token): line {line}, column {column}",
    "Opening and ending tag mismatch: Say line 1 and Gather, line {line}, column {column}",
    "Unexpected token. Line {line}, position {column}.",
    "flow.xml:{line}:{column}: error: bad",
    "parse error [{line}:{column}]",
    "syntax error at {line}:{column}",
    "bad element (row {line}, col {column})",
]


@settings(max_examples=100, deadline=None)
@given(
    wording=st.sampled_from(LINE_AND_COLUMN_WORDINGS),
    line=st.integers(min_value=1, max_value=99_999),
    column=st.integers(min_value=1, max_value=999),
)
def test_every_line_and_column_wording_reads_back_its_numbers(
    wording: str, line: int, column: int
) -> None:
    [clue] = parse_error_message(wording.format(line=line, column=column))
    assert (clue.line, clue.column) == (line, column)
