"""Lint's knowledge of tags is the schema's: no rule visits or names a tag the XSD lacks."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import callflow.lint
from callflow.document import Document
from callflow.lint import RULES, LintConfig, LintContext
from callflow.vocabulary import load_vocabulary

LINT = Path(callflow.lint.__file__).parent
SCHEMA_TAGS = frozenset(load_vocabulary().elements)


@pytest.mark.parametrize("code", sorted(RULES))
def test_every_tag_a_rule_visits_is_in_the_schema(code: str) -> None:
    tags = RULES[code].tags
    assert tags is None or tags <= SCHEMA_TAGS, sorted((tags or set()) - SCHEMA_TAGS)


def _is_tag(node: ast.AST) -> bool:
    """``x.tag``, a name bound to one or to a set of them (``tag``, ``tags``), or the
    ``child_tags`` fact."""
    if isinstance(node, ast.Attribute):
        return node.attr == "tag"
    if isinstance(node, ast.Call):
        return any(isinstance(a, ast.Name) and a.id == "child_tags" for a in node.args)
    return isinstance(node, ast.Name) and node.id in {"tag", "tags"}


def _strings(node: ast.AST, constants: dict[str, ast.AST]) -> set[str]:
    """The string constants a node spells, following module-level constants by name."""
    if isinstance(node, ast.Name) and node.id in constants:
        return _strings(constants[node.id], constants)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args:
        return _strings(node.args[0], constants)  # tuple(...), frozenset(...)
    if isinstance(node, ast.Dict):  # a tag tested against a dict meets its keys
        return {
            k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)
        }
    found = {n.value for n in ast.walk(node) if isinstance(n, ast.Constant)}
    return {value for value in found if isinstance(value, str)}


def tags_named_in(source: str) -> set[str]:
    """Every tag name a lint module compares an element's tag with, declares as visited, or
    selects children by: what must be in the schema."""
    tree = ast.parse(source)
    constants: dict[str, ast.AST] = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign | ast.AnnAssign):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            for target in targets:
                if isinstance(target, ast.Name) and statement.value is not None:
                    constants[target.id] = statement.value
    named: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(
            _is_tag(side) for side in (node.left, *node.comparators)
        ):
            for side in (node.left, *node.comparators):
                if not _is_tag(side):
                    named |= _strings(side, constants)
        elif isinstance(node, ast.keyword) and node.arg == "tags":
            named |= _strings(node.value, constants)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"iter", "iterchildren", "iterdescendants", "itersiblings"}
        ):
            for argument in node.args:
                named |= _strings(argument, constants)
    # Dict keys that are tag names (e.g. a branch tag → its key attribute).
    for name in ("BRANCH_KEY_ATTRIBUTE", "URL_PLACES"):
        value = constants.get(name)
        if isinstance(value, ast.Dict):
            named |= {k.value for k in value.keys if isinstance(k, ast.Constant)}
    return {tag for tag in named if tag.isidentifier()}


@pytest.mark.parametrize("module", sorted(p.name for p in LINT.glob("*.py")))
def test_every_tag_the_lint_code_names_is_in_the_schema(module: str) -> None:
    named = tags_named_in((LINT / module).read_text("utf-8"))
    assert named <= SCHEMA_TAGS, sorted(named - SCHEMA_TAGS)


def test_the_tag_scan_sees_the_rules_tags() -> None:
    # The scan must find the tags the rules really compare with, or the test above is empty.
    named = tags_named_in((LINT / "_rules.py").read_text("utf-8"))
    named |= tags_named_in((LINT / "_tree.py").read_text("utf-8"))
    expected = {"Hangup", "Callback", "Gather", "Switch", "Case", "DTMF", "Default", "Error"}
    assert expected <= named


def test_a_misspelt_tag_is_caught() -> None:
    source = 'def visit(element):\n    return element.tag == "Hangupp"\n'
    assert tags_named_in(source) == {"Hangupp"}


def test_the_tag_sets_the_rules_read_are_the_schemas() -> None:
    vocabulary = load_vocabulary()
    kinds = LintContext(Document.from_text("<Response/>"), LintConfig()).kinds
    assert kinds.actions == vocabulary.members("Action")
    assert kinds.blocks == vocabulary.holding("Action")
    assert set(kinds.durations_of) == {tag for tag, _ in vocabulary.typed("Milliseconds")}
