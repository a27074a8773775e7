"""The builder's shortcuts agree with the plain rules they stand in for.

Building a node takes shortcuts for speed (remembered valid strings, learnt content-model
moves, source sites read lazily, a compact writer that does not build an lxml tree); each
test here holds one shortcut to the slow, obviously right path it replaces.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from callflow.dsl import (
    Callback,
    Case,
    Comment,
    Default,
    Dial,
    Error,
    Gather,
    Hangup,
    Record,
    Response,
    Say,
    Switch,
    To,
    UncheckedElement,
    core,
)
from callflow.dsl._elements import ELEMENT_CLASSES
from callflow.dsl.core import (
    _ACCEPTED_LENGTH,
    _ACCEPTED_LIMIT,
    _FILE_KINDS,
    _INSTALLED_DIRS,
    _PACKAGE_DIR,
    _STDLIB_DIRS,
    EMPTY,
    INSTALLED,
    MAX_CHAIN,
    OURS,
    STDLIB,
    USER,
    AttributeSpec,
    ContentMachine,
    Element,
    Node,
    Site,
    _classify,
    _holds,
    _wire_value,
    author_site,
    check_wire_value,
    derive,
    illegal_character,
    nullable,
    own_copy,
    site_location,
)
from callflow.errors import BuildError

from .test_properties import construct, plans

SETTINGS = settings(max_examples=80, deadline=None)

# Characters XML 1.0 allows (surrogates excluded: they cannot be encoded).
XML_TEXT = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",),
        blacklist_characters="".join(chr(c) for c in range(0x20) if chr(c) not in "\t\n\r")
        + "\ufffe\uffff",
    ),
    max_size=30,
)
# Strings near the edges: markup characters, whitespace runs, keys, digits, control bytes.
EDGY_TEXT = st.text(alphabet=" \t\r\n&<>\"'#*+0123456789abcPOST-:/.\x00\x0b\u00e9\U0001f600")
# XML-legal strings made mostly of what the writer must escape.
MARKUP_TEXT = st.text(alphabet=" \t\r\n&<>\"'ab\u00e9\U0001f600", max_size=12)
WRITTEN_TEXT = st.one_of(XML_TEXT, MARKUP_TEXT)
ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 10**7),
    st.floats(allow_nan=False),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=2)),
    XML_TEXT,
    EDGY_TEXT,
    st.sampled_from(["true", "false", "GET", "POST", "1", "#", " 1 ", "8000", "https://e.com/x"]),
)

ATTRIBUTE_SPECS = sorted(
    {
        (name, spec.python_name): spec
        for name, cls in ELEMENT_CLASSES.items()
        for spec in (*cls.SPEC.attributes, *([cls.SPEC.text] if cls.SPEC.text else []))
    }.items()
)


def outcome(function: Any, value: object) -> tuple[str, object]:
    try:
        return ("ok", function(value))
    except (TypeError, ValueError) as error:
        return (type(error).__name__, str(error))


@pytest.mark.parametrize(("key", "spec"), ATTRIBUTE_SPECS, ids=lambda k: str(k))
@settings(max_examples=40, deadline=None)
@given(value=ANY_VALUE)
def test_an_attribute_converts_every_value_as_the_plain_rule_does(
    key: tuple[str, str], spec: AttributeSpec, value: object
) -> None:
    expected = outcome(lambda v: _wire_value(spec, v), value)
    assert outcome(spec.convert, value) == expected
    assert outcome(spec.convert, value) == expected  # again, now possibly remembered


@pytest.mark.parametrize(("key", "spec"), ATTRIBUTE_SPECS, ids=lambda k: str(k))
@settings(max_examples=40, deadline=None)
@given(wire=st.one_of(XML_TEXT, EDGY_TEXT))
def test_an_attribute_checks_every_wire_string_as_the_plain_rule_does(
    key: tuple[str, str], spec: AttributeSpec, wire: str
) -> None:
    expected = check_wire_value(spec, wire)
    assert spec.check(wire) == expected
    assert spec.check(wire) == expected


def test_every_printable_character_is_one_xml_allows() -> None:
    """What the wire checks' shortcut relies on, over all of Unicode."""
    printable = "".join(c for c in map(chr, range(sys.maxunicode + 1)) if c.isprintable())
    assert illegal_character(printable) is None
    assert not any(c in printable for c in "\t\n\r\u00a0\u2028")  # only " " is whitespace


