"""The builder's core: nodes as checked values, source capture, content models, serialisation.

The element classes in `callflow.dsl._elements` are generated from the schema; each carries
an `ElementSpec` (its attributes, text type and content model) and hands its arguments to
`Element._build`, which checks everything the moment the node is built. Nothing here knows a
tag name: the schema's knowledge lives in the generated specs.

Building runs for every node of every flow, so it works from tables made once per tag
(`ElementSpec`, `AttributeSpec`, `ContentMachine`), keeps each node's source site raw until
a location is asked for (`author_site`), reads the callers of a `with` block's frame once per
block (`block_callers`), gives each element class its own copy of the methods every node
runs (`own_copy`), and writes compact XML without an lxml tree (`Element._write`);
tests/dsl/test_fast_paths.py holds each shortcut to the plain rule.
"""

from __future__ import annotations

import bisect
import functools
import inspect
import math
import os
import re
import sys
import sysconfig
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from datetime import timedelta
from types import CodeType, FrameType, FunctionType, TracebackType
from typing import Any, ClassVar, Self

from lxml import etree

from callflow.document import Document, load_bytes
from callflow.errors import BuildError, ValidationError
from callflow.sourcemap import SourceLocation, SourceMap

# ---------------------------------------------------------------- source capture

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_STDLIB_DIRS = tuple(
    sorted(
        {
            os.path.abspath(path) + os.sep
            for key in ("stdlib", "platstdlib")
            if (path := sysconfig.get_paths().get(key))
        }
    )
)
_INSTALLED_DIRS = tuple(
    sorted(
        {
            os.path.abspath(path) + os.sep
            for key in ("purelib", "platlib")
            if (path := sysconfig.get_paths().get(key))
        }
    )
)

#: What a frame's file is: the author's own code, callflow itself, the standard library, or
#: an installed package (the author's too when it builds flows, but never a "caller" worth
#: naming in a chain: test runners and frameworks live there).
USER, OURS, STDLIB, INSTALLED = 0, 1, 2, 3


#: Each file's kind, worked out the first time the file is looked up (`file_kind`). A
#: plain dict: `author_site` subscripts it for every frame it passes, and a subscript of a
#: dict subclass (one with ``__missing__``) costs twice as much.
_FILE_KINDS: dict[str, int] = {}

#: How many callers of a fragment function a location records ("called from …");
#: `author_site` is unrolled to this many.
MAX_CHAIN = 3


def file_kind(filename: str) -> int:
    kind = _FILE_KINDS.get(filename)
    if kind is None:
        kind = _FILE_KINDS[filename] = _classify(filename)
    return kind


def _classify(filename: str) -> int:
    if filename.startswith("<frozen"):
        return STDLIB
    if filename.startswith("<"):
        return USER  # exec'd strings, doctests: the author's code
    absolute = os.path.abspath(filename)
    if absolute.startswith(_PACKAGE_DIR):
        return OURS
    if absolute.startswith(_INSTALLED_DIRS):  # site-packages may sit inside stdlib
        return INSTALLED
    if absolute.startswith(_STDLIB_DIRS):
        return STDLIB
    return USER


#: Where a node was built, kept raw until someone asks for its `SourceLocation`: the code
#: object and instruction offset of the author's frame, then of each author caller
#: (outermost last); empty when no author frame was found. Reading a frame's line number
#: scans its code's line table (microseconds in a long module), and a `SourceLocation` with
#: its "called from" texts costs more than everything else a node does, while only errors
#: and `to_document` need them: both wait until then.
Site = tuple[CodeType | int, ...]

_UNKNOWN_SITE: Site = ()


_AUTHOR_KINDS = (USER, INSTALLED)


def author_site(frame: FrameType | None) -> Site:
    """The raw location of the author's code at or above ``frame``: the innermost frame that
    is neither callflow's nor the standard library's, then its author callers (MAX_CHAIN)."""
    kinds = _FILE_KINDS
    start = frame
    try:
        while frame is not None:
            code = frame.f_code
            if kinds[code.co_filename] in _AUTHOR_KINDS:
                break
            frame = frame.f_back
        else:
            return _UNKNOWN_SITE
        # The callers, unrolled to MAX_CHAIN == 3 levels: this runs for every node built, and a
        # loop building the tuple step by step costs a fifth more.
        first = frame.f_back
        if first is None:
            return (code, frame.f_lasti)
        first_code = first.f_code
        if kinds[first_code.co_filename] != USER:
            return (code, frame.f_lasti)
        second = first.f_back
        if second is None:
            return (code, frame.f_lasti, first_code, first.f_lasti)
        second_code = second.f_code
        if kinds[second_code.co_filename] != USER:
            return (code, frame.f_lasti, first_code, first.f_lasti)
        third = second.f_back
        if third is None:
            return (code, frame.f_lasti, first_code, first.f_lasti, second_code, second.f_lasti)
        third_code = third.f_code
        if kinds[third_code.co_filename] != USER:
            return (code, frame.f_lasti, first_code, first.f_lasti, second_code, second.f_lasti)
        return (
            code,
            frame.f_lasti,
            first_code,
            first.f_lasti,
            second_code,
            second.f_lasti,
            third_code,
            third.f_lasti,
        )
    except KeyError as missing:  # a file met for the first time: learn its kind, walk again
        file_kind(missing.args[0])
        return author_site(start)


@functools.lru_cache(maxsize=512)
def _line_table(code: CodeType) -> tuple[list[int], list[int], list[int | None]]:
    """A code object's instruction ranges (starts, ends) and their lines, for bisecting."""
    starts: list[int] = []
    ends: list[int] = []
    lines: list[int | None] = []
    for start, end, line in code.co_lines():
        starts.append(start)
        ends.append(end)
        lines.append(line)
    return starts, ends, lines


def _line_of(code: CodeType, offset: int) -> int | None:
    """The line of the instruction at ``offset`` (what the frame's ``f_lineno`` said)."""
    starts, ends, lines = _line_table(code)
    index = bisect.bisect_right(starts, offset) - 1
    if index < 0 or offset >= ends[index]:
        return None
    return lines[index]


def site_location(site: Site) -> SourceLocation:
    """The `SourceLocation` of a raw site (the chain reads "called from file:line")."""
    if not site:
        return SourceLocation("<unknown>", 1)
    places = [
        (code.co_filename, _line_of(code, offset))
        for code, offset in zip(site[::2], site[1::2], strict=True)
        if isinstance(code, CodeType) and isinstance(offset, int)
    ]
    (file, line), callers = places[0], places[1:]
    chain = tuple(f"called from {caller}:{caller_line}" for caller, caller_line in callers)
    return SourceLocation(file, line or 1, None, chain)


