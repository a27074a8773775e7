"""The validation pipeline every command shares: schema first, then lint, all collected."""

from __future__ import annotations

import _thread
import gc
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from callflow.diagnostics import Diagnostic
from callflow.document import Document
from callflow.schema import Schema, load_schema

if TYPE_CHECKING:
    from callflow.lint import LintConfig

__all__ = ["check_document", "collector_paused", "iter_document_diagnostics"]


def iter_document_diagnostics(
    document: Document,
    *,
    schema: Schema | None = None,
    lint: bool = True,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] | None = None,
    config: LintConfig | None = None,
    xpaths: bool = True,
) -> Iterator[Diagnostic]:
    """Every problem in ``document``: schema violations, then lint findings.

    ``config`` holds the ``[tool.callflow]`` settings; its ``ignore`` list hides schema
    codes too, like ``ignore``. Without ``xpaths``, lint findings carry no XPath (for a
    report that does not show it).
    """
    ignored = [*(config.ignore if config is not None else ()), *(ignore or ())]
    found = (schema or load_schema()).iter_diagnostics(document)
    yield from _without(found, tuple(ignored)) if ignored else found
    if lint:
        # (Imported as a module: ``from callflow.lint import …`` goes through importlib's
        # Python code for a package each time, and a batch checks thousands of documents.)
        import callflow.lint

        yield from callflow.lint.iter_lint_diagnostics(
            document, select=select, ignore=ignore, config=config, xpaths=xpaths
        )


def _without(diagnostics: Iterable[Diagnostic], ignored: tuple[str, ...]) -> Iterator[Diagnostic]:
    # Schema findings are never filtered by select (they are not optional), only by ignore.
    return (d for d in diagnostics if not d.code.startswith(ignored))


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

    with collector_paused():
        return in_order(
            iter_document_diagnostics(
                document, schema=schema, lint=lint, select=select, ignore=ignore, config=config
            )
        )


_pause_lock = _thread.allocate_lock()
_pauses = 0
_was_enabled = False


class collector_paused:
    """Python's cyclic garbage collector held off while one document is checked.

    A check makes many small objects (findings, locations, tag spans) and no cycles among
    them; the collector's passes over every live object would make a large document cost
    more per element than a small one (measured in ``tests/benchmarks/bench_scaling.py``).
    Nested and concurrent pauses (threads of the editor or flow server) are counted: the
    collector runs again when the last one ends, if it was running before the first.
    (A class rather than a generator-based context manager: a batch enters one per file.)
    """

    __slots__ = ()

    def __enter__(self) -> None:
        global _pauses, _was_enabled
        with _pause_lock:
            if _pauses == 0:
                _was_enabled = gc.isenabled()
                gc.disable()
            _pauses += 1

    def __exit__(self, *exc_info: object) -> None:
        global _pauses
        with _pause_lock:
            _pauses -= 1
            if _pauses == 0 and _was_enabled:
                gc.enable()
