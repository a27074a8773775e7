"""Semantic lint rules: probable mistakes that the schema cannot express.

The rule set arrives with the lint issue; until then this module holds the entry point the
validation pipeline calls, and finds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from callflow.diagnostics import Diagnostic
from callflow.document import Document


def iter_lint_diagnostics(
    document: Document,
    *,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] | None = None,
) -> Iterator[Diagnostic]:
    """Every lint finding in ``document`` (codes filtered by ``select``/``ignore`` prefixes)."""
    return iter(())
