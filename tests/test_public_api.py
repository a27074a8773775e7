"""The curated public API: pinned so that a change to it is a decision, not an accident."""

from __future__ import annotations

import importlib

import callflow

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


def test_all_is_sorted_and_pinned() -> None:
    assert callflow.__all__ == sorted(callflow.__all__)
    assert callflow.__all__ == PUBLIC_NAMES


def test_every_public_name_resolves() -> None:
    for name in callflow.__all__:
        assert getattr(callflow, name) is not None, name


def test_unknown_name_is_an_attribute_error() -> None:
    try:
        callflow.no_such_name  # noqa: B018
    except AttributeError as error:
        assert "no_such_name" in str(error)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_importing_callflow_is_light() -> None:
    fresh = importlib.reload(callflow)
    assert "Document" not in vars(fresh) or callable(vars(fresh)["Document"])