def capture_location() -> SourceLocation:
    """Where the author's code called into the builder: the innermost frame that is neither
    callflow's nor the standard library's, with the author's callers as the chain."""
    return site_location(author_site(sys._getframe(1)))


#: Code flags of frames that leave the stack and come back (generators, coroutines): their
#: callers change each time they resume.
_RESUMABLE = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR


def block_callers(frame: FrameType, blocks: tuple[Node, ...]) -> tuple[FrameType | None, Site]:
    """The frame a `with` block is entered in, and that frame's author callers, when the
    nodes built directly in it may share them (None and () when they may not).

    A node built in the frame that entered the innermost block has that frame as its
    author's frame and that frame's callers as its chain: while the frame runs (the block
    holds it, so it is the same call), its callers wait where they called, so their places
    are read once per block instead of once per node. Not so for a frame that is not the
    author's, nor for a generator's or coroutine's, which can leave and resume elsewhere.
    """
    if blocks and blocks[-1]._block_frame is frame:  # a block inside a block, same frame
        return frame, blocks[-1]._block_callers
    code = frame.f_code
    if code.co_flags & _RESUMABLE or file_kind(code.co_filename) not in _AUTHOR_KINDS:
        return None, _UNKNOWN_SITE
    return frame, author_site(frame)[2:]


# ---------------------------------------------------------------- content models
#
# A content model is a regular expression over child tag names, kept as hashable tuples:
# ("empty",) matches nothing, ("eps",) the empty sequence, ("sym", tag) one child, and
# ("cat", a, b), ("alt", a, b), ("star", a). Brzozowski derivatives check a sequence of
# children one child at a time, so an illegal child fails the moment it is added.

Model = tuple[Any, ...]
EMPTY: Model = ("empty",)
EPSILON: Model = ("eps",)


def sym(tag: str) -> Model:
    return ("sym", tag)


def _cat(first: Model, second: Model) -> Model:
    if first == EMPTY or second == EMPTY:
        return EMPTY
    if first == EPSILON:
        return second
    if second == EPSILON:
        return first
    return ("cat", first, second)


def _alt(first: Model, second: Model) -> Model:
    if first == EMPTY:
        return second
    if second == EMPTY or first == second:
        return first
    return ("alt", first, second)


def _star(inner: Model) -> Model:
    if inner in (EMPTY, EPSILON):
        return EPSILON
    return ("star", inner)


def seq(*parts: Model) -> Model:
    model = EPSILON
    for part in parts:
        model = _cat(model, part)
    return model


def choice(*parts: Model) -> Model:
    model = EMPTY
    for part in parts:
        model = _alt(model, part)
    return model


def repeat(part: Model, minimum: int, maximum: int | None) -> Model:
    """``part`` between ``minimum`` and ``maximum`` times (None: unbounded)."""
    required = seq(*([part] * minimum))
    if maximum is None:
        return _cat(required, _star(part))
    optional = EPSILON
    for _ in range(maximum - minimum):
        optional = _alt(EPSILON, _cat(part, optional))
    return _cat(required, optional)


@functools.lru_cache(maxsize=4096)
def nullable(model: Model) -> bool:
    """Whether the model accepts the empty sequence (the children so far are complete)."""
    kind = model[0]
    if kind in ("eps", "star"):
        return True
    if kind in ("empty", "sym"):
        return False
    if kind == "cat":
        return nullable(model[1]) and nullable(model[2])
    return nullable(model[1]) or nullable(model[2])


@functools.lru_cache(maxsize=4096)
def derive(model: Model, tag: str) -> Model:
    """What the model still accepts after one child ``tag`` (EMPTY: the child is illegal)."""
    kind = model[0]
    if kind in ("empty", "eps"):
        return EMPTY
    if kind == "sym":
        return EPSILON if model[1] == tag else EMPTY
    if kind == "cat":
        head = _cat(derive(model[1], tag), model[2])
        return _alt(head, derive(model[2], tag)) if nullable(model[1]) else head
    if kind == "alt":
        return _alt(derive(model[1], tag), derive(model[2], tag))
    return _cat(derive(model[1], tag), model)


class ContentMachine:
    """A content model as a deterministic automaton, learnt one move at a time.

    States are numbers (0: nothing yet; `DEAD`: the children so far are illegal), each move
    is derived once per (state, tag) and then is a dict lookup, so checking a child costs
    no hashing of nested model tuples. ``moves[state]`` maps a child tag to the next state
    for every move seen so far; `step` learns the others. ``node_moves[state]`` does the
    same by the child node's class (comments and unchecked elements leave the state as it
    is), which is what the builder looks up for every child; `step_node` learns those.
    Learning takes a lock (threads may build flows at once); looking up a learnt move does not.
    """

    __slots__ = ("_learning", "final", "models", "moves", "node_moves", "numbers")

    DEAD = -1

    def __init__(self, model: Model) -> None:
        self.models: list[Model] = [model]
        self.numbers: dict[Model, int] = {model: 0}
        self.moves: list[dict[str, int]] = [{}]
        self.node_moves: list[dict[type[Node], int]] = [{}]
        self.final: list[bool] = [nullable(model)]
        self._learning = threading.Lock()

    def step_node(self, state: int, node: Node) -> int:
        """The state after the child ``node`` (`DEAD` when it may not stand there)."""
        if state < 0:
            return self.DEAD
        # Comments and unchecked elements stand outside the content model.
        following = self.step(state, node.SPEC.tag) if isinstance(node, Element) else state
        self.node_moves[state][type(node)] = following
        return following

    def step(self, state: int, tag: str) -> int:
        """The state after one child ``tag`` (`DEAD` when it may not stand there)."""
        if state < 0:
            return self.DEAD
        following = self.moves[state].get(tag)
        if following is None:
            with self._learning:  # the parallel lists grow together
                derived = derive(self.models[state], tag)
                if derived == EMPTY:
                    following = self.DEAD
                else:
                    following = self.numbers.get(derived, -2)
                    if following == -2:
                        following = len(self.models)
                        self.models.append(derived)
                        self.moves.append({})
                        self.node_moves.append({})
                        self.final.append(nullable(derived))
                        self.numbers[derived] = following
                self.moves[state][tag] = following
        return following

    def accepts_end(self, state: int) -> bool:
        """Whether the children that led to ``state`` are complete."""
        return state >= 0 and self.final[state]

    def model(self, state: int) -> Model:
        """What the content model still accepts in ``state``."""
        return self.models[state] if state >= 0 else EMPTY


# ---------------------------------------------------------------- specs and values


