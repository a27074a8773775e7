"""Serving flows to the platform: typed platform requests, the flow server, framework helpers.

The request models and `FlowService` need no web framework; `create_app` (the Starlette
application `callflow serve` runs) and `flow_endpoint` (a decorator for Starlette and FastAPI
handlers) import Starlette when first used (``pip install 'opentact-callflow[serve]'``);
`wsgi_app` serves Flask, Django and any WSGI server.
"""

from __future__ import annotations

from typing import Any

from callflow.web._handlers import HttpAnswer, answer, wsgi_app
from callflow.web._requests import (
    EVENTS,
    CallbackRequest,
    CallObject,
    GatherRequest,
    LegacyGatherRequest,
    PlatformRequest,
    WebhookRequest,
    detect_event,
    parse_request,
)
from callflow.web._service import CONTENT_TYPE, DEFAULT_FALLBACK, FlowService, Reply

__all__ = [
    "CONTENT_TYPE",
    "DEFAULT_FALLBACK",
    "EVENTS",
    "CallObject",
    "CallbackRequest",
    "FlowService",
    "GatherRequest",
    "HttpAnswer",
    "LegacyGatherRequest",
    "PlatformRequest",
    "Reply",
    "WebhookRequest",
    "answer",
    "create_app",
    "detect_event",
    "flow_endpoint",
    "parse_request",
    "wsgi_app",
]

_LAZY = {"create_app", "flow_endpoint"}


def __getattr__(name: str) -> Any:
    # Starlette is imported only by what needs it.
    if name in _LAZY:
        from callflow.web import _asgi

        return getattr(_asgi, name)
    raise AttributeError(f"module 'callflow.web' has no attribute {name!r}")
