"""Semantic lint rules: probable mistakes in a call flow that the schema cannot express.

`iter_lint_diagnostics` is what the validation pipeline calls; `iter_findings` is the same
search before locating, with each finding's element and fix, for `callflow.fix`. The rules
run in one walk of the tree (`callflow.lint._walk`); each rule, in `callflow.lint._rules`,
declares the tags it visits and is the one place its condition is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import callflow.lint._rules  # noqa: F401  (the rules register as they are defined)
from callflow.diagnostics import Diagnostic
from callflow.document import Document
from callflow.lint._config import (
    DEFAULT_CONFIG,
    LintConfig,
    config_for,
    config_from_table,
    find_pyproject,
    load_config,
)
from callflow.lint._model import (
    RULES,
    AddAttribute,
    BranchesToSwitch,
    Finding,
    Fix,
    LintContext,
    RenameAttribute,
    ReplaceElement,
    Rule,
    kinds,
)
from callflow.lint._suppression import (
    Suppressions,
    comment_before,
    directive_codes,
    file_line_reader,
    mentions_directive,
)
from callflow.lint._tree import quote_attribute
from callflow.lint._walk import iter_findings
from callflow.sourcemap import SourceLocation

# Read the schema's vocabulary now, not at the first lint: everything that imports lint goes on
# to lint, and `callflow validate` forks its workers after importing lint, so they share it.
kinds()

__all__ = [
    "DEFAULT_CONFIG",
    "RULES",
    "AddAttribute",
    "BranchesToSwitch",
    "Finding",
    "Fix",
    "LintConfig",
    "LintContext",
    "RenameAttribute",
    "ReplaceElement",
    "Rule",
    "Suppressions",
    "config_for",
    "config_from_table",
    "file_line_reader",
    "find_pyproject",
    "iter_active_findings",
    "iter_findings",
    "iter_lint_diagnostics",
    "load_config",
    "mentions_directive",
    "quote_attribute",
]


def iter_active_findings(
    document: Document, config: LintConfig = DEFAULT_CONFIG
) -> Iterator[tuple[Finding, SourceLocation]]:
    """Enabled findings with their author's location, minus those silenced inline."""
    suppressions: Suppressions | None = None  # read when the first finding needs them
    silent: bool | None = None  # whether no directive can apply (decided at the first finding)
    for finding in iter_findings(document, config):
        if silent is None:
            silent = _without_directives(document)
        if silent:
            yield finding, document.locate(finding.element, finding.attribute, text=finding.text)
            continue
        if suppressions is None:
            suppressions = Suppressions(file_line_reader(_own_text(document)))
        location = document.locate(finding.element, finding.attribute, text=finding.text)
        if suppressions.has_directives(location.file):
            # A directive may sit at the element's start tag or at the attribute at fault.
            start = document.locate(finding.element)
            lines = {location.line} | ({start.line} if start.file == location.file else set())
            if suppressions.is_suppressed(finding.code, location.file, lines):
                continue
        comment = comment_before(finding.element)
        silenced = directive_codes(comment) if comment is not None else None
        if silenced is not None and finding.code.startswith(silenced):
            continue
        yield finding, location


def iter_lint_diagnostics(
    document: Document,
    *,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] | None = None,
    config: LintConfig | None = None,
    xpaths: bool = True,
) -> Iterator[Diagnostic]:
    """Every lint finding in ``document`` as a located Diagnostic.

    ``select``/``ignore`` are code prefixes on top of ``config`` (select replaces the
    configured selection, ignore adds to it). Findings silenced by a ``callflow: ignore``
    comment at their source line are left out. Without ``xpaths``, the diagnostics carry
    no XPath (a text report does not show it, and a large document's index of every
    element's path is not made).
    """
    settings = config or DEFAULT_CONFIG
    if select is not None or ignore:
        settings = settings.with_options(
            select=None if select is None else list(select), ignore=ignore
        )
    severity_of = settings.severity.get
    for finding, location in iter_active_findings(document, settings):
        code = finding.code
        yield Diagnostic(
            code,
            severity_of(code) or RULES[code].severity,
            finding.message,
            location,
            document.xpath_of(finding.element) if xpaths else None,
            finding.hint,
        )


def _without_directives(document: Document) -> bool:
    """Whether no ``callflow: ignore`` directive can silence a finding in ``document``: it
    is its own author's file (no template or script lines behind it), and its text never
    says ``callflow:``, which every directive, in a comment or on a line, holds. Most
    files are such: their findings skip the suppression check."""
    return _is_own_text(document) and not mentions_directive(document.text)


def _is_own_text(document: Document) -> bool:
    """Whether ``document``'s text is its author's file (an XML file, not a template's output
    or a builder's)."""
    source_map = document.source_map
    return source_map.identity and not source_map.lines and not source_map.elements


def _own_text(document: Document) -> dict[str, str]:
    # An XML file's text is the Document's text: no need to read it again from disk (and
    # a Document made from a string has no file to read).
    return {document.name: document.text} if _is_own_text(document) else {}
