"""The curated public API: pinned so that a change to it is a decision, not an accident.

The names are written once, as the imports under ``if TYPE_CHECKING:`` in callflow/__init__.py;
``__all__`` and the lazy loader's table are generated from them by scripts/generate_exports.py.
"""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import callflow
from tests.conftest import load_script

ROOT = Path(__file__).resolve().parent.parent
INIT = ROOT / "callflow" / "__init__.py"

PUBLIC_NAMES = [
    "ApiError",
    "AsyncClient",
    "AuthenticationError",
    "Backend",
    "BuildError",
    "CallInfo",
    "Caller",
    "CallflowError",
    "Client",
    "Diagnostic",
    "DialOutcome",
    "Document",
    "InputError",
    "Limits",
    "LintConfig",
    "LoadedSource",
    "ReadPolicy",
    "Sandbox",
    "Schema",
    "Severity",
    "SimulationError",
    "SourceLocation",
    "SourceMap",
    "TemplateError",
    "TemplateRenderer",
    "Transcript",
    "TransportError",
    "TwimlConversion",
    "ValidationError",
    "build_graph",
    "check_document",
    "convert_twiml",
    "convert_twiml_template",
    "fix_document",
    "load_flow",
    "load_flows",
    "load_schema",
    "parse",
    "render_template",
    "simulate",
    "simulate_async",
]


def generator() -> ModuleType:
    return load_script("generate_exports")


def typed_imports() -> dict[str, str]:
    """What type checkers see: each name imported under TYPE_CHECKING, with its module."""
    found: dict[str, str] = generator().public_imports(INIT.read_text("utf-8"))
    return found


def test_all_is_sorted_and_pinned() -> None:
    assert callflow.__all__ == sorted(callflow.__all__)
    assert callflow.__all__ == PUBLIC_NAMES


def test_the_generated_tables_are_current() -> None:
    source = INIT.read_text("utf-8")
    assert generator().render_module(source) == source, (
        "callflow/__init__.py is stale: run python scripts/generate_exports.py"
    )


def test_type_checkers_see_exactly_the_public_names() -> None:
    assert sorted(typed_imports()) == PUBLIC_NAMES


@pytest.mark.parametrize("name", PUBLIC_NAMES)
def test_each_name_is_the_object_its_module_defines(name: str) -> None:
    module = importlib.import_module(typed_imports()[name])
    value = getattr(callflow, name)
    if name == "simulate" and value is sys.modules.get("callflow.simulate"):
        # Importing the package callflow.simulate binds it over the function of the same
        # name; the package is callable for that reason (tests/simulate/test_api.py).
        value = value.simulate
    assert value is getattr(module, name)


def test_star_import_gives_the_public_names() -> None:
    namespace: dict[str, object] = {}
    exec("from callflow import *", namespace)
    assert sorted(n for n in namespace if n != "__builtins__") == PUBLIC_NAMES


def test_dir_lists_every_public_name_before_it_is_used() -> None:
    assert set(PUBLIC_NAMES) <= set(dir(callflow))


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        callflow.no_such_name  # type: ignore[attr-defined]  # noqa: B018


def test_importing_callflow_imports_no_implementation_module() -> None:
    code = (
        "import sys, callflow\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('callflow', 'lxml', 'httpx', 'jinja2', 'xmlschema')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "['callflow']"


def test_a_name_is_imported_on_first_use_only() -> None:
    code = (
        "import sys, callflow\n"
        "callflow.SourceLocation\n"
        "print('callflow.sourcemap' in sys.modules, 'callflow.client' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.split() == ["True", "False"]


def test_the_generator_refuses_a_name_imported_twice() -> None:
    source = (
        "if TYPE_CHECKING:\n"
        "    from callflow.errors import InputError\n"
        "    from callflow.sources import InputError\n"
    )
    with pytest.raises(ValueError, match="InputError is imported twice"):
        generator().public_imports(source)


def test_the_architecture_page_draws_the_exception_tree_errors_py_has() -> None:
    import re

    from callflow import errors

    page = (ROOT / "docs" / "explanation" / "architecture.md").read_text("utf-8")
    block = page.split("  ```text\n  CallflowError\n", 1)[1].split("```", 1)[0]
    parents: dict[str, type] = {"CallflowError": Exception}
    stack = ["CallflowError"]
    for line in block.rstrip().splitlines():
        match = re.fullmatch(r"  ([│ ]*)[├└]── (\w+)", line)
        assert match is not None, line
        depth = len(match[1]) // 4 + 1
        stack[depth:] = [match[2]]
        parents[match[2]] = getattr(errors, stack[depth - 1])
    drawn = {name: getattr(errors, name).__bases__[0] for name in parents}
    assert drawn == parents
    defined = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, errors.CallflowError)
    }
    assert set(parents) == defined


@pytest.mark.parametrize(
    "module",
    [
        "callflow.diagnostics",
        "callflow.errors",
        "callflow.reporters",
        "callflow.resources",
        "callflow.testing",
    ],
)
def test_a_modules_public_names_are_listed_and_exist(module: str) -> None:
    # (ruff's RUF022 keeps each __all__ sorted)
    imported = importlib.import_module(module)
    names: list[str] = imported.__all__
    for name in names:
        assert hasattr(imported, name), name
    # Every function or class defined here without a leading underscore is listed.
    defined = {
        name
        for name, value in vars(imported).items()
        if not name.startswith("_")
        and getattr(value, "__module__", None) == module
        and callable(value)
    }
    assert defined <= set(names)
