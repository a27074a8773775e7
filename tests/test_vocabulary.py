"""The vocabulary read from the XSD: every tag, its attributes and their kinds, its children,
and the closest-name hints built on it."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import xmlschema
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from callflow.resources import default_schema_path
from callflow.vocabulary import closest, load_vocabulary
from tests.conftest import load_script

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


# ---------------------------------------------------------------- xmlschema as the oracle
# The reader is held to what xmlschema (a full XSD implementation) makes of the same schema,
# for callflow's own and for variants using the constructs the reader follows (extension of a
# complex base, group references, simple content, required attributes, chains of simple types).


def _local(name: str | None) -> str:
    return (name or "").rsplit("}", 1)[-1]


def _facets(xsd_type: Any) -> tuple[str, str, tuple[str, ...], tuple[str, ...]]:
    enumeration = tuple(str(v) for v in (getattr(xsd_type, "enumeration", None) or ()))
    facets = getattr(xsd_type, "patterns", None)
    patterns = tuple(str(p) for p in getattr(facets, "regexps", ())) if facets is not None else ()
    base = xsd_type
    while base.base_type is not None and not _local(base.name)[:1].islower():
        base = base.base_type
    return _local(xsd_type.name), _local(base.name), enumeration, patterns


def _oracle(path: Path) -> dict[str, Any]:
    """Each tag's type, children, text type and attributes, as xmlschema reads them."""
    schema = xmlschema.XMLSchema(str(path))
    found: dict[str, Any] = {}
    pending = list(schema.elements.values())
    while pending:
        element = pending.pop(0)
        name = _local(element.name)
        if name in found:
            continue
        xsd_type = element.type
        children: list[str] = []
        text = None
        if xsd_type.has_complex_content():
            for child in xsd_type.content.iter_elements():
                if _local(child.name) not in children:
                    children.append(_local(child.name))
                pending.append(child)
        elif xsd_type.has_simple_content():
            text = _facets(xsd_type.content)
        attributes = {
            _local(n): (*_facets(a.type), a.use == "required")
            for n, a in xsd_type.attributes.items()
        }
        found[name] = (_local(xsd_type.name), tuple(children), text, attributes)
    return found


def _ours(path: Path) -> dict[str, Any]:
    vocabulary = load_vocabulary(path)
    found: dict[str, Any] = {}
    for name, info in vocabulary.elements.items():
        text = info.text
        found[name] = (
            info.type_name,
            info.children,
            None if text is None else (text.type_name, text.base, text.enumeration, text.patterns),
            {
                a.name: (a.type_name, a.base, a.enumeration, a.patterns, a.required)
                for a in info.attributes.values()
            },
        )
    return found


VARIANT = """<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:simpleType name="Digits"><xs:restriction base="xs:token">
    <xs:pattern value="[0-9]+"/></xs:restriction></xs:simpleType>
  <xs:simpleType name="FewDigits"><xs:restriction base="Digits">
    <xs:maxLength value="4"/></xs:restriction></xs:simpleType>
  <xs:simpleType name="Colour"><xs:restriction base="xs:string">
    <xs:enumeration value="red"/><xs:enumeration value="blue"/></xs:restriction></xs:simpleType>
  <xs:group name="Step"><xs:choice>
    <xs:element name="Speak" type="SpeakType"/>
    <xs:element name="Block" type="BlockType"/>
  </xs:choice></xs:group>
  <xs:complexType name="Base"><xs:sequence>
    <xs:group ref="Step" minOccurs="0" maxOccurs="unbounded"/></xs:sequence>
    <xs:attribute name="id" type="FewDigits" use="required"/></xs:complexType>
  <xs:complexType name="BlockType"><xs:complexContent><xs:extension base="Base">
    <xs:sequence><xs:element name="Tail" type="TailType" minOccurs="0"/></xs:sequence>
    <xs:attribute name="colour" type="Colour"/></xs:extension></xs:complexContent></xs:complexType>
  <xs:complexType name="SpeakType"><xs:simpleContent><xs:extension base="Digits">
    <xs:attribute name="loud" type="xs:boolean"/></xs:extension></xs:simpleContent></xs:complexType>
  <xs:complexType name="TailType"/>
  <xs:complexType name="RootType"><xs:sequence>
    <xs:element name="Block" type="BlockType" maxOccurs="unbounded"/></xs:sequence></xs:complexType>
  <xs:element name="Root" type="RootType"/>
</xs:schema>
"""


def test_reads_callflows_schema_as_xmlschema_does() -> None:
    assert _ours(default_schema_path()) == _oracle(default_schema_path())


def test_reads_a_variant_schema_as_xmlschema_does(tmp_path: Path) -> None:
    path = tmp_path / "variant.xsd"
    path.write_text(VARIANT, encoding="utf-8")
    ours = _ours(path)
    assert ours == _oracle(path)
    assert set(ours) == {"Root", "Block", "Speak", "Tail"}


