"""The builder's fast path, fenced here: the common node in one function, and a memory of
attribute values found valid.

`build` does what `Element._build` does, in one function instead of the dozen calls of the
plain path, for the node every flow is made of: known keywords, values and text of the
expected types, children that are nodes in an order the content model allows. For anything
else (an error, the escape hatch, a list of children) it changes nothing and answers False,
and the plain path runs, raising what it raises. With the memory below it saves about a fifth
of the work of building and writing the benchmark's flow (tests/benchmarks/bench_builder.py;
counted with callgrind, 2026-12-01: 679k instructions per document on the plain path, 553k
with this one, nested calls; 738k and 650k with `with` blocks).

Flows repeat their values (the same prompts, URLs, methods and keys in every document a
service answers), and checking a string costs more than anything else a node does:
`convert` and `check_text` answer from memory for a value this process already converted,
and otherwise ask the plain rule (`AttributeSpec.convert`, `AttributeSpec.check`) and
remember its answer when it was a success. Only values of exact types ``str``, ``int`` and
``bool`` are remembered (keyed by type: ``True == 1``), at most `LIMIT` of them, strings of
at most `LENGTH` characters: a few hundred kilobytes at most, however many texts an
application makes up.

tests/dsl/test_fast.py holds every answer here to the plain path's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

from callflow.dsl import _nodes
from callflow.dsl._content import ElementSpec
from callflow.dsl._source import Site
from callflow.dsl._values import AttributeSpec

#: How many values are remembered (all attributes together), and the longest string.
LIMIT = 4096
LENGTH = 200

_MEMO_TYPES = (str, int, bool)

_converted: dict[tuple[AttributeSpec, type, object], str] = {}
_valid_texts: set[tuple[AttributeSpec, str]] = set()


def convert(attribute: AttributeSpec, value: object) -> str:
    """``attribute.convert(value)``, from memory when this value was converted before."""
    kind = value.__class__
    if kind not in _MEMO_TYPES:
        return attribute.convert(value)
    key = (attribute, kind, value)
    wire = _converted.get(key)
    if wire is None:
        wire = attribute.convert(value)  # raises for a bad value: nothing is remembered
        if len(_converted) < LIMIT and (kind is not str or len(value) <= LENGTH):  # type: ignore[arg-type]
            _converted[key] = wire
    return wire


def check_text(attribute: AttributeSpec, text: str) -> str | None:
    """``attribute.check(text)``, from memory when this text was found valid before."""
    if (attribute, text) in _valid_texts:
        return None
    reason = attribute.check(text)
    if reason is None and len(_valid_texts) < LIMIT and len(text) <= LENGTH:
        _valid_texts.add((attribute, text))
    return reason


def forget() -> None:
    """Forget every remembered value (tests use it to run the plain rule again)."""
    _converted.clear()
    _valid_texts.clear()


def build(
    node: _nodes.Element,
    site: Site,
    children: tuple[object, ...],
    attributes: Mapping[str, object],
    content: object,
) -> bool:
    """Build ``node`` as the plain path would and answer True; or change nothing and answer
    False when an argument is not one this path is sure of."""
    spec = node.SPEC
    wire = _wire(spec, attributes)
    if wire is None:
        return False
    text: str | None = None
    if content is not None:
        if spec.text is None or content.__class__ is not str:
            return False
        if check_text(spec.text, content) is not None:
            return False
        text = content or None
    elif spec.text_required:
        return False
    state = _state_after(spec, children) if children else 0
    if state < 0:
        return False
    blocks = _nodes._OPEN_BLOCKS.get()
    block = blocks[-1] if blocks else None
    if block is not None:
        for child in children:
            if child is block or (child._children and _nodes._holds(child, block)):  # type: ignore[attr-defined,arg-type]
                return False
    kids = cast("list[_nodes.Node]", list(children))  # all nodes: `_state_after` checked
    node._start(site, wire, text, kids, state)
    for child in kids:
        if child._pending_in is not None:  # built inside an open block, claimed here
            child._pending_in._release(child)
    if block is not None:
        block._append(node)
        node._pending_in = block
    return True


def _wire(spec: ElementSpec, attributes: Mapping[str, object]) -> dict[str, str] | None:
    """The wire attributes, or None when one is not for this path."""
    wire: dict[str, str] = {}
    for python_name, value in attributes.items():
        attribute = spec.by_python.get(python_name)
        if attribute is None:
            return None  # unchecked_attributes, or an unknown keyword
        if value is None:
            if attribute.required:
                return None
            continue
        try:  # `convert`, with its lookup inlined (an unhashable value raises TypeError)
            key = (attribute, value.__class__, value)
            wire[attribute.name] = _converted.get(key) or convert(attribute, value)
        except (TypeError, ValueError):
            return None
    for attribute in spec.required:
        if attribute.name not in wire:
            return None
    return wire


def _state_after(spec: ElementSpec, children: tuple[object, ...]) -> int:
    """The content-model state after ``children``; negative when they are not for this path."""
    if not spec.children:
        return -1
    machine = spec.machine
    state = 0
    for child in children:
        if not isinstance(child, _nodes.Node):
            return -1  # None, a list of nodes, a mistake: the plain path sorts it out
        if isinstance(child, _nodes.Element):
            following = machine.moves[state].get(child.SPEC.tag)
            if following is None:
                following = machine.step(state, child.SPEC.tag)
            if following < 0:
                return -1
            state = following
    return state
