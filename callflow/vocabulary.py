"""What a schema allows: each tag's attributes, value types, children and groups, read from the XSD.

This is the one description of the call XML vocabulary that the code consults: hints ("did you
mean `numDigits`?"), allowed-value lists, the builder's code generator, the editor's completion,
the lint rules' tag sets (``members("Action")``, ``holding("Action")``), the simulator's and the
graph's coverage tests. It reads the XSD with lxml (about a millisecond and a half, once per
schema path), and relies on the schema's stated conventions: every tag name has exactly one
named type, and simple types are named restrictions of XSD built-in types. For the bundled
schema, the same reading is also kept as literals in `callflow._vocabulary_data` (written by
scripts/generate_vocabulary.py), used while the schema's bytes match the ones it was made from,
so that a start does not pay for reading the XSD.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable

from lxml import etree

from callflow.resources import default_schema_file, is_default_schema

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

    __slots__ = (
        "attributes",
        "children",
        "documentation",
        "groups",
        "holds",
        "name",
        "text",
        "type_name",
    )

    def __init__(
        self,
        name: str,
        type_name: str,
        attributes: dict[str, AttributeInfo],
        children: tuple[str, ...],
        text: AttributeInfo | None,
        documentation: str = "",
        groups: tuple[str, ...] = (),
        holds: tuple[str, ...] = (),
    ) -> None:
        self.name = name
        self.groups = groups  # the named groups (xs:group) this tag is declared in
        self.holds = holds  # the named groups its content refers to, directly or through its base
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

    def members(self, group: str) -> frozenset[str]:
        """The tags declared in the named group (``members("Action")``: the action tags)."""
        return frozenset(n for n, e in self.elements.items() if group in e.groups)

    def holding(self, group: str) -> frozenset[str]:
        """The tags whose content is made of the named group (the blocks of actions)."""
        return frozenset(n for n, e in self.elements.items() if group in e.holds)

    def typed(self, type_name: str) -> tuple[tuple[str, str], ...]:
        """Every (tag, attribute) whose value has the named simple type, in schema order."""
        return tuple(
            (n, a.name)
            for n, e in self.elements.items()
            for a in e.attributes.values()
            if a.type_name == type_name
        )

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
    import difflib  # only for a guess: checking a flow that has no problem never needs it

    found = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if found:
        return found[0]
    found = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[found[0]] if found else None


def _local(name: str | None) -> str:
    if not name:
        return ""
    return name.rsplit(":", 1)[-1]


def _documentation(node: etree._Element) -> str:
    """The text of a component's ``xs:annotation/xs:documentation``, whitespace folded."""
    texts = ["".join(d.itertext()) for d in node.iterfind(f"{_XS}annotation/{_XS}documentation")]
    return " ".join(" ".join(texts).split())


class _Reader:
    """One pass over an XSD's named components, answering what each tag allows."""

    def __init__(self, root: etree._Element) -> None:
        self.simple = {t.get("name"): t for t in root.iterfind(f"{_XS}simpleType")}
        self.complex = {t.get("name"): t for t in root.iterfind(f"{_XS}complexType")}
        self.groups = {g.get("name"): g for g in root.iterfind(f"{_XS}group")}
        self.globals = list(root.iterfind(f"{_XS}element"))
        self.member_of: dict[str, list[str]] = {}
        for name, group in self.groups.items():
            if name is None:
                continue
            for element in group.iter(f"{_XS}element"):
                self.member_of.setdefault(element.get("name", ""), []).append(name)

    def simple_info(
        self, name: str, type_ref: str, required: bool, documentation: str = ""
    ) -> AttributeInfo:
        type_name = _local(type_ref) or "string"
        node = self.simple.get(type_name)
        enumeration: tuple[str, ...] = ()
        patterns: tuple[str, ...] = ()
        base = type_name
        seen: set[str] = set()
        while node is not None and base not in seen:  # a restriction keeps its base's facets
            seen.add(base)
            restriction = node.find(f"{_XS}restriction")
            if restriction is None:
                break
            enumeration = enumeration or tuple(
                e.get("value", "") for e in restriction.iterfind(f"{_XS}enumeration")
            )
            patterns = patterns or tuple(
                p.get("value", "") for p in restriction.iterfind(f"{_XS}pattern")
            )
            base = _local(restriction.get("base"))
            node = self.simple.get(base)
        return AttributeInfo(
            name=name,
            required=required,
            type_name=type_name,
            base=base or "string",
            enumeration=enumeration,
            patterns=patterns,
            documentation=documentation,
        )

    def attributes(self, node: etree._Element) -> dict[str, AttributeInfo]:
        """The attributes a complex type declares, its base type's first."""
        found: dict[str, AttributeInfo] = {}
        for extension in node.iterfind(f"{_XS}*/{_XS}extension"):
            base = self.complex.get(_local(extension.get("base")))
            if base is not None:
                found.update(self.attributes(base))
            found.update(self._own_attributes(extension))
        found.update(self._own_attributes(node))
        return found

    def _own_attributes(self, node: etree._Element) -> dict[str, AttributeInfo]:
        return {
            a.get("name", ""): self.simple_info(
                a.get("name", ""),
                a.get("type", ""),
                a.get("use") == "required",
                _documentation(a),
            )
            for a in node.iterfind(f"{_XS}attribute")
        }

    def content(
        self, node: etree._Element, elements: list[etree._Element], holds: list[str]
    ) -> None:
        """Every element declaration reachable in a content model, in document order."""
        for child in node:
            tag = child.tag
            if tag == f"{_XS}element":
                elements.append(child)
            elif tag == f"{_XS}group":
                name = _local(child.get("ref"))
                if name not in holds:
                    holds.append(name)
                group = self.groups.get(name)
                if group is not None:
                    self.content(group, elements, holds)
            elif tag in (f"{_XS}complexContent", f"{_XS}extension"):
                base = self.complex.get(_local(child.get("base")))
                if base is not None:
                    self.content(base, elements, holds)
                self.content(child, elements, holds)
            elif tag in (f"{_XS}sequence", f"{_XS}choice", f"{_XS}all"):
                self.content(child, elements, holds)

    def text(self, node: etree._Element) -> AttributeInfo | None:
        extension = node.find(f"{_XS}simpleContent/{_XS}extension")
        if extension is None:
            return None
        return self.simple_info("#text", extension.get("base", ""), required=False)

    def read(self) -> Vocabulary:
        elements: dict[str, ElementInfo] = {}
        pending = list(self.globals)
        while pending:
            declaration = pending.pop(0)
            name = declaration.get("name", "")
            if name in elements:
                continue
            type_name = _local(declaration.get("type"))
            node = self.complex.get(type_name)
            if node is None:
                text = self.simple_info("#text", type_name, required=False)
                elements[name] = ElementInfo(name, type_name, {}, (), text, "", ())
                continue
            declared: list[etree._Element] = []
            holds: list[str] = []
            self.content(node, declared, holds)
            pending.extend(declared)
            elements[name] = ElementInfo(
                name,
                type_name,
                self.attributes(node),
                tuple(dict.fromkeys(d.get("name", "") for d in declared)),
                self.text(node),
                _documentation(node),
                tuple(self.member_of.get(name, ())),
                tuple(holds),
            )
        return Vocabulary(tuple(g.get("name", "") for g in self.globals), elements)


