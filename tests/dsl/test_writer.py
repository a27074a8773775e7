"""The one XML writer: the compact text is byte for byte what lxml writes for the same tree."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from callflow.dsl import Comment, Dial, Hangup, Response, Say, UncheckedElement, _writer
from callflow.errors import BuildError

from .test_fast import WRITTEN_TEXT

SETTINGS = settings(max_examples=80, deadline=None)

FLOW_PARTS = st.recursive(
    st.one_of(
        st.builds(lambda text: Say(text), WRITTEN_TEXT),
        st.builds(lambda tag: Hangup(tag=tag), WRITTEN_TEXT),
        st.builds(
            lambda text: Comment(text),
            # Filtered before building: a comment ending in "-" is refused as it is built.
            WRITTEN_TEXT.filter(lambda t: "--" not in t and not t.endswith("-")),
        ),
        st.builds(
            lambda text, value: Say(text, unchecked_attributes={"voiceSpeed": value}),
            WRITTEN_TEXT,
            WRITTEN_TEXT,
        ),
    ),
    lambda children: st.builds(
        lambda parts, text, value: UncheckedElement(
            "Transfer", parts, text=text or None, attributes={"to": value}
        ),
        st.lists(children, max_size=3),
        WRITTEN_TEXT,
        WRITTEN_TEXT,
    ),
    max_leaves=8,
)


def lxml_bytes(flow: Response) -> bytes:
    """What lxml writes for the flow's tree: the reference for the compact writer."""
    root = flow.to_element()
    for text in flow.comments[0]:
        root.addprevious(etree.Comment(text))
    for text in reversed(flow.comments[1]):
        root.addnext(etree.Comment(text))
    tree = root.getroottree()
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(tree, encoding="UTF-8")


@SETTINGS
@given(parts=st.lists(FLOW_PARTS, max_size=4), before=st.lists(st.sampled_from(["a", " b "])))
def test_the_compact_writer_writes_the_bytes_lxml_writes(
    parts: list[Any], before: list[str]
) -> None:
    flow = Response(parts).with_comments(*before, after=["end"])
    expected = lxml_bytes(flow)
    assert flow.to_bytes() == expected
    assert flow.to_xml() == expected.decode("utf-8")


@pytest.mark.parametrize("character", [*"&<>\"'\t\n\r", "\u00e9", "\U0001f600", "]]>"])
def test_the_compact_writer_escapes_each_character_as_lxml_does(character: str) -> None:
    text = f"a{character}b"
    flow = Response(
        Say(text, unchecked_attributes={"voiceSpeed": text}),
        Hangup(tag=text),
        UncheckedElement("Transfer", Say(text), text=text, attributes={"to": text}),
    )
    assert flow.to_bytes() == lxml_bytes(flow)


def test_the_compact_writer_refuses_an_incomplete_node_as_lxml_does() -> None:
    flow = Response(Say("Hi"), Dial())  # a Dial with no target
    with pytest.raises(BuildError, match=r"<Dial> is incomplete") as compact:
        flow.to_xml()
    with pytest.raises(BuildError, match=r"<Dial> is incomplete") as pretty:
        flow.to_xml(pretty=True)
    assert str(compact.value) == str(pretty.value)


@SETTINGS
@given(values=st.lists(WRITTEN_TEXT, min_size=1, max_size=6))
def test_a_value_written_again_as_text_or_attribute_is_written_as_lxml_writes_it(
    values: list[str],
) -> None:
    """The writer remembers the values that need no escaping, texts apart: a text remembered
    (where a quote, tab or newline may stand as it is) never lets the same string through
    unescaped into an attribute, in either order."""
    for order in (values, values[::-1]):
        for value in order:
            for flow in (
                Response(Say(value), Hangup(tag=value)),
                Response(Hangup(tag=value), Say(value)),
                Response(Say(value, unchecked_attributes={"voiceSpeed": value}), Say(value)),
            ):
                assert flow.to_bytes() == lxml_bytes(flow)
    assert not [value for value in _writer._clean if _writer.escape_attribute(value) != value]
    assert not [text for text in _writer._clean_texts if _writer.escape_text(text) != text]


def test_the_writers_memory_is_bounded_in_count_and_length() -> None:
    long_text = "x" * (_writer.LENGTH + 1)
    flow = Response(Say(long_text), Hangup(tag=long_text))
    flow.to_xml()
    assert long_text not in _writer._clean
    assert long_text not in _writer._clean_texts
    for number in range(_writer.LIMIT + 50):
        Response(Say(f"text {number}"), Hangup(tag=f"tag {number}")).to_xml()
    assert len(_writer._clean) <= _writer.LIMIT
    assert len(_writer._clean_texts) <= _writer.LIMIT
    assert (
        Response(Say("past <the> limit"))
        .to_xml()
        .endswith("<Say>past &lt;the&gt; limit</Say></Response>")
    )
    assert (
        Response(Hangup(tag='past "the" limit'))
        .to_xml()
        .endswith('<Hangup tag="past &quot;the&quot; limit"/></Response>')
    )
