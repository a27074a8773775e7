"""The validation pipeline every command shares: schema first, then lint, all collected."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from callflow.diagnostics import Diagnostic
from callflow.document import Document
from callflow.schema import Schema, load_schema

if TYPE_CHECKING:
    from callflow.lint import LintConfig


def iter_document_diagnostics(
    document: Document,
    *,
    schema: Schema | None = None,
    lint: bool = True,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] | None = None,
    config: LintConfig | None = None,
) -> Iterator[Diagnostic]:
    """Every problem in ``document``: schema violations, then lint findings.

    ``config`` holds the ``[tool.callflow]`` settings; its ``ignore`` list hides schema
    codes too, like ``ignore``.
    """
    ignored = [*(config.ignore if config is not None else ()), *(ignore or ())]
    yield from _filtered((schema or load_schema()).iter_diagnostics(document), select, ignored)
    if lint:
        from callflow.lint import iter_lint_diagnostics

        yield from iter_lint_diagnostics(document, select=select, ignore=ignore, config=config)


def _filtered(
    diagnostics: Iterable[Diagnostic],
    select: Iterable[str] | None,
    ignore: Iterable[str] | None,
) -> Iterator[Diagnostic]:
    # Schema findings are never filtered by select (they are not optional), only by ignore.
    ignored = tuple(ignore or ())
    for diagnostic in diagnostics:
        if ignored and diagnostic.code.startswith(ignored):
            continue
        yield diagnostic


def check_document(
    document: Document,
    *,
    schema: Schema | None = None,
    lint: bool = True,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] | None = None,
    config: LintConfig | None = None,
) -> list[Diagnostic]:
    """All problems in ``document`` as a list, in source order."""
    from callflow.diagnostics import in_order

    return in_order(
        iter_document_diagnostics(
            document, schema=schema, lint=lint, select=select, ignore=ignore, config=config
        )
    )
