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
    from callflow.simulate import (
        Backend,
        Caller,
        CallInfo,
        DialOutcome,
        Limits,
        Transcript,
        simulate,
        simulate_async,
    )
    from callflow.sourcemap import SourceLocation, SourceMap

_EXPORTS: dict[str, str] = {
    "Backend": "callflow.simulate",
    "CallInfo": "callflow.simulate",
    "Caller": "callflow.simulate",
    "DialOutcome": "callflow.simulate",
    "Limits": "callflow.simulate",
    "Transcript": "callflow.simulate",
    "simulate": "callflow.simulate",
    "simulate_async": "callflow.simulate",
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
    "TransportError": "callflow.errors",
    "ValidationError": "callflow.errors",
    "check_document": "callflow.check",
    "load_schema": "callflow.schema",
}

__all__ = [
    "ApiError",
    "AuthenticationError",
    "Backend",
    "BuildError",
    "CallInfo",
    "Caller",
    "CallflowError",
    "Diagnostic",
    "DialOutcome",
    "Document",
    "InputError",
    "Limits",
    "Schema",
    "Severity",
    "SimulationError",
    "SourceLocation",
    "SourceMap",
    "TemplateError",
    "Transcript",
    "TransportError",
    "ValidationError",
    "check_document",
    "load_schema",
    "simulate",
    "simulate_async",
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