class AttributeSpec:
    """One attribute (or an element's text): Python name, wire name and value rules.

    ``kind`` is one of ``duration`` (int ms or timedelta), ``positive`` (int ≥ 1),
    ``nonnegative`` (int ≥ 0), ``boolean``, ``enum``, ``token`` (whitespace-collapsed
    string) or ``string``. ``pattern`` is the schema's pattern in Python syntax.
    """

    __slots__ = (
        "accepted",
        "check",
        "convert",
        "description",
        "enumeration",
        "kind",
        "least_int",
        "literal_values",
        "name",
        "pattern",
        "python_name",
        "regex",
        "required",
        "type_name",
    )

    #: Why a wire form is invalid (None when valid): `check_wire_value` for this attribute.
    check: Callable[[str], str | None]
    #: The wire form of a Python value (`_wire_value` for this attribute); raises
    #: TypeError/ValueError with the reason.
    convert: Callable[[object], str]
    #: Strings already found valid for a kind whose Python value is its wire form (string,
    #: token, enum): flows repeat their values, and a set lookup is all those cost again.
    #: Bounded (_ACCEPTED_LIMIT strings of _ACCEPTED_LENGTH characters at most); never
    #: filled for numbers or booleans, whose wire form is not what the builder takes.
    accepted: set[str]
    #: The least `int` a number attribute writes as it is (infinity for the other kinds).
    least_int: float

    def __init__(
        self,
        python_name: str,
        name: str,
        kind: str,
        type_name: str,
        *,
        required: bool = False,
        enumeration: tuple[str, ...] = (),
        pattern: str | None = None,
        literal_values: tuple[str, ...] = (),
        description: str = "",
    ) -> None:
        self.python_name = python_name
        self.name = name
        self.kind = kind
        self.type_name = type_name
        self.required = required
        self.enumeration = enumeration
        self.pattern = pattern
        self.regex = re.compile(pattern) if pattern is not None else None
        self.literal_values = literal_values  # a finite pattern's values, as typed
        self.description = description
        self.accepted = set()
        self.least_int = {"positive": 1, "nonnegative": 0, "duration": 0}.get(kind, math.inf)
        self.check = _wire_checker(self)
        self.convert = _converter(self)

    def __repr__(self) -> str:
        return f"AttributeSpec({self.python_name!r} -> {self.name!r}, {self.kind})"


class ElementSpec:
    """One tag: its attributes, its text (if it holds text) and its content model."""

    __slots__ = (
        "attributes",
        "by_name",
        "by_python",
        "children",
        "close_tag",
        "content",
        "final",
        "machine",
        "open_tag",
        "required",
        "tag",
        "text",
        "text_required",
    )

    def __init__(
        self,
        tag: str,
        *,
        attributes: tuple[AttributeSpec, ...] = (),
        text: AttributeSpec | None = None,
        children: tuple[str, ...] = (),
        content: Model = EPSILON,
    ) -> None:
        self.tag = tag
        self.attributes = attributes
        self.by_python = {a.python_name: a for a in attributes}
        self.by_name = {a.name: a for a in attributes}
        self.text = text
        self.children = children
        self.content = content
        # Tables the builder reads for every node, computed once per tag.
        self.machine = ContentMachine(content)
        self.final = self.machine.final  # the same list: grows as the machine learns
        self.open_tag = "<" + tag
        self.close_tag = "</" + tag + ">"
        self.required = tuple(a for a in attributes if a.required)
        self.text_required = text is not None and check_wire_value(text, "") is not None


_XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Plain names only: no namespace prefixes, and nothing starting with "xml", which XML
# reserves (an `xmlns` attribute would silently move the whole flow into a namespace).
_XML_NAME = re.compile(r"(?![Xx][Mm][Ll])[A-Za-z_][A-Za-z0-9._-]*")
_WHITESPACE = re.compile(r"[ \t\n\r]+")
_NONNEGATIVE = re.compile(r"\+?[0-9]+")


def _collapse(value: str) -> str:
    """xs:token's whitespace rule: runs of whitespace become one space, ends trimmed."""
    return _WHITESPACE.sub(" ", value).strip(" ")


def illegal_character(value: str) -> str | None:
    """A description of the first character XML 1.0 forbids in ``value``, or None."""
    found = _XML_ILLEGAL.search(value)
    if found is None:
        return None
    return f"U+{ord(found.group(0)):04X} at index {found.start()}"


def _describe(spec: AttributeSpec) -> str:
    if spec.description:
        return spec.description
    if spec.enumeration:
        return "one of " + ", ".join(spec.enumeration)
    return {
        "duration": "a whole number of milliseconds (int) or a timedelta",
        "positive": "a whole number, 1 or more",
        "nonnegative": "a whole number, 0 or more",
        "boolean": "True or False",
    }.get(spec.kind, "a string")


def check_wire_value(spec: AttributeSpec, value: str) -> str | None:
    """Why the wire form ``value`` is not valid for ``spec`` (None when it is valid)."""
    bad = illegal_character(value)
    if bad is not None:
        return f"contains {bad}, a character XML 1.0 does not allow"
    if spec.kind == "string":
        if spec.regex is not None and not spec.regex.fullmatch(value):
            return f"expected {_describe(spec)}"
        return None
    collapsed = _collapse(value)
    if spec.kind in ("duration", "nonnegative", "positive"):
        if not _NONNEGATIVE.fullmatch(collapsed) or (
            spec.kind == "positive" and int(collapsed) < 1
        ):
            return f"expected {_describe(spec)}"
        return None
    if spec.enumeration and collapsed not in spec.enumeration:
        return f"expected {_describe(spec)}"
    if spec.regex is not None and not spec.regex.fullmatch(collapsed):
        return f"expected {_describe(spec)}"
    return None


def _wire_value(spec: AttributeSpec, value: object) -> str:
    """The attribute text for a Python value; raises ValueError/TypeError with the reason."""
    kind = spec.kind
    if kind == "boolean":
        if not isinstance(value, bool):
            raise TypeError(f"expected True or False, got {type(value).__name__}")
        return "true" if value else "false"
    if kind in ("duration", "nonnegative", "positive"):
        if isinstance(value, timedelta) and kind == "duration":
            microseconds = value // timedelta(microseconds=1)
            if microseconds % 1000:
                raise ValueError("a timedelta here must be a whole number of milliseconds")
            value = microseconds // 1000
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"expected {_describe(spec)}, got {type(value).__name__}")
        minimum = 1 if kind == "positive" else 0
        if value < minimum:
            raise ValueError(f"expected {_describe(spec)}, got {value}")
        return str(value)
    if not isinstance(value, str):
        raise TypeError(f"expected {_describe(spec)} (a str), got {type(value).__name__}")
    reason = check_wire_value(spec, value)
    if reason is not None:
        raise ValueError(reason)
    return value


_NUMBER_KINDS = ("duration", "nonnegative", "positive")

#: How many valid strings each attribute remembers (`AttributeSpec.accepted`), and how long
#: they may be: enough for the prompts and URLs a service repeats, a few hundred kilobytes
#: at most however many texts an application makes up.
_ACCEPTED_LIMIT = 256
_ACCEPTED_LENGTH = 200