@functools.lru_cache(maxsize=8)
def load_vocabulary(schema_path: str | os.PathLike[str] | None = None) -> Vocabulary:
    """The vocabulary of an XSD (callflow's own by default). Cached per path.

    For the bundled schema this is the generated reading in `callflow._vocabulary_data`
    while the schema's size and CRC-32 match the ones it was generated from; any other
    schema, or a changed one, is read from the XSD itself."""
    file = os.fspath(schema_path) if schema_path is not None else default_schema_file()
    if schema_path is None or is_default_schema(file):
        bundled = _bundled(file)
        if bundled is not None:
            return bundled
    return read_vocabulary(file)


def read_vocabulary(path: str | os.PathLike[str]) -> Vocabulary:
    """The vocabulary of the XSD at ``path``, read from the XSD (never from generated data)."""
    from callflow.document import schema_tree

    return _Reader(schema_tree(os.fspath(path)).getroot()).read()


#: One attribute as plain data: (name, required, type, base, enumeration, patterns, documentation).
AttributeRow = tuple[str, bool, str, str, tuple[str, ...], tuple[str, ...], str]
#: One element as plain data: (name, type, attributes, children, text, documentation, groups,
#: holds).
ElementRow = tuple[
    str,
    str,
    tuple[AttributeRow, ...],
    tuple[str, ...],
    "AttributeRow | None",
    str,
    tuple[str, ...],
    tuple[str, ...],
]


def vocabulary_rows(
    vocabulary: Vocabulary,
) -> tuple[tuple[str, ...], tuple[ElementRow, ...]]:
    """(roots, elements) of ``vocabulary`` as literals (what scripts/generate_vocabulary.py
    writes); `_from_rows` turns them back into an equal Vocabulary."""

    def attribute(info: AttributeInfo) -> AttributeRow:
        return (
            info.name,
            info.required,
            info.type_name,
            info.base,
            info.enumeration,
            info.patterns,
            info.documentation,
        )

    rows = tuple(
        (
            e.name,
            e.type_name,
            tuple(attribute(a) for a in e.attributes.values()),
            e.children,
            attribute(e.text) if e.text is not None else None,
            e.documentation,
            e.groups,
            e.holds,
        )
        for e in vocabulary.elements.values()
    )
    return vocabulary.roots, rows


def _from_rows(roots: tuple[str, ...], rows: tuple[ElementRow, ...]) -> Vocabulary:
    elements: dict[str, ElementInfo] = {}
    for name, type_name, attributes, children, text, documentation, groups, holds in rows:
        elements[name] = ElementInfo(
            name,
            type_name,
            {row[0]: AttributeInfo(*row) for row in attributes},
            children,
            AttributeInfo(*text) if text is not None else None,
            documentation,
            groups,
            holds,
        )
    return Vocabulary(roots, elements)


def _bundled(path: str) -> Vocabulary | None:
    """The generated reading of the bundled schema, or None when ``path`` no longer holds
    the bytes it was generated from (or cannot be read: then reading the XSD says why)."""
    import zlib  # already loaded by lxml

    from callflow import _vocabulary_data as data

    try:
        with open(path, "rb") as file:
            content = file.read(data.SCHEMA_SIZE + 1)
    except OSError:
        return None
    if len(content) != data.SCHEMA_SIZE or zlib.crc32(content) != data.SCHEMA_CRC32:
        return None
    return _from_rows(data.ROOTS, data.ELEMENTS)