@SETTINGS
@given(num_digits=ANY_VALUE, timeout=ANY_VALUE, asr=ANY_VALUE, method=ANY_VALUE, dtmf=ANY_VALUE)
def test_building_accepts_exactly_the_values_the_plain_rules_accept(**values: object) -> None:
    """Building twice (the second time through remembered strings) gives the same outcome."""
    cases: list[tuple[Any, dict[str, object], str]] = [
        (Gather, {}, "num_digits"),
        (Gather, {}, "timeout"),
        (Record, {}, "asr"),
        (Callback, {"url": "https://ivr.example.com/next"}, "method"),
        (Case, {}, "dtmf"),
    ]
    for cls, required, python_name in cases:
        value = values[python_name]
        spec = cls.SPEC.by_python[python_name]
        if value is None:
            expected: tuple[str, object] = ("ok", None) if not spec.required else ("error", "")
        else:
            plain = outcome(lambda v, s=spec: _wire_value(s, v), value)
            expected = plain if plain[0] == "ok" else ("error", "")
        for _ in range(2):
            try:
                node = cls(**required, **{python_name: value})
            except BuildError:
                assert expected[0] == "error", (cls, python_name, value)
            else:
                assert expected[0] == "ok", (cls, python_name, value)
                assert node.attributes.get(spec.name) == expected[1]


def test_a_remembered_string_is_still_refused_where_it_is_not_valid() -> None:
    Callback(url="https://ivr.example.com/next", tag="POST")  # remembered for `tag`
    with pytest.raises(BuildError, match="method"):
        Callback(url="https://ivr.example.com/next", method="FETCH")  # type: ignore[arg-type]
    with pytest.raises(BuildError, match="timeout"):
        Gather(timeout="8000")  # type: ignore[arg-type]  # a str, though "8000" is valid XML
    with pytest.raises(BuildError, match="num_digits"):
        Gather(num_digits=True)  # type: ignore[arg-type]  # a bool is not a number here


def test_an_attribute_remembers_a_bounded_number_of_short_strings() -> None:
    spec = Hangup.SPEC.by_python["tag"]
    long_tag = "x" * (_ACCEPTED_LENGTH + 1)
    assert Hangup(tag=long_tag).attributes["tag"] == long_tag
    assert long_tag not in spec.accepted
    for number in range(_ACCEPTED_LIMIT + 50):
        Hangup(tag=f"bounded-{number}")
    assert len(spec.accepted) <= _ACCEPTED_LIMIT
    assert Hangup(tag=f"bounded-{_ACCEPTED_LIMIT + 49}").attributes["tag"].startswith("bounded")


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_the_learnt_content_machine_agrees_with_the_content_model(data: st.DataObject) -> None:
    cls = data.draw(st.sampled_from(sorted(ELEMENT_CLASSES.items())))[1]
    spec = cls.SPEC
    if not spec.children:
        return
    tags = data.draw(st.lists(st.sampled_from([*spec.children, "Nope"]), max_size=6))
    machine = spec.machine
    fresh = ContentMachine(spec.content)
    model, state, fresh_state = spec.content, 0, 0
    for tag in tags:
        model = derive(model, tag) if model != EMPTY else EMPTY
        state = machine.step(state, tag)
        fresh_state = fresh.step(fresh_state, tag)
        assert (state == ContentMachine.DEAD) == (model == EMPTY)
        assert (fresh_state == ContentMachine.DEAD) == (model == EMPTY)
        assert machine.accepts_end(state) == (model != EMPTY and nullable(model))