def _wire_checker(spec: AttributeSpec) -> Callable[[str], str | None]:
    """`check_wire_value` for one attribute, with a shortcut for the common case.

    The shortcut answers only when the full check would surely pass: printable characters
    are all ones XML allows (`str.isprintable` is false for controls, surrogates and
    noncharacters), and with no space (the only printable whitespace) a token's whitespace
    rule changes nothing. Anything else goes through `check_wire_value`, so both agree.
    Valid strings are added to ``spec.accepted`` (bounded), which `Element._build` consults
    before it calls the check.
    """
    regex = spec.regex
    if spec.kind in _NUMBER_KINDS or spec.kind == "boolean":
        return functools.partial(check_wire_value, spec)
    accepted = spec.accepted
    if spec.kind == "string":

        def check_string(value: str) -> str | None:
            if not (value.isprintable() and (regex is None or regex.fullmatch(value))):
                reason = check_wire_value(spec, value)
                if reason is not None:
                    return reason
            if len(accepted) < _ACCEPTED_LIMIT and len(value) <= _ACCEPTED_LENGTH:
                accepted.add(value)
            return None

        return check_string
    members = frozenset(spec.enumeration)

    def check_token(value: str) -> str | None:
        if not (
            value.isprintable()
            and " " not in value
            and (not members or value in members)
            and (regex is None or regex.fullmatch(value))
        ):
            reason = check_wire_value(spec, value)
            if reason is not None:
                return reason
        if len(accepted) < _ACCEPTED_LIMIT and len(value) <= _ACCEPTED_LENGTH:
            accepted.add(value)
        return None

    return check_token


def _converter(spec: AttributeSpec) -> Callable[[object], str]:
    """`_wire_value` for one attribute, with a shortcut for values of the expected type.

    As with `_wire_checker`, the shortcut only returns what `_wire_value` would; every
    other value (and every error) goes through `_wire_value`.
    """
    if spec.kind == "boolean":

        def convert_boolean(value: object) -> str:
            if value is True:
                return "true"
            if value is False:
                return "false"
            return _wire_value(spec, value)

        return convert_boolean
    if spec.kind in _NUMBER_KINDS:
        minimum = 1 if spec.kind == "positive" else 0

        def convert_number(value: object) -> str:
            if type(value) is int and value >= minimum:
                return str(value)
            return _wire_value(spec, value)

        return convert_number
    check = spec.check

    def convert_text(value: object) -> str:
        if type(value) is str and check(value) is None:
            return value
        return _wire_value(spec, value)

    return convert_text


def python_value(spec: AttributeSpec, wire: str) -> object:
    """The Python value that builds ``wire`` (inverse of the builder's conversion)."""
    if spec.kind == "boolean" and wire in ("true", "false"):
        return wire == "true"
    if spec.kind in ("duration", "nonnegative", "positive") and wire.isdigit():
        number = int(wire)
        if str(number) == wire:
            return number
    return wire


# ---------------------------------------------------------------- nodes

# The `with` blocks open in this context, innermost last.
_OPEN_BLOCKS: ContextVar[tuple[Node, ...]] = ContextVar("callflow_dsl_open_blocks", default=())


class Node:
    """A piece of a call flow. Nodes are values: equal when they would serialise alike.

    A node records ``location``, where the author built it. A node built inside an open
    ``with`` block joins that block; passing it explicitly to another node (or ``add``)
    while the block is still open moves it there instead, so fragments never appear twice.
    """

    __slots__ = (
        "_attributes",
        "_block_callers",
        "_block_frame",
        "_children",
        "_open",
        "_pending_in",
        "_state",
        "_text",
        "_where",
    )

    _attributes: dict[str, str]
    _children: list[Node]
    _text: str | None
    _where: SourceLocation | Site  # a raw Site until `location` is first read
    _pending_in: Node | None
    _state: int  # the element's ContentMachine state after its children so far
    _open: bool
    # While a `with` block is open: the frame that entered it and that frame's callers, for
    # the nodes built directly in it (`block_callers`); set when the block is entered.
    _block_frame: FrameType | None
    _block_callers: Site

    __hash__ = None  # type: ignore[assignment]  # mutable while a `with` block is open

    @property
    def tag(self) -> str:
        raise NotImplementedError

    @property
    def location(self) -> SourceLocation:
        """Where the author built this node (the `.py` line, or the XML line if parsed)."""
        where = self._where
        if type(where) is tuple:
            where = self._where = site_location(where)
        assert isinstance(where, SourceLocation)
        return where

    @property
    def attributes(self) -> Mapping[str, str]:
        """The XML attributes as written on the wire, in the order given."""
        return dict(self._attributes)

    @property
    def text(self) -> str | None:
        return self._text

    @property
    def children(self) -> tuple[Node, ...]:
        return tuple(self._children)

    def _value_key(self) -> tuple[object, ...]:
        return (self.tag, self._attributes, self._text, self._children)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Node):
            return NotImplemented
        return type(self) is type(other) and self._value_key() == other._value_key()

    def __repr__(self) -> str:
        from callflow.dsl.pysource import node_source

        return node_source(self)

    def iter(self) -> Iterator[Node]:
        """This node and every node below it, in document order."""
        yield self
        for child in self._children:
            yield from child.iter()

    # -- building ---------------------------------------------------------------

    def _start(self, where: SourceLocation | Site) -> None:
        self._attributes = {}
        self._children = []
        self._text = None
        self._where = where
        self._pending_in = None
        self._state = 0
        self._open = False

    def _join_open_block(self) -> None:
        """Join the innermost open ``with`` block, if any (`Element._build` inlines this)."""
        blocks = _OPEN_BLOCKS.get()
        if blocks:
            parent = blocks[-1]
            if self._children and _holds(self, parent):
                raise BuildError(f"<{parent.tag}> cannot contain itself", self.location)
            if parent._open:  # collected only; checked when the block closes
                parent._children.append(self)
            else:
                parent._append(self)
            self._pending_in = parent

    def _take(self, items: Iterable[object], *, existing: bool = False) -> None:
        # Only an existing node (add, with) can end up inside one of its own children.
        for child in _flatten(items, self):
            if existing and any(node is self for node in child.iter()):
                raise BuildError(
                    f"<{self.tag}> cannot contain itself", child.location, "build a new node"
                )
            pending = child._pending_in
            if pending is not None:
                pending._release(child)
            self._append(child)

    def _release(self, child: Node) -> None:
        children = self._children
        if children and children[-1] is child:  # the usual case: built just before
            children.pop()
        else:
            for index in range(len(children) - 1, -1, -1):
                if children[index] is child:
                    del children[index]
                    break
        child._pending_in = None
        if not self._open:  # an open block is checked afresh when it closes
            self._recompute_state()

    def _recompute_state(self) -> None:
        pass

    def _append(self, child: Node) -> None:
        self._children.append(child)

    def _add(self, children: tuple[object, ...]) -> Self:
        """Append children (nodes, iterables of nodes, or None to skip); returns the node.

        The generated classes expose this as ``add`` with their own child types.
        """
        self._take(children, existing=True)
        return self

    def __enter__(self) -> Self:
        # While the block is open its children are only collected: a node built inside
        # it may still be claimed as the argument of a call being evaluated (the `To` in
        # `Dial(To(...))`), so the children are checked when the block closes.
        blocks = _OPEN_BLOCKS.get()
        self._block_frame, self._block_callers = block_callers(sys._getframe(1), blocks)
        self._open = True
        _OPEN_BLOCKS.set((*blocks, self))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._close_block()
        for child in self._children:
            if child._pending_in is self:
                child._pending_in = None
        if exc_type is None:
            self._check_complete()

    def _close_block(self) -> None:
        blocks = _OPEN_BLOCKS.get()
        if blocks and blocks[-1] is self:
            _OPEN_BLOCKS.set(blocks[:-1])
        else:  # blocks closed out of order (entered and exited by hand)
            _OPEN_BLOCKS.set(tuple(block for block in blocks if block is not self))
        self._open = False
        self._block_frame = None  # the frame's call may end now: hold it no longer

    def _check_complete(self) -> None:
        pass

    # -- serialising ------------------------------------------------------------

    def _to_lxml(
        self,
        parent: etree._Element | None,
        located: list[tuple[etree._Element, SourceLocation]],
    ) -> etree._Element:
        self._check_complete()
        tag = self.tag
        element = etree.Element(tag) if parent is None else etree.SubElement(parent, tag)
        for name, value in self._attributes.items():
            element.set(name, value)
        if self._text is not None:
            element.text = self._text
        located.append((element, self.location))
        for child in self._children:
            child._to_lxml(element, located)
        return element

    def to_element(self) -> etree._Element:
        """This node as a fresh lxml element tree (checked complete first)."""
        return self._to_lxml(None, [])

    def _write(self, out: list[str]) -> None:
        """Append this node's compact XML to ``out``: the bytes lxml would write for
        `to_element`, without building the tree (see `_escape_text`)."""
        self._check_complete()
        tag = self.tag
        start = "<" + tag
        for name, value in self._attributes.items():
            start += f' {name}="{_escape_attribute(value)}"'
        if self._text is None and not self._children:
            out.append(start + "/>")
            return
        out.append(start + ">")
        if self._text is not None:
            out.append(_escape_text(self._text))
        for child in self._children:
            child._write(out)
        out.append(f"</{tag}>")


