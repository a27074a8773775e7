"""The element classes are generated from the schema, and the committed module is current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import ModuleType

from callflow.dsl._elements import ELEMENT_CLASSES
from callflow.vocabulary import load_vocabulary
from tests.conftest import load_script

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "callflow" / "dsl" / "_elements.py"


def generator() -> ModuleType:
    return load_script("generate_dsl")


def test_the_committed_element_module_matches_the_schema() -> None:
    expected = generator().render_module()
    assert GENERATED.read_text("utf-8") == expected, (
        "callflow/dsl/_elements.py is stale: run python scripts/generate_dsl.py"
    )


def test_every_tag_of_the_schema_has_a_class() -> None:
    vocabulary = load_vocabulary()
    assert set(ELEMENT_CLASSES) == set(vocabulary.elements)
    for tag, cls in ELEMENT_CLASSES.items():
        info = vocabulary.elements[tag]
        assert cls.SPEC.tag == tag
        assert [a.name for a in cls.SPEC.attributes] == list(info.attributes)
        assert cls.SPEC.children == info.children


def test_python_names_are_snake_case_of_the_wire_names() -> None:
    gen = generator()
    assert gen.python_name("numDigits") == "num_digits"
    assert gen.python_name("finishOnKey") == "finish_on_key"
    assert gen.python_name("dtmf_length") == "dtmf_length"
    assert gen.class_name("callback") == "LegacyCallback"


def test_finite_patterns_become_literal_types() -> None:
    gen = generator()
    assert gen.finite_values("[0-9*#+]") == tuple("0123456789*#+")
    assert gen.finite_values("[Gg][Ee][Tt]|[Pp][Oo][Ss][Tt]") == ("GET", "POST")
    assert gen.finite_values("https?://[^ ]+") is None


def test_xsd_whitespace_escapes_become_xml_whitespace() -> None:
    assert generator().python_pattern(("[^\\s]+",)) == "[^ \\t\\n\\r]+"


def test_the_generated_module_does_not_import_xmlschema() -> None:
    code = "import sys, callflow.dsl; print('xmlschema' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.stdout.strip() == "False", result.stderr


def test_generated_classes_carry_docstrings_naming_the_wire_attribute() -> None:
    gather = ELEMENT_CLASSES["Gather"]
    assert gather.__doc__ is not None
    assert "``num_digits`` → ``numDigits``" in gather.__doc__


def test_validating_xml_does_not_import_the_builder() -> None:
    code = (
        "import sys; from callflow.cli import main; "
        "main(['validate', '-q', 'examples/voicemail.xml']); "
        "print('callflow.dsl' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.stdout.strip() == "False", result.stderr
