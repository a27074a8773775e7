"""The builder's fast path (`callflow.dsl._fast`) gives what the plain path gives.

This module reaches the private `_fast` on purpose: it holds the fenced fast path to the
plain one, by switching it off (`plain_path`) and building the same things both ways.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
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
@given(text=st.one_of(XML_TEXT, EDGY_TEXT))
def test_a_remembered_text_check_is_the_plain_rules(key: Any, spec: Any, text: str) -> None:
    expected = spec.check(text)
    assert _fast.check_text(spec, text) == expected
    assert _fast.check_text(spec, text) == expected


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
