"""The editing features' engines on any text: schema-driven answers, and never an exception.

The server's behaviour is tested through a real client (test_server.py); these hold the
engines behind it to properties over arbitrary buffers and cursor positions, far more cases
than a subprocess round trip per case allows.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from callflow.dsl import _elements
from callflow.lsp import _cursor
from callflow.lsp._features import completions, definition, hover
from callflow.vocabulary import load_vocabulary

PIECES = [*"<>/=\"' \n{}%#!?-ab", "<Say", "<Gather", "Switch", "{{", "}}", "{%", "%}", "<!--"]
MARKUP = st.lists(st.sampled_from(PIECES), max_size=60).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=MARKUP | st.text(max_size=200), data=st.data())
def test_completion_hover_and_definition_never_raise(text: str, data: st.DataObject) -> None:
    offset = data.draw(st.integers(0, len(text)))
    for kind in ("xml", "template"):
        completions(text, offset, kind)
        hover(text, offset, kind)
    definition("/nowhere/t.xml.j2", text, offset)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_the_tags_offered_are_those_the_schema_allows_inside_the_open_element(
    data: st.DataObject,
) -> None:
    words = load_vocabulary()
    parents = [name for name, info in words.elements.items() if info.children]
    parent = data.draw(st.sampled_from(parents))
    text = f"<Response><{parent}>\n  <" if parent != "Response" else "<Response>\n  <"
    offered = [item.label for item in completions(text, len(text), "xml")]
    assert offered == list(words.elements[parent].children)


def test_the_keys_a_one_key_attribute_takes_are_offered() -> None:
    text = '<Response><Gather finishOnKey="'
    labels = [item.label for item in completions(text, len(text), "xml")]
    assert labels == [*"0123456789", "*", "#", "+"]
    method = '<Response><Callback method="'
    assert [i.label for i in completions(method, len(method), "xml")] == [
        "GET",
        "POST",
        "PATCH",
        "DELETE",
    ]


def test_inside_jinja_nothing_is_offered() -> None:
    for text in ("<Response>{{ x <", "<Response>{% if <", "<Response>{# <"):
        assert _cursor.cursor_at(text, len(text), template=True).kind == _cursor.JINJA
        assert completions(text, len(text), "template") == []


def test_every_tag_and_attribute_is_documented_in_the_schema() -> None:
    words = load_vocabulary()
    for name, info in words.elements.items():
        assert info.documentation, f"<{name}> has no xs:documentation"
        for attribute in info.attributes.values():
            assert attribute.documentation, f"{name}/@{attribute.name} has no xs:documentation"


def _folded(text: str | None) -> str:
    return " ".join((text or "").split())


def test_the_builder_docstrings_carry_the_schema_documentation() -> None:
    words = load_vocabulary()
    for name, info in words.elements.items():
        element_class = _elements.ELEMENT_CLASSES[name]
        docstring = _folded(element_class.__doc__)
        assert _folded(info.documentation) in docstring
        for attribute in info.attributes.values():
            assert _folded(attribute.documentation) in docstring
