"""The builder's fast path (`callflow.dsl._fast`) gives what the plain path gives.

This module reaches the private `_fast` on purpose: it holds the fenced fast path to the
plain one, by switching it off (`plain_path`) and building the same things both ways.
"""

from __future__ import annotations

import contextlib
import itertools
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callflow.dsl import (
    Callback,
    Case,
    Comment,
    Dial,
    Gather,
    Hangup,
    Node,
    Record,
    Say,
    To,
    UncheckedElement,
    _fast,
)
from callflow.dsl._elements import ELEMENT_CLASSES
from callflow.dsl._source import author_site
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


@contextlib.contextmanager
def plain_path() -> Iterator[None]:
    """Build without the fast path: no `build` shortcut, nothing answered from memory."""
    with (
        mock.patch.object(_fast, "build", lambda *arguments: False),
        mock.patch.object(_fast, "author_site", author_site),
        mock.patch.object(_fast, "accepted", lambda attribute, value: False),
        mock.patch.object(_fast, "convert", lambda attribute, value: attribute.convert(value)),
        mock.patch.object(_fast, "check_text", lambda attribute, text: attribute.check(text)),
    ):
        yield


def outcome(function: Any, *arguments: object) -> tuple[str, object]:
    try:
        return ("ok", function(*arguments))
    except BuildError as error:
        # The place without its chain: the two paths are called from different lines.
        place = (error.location.line, error.location.column) if error.location else None
        return ("BuildError", (error.message, place, error.hint))
    except (TypeError, ValueError) as error:
        return (type(error).__name__, str(error))


def state_of(node: Node) -> list[tuple[object, ...]]:
    """Everything a node and the nodes below it hold, the raw source site included."""
    return [
        (type(n), n._attributes, list(n._attributes), n._text, n._state, n._where, n._open)
        for n in node.iter()
    ]


@pytest.mark.parametrize(("key", "spec"), ATTRIBUTE_SPECS, ids=lambda k: str(k))
@settings(max_examples=40, deadline=None)
@given(value=ANY_VALUE)
def test_a_remembered_conversion_is_the_plain_rules(key: Any, spec: Any, value: object) -> None:
    expected = outcome(spec.convert, value)
    assert outcome(_fast.convert, spec, value) == expected
    assert outcome(_fast.convert, spec, value) == expected  # again, now possibly remembered


@pytest.mark.parametrize(("key", "spec"), ATTRIBUTE_SPECS, ids=lambda k: str(k))
@settings(max_examples=40, deadline=None)
@given(text=st.one_of(XML_TEXT, EDGY_TEXT, MARKUP_TEXT))
def test_a_remembered_text_check_is_the_plain_rules(key: Any, spec: Any, text: str) -> None:
    expected = spec.check(text)
    assert _fast._check_new_text(spec, text) == expected  # what `build` asks, not remembered
    assert _fast.check_text(spec, text) == expected
    assert _fast.check_text(spec, text) == expected  # again, now possibly remembered
    if expected is not None:
        assert (spec, text) not in _fast._valid_texts


def test_a_value_remembered_for_one_attribute_is_still_refused_by_another() -> None:
    Callback(url="https://ivr.example.com/next", tag="POST")  # remembered for `tag`
    with pytest.raises(BuildError, match="method"):
        Callback(url="https://ivr.example.com/next", method="FETCH")  # type: ignore[arg-type]
    Gather(num_digits=1)  # remembered as an int
    with pytest.raises(BuildError, match="num_digits"):
        Gather(num_digits=True)  # type: ignore[arg-type]  # True == 1, but a bool is no number
    with pytest.raises(BuildError, match="timeout"):
        Gather(timeout="8000")  # type: ignore[arg-type]  # a str, though "8000" is valid XML


