"""callflow.web's curated names, and that importing it leaves Starlette unloaded."""

from __future__ import annotations

import subprocess
import sys

import callflow.web


def test_the_public_names_are_pinned() -> None:
    assert callflow.web.__all__ == [
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
    for name in callflow.web.__all__:
        assert getattr(callflow.web, name) is not None


def test_importing_callflow_web_does_not_import_starlette() -> None:
    code = "import sys, callflow.web; print('starlette' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "False"