def test_a_content_machine_learnt_by_many_threads_at_once_stays_consistent() -> None:
    content = ELEMENT_CLASSES["Response"].SPEC.content
    machine = ContentMachine(content)
    tags = ["Say", "Gather", "Error", "Hangup", "Error", "Dial", "Nope"]

    def walk(offset: int) -> list[int]:
        states = [0]
        for tag in tags[offset:] + tags[:offset]:
            states.append(machine.step(states[-1], tag))
        return states

    with ThreadPoolExecutor(max_workers=8) as pool:
        walks = list(pool.map(walk, [n % len(tags) for n in range(64)]))
    assert len(machine.models) == len(machine.moves) == len(machine.final)
    assert len(machine.node_moves) == len(machine.models)
    assert all(machine.numbers[model] == n for n, model in enumerate(machine.models))
    fresh = ContentMachine(content)
    for n, states in enumerate(walks):
        expected = [0]
        for tag in tags[n % len(tags) :] + tags[: n % len(tags)]:
            expected.append(fresh.step(expected[-1], tag))
        assert [machine.model(s) for s in states] == [fresh.model(s) for s in expected]


def test_a_block_refused_on_closing_lets_go_of_all_its_children() -> None:
    with pytest.raises(BuildError, match="cannot come after <Error>"):  # noqa: SIM117
        with Switch() as switch:
            first = Case(Say("One."), dtmf="1")
            Error(Hangup())
            late = Case(Say("Two."), dtmf="2")  # no Case after the Error
            after = Default(Say("Never."))
    flow = Response(Gather(Switch(first, late, after)))  # moved freely, not out of `switch`
    assert len(switch.children) == 4
    assert flow.to_xml().count("<Case") == 2


def test_a_block_left_incomplete_is_refused_on_closing() -> None:
    with pytest.raises(BuildError, match=r"<Dial> is incomplete: it needs <To> or <Sip>"):  # noqa: SIM117
        with Dial():
            Comment("no target yet")


# ---------------------------------------------------------------- the compact writer

FLOW_PARTS = st.recursive(
    st.one_of(
        st.builds(lambda text: Say(text), WRITTEN_TEXT),
        st.builds(lambda tag: Hangup(tag=tag), WRITTEN_TEXT),
        st.builds(
            lambda text: Comment(text),
            # Filtered before building: a comment ending in "-" is refused as it is built.
            WRITTEN_TEXT.filter(lambda t: "--" not in t and not t.endswith("-")),
        ),
        st.builds(
            lambda text, value: Say(text, unchecked_attributes={"voiceSpeed": value}),
            WRITTEN_TEXT,
            WRITTEN_TEXT,
        ),
    ),
    lambda children: st.builds(
        lambda parts, text, value: UncheckedElement(
            "Transfer", parts, text=text or None, attributes={"to": value}
        ),
        st.lists(children, max_size=3),
        WRITTEN_TEXT,
        WRITTEN_TEXT,
    ),
    max_leaves=8,
)


@SETTINGS
@given(parts=st.lists(FLOW_PARTS, max_size=4), before=st.lists(st.sampled_from(["a", " b "])))
def test_the_compact_writer_writes_the_bytes_lxml_writes(
    parts: list[Any], before: list[str]
) -> None:
    flow = Response(parts).with_comments(*before, after=["end"])
    expected = lxml_bytes(flow)
    assert flow.to_bytes() == expected
    assert flow.to_xml() == expected.decode("utf-8")


def lxml_bytes(flow: Response) -> bytes:
    """What lxml writes for the flow's tree: the reference for the compact writer."""
    tree = flow._tree([]).getroottree()
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(tree, encoding="UTF-8")


@pytest.mark.parametrize("character", [*"&<>\"'\t\n\r", "\u00e9", "\U0001f600", "]]>"])
def test_the_compact_writer_escapes_each_character_as_lxml_does(character: str) -> None:
    text = f"a{character}b"
    flow = Response(
        Say(text, unchecked_attributes={"voiceSpeed": text}),
        Hangup(tag=text),
        UncheckedElement("Transfer", Say(text), text=text, attributes={"to": text}),
    )
    assert flow.to_bytes() == lxml_bytes(flow)


def test_the_compact_writer_refuses_an_incomplete_node_as_lxml_does() -> None:
    flow = Response(Say("Hi"), Dial())  # a Dial with no target
    with pytest.raises(BuildError, match=r"<Dial> is incomplete") as compact:
        flow.to_xml()
    with pytest.raises(BuildError, match=r"<Dial> is incomplete") as pretty:
        flow.to_xml(pretty=True)
    assert str(compact.value) == str(pretty.value)


