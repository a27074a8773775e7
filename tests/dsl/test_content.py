"""Content models: the builder's learnt automaton agrees with the schema's content model.

The derivatives (`derive`, `nullable`) are private to `callflow.dsl._content`; this module
reaches them on purpose, as the reference the learnt `ContentMachine` is held to.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callflow.dsl import Case as CaseElement
from callflow.dsl import Comment, Default, Dial, Error, Gather, Hangup, Response, Say, Switch
from callflow.dsl._content import EMPTY, ContentMachine, derive, nullable
from callflow.dsl._elements import ELEMENT_CLASSES
from callflow.errors import BuildError


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
            first = CaseElement(Say("One."), dtmf="1")
            Error(Hangup())
            late = CaseElement(Say("Two."), dtmf="2")  # no Case after the Error
            after = Default(Say("Never."))
    flow = Response(Gather(Switch(first, late, after)))  # moved freely, not out of `switch`
    assert len(switch.children) == 4
    assert flow.to_xml().count("<Case") == 2


def test_a_block_left_incomplete_is_refused_on_closing() -> None:
    with pytest.raises(BuildError, match=r"<Dial> is incomplete: it needs <To> or <Sip>"):  # noqa: SIM117
        with Dial():
            Comment("no target yet")
