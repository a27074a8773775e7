"""The content model: which children an element holds, in what order, checked one at a time.

A content model is a regular expression over child tag names, kept as hashable tuples:
("empty",) matches nothing, ("eps",) the empty sequence, ("sym", tag) one child, and
("cat", a, b), ("alt", a, b), ("star", a). Brzozowski derivatives check a sequence of
children one child at a time, so an illegal child fails the moment it is added; a
`ContentMachine` remembers each derivative it has worked out. `ElementSpec` is one tag's
whole description (attributes, text, content model), written by the generator.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from callflow.dsl._values import AttributeSpec, check_wire_value

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

    States are numbers (0: nothing yet; `DEAD`: the children so far are illegal); each move
    is derived once per (state, tag) and then is a dict lookup. Learning takes a lock
    (threads may build flows at once); looking up a learnt move does not.
    """

    __slots__ = ("_learning", "final", "models", "moves", "numbers")

    DEAD = -1

    def __init__(self, model: Model) -> None:
        self.models: list[Model] = [model]
        self.numbers: dict[Model, int] = {model: 0}
        self.moves: list[dict[str, int]] = [{}]
        self.final: list[bool] = [nullable(model)]
        self._learning = threading.Lock()

    def step(self, state: int, tag: str) -> int:
        """The state after one child ``tag`` (`DEAD` when it may not stand there)."""
        if state < 0:
            return self.DEAD
        following = self.moves[state].get(tag)
        if following is None:
            with self._learning:  # the parallel lists grow together
                following = self._learn(state, tag)
        return following

    def _learn(self, state: int, tag: str) -> int:
        derived = derive(self.models[state], tag)
        if derived == EMPTY:
            following = self.DEAD
        elif derived in self.numbers:
            following = self.numbers[derived]
        else:
            following = len(self.models)
            self.models.append(derived)
            self.moves.append({})
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


class ElementSpec:
    """One tag: its attributes, its text (if it holds text) and its content model."""

    __slots__ = (
        "attributes",
        "by_name",
        "by_python",
        "children",
        "content",
        "machine",
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
        self.machine = ContentMachine(content)
        self.required = tuple(a for a in attributes if a.required)
        self.text_required = text is not None and check_wire_value(text, "") is not None