# The writer tests for the characters to escape with `in` (four or seven substring tests
# cost less than one regular expression search on the short strings of a flow).


def _escape_text(text: str) -> str:
    """Element text as lxml writes it: ``& < >`` and carriage returns escaped."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("\r", "&#13;")


def _escape_attribute(value: str) -> str:
    """An attribute value as lxml writes it between double quotes: ``& < > "`` and the
    whitespace an XML parser would otherwise normalise (tab, newline, return) escaped."""
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = value.replace('"', "&quot;").replace("\t", "&#9;").replace("\n", "&#10;")
    return value.replace("\r", "&#13;")


def _holds(node: Node, target: Node) -> bool:
    """Whether ``target`` is somewhere below ``node`` (flows are shallow: recursion is fine)."""
    for child in node._children:
        if child is target or (child._children and _holds(child, target)):
            return True
    return False


def _nodes(items: Sequence[object], parent: Node) -> Iterable[Node]:
    """The children given to a constructor as nodes: the tuple itself when it holds only
    nodes (the common case), else its flattened nodes, checked as they come."""
    for item in items:
        if not isinstance(item, Node):
            return _flatten(items, parent)
    return items  # type: ignore[return-value]  # every item is a Node


def _flatten(items: Iterable[object], parent: Node) -> Iterator[Node]:
    for item in items:
        if item is None:
            continue
        if isinstance(item, Node):
            yield item
        elif isinstance(item, str | bytes):
            raise BuildError(
                f"<{parent.tag}> got the string {item!r} as a child; children are nodes",
                parent.location,
                hint="text to speak goes in Say('...'), a URL to play in Play('...')",
            )
        elif isinstance(item, Iterable):
            yield from _flatten(item, parent)
        else:
            raise BuildError(
                f"<{parent.tag}> got {type(item).__name__} {item!r} as a child; "
                "children are nodes (or lists of nodes, or None)",
                parent.location,
            )


def own_copy(function: FunctionType) -> FunctionType:
    """``function`` again, with a code object of its own: the same bytecode, names, file
    and lines (tracebacks, coverage and debuggers see no difference).

    CPython (3.11 on) specialises each attribute access in a code object for the class it
    meets there, one class at a time. The methods every node runs (`Element._build` and
    the others in `Element.PER_CLASS_METHODS`) meet a dozen element classes in a flow, and
    with one shared code object each access of ``self._children`` and the like took the
    slow generic path; a copy for each class lets each one specialise (about a sixth of
    the time to build and write a flow).
    """
    copy = FunctionType(
        function.__code__.replace(),
        function.__globals__,
        function.__name__,
        function.__defaults__,
        function.__closure__,
    )
    copy.__kwdefaults__ = function.__kwdefaults__
    copy.__qualname__ = function.__qualname__
    copy.__doc__ = function.__doc__
    copy.__module__ = function.__module__
    copy.__annotations__ = function.__annotations__
    copy.__dict__.update(function.__dict__)
    return copy


class Element(Node):
    """A schema element: its keyword arguments, text and children are checked when built."""

    __slots__ = ()

    SPEC: ClassVar[ElementSpec]

    #: The methods every node or block runs, which each subclass gets a copy of (`own_copy`).
    PER_CLASS_METHODS: ClassVar[tuple[str, ...]] = ("_build", "_write", "__enter__", "__exit__")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in Element.PER_CLASS_METHODS:
            setattr(cls, name, own_copy(getattr(cls, name)))

    @property
    def tag(self) -> str:
        return self.SPEC.tag

    def _build(
        self, children: tuple[object, ...], attributes: Mapping[str, object], content: object
    ) -> None:
        # Every node of every flow passes here: the common case runs on tables computed
        # once per tag (ElementSpec), the rare ones (errors, escape hatch) in helpers.
        # Frames 0 and 1 are this method and the generated __init__: callflow's own.
        frame = sys._getframe(2)
        blocks = _OPEN_BLOCKS.get()
        block = blocks[-1] if blocks else None  # the block this node joins, if any
        if block is not None and frame is block._block_frame:  # built in the block's frame
            self._where = (frame.f_code, frame.f_lasti, *block._block_callers)
        else:
            self._where = author_site(frame)
        self._text = None
        self._pending_in = None
        self._open = False
        self._children = []
        self._state = 0
        spec = self.SPEC
        wire: dict[str, str] = {}
        self._attributes = wire
        unchecked: object = None
        if attributes:
            by_python = spec.by_python
            for python_name, value in attributes.items():
                attribute = by_python.get(python_name)
                if attribute is None:
                    if python_name == "unchecked_attributes":
                        unchecked = value
                        continue
                    raise self._unknown_keyword(python_name, value)
                if value.__class__ is str and value in attribute.accepted:
                    wire[attribute.name] = value
                elif value.__class__ is int and value >= attribute.least_int:
                    wire[attribute.name] = str(value)
                elif value is None:
                    if attribute.required:
                        raise self._error(f"`{python_name}` is required, got None", attribute)
                else:
                    try:
                        wire[attribute.name] = attribute.convert(value)
                    except (TypeError, ValueError) as reason:
                        raise self._error(
                            f"{python_name}={value!r}: {reason}", attribute, value
                        ) from None
        if spec.required:
            for attribute in spec.required:
                if attribute.name not in wire:
                    raise self._error(
                        f"the keyword `{attribute.python_name}` is required", attribute
                    )
        if unchecked is not None:
            self._add_unchecked(unchecked)
        if content is not None:
            text_spec = spec.text
            if (
                text_spec is not None
                and content.__class__ is str
                and (content in text_spec.accepted or text_spec.check(content) is None)
            ):
                self._text = content or None
            else:
                self._set_text(content)  # raises, saying why
        elif spec.text_required:
            raise self._error("needs its text as the first argument", spec.text)
        # Whether this node may hold `block` (a child that is `block` or has children of
        # its own): only then is the tree searched for it before joining.
        may_hold_block = False
        if children:
            if not spec.children:
                raise BuildError(f"<{spec.tag}> holds no children", self.location)
            machine = spec.machine
            node_moves = machine.node_moves
            kids = self._children
            state = 0
            for child in _nodes(children, self):
                pending = child._pending_in
                if pending is not None:
                    # Node._release, inlined for its usual case: the child was built just
                    # before, inside the open block, as an argument of this call.
                    siblings = pending._children
                    if pending._open and siblings and siblings[-1] is child:
                        siblings.pop()
                        child._pending_in = None
                    else:
                        pending._release(child)
                following = node_moves[state].get(child.__class__)
                if following is None:
                    following = machine.step_node(state, child)
                if following < 0:
                    assert isinstance(child, Element)  # only elements meet the content model
                    raise self._rejected(child, self._last_element(), state)
                state = following
                kids.append(child)
                if child._children or child is block:
                    may_hold_block = True
            self._state = state
        if block is not None:  # _join_open_block, inlined
            parent = block
            if may_hold_block and _holds(self, parent):
                raise BuildError(f"<{parent.tag}> cannot contain itself", self.location)
            if parent._open:  # collected only; checked when the block closes
                parent._children.append(self)
            else:
                parent._append(self)
            self._pending_in = parent

    def _write(self, out: list[str]) -> None:
        spec = self.SPEC
        state = self._state
        if state < 0 or not spec.final[state]:
            self._check_complete()  # raises, naming what is missing
        start = spec.open_tag
        attributes = self._attributes
        if attributes:
            for name, value in attributes.items():
                if (
                    "&" in value
                    or "<" in value
                    or ">" in value
                    or '"' in value
                    or "\t" in value
                    or "\n" in value
                    or "\r" in value
                ):
                    value = _escape_attribute(value)
                start += f' {name}="{value}"'
        children = self._children
        text = self._text
        if text is None:
            if not children:
                out.append(start + "/>")
                return
            out.append(start + ">")
        else:
            if "&" in text or "<" in text or ">" in text or "\r" in text:
                text = _escape_text(text)
            out.append(start + ">" + text)
        for child in children:
            child._write(out)
        out.append(spec.close_tag)

    def _error(
        self, message: str, attribute: AttributeSpec | None = None, value: object = None
    ) -> BuildError:
        return BuildError(
            f"{type(self).__name__}(): {message}", self.location, _hint(self, attribute, value)
        )

    def _unknown_keyword(self, python_name: str, value: object) -> BuildError:
        from callflow.vocabulary import closest

        spec = self.SPEC
        names = list(spec.by_python)
        known_wire = spec.by_name.get(python_name)
        hint = ""
        if known_wire is not None:
            hint = (
                f"write `{known_wire.python_name}=` (the Python name of the XML attribute "
                f"`{python_name}`); "
            )
        elif (guess := closest(python_name, names)) is not None:
            hint = f"did you mean `{guess}`? "
        listing = ", ".join(names) if names else "no attributes"
        hint += f"{type(self).__name__}() takes {listing}"
        hint += "; unchecked_attributes={...} passes attributes the schema does not know"
        return BuildError(
            f"{type(self).__name__}(): unknown keyword argument `{python_name}`={value!r}",
            self.location,
            hint,
        )

    def _add_unchecked(self, unchecked: object) -> None:
        if not isinstance(unchecked, Mapping):
            raise self._error("unchecked_attributes must be a mapping of XML name to str")
        for name, value in unchecked.items():
            if not isinstance(name, str) or not _XML_NAME.fullmatch(name):
                raise self._error(f"unchecked attribute name {name!r} is not an XML name")
            known = self.SPEC.by_name.get(name) or self.SPEC.by_python.get(name)
            if known is not None:
                raise self._error(
                    f"`{name}` is a known attribute; write {known.python_name}=… instead of "
                    "passing it through unchecked_attributes",
                    known,
                )
            if not isinstance(value, str):
                raise self._error(
                    f"unchecked attribute {name}={value!r}: expected a str, "
                    f"got {type(value).__name__}"
                )
            bad = illegal_character(value)
            if bad is not None:
                raise self._error(f"unchecked attribute {name}: contains {bad}, not allowed in XML")
            self._attributes[name] = value

    def _set_text(self, content: object) -> None:
        spec = self.SPEC.text
        if spec is None:
            raise self._error("takes no text")
        if not isinstance(content, str):
            raise self._error(
                f"its text must be a str, got {type(content).__name__} {content!r}", spec
            )
        reason = spec.check(content)
        if reason is not None:
            raise self._error(f"text {content!r}: {reason}", spec)
        self._text = content or None

    def _append(self, child: Node) -> None:
        if isinstance(child, Element) and not self._open:
            self._state = self._accept(self._state, child, self._last_element())
        self._children.append(child)

    def _accept(self, state: int, child: Element, previous: Element | None) -> int:
        """The state after ``child``; raises when the child may not stand there."""
        following = self.SPEC.machine.step(state, child.SPEC.tag)
        if following < 0:
            raise self._rejected(child, previous, state)
        return following

    def _rejected(self, child: Element, previous: Element | None, state: int) -> BuildError:
        """Why ``child`` may not follow ``previous`` (the children so far led to ``state``)."""
        if child.tag not in self.SPEC.children:
            return self._illegal_child(child)
        return self._misplaced_child(child, previous, state)

    def _last_element(self) -> Element | None:
        return _last_element(self._children)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # Node.__exit__, and the children's check, in one pass over the children.
        blocks = _OPEN_BLOCKS.get()
        if blocks and blocks[-1] is self:  # _close_block, inlined for its usual case
            _OPEN_BLOCKS.set(blocks[:-1])
            self._open = False
            self._block_frame = None
        else:
            self._close_block()
        if exc_type is not None:
            for child in self._children:
                if child._pending_in is self:
                    child._pending_in = None
            return
        spec = self.SPEC
        machine = spec.machine
        node_moves = machine.node_moves
        state = 0
        for index, child in enumerate(self._children):
            if child._pending_in is self:
                child._pending_in = None
            following = node_moves[state].get(child.__class__)
            if following is None:
                following = machine.step_node(state, child)
            if following < 0:
                assert isinstance(child, Element)  # only elements meet the content model
                for rest in self._children[index:]:
                    if rest._pending_in is self:
                        rest._pending_in = None
                raise self._rejected(child, _last_element(self._children[:index]), state)
            state = following
        self._state = state
        if not spec.final[state]:
            self._check_complete()  # raises, naming what is missing

    def _recompute_state(self) -> None:
        machine = self.SPEC.machine
        state = 0
        for child in self._children:
            if isinstance(child, Element):
                state = machine.step(state, child.SPEC.tag)
        self._state = state

    def _allowed_next(self, state: int | None = None) -> list[str]:
        model = self.SPEC.machine.model(self._state if state is None else state)
        return [tag for tag in self.SPEC.children if derive(model, tag) != EMPTY]

    def _illegal_child(self, child: Element) -> BuildError:
        from callflow.vocabulary import closest

        allowed = self.SPEC.children
        if not allowed:
            return BuildError(f"<{self.tag}> holds no children; got <{child.tag}>", child.location)
        guess = closest(child.tag, allowed)
        listing = ", ".join(f"<{t}>" for t in allowed)
        hint = f"did you mean <{guess}>? " if guess else ""
        return BuildError(
            f"<{self.tag}> cannot hold <{child.tag}>",
            child.location,
            f"{hint}<{self.tag}> holds {listing}",
        )

    def _misplaced_child(self, child: Element, previous: Element | None, state: int) -> BuildError:
        allowed = self._allowed_next(state)
        after = f" after <{previous.tag}>" if previous is not None else " first"
        hint = (
            "allowed at this point: " + ", ".join(f"<{t}>" for t in allowed)
            if allowed
            else f"nothing more may follow inside <{self.tag}>"
        )
        return BuildError(
            f"<{child.tag}> cannot come{after} inside <{self.tag}>", child.location, hint
        )

    def __enter__(self) -> Self:
        if not self.SPEC.children:
            raise BuildError(
                f"<{self.tag}> holds no children; it cannot open a `with` block", self.location
            )
        blocks = _OPEN_BLOCKS.get()  # as Node.__enter__, one call less for every block
        self._block_frame, self._block_callers = block_callers(sys._getframe(1), blocks)
        self._open = True
        _OPEN_BLOCKS.set((*blocks, self))
        return self

    def _check_complete(self) -> None:
        if not self.SPEC.machine.accepts_end(self._state):
            missing = " or ".join(f"<{t}>" for t in self._allowed_next())
            raise BuildError(
                f"<{self.tag}> is incomplete: it needs {missing}",
                self.location,
                f"add {missing} inside <{self.tag}>",
            )

    @classmethod
    def _from_wire(
        cls,
        attributes: Mapping[str, str],
        text: str | None,
        location: SourceLocation,
        *,
        strict: bool = True,
    ) -> Self:
        """A node from XML attribute and text values (used by `callflow.parse`)."""
        node = cls.__new__(cls)
        node._start(location)
        for name, value in attributes.items():
            attribute = cls.SPEC.by_name.get(name)
            if attribute is None:
                if strict:
                    raise node._unknown_keyword(name, value)
                node._add_unchecked({name: value})
                continue
            reason = check_wire_value(attribute, value)
            if reason is not None:
                raise node._error(f"{name}={value!r}: {reason}", attribute, value)
            node._attributes[name] = value
        for attribute in cls.SPEC.attributes:
            if attribute.required and attribute.name not in node._attributes:
                raise node._error(f"the attribute `{attribute.name}` is required", attribute)
        if text is not None:
            node._set_text(text)
        return node


def _last_element(nodes: Sequence[Node]) -> Element | None:
    """The last element among ``nodes`` (comments and unchecked elements skipped)."""
    for node in reversed(nodes):
        if isinstance(node, Element):
            return node
    return None


def _hint(node: Element, attribute: AttributeSpec | None, value: object) -> str | None:
    """What to write instead: the closest allowed value, the XML name, the unit."""
    if attribute is None:
        return None
    if attribute.python_name == "#text":
        return f"the text of <{node.tag}> is {_describe(attribute)}"
    allowed = attribute.enumeration or attribute.literal_values
    if allowed and isinstance(value, str):
        from callflow.vocabulary import closest

        guess = closest(value, allowed)
        listing = ", ".join(repr(v) for v in allowed)
        return (f"did you mean {guess!r}? " if guess else "") + f"allowed: {listing}"
    if attribute.kind == "duration" and isinstance(value, str | float):
        return f"durations are whole milliseconds: {attribute.python_name}=8000 is 8 s"
    if attribute.python_name != attribute.name:
        return f"`{attribute.python_name}` is the XML attribute `{attribute.name}`"
    return None


class UncheckedElement(Node):
    """The escape hatch for a tag the schema does not know yet: nothing about it is checked
    except that it is well-formed XML. Validation then reports it as the schema sees it."""

    __slots__ = ("_tag",)

    def __init__(
        self,
        tag: str,
        *children: Node | Iterable[Node] | None,
        text: str | None = None,
        attributes: Mapping[str, str] | None = None,
    ) -> None:
        self._start(author_site(sys._getframe(1)))
        self._setup(tag, text, attributes or {})
        self._take(children)
        self._join_open_block()

    def _setup(self, tag: str, text: str | None, attributes: Mapping[str, str]) -> None:
        if not isinstance(tag, str) or not _XML_NAME.fullmatch(tag):
            raise BuildError(f"UncheckedElement(): {tag!r} is not an XML tag name", self.location)
        self._tag = tag
        for name, value in attributes.items():
            if not isinstance(name, str) or not _XML_NAME.fullmatch(name):
                raise BuildError(
                    f"UncheckedElement(): attribute name {name!r} is not an XML name",
                    self.location,
                )
            if not isinstance(value, str):
                raise BuildError(
                    f"UncheckedElement(): attribute {name}={value!r} must be a str",
                    self.location,
                )
            bad = illegal_character(value)
            if bad is not None:
                raise BuildError(
                    f"UncheckedElement(): attribute {name} contains {bad}, not allowed in XML",
                    self.location,
                )
            self._attributes[name] = value
        if text is not None:
            bad = illegal_character(text)
            if bad is not None:
                raise BuildError(
                    f"UncheckedElement(): text contains {bad}, not allowed in XML", self.location
                )
        self._text = text or None

    @property
    def tag(self) -> str:
        return self._tag

    def add(self, *children: Node | Iterable[Node] | None) -> Self:
        """Append children (nodes, iterables of nodes, or None to skip); returns the node."""
        return self._add(children)

    @classmethod
    def _from_wire(
        cls, tag: str, attributes: Mapping[str, str], text: str | None, location: SourceLocation
    ) -> UncheckedElement:
        node = cls.__new__(cls)
        node._start(location)
        node._setup(tag, text, attributes)
        return node


class Comment(Node):
    """An XML comment among the children: ``Comment("why this branch exists")``.

    Line breaks are kept as a parser reads them back: a comment cannot escape a carriage
    return, so ``\r\n`` and ``\r`` become ``\n`` (XML's end-of-line rule), and a flow's
    comments survive serialising and parsing unchanged.
    """

    __slots__ = ()

    def __init__(self, text: str) -> None:
        self._start(author_site(sys._getframe(1)))
        self._setup(text)
        self._join_open_block()

    def _setup(self, text: str) -> None:
        if not isinstance(text, str):
            raise BuildError(f"Comment(): expected a str, got {type(text).__name__}", self.location)
        bad = illegal_character(text)
        if bad is not None:
            raise BuildError(f"Comment(): contains {bad}, not allowed in XML", self.location)
        if "--" in text or text.endswith("-"):
            raise BuildError(
                "Comment(): an XML comment cannot contain '--' or end with '-'", self.location
            )
        self._text = text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text

    @property
    def tag(self) -> str:
        return "#comment"

    @classmethod
    def _from_wire(cls, text: str, location: SourceLocation) -> Comment:
        node = cls.__new__(cls)
        node._start(location)
        node._setup(text)
        return node

    def __enter__(self) -> Self:
        raise BuildError(
            "a Comment holds no children; it cannot open a `with` block", self.location
        )

    def _to_lxml(
        self,
        parent: etree._Element | None,
        located: list[tuple[etree._Element, SourceLocation]],
    ) -> etree._Element:
        comment = etree.Comment(self._text)
        if parent is not None:
            parent.append(comment)
        return comment

    def _write(self, out: list[str]) -> None:
        out.append(f"<!--{self._text}-->")


# ---------------------------------------------------------------- the flow (document root)

_DECLARATION_TEXT = '<?xml version="1.0" encoding="UTF-8"?>\n'
_DECLARATION = _DECLARATION_TEXT.encode("ascii")


class FlowElement(Element):
    """A document root (``<Response>``): serialises to XML and to a `Document`."""

    __slots__ = ("_comments_after", "_comments_before")

    def _start(self, where: SourceLocation | Site) -> None:
        super()._start(where)
        self._comments_before: tuple[str, ...] = ()
        self._comments_after: tuple[str, ...] = ()

    def _build(
        self, children: tuple[object, ...], attributes: Mapping[str, object], content: object
    ) -> None:
        self._comments_before = ()
        self._comments_after = ()
        super()._build(children, attributes, content)

    def _value_key(self) -> tuple[object, ...]:
        return (*super()._value_key(), self._comments_before, self._comments_after)

    @property
    def comments(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The XML comments written before and after the root element."""
        return self._comments_before, self._comments_after

    def with_comments(self, *before: str, after: Iterable[str] = ()) -> Self:
        """Put XML comments around the root element (a file's header comment, say).

        Each text is written as given inside ``<!--`` and ``-->``; returns the flow.
        """
        checked = []
        for text in (*before, *after):
            checked.append(Comment._from_wire(text, self.location).text or "")
        self._comments_before = tuple(checked[: len(before)])
        self._comments_after = tuple(checked[len(before) :])
        return self

    def _tree(self, located: list[tuple[etree._Element, SourceLocation]]) -> etree._Element:
        root = self._to_lxml(None, located)
        for text in self._comments_before:
            root.addprevious(etree.Comment(text))
        for text in reversed(self._comments_after):
            root.addnext(etree.Comment(text))
        return root

    def to_bytes(self, pretty: bool = False) -> bytes:
        """UTF-8 XML with a declaration; the same flow always gives the same bytes."""
        if not pretty:
            return self._compact().encode("utf-8")
        root = self._tree([])
        body = etree.tostring(root.getroottree(), encoding="UTF-8", pretty_print=True)
        return _DECLARATION + body

    def to_xml(self, pretty: bool = False) -> str:
        """The XML as a str (with its declaration); `to_bytes` gives the same as UTF-8."""
        if not pretty:
            return self._compact()
        return self.to_bytes(pretty).decode("utf-8")

    def _compact(self) -> str:
        """The compact document, written directly: byte for byte what lxml writes for the
        same tree (a test holds the two together), at a fraction of the cost."""
        out = [_DECLARATION_TEXT]
        for text in self._comments_before:
            out.append(f"<!--{text}-->")
        self._write(out)
        for text in self._comments_after:
            out.append(f"<!--{text}-->")
        return "".join(out)

    def to_document(self, name: str | None = None) -> Document:
        """A `Document` whose source map points each element at the line that built it.

        The text is pretty-printed; ``name`` defaults to the file that built this node.
        """
        located: list[tuple[etree._Element, SourceLocation]] = []
        root = self._tree(located)
        tree = root.getroottree()
        elements = {tree.getpath(element): location for element, location in located}
        data = _DECLARATION + etree.tostring(tree, encoding="UTF-8", pretty_print=True)
        file = name if name is not None else self.location.file
        source_map = SourceMap(file, identity=False, elements=elements)
        document, diagnostics = load_bytes(data, file, source_map=source_map)
        if document is None:  # pragma: no cover - the builder only writes well-formed XML
            raise ValidationError(f"{file}: the built flow is not well-formed", diagnostics)
        for element in document.iter_elements():
            location = elements.get(document.xpath_of(element))
            if location is not None and element.sourceline is not None:
                source_map.lines.setdefault(element.sourceline, location)
        return document