# ---------------------------------------------------------------- source sites


def test_a_node_built_deep_in_a_long_module_knows_its_line() -> None:
    lines = ["from callflow.dsl import Say, Response", "x = 0"]
    lines += [f"x += {number}" for number in range(2000)]
    lines += ["flow = Response(", "    Say('late'),", ")"]
    namespace: dict[str, Any] = {}
    exec(compile("\n".join(lines), "long_flow.py", "exec"), namespace)
    flow = namespace["flow"]
    assert (flow.location.file, flow.location.line) == ("long_flow.py", len(lines) - 2)
    say = flow.children[0]
    assert say.location.line == len(lines) - 1


def nest(depth: int) -> Say:
    """A fragment that calls itself ``depth`` times before building its node."""
    return Say("deep") if depth == 0 else nest(depth - 1)


def test_a_location_names_at_most_max_chain_callers_innermost_first() -> None:
    say = nest(MAX_CHAIN + 2)
    here = sys._getframe(0).f_code.co_filename
    assert say.location.file == here
    assert len(say.location.chain) == MAX_CHAIN
    assert all(entry.startswith(f"called from {here}:") for entry in say.location.chain)
    first_caller_line = int(say.location.chain[0].rsplit(":", 1)[1])
    source = Path(here).read_text("utf-8").splitlines()
    assert "nest(depth - 1)" in source[first_caller_line - 1]


# ---------------------------------------------------------------- per-class method copies


@pytest.mark.parametrize("name", Element.PER_CLASS_METHODS)
def test_every_element_class_runs_its_own_copy_of_the_same_method(name: str) -> None:
    for cls in ELEMENT_CLASSES.values():
        method = cls.__dict__[name]
        inherited = getattr(cls.__mro__[1], name)
        assert method.__code__ is not inherited.__code__, cls
        assert method.__code__ == inherited.__code__, cls  # same bytecode, names, lines
        assert method.__qualname__ == inherited.__qualname__
        assert method.__closure__ == inherited.__closure__


def test_a_copied_method_is_the_function_it_copies() -> None:
    def greet(name: str, *, punctuation: str = "!") -> str:
        """Says hello."""
        return f"{prefix}, {name}{punctuation}"

    prefix = "Hello"
    greet.marker = True  # type: ignore[attr-defined]
    copy = own_copy(greet)  # type: ignore[arg-type]
    assert copy("Ada") == greet("Ada") == "Hello, Ada!"
    assert copy("Ada", punctuation=".") == "Hello, Ada."
    assert (copy.__name__, copy.__qualname__, copy.__doc__, copy.__module__) == (
        greet.__name__,
        greet.__qualname__,
        greet.__doc__,
        greet.__module__,
    )
    assert copy.__annotations__ == greet.__annotations__
    assert copy.__dict__ == {"marker": True}
    assert copy.__code__ == greet.__code__ and copy.__code__ is not greet.__code__


# ---------------------------------------------------------------- with blocks


def build_mixed(plan: Any, styles: Iterator[int]) -> Any:
    """Build a plan (see test_properties) choosing per node: a `with` block, or a call whose
    children are built as its arguments, inside whatever block is open."""
    if plan[0] == "comment":
        return Comment(plan[1])
    cls, text, attributes, children = plan
    if text is not None:
        return cls(text, **attributes)
    if cls.SPEC.children and children and next(styles) == 0:
        with cls(**attributes) as node:
            for child in children:
                build_mixed(child, styles)
        return node
    return cls(*[build_mixed(child, styles) for child in children], **attributes)


@SETTINGS
@given(plan=plans(), styles=st.lists(st.integers(0, 1), min_size=1))
def test_a_flow_built_partly_in_blocks_partly_as_arguments_is_the_flow_built_by_calls(
    plan: Any, styles: list[int]
) -> None:
    """Arguments built inside an open block are taken back from it as the plain rule
    (`Node._release`) does, whichever mix of styles builds the flow."""
    expected = construct(plan)
    with UncheckedElement("Outer") as outer:  # every node below is built in an open block
        built = build_mixed(plan, itertools.cycle(styles))
    assert outer.children == (built,)  # nothing else stayed in the outer block
    assert built == expected
    assert built.to_xml() == expected.to_xml()


