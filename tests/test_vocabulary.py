"""The vocabulary read from the XSD: every tag, its attributes and their kinds, its children,
and the closest-name hints built on it."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from callflow.resources import default_schema_path
from callflow.vocabulary import closest, load_vocabulary

XS = "{http://www.w3.org/2001/XMLSchema}"


def local(name: str) -> str:
    return name.split(":", 1)[-1]


class PlainReading:
    """The XSD read with lxml alone, as an oracle independent of xmlschema."""

    def __init__(self, path: Path) -> None:
        self.root = etree.parse(str(path)).getroot()
        self.types = {t.get("name"): t for t in self.root.iter(f"{XS}complexType")}
        self.groups = {g.get("name"): g for g in self.root.iter(f"{XS}group") if g.get("name")}
        self.element_types = {
            e.get("name"): local(e.get("type", "")) for e in self.root.iter(f"{XS}element")
        }

    def _parts(self, node: etree._Element) -> list[etree._Element]:
        """``node`` and every named group or complex base it reaches."""
        parts = [node]
        for ref in node.iter(f"{XS}group"):
            if ref.get("ref"):
                parts += self._parts(self.groups[ref.get("ref")])
        for extension in node.iter(f"{XS}extension"):
            base = self.types.get(local(extension.get("base", "")))
            if base is not None:
                parts += self._parts(base)
        return parts

    def attributes(self, tag: str) -> dict[str, tuple[str, bool]]:
        found: dict[str, tuple[str, bool]] = {}
        for part in self._parts(self.types[self.element_types[tag]]):
            for attribute in part.iter(f"{XS}attribute"):
                kind = local(attribute.get("type", ""))
                found[attribute.get("name")] = (kind, attribute.get("use") == "required")
        return found

    def children(self, tag: str) -> set[str]:
        return {
            element.get("name")
            for part in self._parts(self.types[self.element_types[tag]])
            for element in part.iter(f"{XS}element")
        }


PLAIN = PlainReading(default_schema_path())
VOCABULARY = load_vocabulary()


def test_every_tag_the_schema_declares_is_in_the_vocabulary() -> None:
    assert set(VOCABULARY.elements) == set(PLAIN.element_types)


def test_the_roots_are_the_global_elements() -> None:
    globals_ = tuple(e.get("name") for e in PLAIN.root.findall(f"{XS}element"))
    assert VOCABULARY.roots == globals_ == ("Response",)


def test_each_tag_has_the_attributes_the_schema_gives_it_with_their_kinds() -> None:
    for tag, info in VOCABULARY.elements.items():
        declared = PLAIN.attributes(tag)
        assert set(info.attributes) == set(declared), tag
        for name, attribute in info.attributes.items():
            assert (attribute.type_name, attribute.required) == declared[name], (tag, name)


def test_each_tag_has_the_children_the_schema_allows() -> None:
    for tag, info in VOCABULARY.elements.items():
        assert set(info.children) == PLAIN.children(tag), tag
        assert len(info.children) == len(set(info.children)), tag


def test_required_attributes_are_marked_required() -> None:
    value = VOCABULARY.elements["DTMF"].attributes["value"]
    assert value.required and value.type_name == "Keys"
    assert VOCABULARY.elements["Case"].attributes["dtmf"].required
    assert not VOCABULARY.elements["Gather"].attributes["numDigits"].required


def test_enumerated_kinds_carry_their_values_and_patterned_kinds_their_patterns() -> None:
    say = VOCABULARY.elements["Say"].attributes
    assert say["gender"].enumeration == ("MALE", "FEMALE")
    assert say["type"].enumeration == ("Standard", "WaveNet")
    gather = VOCABULARY.elements["Gather"].attributes
    assert gather["finishOnKey"].patterns == ("[0-9*#+]",)
    assert gather["numDigits"].base == "positiveInteger"
    assert gather["timeout"].base == "nonNegativeInteger"


def test_text_content_is_described_only_for_tags_that_hold_text() -> None:
    assert VOCABULARY.elements["Say"].text is not None
    assert VOCABULARY.elements["Response"].text is None
    assert VOCABULARY.elements["Pause"].text is None


def test_tags_and_attributes_carry_the_schemas_documentation() -> None:
    answer = VOCABULARY.elements["Answer"]
    assert answer.documentation.startswith("Answers the call (SIP 200 OK).")
    delay = answer.attributes["delay"]
    assert delay.documentation == "Milliseconds to wait before the next command."


def test_element_looks_a_tag_up_and_an_unknown_one_is_none() -> None:
    assert VOCABULARY.element("Gather") is VOCABULARY.elements["Gather"]
    assert VOCABULARY.element("Gathr") is None


def test_a_misspelt_tag_gets_the_closest_known_one() -> None:
    assert VOCABULARY.closest_tag("Gahter") == "Gather"
    assert VOCABULARY.closest_tag("gather") == "Gather"
    assert VOCABULARY.closest_tag("Xyzzy") is None
    assert VOCABULARY.closest_tag("Sya", among=["Say", "Play"]) == "Say"


def test_a_known_tag_is_its_own_closest_even_beside_a_case_variant() -> None:
    # The schema has both <Callback> and the legacy <callback>.
    assert VOCABULARY.closest_tag("Callback") == "Callback"
    assert VOCABULARY.closest_tag("callback") == "callback"


def test_a_case_only_difference_wins_over_a_spelling_one() -> None:
    assert closest("NUMDIGITS", ["numDigits", "NUMDIGIT"]) == "numDigits"


def test_nothing_close_gives_none() -> None:
    assert closest("timeout", []) is None
    assert closest("zzzz", ["numDigits", "timeout"]) is None


names = st.text(st.characters(min_codepoint=33, max_codepoint=0x2FF), min_size=1, max_size=12)
# Few letters in both cases, so that candidates differing only by case are common.
near_names = st.text(st.sampled_from("abAB"), min_size=1, max_size=4)


@given(candidates=st.lists(names | near_names, min_size=1, max_size=8), data=st.data())
def test_a_candidate_is_always_its_own_closest(candidates: list[str], data: st.DataObject) -> None:
    word = data.draw(st.sampled_from(candidates))
    assert closest(word, candidates) == word
    # Also when a name differing from it only by case comes after it.
    assert closest(word, [*candidates, word.swapcase()]) == word


@given(word=names, candidates=st.lists(names, max_size=8))
def test_the_closest_is_always_one_of_the_candidates(word: str, candidates: list[str]) -> None:
    guess = closest(word, candidates)
    assert guess is None or guess in candidates
