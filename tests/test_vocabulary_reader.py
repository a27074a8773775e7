"""The vocabulary is read from the XSD with lxml; xmlschema (a full XSD reader) is the oracle.

These tests hold the fast reader to what xmlschema makes of the same schema, for callflow's own
schema and for variants that use the constructs the reader follows (extension of a complex base,
group references, simple content, required attributes, chains of simple types).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import xmlschema

from callflow.resources import default_schema_path
from callflow.vocabulary import load_vocabulary


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
