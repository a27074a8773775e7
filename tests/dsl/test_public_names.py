"""The builder's public names: the node classes, `parse`, and what the schema generates."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import callflow.dsl

# The generated table of every class by tag, reached privately: it says what the schema has.
from callflow.dsl._elements import ELEMENT_CLASSES


def test_the_builder_exports_its_node_classes_parse_and_each_generated_class() -> None:
    expected = {"Comment", "Element", "FlowElement", "Node", "UncheckedElement", "parse"}
    for cls in ELEMENT_CLASSES.values():
        expected |= {cls.__name__, f"{cls.__name__}Attributes"}
        if cls.SPEC.children:
            expected.add(f"{cls.__name__}Child")
    assert set(callflow.dsl.__all__) == expected
    assert len(callflow.dsl.__all__) == len(expected)  # each name stated once


def test_every_exported_name_is_there() -> None:
    for name in callflow.dsl.__all__:
        assert getattr(callflow.dsl, name) is not None, name


def test_the_modules_behind_the_classes_are_private() -> None:
    modules = {info.name for info in pkgutil.iter_modules(callflow.dsl.__path__)}
    # Every module is private, the entries other packages use included (_parsing behind
    # callflow.parse, _pysource behind `callflow convert`, _script behind the front door).
    assert {name for name in modules if not name.startswith("_")} == set()
    assert {"_parsing", "_pysource", "_script"} <= modules
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("callflow.dsl.core")
