"""Diagnostics: one problem found in a call flow, at the place its author wrote it.

Codes are stable and grouped by what found the problem:

=========  =========================================================
CF0xx      reading input (missing path, empty, binary, encoding, size)
CF1xx      XML well-formedness and unsafe constructs (DTD, entities)
CF2xx      the schema (unknown tags and attributes, bad values, order)
CF3xx      lint rules (probable mistakes the schema cannot express)
CF6xx      templates (syntax, undefined variables, samples)
CF7xx      the Python builder and builder scripts
CF8xx      the OpenTact API and sandbox (errors mapped back to source)
CF9xx      the simulator
CF10xx     converting TwiML to call XML (the migration report)
=========  =========================================================
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from callflow.sourcemap import SourceLocation

__all__ = [
    "CODES",
    "Diagnostic",
    "Severity",
    "cap_repeats",
    "collapse_repeats",
    "has_errors",
    "in_order",
    "ranked",
    "register_code",
    "sort_key",
]


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return _RANKS[self]


#: Each severity's rank, the more severe first (a dictionary: the enum's ``value`` is a
#: descriptor, slow to read once per diagnostic when a batch sorts thousands).
_RANKS = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


# Every code the foundation emits, with a one-line title (used in docs and SARIF rules).
# Other modules register theirs with `register_code`.
CODES: dict[str, str] = {
    "CF001": "path does not exist",
    "CF002": "directory holds no call flow files",
    "CF003": "file is empty",
    "CF004": "file is binary, not text",
    "CF005": "file is not valid in its declared encoding",
    "CF006": "file is larger than the size limit",
    "CF007": "file cannot be read",
    "CF008": "unsupported file type",
    "CF101": "XML is not well-formed",
    "CF102": "DOCTYPE declarations are not allowed in call XML",
    "CF103": "external entity declaration (XXE attempt) refused",
    "CF104": "entity declaration refused (possible expansion bomb)",
    "CF105": "DOCTYPE refers to an external DTD; refused, nothing was fetched",
    "CF201": "unknown element",
    "CF202": "element not allowed here",
    "CF203": "unknown attribute",
    "CF204": "required attribute missing",
    "CF205": "invalid attribute value",
    "CF206": "invalid element text",
    "CF207": "required child element missing",
    "CF208": "wrong root element",
    "CF209": "element must be empty",
    "CF299": "schema violation",
}


def register_code(code: str, title: str) -> None:
    """Add a diagnostic code (used by lint rules, templates, the client…)."""
    existing = CODES.get(code)
    if existing is not None and existing != title:
        raise ValueError(f"diagnostic code {code} is already registered as {existing!r}")
    CODES[code] = title


class Diagnostic:
    """A problem, where it is, and how to fix it.

    ``snippet`` is the author's source line when the producer already knows it (reporters
    otherwise read it from ``location.file``).
    """

    __slots__ = ("code", "hint", "location", "message", "severity", "snippet", "xpath")

    def __init__(
        self,
        code: str,
        severity: Severity,
        message: str,
        location: SourceLocation,
        xpath: str | None = None,
        hint: str | None = None,
        snippet: str | None = None,
    ) -> None:
        self.code = code
        self.severity = severity
        self.message = message
        self.location = location
        self.xpath = xpath
        self.hint = hint
        self.snippet = snippet

    def _key(self) -> tuple[object, ...]:
        return (self.code, self.severity, self.message, self.location, self.xpath, self.hint)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Diagnostic):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Diagnostic({self.code} {self.severity.value} at {self.location}: {self.message!r})"

    def __str__(self) -> str:
        # Also the text of exceptions that carry diagnostics: shown as a reporter shows it.
        from callflow._text import visible

        return visible(f"{self.location}: {self.code} {self.message}")

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def to_dict(self) -> dict[str, object]:
        """The JSON form: 1-based ``line`` and ``column`` (``column`` may be null)."""
        return {
            "file": self.location.file,
            "line": self.location.line,
            "column": self.location.column,
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "hint": self.hint,
            "xpath": self.xpath,
            "chain": list(self.location.chain),
        }


def sort_key(diagnostic: Diagnostic) -> tuple[object, ...]:
    """Document order: file, line, column, then the more severe first."""
    loc = diagnostic.location
    return (loc.file, loc.line, loc.column or 0, _RANKS[diagnostic.severity], diagnostic.code)


def ranked(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Best first: errors before warnings before infos, each in document order."""
    return sorted(diagnostics, key=lambda d: (_RANKS[d.severity], *sort_key(d)))


def in_order(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Source order, as an editor or a reader of one file wants them."""
    return sorted(diagnostics, key=sort_key)


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.severity is Severity.ERROR for d in diagnostics)


def collapse_repeats(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """One report per place: a template loop, or a template rendered once per sample, repeats
    the same problem at the same author's line. The first is kept, with a count when it
    repeats and the other ways there (e.g. "also with sample `closed`") in its chain.
    """
    kept: list[Diagnostic] = []
    first_at: dict[tuple[object, ...], int] = {}  # a place's key -> its first report in kept
    repeats: dict[int, list[Diagnostic]] = {}  # (only places reported more than once)
    for diagnostic in diagnostics:
        loc = diagnostic.location
        key = (diagnostic.code, diagnostic.message, loc.file, loc.line, loc.column)
        at = first_at.setdefault(key, len(kept))
        if at == len(kept):
            kept.append(diagnostic)
        else:
            repeats.setdefault(at, []).append(diagnostic)
    for at, others in repeats.items():
        kept[at] = _collapsed(kept[at], others)
    return kept


def _collapsed(first: Diagnostic, others: list[Diagnostic]) -> Diagnostic:
    """``first`` standing for itself and ``others``: a count, and the other ways there."""
    chains = list(dict.fromkeys(d.location.chain for d in others))
    extra = tuple("also " + ", ".join(chain) for chain in chains if chain != first.location.chain)
    loc = first.location
    return Diagnostic(
        first.code,
        first.severity,
        f"{first.message} ({len(others) + 1} times)",
        SourceLocation(loc.file, loc.line, loc.column, loc.chain + extra),
        xpath=first.xpath,
        hint=first.hint,
        snippet=first.snippet,
    )


def cap_repeats(diagnostics: Iterable[Diagnostic], limit: int) -> list[Diagnostic]:
    """At most ``limit`` reports of one code in one file; a count stands for the rest.

    Applied after `collapse_repeats` (a collapsed report counts once). The count is a
    report of the same code and severity placed after the last one kept, located at the
    first one left out, e.g. "… and 31,990 more CF305 in this file"; it quotes nothing.
    """
    listed = list(diagnostics)
    totals: dict[tuple[str, str], int] = {}
    for diagnostic in listed:
        key = (diagnostic.location.file, diagnostic.code)
        totals[key] = totals.get(key, 0) + 1
    if all(total <= limit for total in totals.values()):
        return listed
    kept: list[Diagnostic] = []
    seen: dict[tuple[str, str], int] = {}
    for diagnostic in listed:
        key = (diagnostic.location.file, diagnostic.code)
        count = seen[key] = seen.get(key, 0) + 1
        if count <= limit:
            kept.append(diagnostic)
        elif count == limit + 1:
            left = totals[key] - limit
            kept.append(
                Diagnostic(
                    diagnostic.code,
                    diagnostic.severity,
                    f"… and {left:,} more {diagnostic.code} in this file",
                    diagnostic.location,
                    snippet="",
                )
            )
    return kept
