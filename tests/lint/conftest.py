"""Helpers for the lint, fix and graph tests: lint a snippet, wrap actions in a Response."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from callflow.diagnostics import Diagnostic
from callflow.document import Document
from callflow.lint import iter_lint_diagnostics


def response(body: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<Response>\n{body}\n</Response>\n'


@pytest.fixture
def lint() -> Callable[..., list[Diagnostic]]:
    """Lint an XML text (a bare body is wrapped in <Response>)."""

    def run(xml: str, **options: object) -> list[Diagnostic]:
        text = xml if xml.lstrip().startswith(("<?xml", "<Response")) else response(xml)
        document = Document.from_text(text, "flow.xml")
        return list(iter_lint_diagnostics(document, **options))  # type: ignore[arg-type]

    return run
