"""Properties of every flow the builder can make: random valid trees built through the DSL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from callflow.document import Document
from callflow.dsl import Comment, Element, Hangup, Response, Say, parse

# Private reaches, on purpose: the generated table of every class by tag (the plans cover
# every tag), and the type of an attribute's description, for annotations only.
from callflow.dsl._elements import ELEMENT_CLASSES

# Private on purpose: the XML-to-builder-source writer, held to the builder here.
from callflow.dsl._pysource import flow_script
from callflow.dsl._values import AttributeSpec
from callflow.schema import load_schema

SETTINGS = settings(max_examples=60, deadline=None)

# Characters XML 1.0 allows (surrogates excluded: they cannot be encoded).
XML_TEXT = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",),
        blacklist_characters="".join(chr(c) for c in range(0x20) if chr(c) not in "\t\n\r")
        + "\ufffe\uffff",
    ),
    max_size=40,
)
TOKEN_ALPHABET = st.characters(blacklist_categories=("Cs", "Cc", "Cn", "Zs", "Zl", "Zp"))

Plan = tuple[type[Element], str | None, dict[str, Any], list[Any]]


def values(spec: AttributeSpec) -> st.SearchStrategy[Any]:
    """Python values the builder accepts for one attribute (or an element's text)."""
    if spec.kind == "duration":
        return st.one_of(
            st.integers(0, 10**7), st.integers(0, 10**6).map(lambda ms: timedelta(milliseconds=ms))
        )
    if spec.kind == "positive":
        return st.integers(1, 10**6)
    if spec.kind == "nonnegative":
        return st.integers(0, 10**6)
    if spec.kind == "boolean":
        return st.booleans()
    if spec.enumeration:
        return st.sampled_from(spec.enumeration)
    if spec.pattern is not None:
        return st.from_regex(spec.pattern, fullmatch=True, alphabet=TOKEN_ALPHABET).filter(
            lambda v: bool(v.strip())
        )
    return XML_TEXT


@st.composite
def plans(
    draw: st.DrawFn, cls: type[Element] = ELEMENT_CLASSES["Response"], depth: int = 0
) -> Plan:
    """A random valid element: attributes, text, and children that follow its content model."""
    spec = cls.SPEC
    attributes = {
        a.python_name: draw(values(a)) for a in spec.attributes if a.required or draw(st.booleans())
    }
    text = None
    if spec.text is not None and (draw(st.booleans()) or spec.text.pattern):
        text = draw(values(spec.text))
    children: list[Any] = []
    machine = spec.machine  # the content model, as the builder checks it
    state = 0
    budget = draw(st.integers(0, 3 if depth < 3 else 0))
    while True:
        allowed = [
            tag
            for tag in spec.children
            if machine.step(state, tag) >= 0
            and (depth < 3 or ELEMENT_CLASSES[tag].SPEC.machine.accepts_end(0))
        ]
        complete = machine.accepts_end(state)
        if complete and (budget <= 0 or not allowed or draw(st.integers(0, 4)) == 0):
            break
        if not complete and budget <= 0:
            allowed = [t for t in allowed if machine.accepts_end(machine.step(state, t))] or allowed
        tag = draw(st.sampled_from(allowed))
        if draw(st.integers(0, 9)) == 0:
            children.append(
                ("comment", draw(XML_TEXT.filter(lambda c: "--" not in c and not c.endswith("-"))))
            )
        children.append(draw(plans(ELEMENT_CLASSES[tag], depth + 1)))
        state = machine.step(state, tag)
        budget -= 1
    return (cls, text, attributes, children)


def construct(plan: Any) -> Any:
    """Build a plan with constructor children."""
    if plan[0] == "comment":
        return Comment(plan[1])
    cls, text, attributes, children = plan
    built = [construct(child) for child in children]
    if text is not None:
        return cls(text, **attributes)
    return cls(*built, **attributes)


def construct_in_blocks(plan: Any) -> Any:
    """Build the same plan with `with` blocks wherever an element holds children."""
    if plan[0] == "comment":
        return Comment(plan[1])
    cls, text, attributes, children = plan
    if text is not None:
        return cls(text, **attributes)
    if not cls.SPEC.children:
        return cls(**attributes)
    with cls(**attributes) as node:
        for child in children:
            construct_in_blocks(child)
    return node


flows = plans().map(construct)


@SETTINGS
@given(flows)
def test_every_built_flow_validates_against_the_schema(flow: Response) -> None:
    assert list(load_schema().iter_diagnostics(flow.to_document())) == []


@SETTINGS
@given(flows)
def test_parse_after_serialise_gives_an_equal_flow(flow: Response) -> None:
    assert parse(flow.to_xml()) == flow
    assert parse(flow.to_bytes(pretty=True)) == flow


@SETTINGS
@given(flows)
def test_serialising_is_deterministic_and_stable_through_parse(flow: Response) -> None:
    assert flow.to_bytes() == flow.to_bytes()
    assert parse(flow.to_xml()).to_bytes() == flow.to_bytes()


@SETTINGS
@given(flows)
def test_every_element_resolves_to_a_real_python_line(flow: Response) -> None:
    document = flow.to_document()
    lines = Path(__file__).read_text("utf-8").splitlines()
    for element in document.iter_elements():
        location = document.locate(element)
        assert location.file == __file__
        assert "(" in lines[location.line - 1]  # the line holds the constructor call


@SETTINGS
@given(plans())
def test_with_blocks_build_the_same_flow_as_constructor_children(plan: Plan) -> None:
    assert construct_in_blocks(plan) == construct(plan)


@SETTINGS
@given(flows)
def test_the_converted_script_rebuilds_the_flow(flow: Response) -> None:
    namespace: dict[str, Any] = {"__name__": "converted"}
    exec(compile(flow_script(flow, source="random.xml"), "converted.py", "exec"), namespace)
    assert namespace["flow"] == flow
    assert namespace["flow"].to_bytes() == flow.to_bytes()


@SETTINGS
@given(XML_TEXT)
def test_any_xml_legal_text_survives_a_round_trip_byte_for_byte(text: str) -> None:
    flow = Response(Say(text), Hangup(tag=text))
    again = parse(Document.from_bytes(flow.to_bytes()))
    say, hangup = again.children
    assert (say.text or "") == text
    assert hangup.attributes["tag"] == text
