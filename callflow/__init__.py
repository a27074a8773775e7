"""callflow: author, validate, execute and simulate OpenTact call XML flows.

Names are imported lazily, on first use, so that ``import callflow`` (and the CLI's cold
start) pays only for what a program actually touches.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from callflow.check import check_document
    from callflow.diagnostics import Diagnostic, Severity
    from callflow.document import Document
    from callflow.errors import (
        ApiError,
        AuthenticationError,
        BuildError,
        CallflowError,
        InputError,
        SimulationError,
        TemplateError,
        TransportError,
        ValidationError,
    )
    from callflow.schema import Schema, load_schema
    from callflow.sourcemap import SourceLocation, SourceMap
    from callflow.templating import TemplateRenderer, render_template

_EXPORTS: dict[str, str] = {
    "ApiError": "callflow.errors",
    "AuthenticationError": "callflow.errors",
    "BuildError": "callflow.errors",
    "CallflowError": "callflow.errors",
    "Diagnostic": "callflow.diagnostics",
    "Document": "callflow.document",
    "InputError": "callflow.errors",
    "Schema": "callflow.schema",
    "Severity": "callflow.diagnostics",
    "SimulationError": "callflow.errors",
    "SourceLocation": "callflow.sourcemap",
    "SourceMap": "callflow.sourcemap",
    "TemplateError": "callflow.errors",
    "TemplateRenderer": "callflow.templating",
    "TransportError": "callflow.errors",
    "ValidationError": "callflow.errors",
    "check_document": "callflow.check",
    "load_schema": "callflow.schema",
    "render_template": "callflow.templating",
}

__all__ = [
    "ApiError",
    "AuthenticationError",
    "BuildError",
    "CallflowError",
    "Diagnostic",
    "Document",
    "InputError",
    "Schema",
    "Severity",
    "SimulationError",
    "SourceLocation",
    "SourceMap",
    "TemplateError",
    "TemplateRenderer",
    "TransportError",
    "ValidationError",
    "check_document",
    "load_schema",
    "render_template",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'callflow' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