def test_groups_and_holders_come_from_the_schema(tmp_path: Path) -> None:
    path = tmp_path / "variant.xsd"
    path.write_text(VARIANT, encoding="utf-8")
    vocabulary = load_vocabulary(path)
    assert vocabulary.members("Step") == {"Speak", "Block"}
    assert vocabulary.holding("Step") == {"Block"}
    assert vocabulary.typed("FewDigits") == (("Block", "id"),)


def test_callflow_groups() -> None:
    vocabulary = load_vocabulary()
    actions = vocabulary.members("Action")
    assert {"Say", "Gather", "Dial", "Callback", "callback", "Call"} <= actions
    assert "Error" not in actions and "Case" not in actions
    assert vocabulary.holding("Action") == {
        "Response", "Case", "Default", "Error", "Call", "DTMF", "Record"
    }  # fmt: skip
    assert set(vocabulary.typed("Milliseconds")) == {
        ("Gather", "timeout"), ("Pause", "length"), ("Answer", "delay"),
        ("Record", "timeout"), ("Callback", "timeout"),
    }  # fmt: skip


@pytest.mark.parametrize(
    "text", ["<nope", "<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><x>&e;</x>"]
)
def test_a_broken_or_hostile_schema_is_an_error_not_a_read(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.xsd"
    path.write_text(text, encoding="utf-8")
    try:
        vocabulary = load_vocabulary(path)
    except (
        Exception
    ) as error:  # any parse error will do; reading the file named by the entity will not
        assert "root:" not in str(error)
    else:
        assert vocabulary.elements == {}


# ---------------------------------------------------------------- the generated reading

ROOT = Path(__file__).resolve().parents[1]


def _generator() -> ModuleType:
    return load_script("generate_vocabulary")


@pytest.fixture
def fresh_cache() -> Any:
    """Clear the per-path cache around a test that loads the vocabulary its own way."""
    load_vocabulary.cache_clear()
    yield
    load_vocabulary.cache_clear()


def test_the_committed_data_module_matches_the_schema() -> None:
    expected = _generator().render_module()
    assert (ROOT / "callflow" / "_vocabulary_data.py").read_text("utf-8") == expected, (
        "callflow/_vocabulary_data.py is stale: run python scripts/generate_vocabulary.py"
    )


def test_the_generated_reading_equals_reading_the_xsd() -> None:
    from callflow.vocabulary import read_vocabulary, vocabulary_rows

    assert vocabulary_rows(load_vocabulary()) == vocabulary_rows(
        read_vocabulary(default_schema_path())
    )


def test_the_bundled_schema_is_not_parsed_for_its_vocabulary(
    fresh_cache: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import callflow.vocabulary as module

    def refuse(*args: object) -> None:
        raise AssertionError("the XSD was read")

    monkeypatch.setattr(module, "read_vocabulary", refuse)
    assert "Gather" in load_vocabulary().elements


def _edited_schema(tmp_path: Path) -> Path:
    """The bundled XSD with one more attribute on <Say>'s type (same tags otherwise)."""
    text = default_schema_path().read_text("utf-8")
    tree = etree.fromstring(text.encode())
    say_type = tree.find(f".//{XS}element[@name='Say']").get("type")
    found = [t for t in tree.iter(f"{XS}complexType") if t.get("name") == local(say_type)]
    extension = found[0].find(f".//{XS}extension")
    holder = extension if extension is not None else found[0]
    etree.SubElement(holder, f"{XS}attribute", name="pitchShift", type="xs:string")
    edited = tmp_path / "callflow.xsd"
    edited.write_bytes(etree.tostring(tree))
    return edited


@pytest.mark.parametrize("same_size", [False, True])
def test_a_changed_bundled_schema_is_read_from_the_xsd(
    fresh_cache: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, same_size: bool
) -> None:
    import callflow._vocabulary_data as data
    import callflow.vocabulary as module

    edited = _edited_schema(tmp_path)
    if same_size:  # a change that keeps the size is still seen (the CRC differs)
        monkeypatch.setattr(data, "SCHEMA_SIZE", edited.stat().st_size)
    monkeypatch.setattr(module, "default_schema_file", lambda: str(edited))
    assert "pitchShift" in load_vocabulary().elements["Say"].attributes
    assert "pitchShift" in load_vocabulary(edited).elements["Say"].attributes


def test_an_unreadable_bundled_schema_is_reported_by_reading_the_xsd(
    fresh_cache: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import callflow.vocabulary as module

    missing = tmp_path / "gone.xsd"
    monkeypatch.setattr(module, "default_schema_file", lambda: str(missing))
    with pytest.raises(OSError):
        load_vocabulary()
