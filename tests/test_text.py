"""Text helpers: the codec of XML bytes, remembered by the declaration's bytes, is what
reading the declaration says (and the memory stays small); lines split without the regex
are the regex's lines."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from callflow import _text
from callflow._text import shows_as_is, sniff_encoding, visible

DECLARATIONS = st.builds(
    lambda version, encoding, quote, space, standalone: (
        f"<?xml{space}version={quote}{version}{quote}"
        + (f"{space}encoding={quote}{encoding}{quote}" if encoding is not None else "")
        + (f"{space}standalone='yes'" if standalone else "")
        + "?>"
    ),
    st.sampled_from(["1.0", "1.1"]),
    st.none() | st.sampled_from(["UTF-8", "utf-8", "ISO-8859-1", "windows-1252", "US-ASCII", ""]),
    st.sampled_from(['"', "'"]),
    st.sampled_from([" ", "  ", "\n"]),
    st.booleans(),
)


@settings(max_examples=200, deadline=None)
@given(declaration=DECLARATIONS, body=st.sampled_from(["<Response/>", "\n<Response>é</Response>"]))
def test_a_remembered_declaration_gives_what_reading_it_gives(declaration: str, body: str) -> None:
    data = (declaration + body).encode("latin-1")
    _text._BY_DECLARATION.clear()
    first = sniff_encoding(data)  # read, then remembered
    assert sniff_encoding(data) == first  # remembered
    _text._BY_DECLARATION.clear()
    head = declaration[: declaration.find("?>")]
    assert first == (_text._declared(head) or "utf-8")


def test_the_memory_of_declarations_is_bounded() -> None:
    for index in range(_text._DECLARATIONS_KEPT * 3):
        sniff_encoding(f'<?xml version="1.0" encoding="utf-8" x="{index}"?><a/>'.encode())
        assert len(_text._BY_DECLARATION) <= _text._DECLARATIONS_KEPT


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(["a", "b", "\n", "\r", "\x0c", "\u2028", "é"])))
def test_lines_split_without_the_regex_are_the_regex_s_lines(text: str) -> None:
    assert _text.split_lines(text) == _text.LINE_BREAK.split(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(st.characters(codec=None, exclude_categories=()), max_size=8)))
def test_lines_show_as_is_when_visible_leaves_each_alone(lines: list[str]) -> None:
    assert shows_as_is(lines) == all(visible(line) == line for line in lines)


def test_no_character_visible_escapes_is_printable() -> None:
    # shows_as_is trusts str.isprintable first: it must refuse every character visible escapes.
    escaped = [chr(code) for code in range(0x10000) if visible(chr(code)) != chr(code)]
    assert len(escaped) > 2000 and not any(char.isprintable() for char in escaped)
    assert shows_as_is(["caf\u00e9 \u2026", "<Say>\u00a0</Say>"])  # printable, or searched
    assert not shows_as_is(["ok", "a\nb"]) and not shows_as_is(["\x1b[31m"])


def test_the_arabic_letter_mark_is_escaped_like_the_other_bidirectional_marks() -> None:
    for mark in ("\u061c", "\u200e", "\u200f"):
        assert visible(f"a{mark}b") == f"a\\u{ord(mark):04x}b"