def test_the_memory_is_bounded_in_count_and_length() -> None:
    _fast.forget()
    long_tag = "x" * (_fast.LENGTH + 1)
    assert Hangup(tag=long_tag).attributes["tag"] == long_tag
    for number in range(_fast.LIMIT + 50):
        Hangup(tag=f"bounded-{number}")
    assert len(_fast._converted) <= _fast.LIMIT
    assert all(len(str(key[2])) <= _fast.LENGTH for key in _fast._converted)
    assert Hangup(tag=f"bounded-{_fast.LIMIT + 49}").attributes["tag"].startswith("bounded")
    _fast.forget()


@SETTINGS
@given(plan=plans())
def test_a_flow_built_on_the_fast_path_is_the_flow_the_plain_path_builds(plan: Any) -> None:
    fast = construct(plan)
    with plain_path():
        plain = construct(plan)
    assert fast == plain
    assert [entry[:5] for entry in state_of(fast)] == [entry[:5] for entry in state_of(plain)]
    assert fast.to_xml() == plain.to_xml()


CLASSES = [Gather, Record, Callback, Case, Say, Dial, Hangup]


@SETTINGS
@given(
    cls=st.sampled_from(CLASSES),
    keyword=st.sampled_from(["num_digits", "timeout", "asr", "method", "dtmf", "url", "tag"]),
    value=ANY_VALUE,
    text=st.one_of(st.none(), XML_TEXT, st.integers()),
    children=st.lists(st.sampled_from(["say", "hangup", "comment", "none", "to", "text"])),
)
def test_any_call_succeeds_or_fails_on_the_fast_path_as_on_the_plain_path(
    cls: Any, keyword: str, value: object, text: object, children: list[str]
) -> None:
    """The same node, or the same error (message, place, hint), whatever the arguments."""
    made = {
        "say": lambda: Say("Hi."),
        "hangup": lambda: Hangup(),
        "comment": lambda: Comment("note"),
        "none": lambda: None,
        "to": lambda: To("+15550100"),
        "text": lambda: "a string",
    }

    def call() -> Any:
        arguments = [made[name]() for name in children]
        if text is not None:
            arguments.insert(0, text)
        return cls(*arguments, **{keyword: value})

    fast = outcome(call)
    with plain_path():
        plain = outcome(call)
    if fast[0] == "ok":
        assert plain[0] == "ok"
        assert state_of(fast[1])[0][:5] == state_of(plain[1])[0][:5]
        assert fast[1] == plain[1]
    else:
        assert (fast[0], fast[1]) == (plain[0], plain[1])


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
    """Arguments built inside an open block are taken back from it, on either path."""
    expected = construct(plan)
    for context in (contextlib.nullcontext(), plain_path()):
        with context, UncheckedElement("Outer") as outer:  # every node below is in a block
            built = build_mixed(plan, itertools.cycle(styles))
        assert outer.children == (built,)  # nothing else stayed in the outer block
        assert built == expected
        assert built.to_xml() == expected.to_xml()


@SETTINGS
@given(depth=st.integers(0, 3), holds=st.booleans(), siblings=st.integers(0, 2), fast=st.booleans())
def test_a_node_built_in_a_block_is_refused_exactly_when_it_holds_the_block(
    depth: int, holds: bool, siblings: int, fast: bool
) -> None:
    block = UncheckedElement("Block")  # stands anywhere: only the containment is checked
    inner: Node = block if holds else Say("Press 1.")
    for _ in range(depth):
        inner = UncheckedElement("Wrap", inner, [Dial(To("+15550100"))] * siblings)
    with contextlib.nullcontext() if fast else plain_path(), block:
        if holds:
            with pytest.raises(BuildError, match="cannot contain itself"):
                Gather(inner)  # type: ignore[arg-type]
            with pytest.raises(BuildError, match="cannot contain itself"):
                Gather(Say("Hi"), inner)  # type: ignore[arg-type]  # the block comes second
        else:
            Gather(inner)  # type: ignore[arg-type]
    assert len(block.children) == (0 if holds else 1)


# ---------------------------------------------------------------- strings matched at once