@SETTINGS
@given(depth=st.integers(0, 3), holds=st.booleans(), siblings=st.integers(0, 2))
def test_a_node_built_in_a_block_is_refused_exactly_when_it_holds_the_block(
    depth: int, holds: bool, siblings: int
) -> None:
    """Refused as the plain rule (`_holds`) says: when the block is somewhere below it."""
    block = UncheckedElement("Block")  # stands anywhere: only the containment is checked
    inner: Node = block if holds else Say("Press 1.")
    for _ in range(depth):
        inner = UncheckedElement("Wrap", inner, [Dial(To("+15550100"))] * siblings)
    expected = inner is block or _holds(inner, block)
    assert expected == holds
    with block:
        if expected:
            with pytest.raises(BuildError, match="cannot contain itself"):
                Gather(inner)  # type: ignore[arg-type]
            with pytest.raises(BuildError, match="cannot contain itself"):
                Gather(Say("Hi"), inner)  # type: ignore[arg-type]  # the block comes second
        else:
            Gather(inner)  # type: ignore[arg-type]
    assert len(block.children) == (0 if expected else 1)


# ---------------------------------------------------------------- the author's frame

KIND_FILES = {
    USER: "flow_steps.py",
    OURS: os.path.join(_PACKAGE_DIR, "dsl", "steps_inside_callflow.py"),
    STDLIB: os.path.join(_STDLIB_DIRS[0], "steps_in_the_standard_library.py"),
    INSTALLED: os.path.join(_INSTALLED_DIRS[0], "steps_in_a_package.py"),
}


def step_function(kind: int) -> Any:
    """A function whose code belongs to a file of ``kind``: it calls on, one frame deeper."""
    namespace: dict[str, Any] = {}
    exec(compile("def step(call):\n    return call()\n", KIND_FILES[kind], "exec"), namespace)
    return namespace["step"]


def plain_author_site(frame: Any) -> tuple[object, ...]:
    """The rule `author_site` unrolls: the innermost author frame, then its user callers."""
    while frame is not None and _classify(frame.f_code.co_filename) not in (USER, INSTALLED):
        frame = frame.f_back
    if frame is None:
        return ()
    site = [frame.f_code, frame.f_lasti]
    caller = frame.f_back
    while caller is not None and len(site) < 2 * (MAX_CHAIN + 1):
        if _classify(caller.f_code.co_filename) != USER:
            break
        site += [caller.f_code, caller.f_lasti]
        caller = caller.f_back
    return tuple(site)


@SETTINGS
@given(
    kinds=st.lists(st.sampled_from([USER, OURS, STDLIB, INSTALLED]), max_size=6),
    forget=st.booleans(),
)
def test_the_author_site_is_the_one_the_plain_rule_finds(kinds: list[int], forget: bool) -> None:
    """Whatever files the frames come from, known or met for the first time."""
    if forget:
        _FILE_KINDS.clear()

    def probe() -> tuple[Site, tuple[object, ...]]:
        frame = sys._getframe(1)  # the innermost step (or this test when there is none)
        return author_site(frame), plain_author_site(frame)

    call: Any = probe
    for kind in kinds:  # partial adds no frame: each step's frame calls the next directly
        call = functools.partial(step_function(kind), call)
    found, expected = call()
    assert found == expected


# ---------------------------------------------------------------- callers shared in a block
#
# Each scenario builds nodes directly in the frame that entered a block (which share that
# frame's callers) and in other frames (which walk the stack themselves); each returns the
# nodes built, whose raw sites must be what the plain walk finds for every one of them.


def flat_blocks() -> list[Node]:
    with Response() as flow:
        Say("Welcome.")
        with Gather(num_digits=1):
            Say("Press 1.")
            with Switch():
                Case(Say("One."), dtmf="1")
                Default(Hangup())
        Dial(To("+15550100"))
    return [flow]


