"""`callflow.parse`: any valid call XML document back into builder objects."""

from __future__ import annotations

from lxml import etree

from callflow.document import Document
from callflow.dsl._elements import ELEMENT_CLASSES, Response
from callflow.dsl._nodes import Comment, Element, Node, UncheckedElement
from callflow.errors import BuildError, ValidationError


def parse(xml: str | bytes | Document, *, strict: bool = True) -> Response:
    """Builder objects for a call XML document (text, bytes or a parsed `Document`).

    ``parse(flow.to_xml()) == flow`` for every flow. Each node's ``location`` is the
    document's own source location (the XML line, or the template or `.py` line behind it).

    With ``strict`` (the default) the document must be valid against the schema, else a
    `ValidationError` carries the diagnostics. ``strict=False`` skips schema validation and
    keeps attributes and tags the schema does not know through the builder's escape hatches
    (``unchecked_attributes``, `UncheckedElement`); anything else invalid raises `BuildError`
    at its XML line. Comments inside ``<Response>`` are kept; whitespace between elements
    is layout and is not.
    """
    document = _document(xml)
    if strict:
        from callflow.schema import load_schema

        problems = list(load_schema().iter_diagnostics(document))
        if problems:
            raise ValidationError(
                f"{document.name}: not a valid call flow ({len(problems)} problem(s)); "
                f"first: {problems[0]}",
                problems,
            )
    root = document.root
    if root.tag != "Response":
        raise BuildError(
            f"the root element is <{root.tag!s}>; a call flow's root is <Response>",
            document.locate(root),
        )
    flow = _node(document, root, strict)
    assert isinstance(flow, Response)
    before = [c for c in root.itersiblings(preceding=True) if isinstance(c, etree._Comment)]
    after = [c for c in root.itersiblings() if isinstance(c, etree._Comment)]
    if before or after:
        flow.with_comments(
            *(str(c.text or "") for c in reversed(before)),
            after=[str(c.text or "") for c in after],
        )
    return flow


def _document(xml: str | bytes | Document) -> Document:
    if isinstance(xml, Document):
        return xml
    if isinstance(xml, bytes):
        return Document.from_bytes(xml)
    if isinstance(xml, str):
        return Document.from_text(xml)
    raise TypeError(f"parse() takes XML text, bytes or a Document, not {type(xml).__name__}")


def _node(document: Document, element: etree._Element, strict: bool) -> Node:
    location = document.locate(element)
    tag = str(element.tag)
    cls = ELEMENT_CLASSES.get(tag)
    attributes = {str(name): str(value) for name, value in element.attrib.items()}
    node: Node
    if cls is None:
        if strict:
            raise BuildError(f"unknown element <{tag}>", location)
        text = element.text if len(element) == 0 or (element.text or "").strip() else None
        node = UncheckedElement._from_wire(tag, attributes, text, location)
    else:
        holds_text = cls.SPEC.text is not None
        text = element.text if holds_text else None
        if not holds_text and (element.text or "").strip():
            raise BuildError(f"<{tag}> holds no text; found {element.text!r}", location)
        node = cls._from_wire(attributes, text, location, strict=strict)
    for child in element:
        if (child.tail or "").strip():
            raise BuildError(
                f"text {child.tail!r} after <{child.tag!s}> inside <{tag}>; "
                "call XML has no mixed text",
                document.locate(child),
            )
        if isinstance(child, etree._Comment):
            node._append(Comment._from_wire(str(child.text or ""), document.locate(child)))
        elif isinstance(child.tag, str):
            node._append(_node(document, child, strict))
        # processing instructions carry nothing the platform reads: dropped
    if isinstance(node, Element):
        node._check_complete()
    return node
