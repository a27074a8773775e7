"""callflow: author, validate, execute and simulate OpenTact call XML flows.

Names are imported lazily, on first use, so that ``import callflow`` (and the CLI's cold
start) pays only for what a program actually touches.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from callflow.check import check_document
    from callflow.client import AsyncClient, Client
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
    from callflow.sandbox import Sandbox
    from callflow.schema import Schema, load_schema
    from callflow.sourcemap import SourceLocation, SourceMap

_EXPORTS: dict[str, str] = {
    "ApiError": "callflow.errors",
    "AsyncClient": "callflow.client",
    "AuthenticationError": "callflow.errors",
    "BuildError": "callflow.errors",
    "CallflowError": "callflow.errors",
    "Client": "callflow.client",
    "Diagnostic": "callflow.diagnostics",
    "Document": "callflow.document",
    "InputError": "callflow.errors",
    "Sandbox": "callflow.sandbox",
    "Schema": "callflow.schema",
    "Severity": "callflow.diagnostics",
    "SimulationError": "callflow.errors",
    "SourceLocation": "callflow.sourcemap",
    "SourceMap": "callflow.sourcemap",
    "TemplateError": "callflow.errors",
    "TransportError": "callflow.errors",
    "ValidationError": "callflow.errors",
    "check_document": "callflow.check",
    "load_schema": "callflow.schema",
}

__all__ = [
    "ApiError",
    "AsyncClient",
    "AuthenticationError",
    "BuildError",
    "CallflowError",
    "Client",
    "Diagnostic",
    "Document",
    "InputError",
    "Sandbox",
    "Schema",
    "Severity",
    "SimulationError",
    "SourceLocation",
    "SourceMap",
    "TemplateError",
    "TransportError",
    "ValidationError",
    "check_document",
    "load_schema",
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
