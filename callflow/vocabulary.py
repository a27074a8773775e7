"""What a schema allows: each tag's attributes, value types and children, read from the XSD.

Used for hints ("did you mean `numDigits`?"), allowed-value lists, and by the builder's
code generator. It reads the XSD with xmlschema, which is imported only here and only
when a vocabulary is first needed (an error to explain, or code to generate).
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from callflow.resources import default_schema_path

_XS = "{http://www.w3.org/2001/XMLSchema}"


class AttributeInfo:
    """One attribute: wire name, required or not, its type name, allowed values or patterns,
    and what it does (the XSD's ``xs:documentation``)."""

    __slots__ = (
        "base",
        "documentation",
        "enumeration",
        "name",
        "patterns",
        "required",
        "type_name",
    )

    def __init__(
        self,
        name: str,
        required: bool,
        type_name: str,
        base: str,
        enumeration: tuple[str, ...] = (),
        patterns: tuple[str, ...] = (),
        documentation: str = "",
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.required = required
        self.type_name = type_name
        self.base = base
        self.enumeration = enumeration
        self.patterns = patterns

    def __repr__(self) -> str:
        return f"AttributeInfo({self.name!r}, {self.type_name}, required={self.required})"


class ElementInfo:
    """One tag: its attributes, the tags allowed inside it, whether it holds text, and what
    it does (the XSD's ``xs:documentation`` of its type)."""

    __slots__ = ("attributes", "children", "documentation", "name", "text", "type_name")

    def __init__(
        self,
        name: str,
        type_name: str,
        attributes: dict[str, AttributeInfo],
        children: tuple[str, ...],
        text: AttributeInfo | None,
        documentation: str = "",
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.type_name = type_name
        self.attributes = attributes
        self.children = children
        self.text = text  # the simple type of the element's text, if it has text content

    def __repr__(self) -> str:
        return f"ElementInfo({self.name!r}, attributes={list(self.attributes)})"


class Vocabulary:
    """Every tag reachable from the schema's global elements, keyed by tag name."""

    def __init__(self, roots: tuple[str, ...], elements: dict[str, ElementInfo]) -> None:
        self.roots = roots
        self.elements = elements

    def element(self, name: str) -> ElementInfo | None:
        return self.elements.get(name)

    def closest_tag(self, name: str, among: Iterable[str] | None = None) -> str | None:
        return closest(name, among if among is not None else self.elements)


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate most like ``word`` (case-insensitive first), or None if none is close."""
    options = list(dict.fromkeys(candidates))
    if word in options:  # before the case-insensitive look-up: <Callback> is not <callback>
        return word
    lowered = {c.lower(): c for c in options}
    if word.lower() in lowered and lowered[word.lower()] != word:
        return lowered[word.lower()]
    found = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if found:
        return found[0]
    found = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[found[0]] if found else None


def _local(name: str | None) -> str:
    if not name:
        return ""
    return name.split("}", 1)[1] if name.startswith("{") else name


def documentation_of(component: Any) -> str:
    """The text of a schema component's ``xs:annotation/xs:documentation``, whitespace folded."""
    annotation = getattr(component, "annotation", None)
    if annotation is None:
        return ""
    texts = ["".join(entry.itertext()) for entry in getattr(annotation, "documentation", ())]
    return " ".join(" ".join(texts).split())


def _simple_info(
    name: str, xsd_type: Any, required: bool, documentation: str = ""
) -> AttributeInfo:
    enumeration = tuple(str(v) for v in (getattr(xsd_type, "enumeration", None) or ()))
    patterns: tuple[str, ...] = ()
    facets = getattr(xsd_type, "patterns", None)
    if facets is not None:
        patterns = tuple(str(p) for p in getattr(facets, "regexps", ()))
    base = xsd_type
    while getattr(base, "base_type", None) is not None and not _local(base.name).startswith(
        tuple("abcdefghijklmnopqrstuvwxyz")
    ):
        base = base.base_type
    primitive = getattr(xsd_type, "primitive_type", None)
    base_name = _local(getattr(base, "name", None)) or _local(getattr(primitive, "name", None))
    return AttributeInfo(
        name=name,
        required=required,
        type_name=_local(xsd_type.name) or base_name or "string",
        base=base_name or "string",
        enumeration=enumeration,
        patterns=patterns,
        documentation=documentation,
    )


@functools.lru_cache(maxsize=8)
def load_vocabulary(schema_path: Path | None = None) -> Vocabulary:
    """Read the vocabulary of an XSD (callflow's own by default). Cached per path."""
    import xmlschema

    schema = xmlschema.XMLSchema(str(schema_path or default_schema_path()))
    elements: dict[str, ElementInfo] = {}
    pending: list[Any] = list(schema.elements.values())
    while pending:
        element = pending.pop(0)
        name = _local(element.name)
        if name in elements:
            continue
        xsd_type: Any = element.type
        attributes = {
            _local(attr_name): _simple_info(
                _local(attr_name),
                attribute.type,
                attribute.use == "required",
                documentation_of(attribute),
            )
            for attr_name, attribute in xsd_type.attributes.items()
            if attr_name
        }
        children: list[str] = []
        text: AttributeInfo | None = None
        if xsd_type.has_complex_content():
            for child in xsd_type.content.iter_elements():
                child_name = _local(child.name)
                if child_name not in children:
                    children.append(child_name)
                pending.append(child)
        elif xsd_type.has_simple_content():
            text = _simple_info("#text", xsd_type.content, required=False)
        elif getattr(xsd_type, "is_simple", lambda: False)():
            text = _simple_info("#text", xsd_type, required=False)
        elements[name] = ElementInfo(
            name,
            _local(xsd_type.name),
            attributes,
            tuple(children),
            text,
            documentation_of(xsd_type),
        )
    roots = tuple(_local(n) for n in schema.elements)
    return Vocabulary(roots, elements)
