"""Every built element knows the `.py` line that created it, through `to_document`."""

from __future__ import annotations

from pathlib import Path

from callflow.check import check_document
from callflow.dsl import Case, Dial, Gather, Hangup, Response, Say, Switch, To
from callflow.sourcemap import SourceLocation

HERE = str(Path(__file__))


def line_of(marker: str) -> int:
    for number, text in enumerate(Path(__file__).read_text("utf-8").splitlines(), start=1):
        if text.rstrip().endswith(marker):
            return number
    raise AssertionError(f"marker {marker} not found")


def test_each_element_maps_to_the_line_that_built_it() -> None:
    flow = Response(  # marker:response
        Say("Hello."),  # marker:say
        Dial(  # marker:dial
            To("+15550100"),  # marker:to
        ),
    )
    document = flow.to_document()
    lines = {path: location.line for path, location in document.source_map.elements.items()}
    assert lines == {
        "/Response": line_of("marker:response"),
        "/Response/Say": line_of("marker:say"),
        "/Response/Dial": line_of("marker:dial"),
        "/Response/Dial/To": line_of("marker:to"),
    }
    assert document.name == HERE


def test_document_locate_resolves_elements_to_python_lines() -> None:
    with Response() as flow, Gather(num_digits=1):  # marker:gather
        Say("Press 1.")  # marker:prompt
    document = flow.to_document()
    say = document.root.find("Gather/Say")
    assert say is not None
    assert document.locate(say) == SourceLocation(HERE, line_of("marker:prompt"))


def menu_option(digit: str) -> Case:
    return Case(Say(f"You chose {digit}."), dtmf=digit)  # marker:fragment


def test_a_fragment_records_its_caller_as_the_chain() -> None:
    flow = Response(Gather(Switch(menu_option("1"), menu_option("2"))))  # marker:caller
    document = flow.to_document()
    location = document.source_map.elements["/Response/Gather/Switch/Case[2]"]
    assert (location.file, location.line) == (HERE, line_of("marker:fragment"))
    assert location.chain == (f"called from {HERE}:{line_of('marker:caller')}",)


def test_a_shared_node_maps_to_its_line_in_every_place_and_every_flow() -> None:
    shared = Hangup(tag="bye")  # marker:shared
    first = Response(Say("One."), shared).to_document()
    second = Response(Gather(Switch(Case(shared, dtmf="1"))), shared).to_document()
    expected = SourceLocation(HERE, line_of("marker:shared"))
    assert first.source_map.elements["/Response/Hangup"] == expected
    assert second.source_map.elements["/Response/Gather/Switch/Case/Hangup"] == expected
    assert second.source_map.elements["/Response/Hangup"] == expected
    # building the second flow did not change what the first one says
    assert first.source_map.elements["/Response/Say"].line != expected.line


def test_schema_problems_of_a_built_flow_are_reported_at_python_lines() -> None:
    flow = Response(
        Say("Hi", unchecked_attributes={"speed": "fast"}),  # marker:unknown-attribute
    )
    problems = check_document(flow.to_document(), lint=False)
    assert [(p.code, p.location.file, p.location.line) for p in problems] == [
        ("CF203", HERE, line_of("marker:unknown-attribute"))
    ]
