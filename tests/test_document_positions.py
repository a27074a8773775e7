"""Positions from the one scan of a Document's text: XPaths, tag and attribute spans."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from callflow.document import Document

TAGS = ["Say", "Pause", "Gather", "Case", "Switch"]


@st.composite
def trees(draw: st.DrawFn, depth: int = 3) -> str:
    tag = draw(st.sampled_from(TAGS))
    attributes = draw(
        st.dictionaries(st.sampled_from(["a", "b", "xml:lang"]), st.sampled_from(["1", "x y", ">"]))
    )
    written = "".join(
        f' {name}="{value.replace(">", "&gt;")}"' for name, value in attributes.items()
    )
    children = draw(st.lists(trees(depth - 1), max_size=4)) if depth > 0 else []
    separators = draw(st.sampled_from(["", "\n", "\r", "\r\n  ", "<!-- <Say> -->"]))
    if not children and draw(st.booleans()):
        return f"<{tag}{written}/>"
    return f"<{tag}{written}>{separators}{separators.join(children)}</{tag}>"


@settings(max_examples=150, deadline=None)
@given(body=trees())
def test_xpath_of_is_lxmls_getpath_and_element_at_path_its_inverse(body: str) -> None:
    document = Document.from_text(f"<Response>{body}</Response>")
    tree = document.root.getroottree()
    for element in document.iter_elements():
        path = document.xpath_of(element)
        assert path == tree.getpath(element)
        assert document.element_at_path(path) is element


@settings(max_examples=150, deadline=None)
@given(body=trees())
def test_every_tag_and_attribute_is_found_where_it_is_written(body: str) -> None:
    text = f"<Response>{body}</Response>"
    document = Document.from_text(text)
    spans = document.spans()
    assert spans.balanced
    for element in document.iter_elements():
        span = document.tag_span(element)
        assert span is not None
        assert text[span.start + 1 :].startswith(str(element.tag))
        for name in element.attrib:
            written = "xml:lang" if name.startswith("{") else str(name)
            offset = span.attributes[written][0]
            assert text[offset:].startswith(written + "=")
            line, column = document.position(element, written)
            assert line is not None and column is not None
            assert document.line_text(line)[column - 1 :].startswith(written + "=")  # type: ignore[index]


def test_a_namespaced_document_still_gets_lxmls_paths() -> None:
    document = Document.from_text(
        '<Response xmlns="urn:x"><Say/><Say/><p:Say xmlns:p="urn:y"/></Response>'
    )
    tree = document.root.getroottree()
    assert [document.xpath_of(e) for e in document.iter_elements()] == [
        tree.getpath(e) for e in document.root.iter(etree.Element)
    ]


def test_fix_offsets_come_from_the_same_scan_and_keep_cr_line_endings() -> None:
    from callflow.fix import fix_document, tag_spans

    text = (
        '<Response>\r  <Gather>\r    <Say>x</Say>\r    <DTMF value="1"><Say>a</Say></DTMF>\r'
        "    <Default><Say>d</Say></Default>\r  </Gather>\r</Response>\r"
    )
    document = Document.from_text(text)
    assert tag_spans(document) is document.spans().tags
    fixed = fix_document(document).fixed
    assert "\n" not in fixed
    assert '\r    <Switch>\r    <Case dtmf="1">' in fixed
