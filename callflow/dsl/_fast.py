"""The builder's fast path, fenced here: the common node in one function, the author's
callers read once per call of a function, and strings matched at once or from memory.

`build` does what `Element._build` does, in one function instead of the dozen calls of the
plain path, for the node every flow is made of: known keywords, values and text of the
expected types, children that are nodes in an order the content model allows. The generated
``__init__`` calls it first. For anything else (an error, the escape hatch, a list of
children) it changes nothing and answers False, and the plain path (`Element._build`) runs,
raising what it raises.

`author_site` gives what `_source.author_site` gives, but reads the author's callers once
for all the nodes one call of a function builds (they cannot change while it runs); a
generator or coroutine is walked every time. Reading the callers was the largest single
cost of a node (about 8k of its ~26k instructions with three callers, as in the benchmark).

Flows repeat their values (the same prompts, URLs, methods and keys in every document a
service answers): `convert` and `check_text` answer from memory for a value this process
already converted, and otherwise match a printable string against the schema's pattern at
once (`accepted`) or ask the plain rule (`AttributeSpec.convert`, `AttributeSpec.check`),
and remember a success. Only values of exact types ``str``, ``int`` and ``bool`` are
remembered (keyed by type: ``True == 1``), at most `LIMIT` of them, strings of at most
`LENGTH` characters: a few hundred kilobytes at most, however many texts an application
makes up. `build` does not look a text up at all when its rule takes any printable string
(`AttributeSpec.any_printable`: a prompt): `str.isprintable` costs less than the look-up, and
a new prompt in every document then costs no more than a repeated one.

What it buys, counted with callgrind (2026-12-02, Python 3.11, instructions per document of
tests/benchmarks/bench_builder.py, build + serialise; twilio-python: 838k): nested calls
~430k with this module, ~770k without it (same texts), ~460k and ~760k (new texts); `with`
blocks ~510k and ~810k, ~545k and ~820k. On 2026-12-03, with the generated ``__init__``
calling `build` itself, `build` doing `Node._start` and a block's join in line, and the
writer's memory of clean values, counted with address randomisation off (the layout alone
moves the counts by a few percent): nested calls ~347k and ~387k, blocks ~402k and ~442k
(twilio-python ~837k and ~839k; the code of 2026-12-02 counted the same way: ~396k, ~423k,
~466k, ~494k). Later that day, with prompts accepted by `str.isprintable` alone and one
``__enter__`` for every node: nested ~348k and ~370k, blocks ~402k and ~424k (twilio-python
~840k and ~840k).
``bench_builder.py --plain-path`` runs the plain path alone.

tests/dsl/test_fast.py holds every answer here to the plain path's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import FrameType
from typing import Any

from callflow.dsl import _nodes, _source
from callflow.dsl._content import ElementSpec
from callflow.dsl._source import Chain, Site
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
        if isinstance(value, str) and accepted(attribute, value):
            wire = value
        else:
            wire = attribute.convert(value)  # raises for a bad value: nothing is remembered
        if len(_converted) < LIMIT and (kind is not str or len(wire) <= LENGTH):
            _converted[key] = wire
    return wire


def check_text(attribute: AttributeSpec, text: str) -> str | None:
    """``attribute.check(text)``, from memory when this text was found valid before."""
    if (attribute, text) in _valid_texts:
        return None
    return _check_new_text(attribute, text)


def _check_new_text(attribute: AttributeSpec, text: str) -> str | None:
    """`check_text` for a text not remembered (`build` has looked already); a success is
    remembered."""
    reason = None if accepted(attribute, text) else attribute.check(text)
    if reason is None and len(_valid_texts) < LIMIT and len(text) <= LENGTH:
        _valid_texts.add((attribute, text))
    return reason


# -- strings the plain rule accepts unchanged, matched at once ----------------------------

#: What `accepted` answers for each attribute it was asked about: the schema's enumeration and
#: pattern in one expression (None: there is neither), or `_NEVER` when they do not combine.
_patterns: dict[AttributeSpec, re.Pattern[str] | None] = {}
_NEVER = re.compile("(?!)")
_UNSEEN: Any = object()  # the attribute's expression is not compiled yet
_TOKEN_KINDS = ("token", "enum")


def accepted(attribute: AttributeSpec, value: str) -> bool:
    """True when ``value`` is a wire value the plain rule accepts as it is (False: ask it).

    A printable string holds only characters XML allows (`str.isprintable` refuses controls,
    surrogates, non-characters and every whitespace but the space); a token without a space
    has no whitespace to collapse. What is left is the schema's enumeration and pattern.
    """
    if not value.isprintable():
        return False
    kind = attribute.kind
    if kind != "string" and (kind not in _TOKEN_KINDS or " " in value):
        return False
    pattern = _patterns.get(attribute, _UNSEEN)
    if pattern is _UNSEEN:
        if len(_patterns) >= LIMIT:
            _patterns.clear()
        pattern = _patterns[attribute] = quick_pattern(attribute)
    return pattern is None or pattern.fullmatch(value) is not None


def quick_pattern(attribute: AttributeSpec) -> re.Pattern[str] | None:
    """The attribute's enumeration and pattern as one expression to match whole values (None
    when it has neither; `_NEVER` when they do not combine)."""
    parts = []
    if attribute.enumeration:
        parts.append("(?=(?:" + "|".join(map(re.escape, attribute.enumeration)) + ")\\Z)")
    if attribute.pattern is not None:
        parts.append(f"(?:{attribute.pattern})")
    elif parts:
        parts.append("(?s:.*)")
    if not parts:
        return None
    try:
        return re.compile("".join(parts))
    except re.error:
        return _NEVER


def forget() -> None:
    """Forget every remembered value and frame (tests use it to run the plain rule again)."""
    global _recent
    _converted.clear()
    _valid_texts.clear()
    _recent = _NO_FRAME


# -- source capture -------------------------------------------------------------------------

#: Code flags of a frame that can be suspended and resumed elsewhere, under other callers.
_SUSPENDABLE = 0x20 | 0x80 | 0x100 | 0x200  # generator, coroutine, iterable coroutine, async gen

#: The frame that last asked for a site, the author frame it found, that frame's code and its
#: callers; `_NO_FRAME` (whose first item is no frame) when there is none. The author and its
#: code are never None when the first item is a frame.
_Recent = tuple[object, Any, Any, Chain]
_NO_FRAME: _Recent = (object(), None, None, ())
_recent = _NO_FRAME


def author_site(frame: FrameType | None) -> Site:
    """``_source.author_site(frame)``, reading the author's callers once per call of a function.

    While a frame runs, every frame above it waits in a call: the author's callers cannot
    change until it returns, so nodes built one after another by one call of a function share
    them, and only the author's own instruction offset is read again. A generator or coroutine
    is suspended and resumed under other callers: its callers are read every time. The
    frame is held (with its locals) until the next node is built.
    """
    global _recent
    start, author, code, chain = _recent
    if frame is not start:
        author = _source.author_frame(frame)
        if author is None or frame is None:
            return ()
        code, chain = author.f_code, _source.callers(author)
        if not frame.f_code.co_flags & _SUSPENDABLE:
            _recent = (frame, author, code, chain)
    return (code, author.f_lasti, chain)


def build(
    node: _nodes.Element,
    frame: FrameType | None,
    children: tuple[object, ...],
    attributes: Mapping[str, object],
    content: object,
) -> bool:
    """Build ``node`` (built by the author in ``frame``) as the plain path would and answer
    True; or change nothing and answer False when an argument is not one this path is sure of.

    What the plain path does in calls of its own is done here in line: the author's site (as
    `author_site`, when the frame's callers are remembered), a remembered text's check,
    `Node._start`, and a node joining an open block (`Node._joined_by`).
    """
    spec = node.SPEC
    if attributes:
        wire = _wire(spec, attributes)
        if wire is None:
            return False
    elif spec.required:
        return False
    else:
        wire = {}
    text: str | None = None
    if content is not None:
        if spec.text is None or content.__class__ is not str:
            return False
        rule = spec.text
        if rule.any_printable and content.isprintable():
            pass  # valid as written: cheaper to see than to look up in memory
        elif (rule, content) not in _valid_texts and _check_new_text(rule, content) is not None:
            return False
        text = content or None
    elif spec.text_required:
        return False
    state = _state_after(spec, children) if children else 0
    if state < 0:
        return False
    blocks = _nodes._OPEN_BLOCKS.get()
    if blocks:
        block = blocks[-1]
        for child in children:
            if child is block or (child._children and _nodes._holds(child, block)):  # type: ignore[attr-defined,arg-type]
                return False
    else:
        block = None
    start, author, code, chain = _recent
    if frame is start:
        site: Site = (code, author.f_lasti, chain)
    else:
        site = author_site(frame)
    kids: list[_nodes.Node] = list(children) if children else []  # type: ignore[arg-type]
    node._tag = spec.tag  # `_start`, in line
    node._attributes = wire
    node._children = kids
    node._text = text
    node._where = site
    node._pending_in = None
    node._state = state
    node._open = 0
    for child in kids:  # nodes: `_state_after` saw them
        if child._pending_in is not None:  # built inside an open block, claimed here
            child._pending_in._release(child)
    if block is not None:
        if block._open:
            block._children.append(node)
            node._pending_in = block
        else:
            block._joined_by(node)
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
            following = machine.moves[state].get(child._tag)
            if following is None:
                following = machine.step(state, child._tag)
            if following < 0:
                return -1
            state = following
    return state