def goodbye_fragment() -> list[Node]:
    return [Say("Goodbye."), Hangup()]


def helper_inside_a_block() -> list[Node]:
    with Response() as flow:
        Say("Hi.")
        goodbye_fragment()  # built in the helper's frame, joining this block
    return [flow]


def gather_with_a_prompt() -> Gather:
    with Gather(num_digits=1) as gather:  # a block of the helper's own
        Say("Press 1.")
    return gather


def block_entered_in_another_frame() -> list[Node]:
    gather = Gather(num_digits=2)
    with Response() as flow:
        gather_with_a_prompt()
        with gather:  # built above, entered here
            Say("Two digits.")
    return [flow, gather]


def prompts(count: int) -> Iterator[Node]:
    """A generator holding a block open across its yields: it resumes from other lines."""
    with Response() as flow:
        for number in range(count):
            Say(f"Prompt {number}.")
            yield flow
        Hangup()


def generator_blocks() -> list[Node]:
    steps = prompts(3)
    first = next(steps)
    next(steps)  # resumed from another line: its callers' places differ
    list(steps)
    return [first]


def recursive_blocks(depth: int = 2) -> list[Node]:
    with UncheckedElement("Level") as level:  # a block entered through Node.__enter__
        Say(f"Level {depth}.")
        if depth:
            recursive_blocks(depth - 1)  # the same code, in a deeper call
        Hangup()
    return [level]


def library_function(kind: int) -> Any:
    """A function of a file of ``kind`` that enters a block and builds a node right there."""
    namespace: dict[str, Any] = {}
    source = (
        "def enter_and_build(block, make):\n    with block:\n        make()\n    return block\n"
    )
    exec(compile(source, KIND_FILES[kind], "exec"), namespace)
    return namespace["enter_and_build"]


def block_entered_by_library_code() -> list[Node]:
    make_say = functools.partial(Say, "Built by the library.")  # adds no frame of its own
    return [
        library_function(kind)(UncheckedElement("Outer"), make_say)
        for kind in (OURS, STDLIB, INSTALLED)
    ]


BLOCK_SCENARIOS = [
    flat_blocks,
    helper_inside_a_block,
    block_entered_in_another_frame,
    generator_blocks,
    recursive_blocks,
    block_entered_by_library_code,
]


def raw_sites(roots: list[Node]) -> list[Any]:
    return [node._where for root in roots for node in root.iter()]


@SETTINGS
@given(
    scenario=st.sampled_from(BLOCK_SCENARIOS),
    kinds=st.lists(st.sampled_from([USER, OURS, STDLIB, INSTALLED]), max_size=4),
)
def test_nodes_built_in_a_blocks_frame_have_the_sites_the_plain_walk_finds(
    scenario: Any, kinds: list[int]
) -> None:
    call: Any = scenario
    for kind in kinds:
        call = functools.partial(step_function(kind), call)
    built = []
    for sharing in (True, False):  # the same call, from the same place, both ways
        with contextlib.ExitStack() as stack:
            if not sharing:  # every node walks the stack itself
                stack.enter_context(mock.patch.object(core, "block_callers", no_sharing))
            built.append(call())
    shared, plain = built
    assert all(type(site) is tuple for site in raw_sites(shared))  # none read yet
    # Locations, not raw sites: a caller's instruction offset during a call may differ by
    # one instruction once CPython has specialised its call (the same line either way).
    assert [site_location(site) for site in raw_sites(shared)] == [
        site_location(site) for site in raw_sites(plain)
    ]
    assert shared == plain


def no_sharing(frame: Any, blocks: Any) -> tuple[None, Site]:
    return None, ()


def test_a_closed_block_holds_no_frame() -> None:
    (flow,) = flat_blocks()
    gather = flow.children[1]
    switch = gather.children[1]
    assert [flow._block_frame, gather._block_frame, switch._block_frame] == [None] * 3
    with pytest.raises(RuntimeError), Response() as failed:
        assert failed._block_frame is sys._getframe(0)  # held while open
        raise RuntimeError
    assert failed._block_frame is None