@pytest.mark.parametrize(("key", "spec"), ATTRIBUTE_SPECS, ids=lambda k: str(k))
@settings(max_examples=60, deadline=None)
@given(text=st.one_of(XML_TEXT, EDGY_TEXT, MARKUP_TEXT))
def test_a_string_matched_at_once_is_one_the_plain_rule_accepts(
    key: Any, spec: Any, text: str
) -> None:
    if _fast.accepted(spec, text):
        assert spec.check(text) is None
        assert spec.convert(text) == text
    if spec.any_printable and text.isprintable():  # what `build` accepts without asking
        assert spec.check(text) is None


def test_the_texts_of_speech_take_any_printable_string() -> None:
    # The property above is about something: prompts are such texts (a new one costs no
    # look-up), and a URL's or a number's text is not.
    assert Say.SPEC.text is not None and Say.SPEC.text.any_printable
    assert To.SPEC.text is not None and not To.SPEC.text.any_printable
    assert not Callback.SPEC.by_python["url"].any_printable


@pytest.mark.parametrize(
    ("cls", "keyword", "value"),
    [
        (Say, "#text", "Welcome to Example Corp. Press 1."),
        (Callback, "url", "https://ivr.example.com/done/7"),
        (Callback, "method", "POST"),
        (Gather, "finish_on_key", "#"),
        (Case, "dtmf", "12"),
        (To, "#text", "+15550100001"),
        (Say, "gender", "FEMALE"),
    ],
)
def test_the_common_values_are_matched_at_once(cls: Any, keyword: str, value: str) -> None:
    spec = cls.SPEC.text if keyword == "#text" else cls.SPEC.by_python[keyword]
    assert _fast.accepted(spec, value)


# ---------------------------------------------------------------- source capture


def sites_of(build: Callable[[], list[Node]]) -> tuple[list[object], list[object]]:
    """The raw sites of the nodes ``build`` makes, with the fast path and with the plain walk
    (the fast path's memory of the last frame forgotten first), called from one place."""
    made = []
    for context in (contextlib.nullcontext(), plain_path()):
        _fast.forget()
        with context:
            made.append([node._where for node in build()])
    return made[0], made[1]


def test_nodes_built_by_one_call_share_its_callers_and_keep_their_own_lines() -> None:
    def menu() -> list[Node]:
        return [Say("One."), Say("Two."), Case(Say("Three."), dtmf="3")]

    def through_a_helper() -> list[Node]:
        first = menu()
        return [*first, Hangup(), *menu()]  # the same function called again, then back here

    fast, plain = sites_of(through_a_helper)
    lines = [(site[0].co_name, site[1]) for site in fast]  # type: ignore[index,union-attr]
    assert fast == plain
    assert len(set(lines)) == 4  # the two Says and the Case in menu, the Hangup here


def test_a_generator_resumed_under_other_callers_gets_their_chain() -> None:
    def steps() -> Iterator[Node]:
        while True:
            yield Say("Step.")

    made = steps()

    def first_caller() -> Node:
        return next(made)

    def second_caller() -> Node:
        return next(made)

    fast, plain = sites_of(lambda: [first_caller(), second_caller(), first_caller()])
    assert fast == plain
    assert fast[0] != fast[1]  # the callers differ, though the generator's line is the same


def test_a_recursive_fragment_records_each_level_of_its_own_callers() -> None:
    def nest(depth: int) -> list[Node]:
        here = [Say("Level.")]
        return here if depth == 0 else here + nest(depth - 1) + [Hangup()]

    fast, plain = sites_of(lambda: nest(4))
    assert fast == plain


def test_threads_building_at_once_each_get_their_own_callers() -> None:
    """Threads switched as often as possible: each node's callers are its own thread's."""
    mismatches: list[tuple[object, object]] = []

    def build_in(thread_function: Callable[[], None]) -> None:
        thread_function()

    def inner() -> None:
        for _ in range(300):
            node = Say("From a thread.")
            expected = author_site(sys._getframe(0))[2]  # this frame's callers, walked
            if node._where[2] != expected:  # type: ignore[index]
                mismatches.append((node._where, expected))

    def outer_a() -> None:
        build_in(inner)

    def outer_b() -> None:
        inner()

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=target) for target in (outer_a, outer_b, outer_a)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert mismatches == []
