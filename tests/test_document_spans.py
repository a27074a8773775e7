"""The scan of a Document's text: its fast path (a text with nothing to skip) is held to the
tokenizer, and look-ups made one by one agree with the tables made for many."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from callflow.document import Document, TagSpan, TextSpans

TAGS = ["Say", "Pause", "Gather", "Case"]


@st.composite
def elements(draw: st.DrawFn, depth: int = 3) -> str:
    tag = draw(st.sampled_from(TAGS))
    attributes = draw(
        st.dictionaries(
            st.sampled_from(["a", "b", "url"]), st.sampled_from(["1", "x/y", "a>b", ""])
        )
    )
    quote = draw(st.sampled_from(['"', "'"]))
    spaces = draw(st.sampled_from([" ", "\n  ", "\t"]))
    written = "".join(f"{spaces}{name}={quote}{value}{quote}" for name, value in attributes.items())
    children = draw(st.lists(elements(depth - 1), max_size=3)) if depth > 0 else []
    separator = draw(st.sampled_from(["", "\n", "\n  ", " text > "]))
    if not children and draw(st.booleans()):
        return f"<{tag}{written}{draw(st.sampled_from(['/', ' /']))}>"
    return f"<{tag}{written}>{separator}{separator.join(children)}</{tag}>"


def _shape(span: TagSpan) -> tuple[object, ...]:
    return (
        span.name,
        span.start,
        span.name_end,
        span.start_end,
        span.attributes,
        span.attributes_end,
        span.end,
        span.end_name,
    )


@settings(max_examples=200, deadline=None)
@given(body=elements(), declared=st.booleans())
def test_a_text_without_comments_is_scanned_as_the_tokenizer_scans_it(
    body: str, declared: bool
) -> None:
    text = ('<?xml version="1.0"?>\n' if declared else "") + f"<Response>{body}</Response>"
    fast = TextSpans(text)
    # A comment after the root sends the same text (and offsets) through the tokenizer.
    plain = TextSpans(text + "<!-- -->")
    assert [_shape(span) for span in fast.tags] == [_shape(span) for span in plain.tags]
    assert fast.balanced is plain.balanced is True


@settings(max_examples=100, deadline=None)
@given(body=elements(), offsets=st.lists(st.integers(min_value=-2, max_value=400), max_size=20))
def test_line_and_column_counted_in_place_agree_with_the_line_table(
    body: str, offsets: list[int]
) -> None:
    text = f"<Response>\n{body}\n</Response>"
    counted = TextSpans(text)
    table = TextSpans(text)
    assert table.line_starts  # made now: every look-up below goes through it
    for offset in offsets:
        assert counted.line_column(offset) == table.line_column(offset)


@settings(max_examples=150, deadline=None)
@given(
    body=elements(),
    asks=st.lists(
        st.tuples(
            st.integers(min_value=-1, max_value=30),
            st.sampled_from([None, "a", "url", "zz"]),
            st.booleans(),
        ),
        max_size=12,
    ),
    comment=st.booleans(),
)
def test_a_findings_place_is_the_offset_its_tag_span_gives(
    body: str, asks: list[tuple[int, str | None, bool]], comment: bool
) -> None:
    # `place` reads a tag's own offsets from the tokenizer's match, without its TagSpan.
    text = f"<Response>{body}</Response>" + ("<!-- -->" if comment else "")
    spans = TextSpans(text)
    whole = TextSpans(text).tags
    for index, attribute, inside in asks:
        if not 0 <= index < len(whole):
            assert spans.place(index, attribute, text=inside) is None
            continue
        span = whole[index]
        offset = span.start + 1
        if attribute is not None:
            offset = span.attributes.get(attribute, (offset,))[0]
        elif inside:
            offset = span.start_end
        assert spans.place(index, attribute, text=inside) == (span.name, offset)


def test_an_unbalanced_text_is_found_out_even_on_the_fast_path() -> None:
    assert TextSpans("<Response><Say></Response>").balanced is False
    assert TextSpans("<Response><Say/></Response>").balanced is True


def test_a_tag_inside_a_comment_is_not_a_tag() -> None:
    document = Document.from_text("<Response><!-- <Say> --><Pause length='5'/></Response>")
    pause = document.root[1]
    assert document.position(pause, "length") == (1, 32)


@settings(max_examples=100, deadline=None)
@given(body=elements(), order=st.randoms(use_true_random=False), comment=st.booleans())
def test_start_tags_found_as_far_as_asked_agree_with_the_whole_scan(
    body: str, order: object, comment: bool
) -> None:
    import random

    assert isinstance(order, random.Random)
    text = f"<Response>{body}</Response>" + ("<!-- -->" if comment else "")
    whole = [_shape(span) for span in TextSpans(text).tags]
    asked = TextSpans(text)
    indexes = list(range(-1, len(whole) + 2))
    order.shuffle(indexes)
    for index in indexes:
        span = asked.tag_at(index)
        if 0 <= index < len(whole):
            assert span is not None and _shape(span) == whole[index]
        else:
            assert span is None
    assert len(asked) == len(whole)


@settings(max_examples=100, deadline=None)
@given(body=elements(), picks=st.lists(st.integers(min_value=0, max_value=40), max_size=12))
def test_elements_counted_in_place_are_located_as_the_index_locates_them(
    body: str, picks: list[int]
) -> None:
    text = f"<Response>\n{body}\n</Response>"
    counted = Document.from_text(text, "flow.xml")
    indexed = Document.from_text(text, "flow.xml")
    every = list(indexed.iter_elements())
    for element in every:  # more look-ups than are counted in place: the index serves these
        indexed.position(element)
    mirror = dict(zip(every, counted.iter_elements(), strict=True))
    for pick in picks:
        element = every[pick % len(every)]
        assert counted.position(mirror[element], "a") == indexed.position(element, "a")
    stranger = Document.from_text("<Response><Say/></Response>", "other.xml").root[0]
    assert counted.tag_span(stranger) is None


def test_a_located_span_does_not_keep_its_documents_spans_alive() -> None:
    # No cycle: a batch pauses the collector for a whole share, so a span that held its
    # TextSpans (which hold the span) kept every located document's text alive until the end.
    import gc
    import weakref

    text = "<Response><Gather><Say>hi</Say></Gather></Response>"
    gc.disable()
    try:
        spans = TextSpans(text)
        span = spans.tag(1)
        gone = weakref.ref(spans)
        del spans
        assert gone() is None  # freed by reference counting alone
    finally:
        gc.enable()
    # Its end tag is still found: the same scan, made again.
    assert text[span.end - len("</Gather>") : span.end] == "</Gather>"
    assert span.end_name is not None
    assert text[span.end_name[0] : span.end_name[1]] == "Gather"
