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
    from callflow.dsl.parsing import parse
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
    from callflow.fix import fix_document
    from callflow.graph import build_graph
    from callflow.lint import LintConfig
    from callflow.sandbox import Sandbox
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
    from callflow.templating import TemplateRenderer, render_template
    from callflow.twiml import TwimlConversion, convert_twiml, convert_twiml_template

_EXPORTS: dict[str, str] = {
    "ApiError": "callflow.errors",
    "AsyncClient": "callflow.client",
    "AuthenticationError": "callflow.errors",
    "Backend": "callflow.simulate",
    "BuildError": "callflow.errors",
    "CallInfo": "callflow.simulate",
    "Caller": "callflow.simulate",
    "CallflowError": "callflow.errors",
    "Client": "callflow.client",
    "Diagnostic": "callflow.diagnostics",
    "DialOutcome": "callflow.simulate",
    "Document": "callflow.document",
    "InputError": "callflow.errors",
    "Limits": "callflow.simulate",
    "LintConfig": "callflow.lint",
    "Sandbox": "callflow.sandbox",
    "Schema": "callflow.schema",
    "Severity": "callflow.diagnostics",
    "SimulationError": "callflow.errors",
    "SourceLocation": "callflow.sourcemap",
    "SourceMap": "callflow.sourcemap",
    "TemplateError": "callflow.errors",
    "TemplateRenderer": "callflow.templating",
    "Transcript": "callflow.simulate",
    "TransportError": "callflow.errors",
    "TwimlConversion": "callflow.twiml",
    "ValidationError": "callflow.errors",
    "build_graph": "callflow.graph",
    "check_document": "callflow.check",
    "convert_twiml": "callflow.twiml",
    "convert_twiml_template": "callflow.twiml",
    "fix_document": "callflow.fix",
    "load_schema": "callflow.schema",
    "parse": "callflow.dsl.parsing",
    "render_template": "callflow.templating",
    "simulate": "callflow.simulate",
    "simulate_async": "callflow.simulate",
}

__all__ = [
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
    "load_schema",
    "parse",
    "render_template",
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
