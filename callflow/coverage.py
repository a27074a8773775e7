"""Branch coverage of call flows: which ways through each flow the simulated calls took.

The branches of a flow are read from its Document (`flow_branches`); the ones taken are read
from each `Transcript`'s events. A branch is counted at the source line the author wrote
(the ``.xml`` line, the template line through macros and includes, the builder line), so
a template loop that writes several ``<Case>`` elements from one line is one branch there,
taken when any of them runs. The branches:

=========================  ===============================================================
element                    branches
=========================  ===============================================================
``<Case>``/``<DTMF>``       taken (at its line)
``<Default>``               taken after a failed attempt
``<Gather>``                ``silence`` (an attempt with no keys), ``wrong-keys`` (keys that
                            match no branch), ``exhausted`` (every attempt failed; counted
                            at the ``<Error>`` when there is one); with ``url``/``callback``
                            also ``request-ok`` and ``request-failed``
``<Dial>``                  ``connected``, ``not-connected`` (at its ``<Error>`` if any)
``<Callback>``              ``ok``, ``failed`` (at its ``<Error>`` if any)
``<Call>``                  ``true``, ``false``
``<Response>``'s ``<Error>``  taken (a failure no other ``<Error>`` handled)
=========================  ===============================================================

`CoverageData` collects; `record_coverage` (a context manager) listens to every simulated
call while it is open; `CoverageData.report_text`, ``to_json`` and ``to_cobertura`` render.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from callflow.document import Document
from callflow.simulate import Event, Transcript
from callflow.sourcemap import SourceLocation

__all__ = [
    "Branch",
    "CoverageData",
    "FileCoverage",
    "flow_branches",
    "record_coverage",
]

BranchKey = tuple[str, int, int, str]


@dataclass
class Branch:
    """One way through a flow: where it is written, which outcome, and a description."""

    file: str
    line: int
    column: int | None
    outcome: str
    description: str
    hits: int = 0

    @property
    def key(self) -> BranchKey:
        return (self.file, self.line, self.column or 0, self.outcome)


@dataclass
class FileCoverage:
    """The branches of one source file."""

    file: str
    branches: list[Branch] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.branches)

    @property
    def taken(self) -> int:
        return sum(1 for b in self.branches if b.hits)

    @property
    def percent(self) -> float:
        return 100.0 * self.taken / self.total if self.total else 100.0

    @property
    def missing(self) -> list[Branch]:
        return [b for b in self.branches if not b.hits]


# ------------------------------------------------------------------ branches of a Document


#: The attributes that tell one branching element from its neighbours in a report.
_NAMING_ATTRIBUTES = {
    "Case": ("dtmf",),
    "DTMF": ("value",),
    "Call": ("field", "value"),
    "Callback": ("url",),
}


def _describe(element: etree._Element) -> str:
    tag = str(element.tag)
    attributes = " ".join(
        f'{name}="{element.get(name)}"'
        for name in _NAMING_ATTRIBUTES.get(tag, ())
        if element.get(name) is not None
    )
    return f"<{tag}{' ' + attributes if attributes else ''}>"


class _Site:
    """A branching element: its location and the branch key of each outcome."""

    __slots__ = ("cases", "element", "location", "outcomes")

    def __init__(self, element: etree._Element, location: SourceLocation) -> None:
        self.element = element
        self.location = location
        self.outcomes: dict[str, BranchKey] = {}
        self.cases: dict[str, BranchKey] = {}


class _FlowBranches:
    """The branches of one Document, and its branching elements by xpath."""

    def __init__(self, document: Document) -> None:
        self.document = document
        self.branches: dict[BranchKey, Branch] = {}
        self.sites: dict[str, _Site] = {}
        for element in document.root.iter():
            tag = element.tag
            if tag == "Gather":
                self._gather(element)
            elif tag == "Dial":
                self._two(
                    element, "connected", "a target answers", "not-connected", "nobody answers"
                )
            elif tag in ("Callback", "callback"):
                self._two(element, "ok", "the fetch succeeds", "failed", "the fetch fails")
            elif tag == "Call":
                site = self._site(element)
                site.outcomes["true"] = self._branch(element, "true", "condition true")
                site.outcomes["false"] = self._branch(element, "false", "condition false")
            elif tag == "Response":
                handler = next((c for c in element if c.tag == "Error"), None)
                if handler is not None:
                    # The simulator's "error" event names the <Error> it runs.
                    site = self._site(handler)
                    site.outcomes["error"] = self._branch(
                        handler, "taken", "the document's <Error> runs"
                    )

    def _site(self, element: etree._Element) -> _Site:
        site = _Site(element, self.document.locate(element))
        self.sites[self.document.xpath_of(element)] = site
        return site

    def _branch(self, element: etree._Element, outcome: str, what: str) -> BranchKey:
        location = self.document.locate(element)
        branch = Branch(
            location.file, location.line, location.column, outcome, f"{_describe(element)}: {what}"
        )
        self.branches.setdefault(branch.key, branch)
        return branch.key

    def _two(self, element: etree._Element, yes: str, yes_what: str, no: str, no_what: str) -> None:
        site = self._site(element)
        site.outcomes[yes] = self._branch(element, yes, yes_what)
        handler = next((c for c in element if c.tag == "Error"), None)
        if handler is not None:
            site.outcomes[no] = self._branch(handler, no, f"{no_what} (of {_describe(element)})")
        else:
            site.outcomes[no] = self._branch(element, no, no_what)

    def _gather(self, element: etree._Element) -> None:
        site = self._site(element)
        switch = element.find("Switch")
        holder = switch if switch is not None else element
        cases = switch.iterfind("Case") if switch is not None else element.iterfind("DTMF")
        for case in cases:
            key = case.get("dtmf" if case.tag == "Case" else "value", "").strip()
            site.cases.setdefault(key, self._branch(case, "taken", "chosen"))
        default = holder.find("Default")
        if default is not None:
            site.outcomes["default"] = self._branch(default, "taken", "runs after a failed attempt")
        handler = switch.find("Error") if switch is not None else None
        if handler is None:
            handler = element.find("Error")
        site.outcomes["silence"] = self._branch(element, "silence", "the caller presses nothing")
        site.outcomes["wrong-keys"] = self._branch(
            element, "wrong-keys", "keys that match no choice"
        )
        if handler is not None:
            site.outcomes["exhausted"] = self._branch(
                handler, "exhausted", f"every attempt failed (of {_describe(element)})"
            )
        else:
            site.outcomes["exhausted"] = self._branch(
                element, "exhausted", "every attempt failed, the flow goes on"
            )
        if element.get("url") is not None or element.get("callback") is not None:
            site.outcomes["request-ok"] = self._branch(element, "request-ok", "its request answers")
            site.outcomes["request-failed"] = self._branch(
                element, "request-failed", "its request fails"
            )


def flow_branches(document: Document) -> list[Branch]:
    """Every branch of ``document``, in document order (fresh objects, no hits)."""
    return list(_FlowBranches(document).branches.values())


# ------------------------------------------------------------------ collecting


class CoverageData:
    """Branches of every flow simulated, and how often each was taken."""

    def __init__(self) -> None:
        self.branches: dict[BranchKey, Branch] = {}
        self._flows: dict[int, _FlowBranches] = {}
        self.calls = 0

    def add_document(self, document: Document) -> _FlowBranches:
        """Count the branches of ``document`` (also when no call runs through it)."""
        flow = self._flows.get(id(document))
        if flow is None or flow.document is not document:
            flow = self._flows[id(document)] = _FlowBranches(document)
            for key, branch in flow.branches.items():
                self.branches.setdefault(key, branch)
        return flow

    def add_transcript(self, transcript: Transcript) -> None:
        """Mark the branches ``transcript``'s call took in its flow (documents fetched
        from URLs are not the author's files and are left out)."""
        if not transcript.documents:
            return
        flow = self.add_document(transcript.documents[0])
        self.calls += 1
        sites = flow.sites
        previous: Event | None = None
        for event in transcript.events:
            site = sites.get(event.xpath) if event.xpath is not None else None
            if site is not None and event.location == site.location:
                for outcome in self._outcomes(site, event, previous):
                    self._hit(outcome)
            previous = event

    def _hit(self, key: BranchKey | None) -> None:
        if key is not None:
            branch = self.branches.get(key)
            if branch is not None:
                branch.hits += 1

    @staticmethod
    def _outcomes(site: _Site, event: Event, previous: Event | None) -> Iterator[BranchKey | None]:
        kind = event.kind
        data = event.data
        outcomes = site.outcomes
        if kind == "gather":
            branch = data["branch"]
            asks = "request-ok" in outcomes
            request_failed = (
                asks
                and previous is not None
                and previous.kind == "callback"
                and previous.data.get("error") is not None
                and branch == "error"
            )
            if asks and previous is not None and previous.kind == "callback":
                yield outcomes["request-failed" if request_failed else "request-ok"]
            if request_failed:
                return
            if branch == "case":
                yield site.cases.get(str(data["match"]))
                return
            if branch == "remote":
                return
            yield outcomes["wrong-keys" if data["digits"] else "silence"]
            if branch == "default":
                yield outcomes.get("default")
            if data["attempt"] == data["attempts"]:
                yield outcomes["exhausted"]
        elif kind == "dial":
            yield outcomes.get("connected" if data["target"] is not None else "not-connected")
        elif kind == "callback" and data.get("of") in ("Callback", "callback"):
            yield outcomes.get("ok" if data["error"] is None else "failed")
        elif kind == "call":
            yield outcomes.get("true" if data["matched"] else "false")
        elif kind == "error" and data.get("of") == "Response":
            yield outcomes.get("error")

    def to_records(self) -> list[tuple[str, int, int | None, str, str, int]]:
        """Plain tuples (for another process): file, line, column, outcome, description, hits."""
        return [
            (b.file, b.line, b.column, b.outcome, b.description, b.hits)
            for b in self.branches.values()
        ]

    def merge_records(self, records: list[tuple[str, int, int | None, str, str, int]]) -> None:
        """Add the branches and hits another process recorded (`to_records`)."""
        for file, line, column, outcome, description, hits in records:
            branch = Branch(file, line, column, outcome, description)
            mine = self.branches.setdefault(branch.key, branch)
            mine.hits += hits

    # -- results ----------------------------------------------------------------------

    def files(self, *, base: str | None = None) -> list[FileCoverage]:
        """Per source file (paths shown relative to ``base``, library as ``callflow/…``)."""
        from callflow.snapshots import stable_file

        grouped: dict[str, FileCoverage] = {}
        shown: dict[str, str] = {}
        for branch in self.branches.values():
            name = shown.get(branch.file)
            if name is None:
                name = shown[branch.file] = stable_file(branch.file, base)
            grouped.setdefault(name, FileCoverage(name)).branches.append(branch)
        for item in grouped.values():
            item.branches.sort(key=lambda b: (b.line, b.column or 0, b.outcome))
        return [grouped[name] for name in sorted(grouped)]

    @property
    def total(self) -> int:
        return len(self.branches)

    @property
    def taken(self) -> int:
        return sum(1 for b in self.branches.values() if b.hits)

    @property
    def percent(self) -> float:
        return 100.0 * self.taken / self.total if self.total else 100.0

    def report_text(self, *, base: str | None = None, show_missing: bool = True) -> str:
        """A table per source file (branches, taken, percent), then the branches never taken."""
        files = self.files(base=base)
        width = max([len(f.file) for f in files] + [len("TOTAL"), len("flow source")])
        lines = [f"{'flow source':<{width}}  branches  taken   cover"]
        for item in files:
            lines.append(
                f"{item.file:<{width}}  {item.total:>8}  {item.taken:>5}  {_pct(item.percent):>6}"
            )
        total = f"{self.total:>8}  {self.taken:>5}  {_pct(self.percent):>6}"
        lines.append(f"{'TOTAL':<{width}}  {total}")
        if show_missing:
            missing = [(item.file, b) for item in files for b in item.missing]
            if missing:
                lines.append("")
                lines.append("branches never taken:")
                lines.extend(f"  {file}:{b.line}: {b.description}" for file, b in missing)
        from callflow.scenarios._run import printable

        # Attribute values and file names come from the flows: escape what could forge lines.
        return "".join(printable(line) + "\n" for line in lines)

    def to_dict(self, *, base: str | None = None) -> dict[str, Any]:
        return {
            "totals": {"branches": self.total, "taken": self.taken, "percent": self.percent},
            "files": {
                item.file: {
                    "branches": item.total,
                    "taken": item.taken,
                    "percent": item.percent,
                    "missing": [_branch_dict(b) for b in item.missing],
                    "taken_branches": [_branch_dict(b) for b in item.branches if b.hits],
                }
                for item in self.files(base=base)
            },
        }

    def to_json(self, *, base: str | None = None) -> str:
        return json.dumps(self.to_dict(base=base), indent=2, ensure_ascii=False) + "\n"

    def to_cobertura(self, *, base: str | None = None, source: str = ".") -> str:
        """Cobertura XML (what CI coverage viewers read): one class per flow source file,
        a line per branching line with its condition coverage."""
        files = self.files(base=base)
        lines_valid = lines_covered = 0
        root = etree.Element("coverage")
        sources = etree.SubElement(root, "sources")
        etree.SubElement(sources, "source").text = source
        package = etree.SubElement(etree.SubElement(root, "packages"), "package", name="flows")
        classes = etree.SubElement(package, "classes")
        for item in files:
            by_line: dict[int, list[Branch]] = {}
            for branch in item.branches:
                by_line.setdefault(branch.line, []).append(branch)
            covered = sum(1 for group in by_line.values() if any(b.hits for b in group))
            lines_valid += len(by_line)
            lines_covered += covered
            klass = etree.SubElement(
                classes,
                "class",
                {
                    "name": item.file,
                    "filename": item.file,
                    "complexity": "0",
                    "line-rate": _rate(covered, len(by_line)),
                    "branch-rate": _rate(item.taken, item.total),
                },
            )
            etree.SubElement(klass, "methods")
            lines = etree.SubElement(klass, "lines")
            for number in sorted(by_line):
                group = by_line[number]
                taken = sum(1 for b in group if b.hits)
                etree.SubElement(
                    lines,
                    "line",
                    {
                        "number": str(number),
                        "hits": str(sum(b.hits for b in group)),
                        "branch": "true",
                        "condition-coverage": f"{round(100 * taken / len(group))}% "
                        f"({taken}/{len(group)})",
                    },
                )
        package.set("line-rate", _rate(lines_covered, lines_valid))
        package.set("branch-rate", _rate(self.taken, self.total))
        package.set("complexity", "0")
        for name, value in (
            ("line-rate", _rate(lines_covered, lines_valid)),
            ("branch-rate", _rate(self.taken, self.total)),
            ("lines-covered", str(lines_covered)),
            ("lines-valid", str(lines_valid)),
            ("branches-covered", str(self.taken)),
            ("branches-valid", str(self.total)),
            ("complexity", "0"),
            ("version", "callflow"),
            ("timestamp", str(int(time.time() * 1000))),
        ):
            root.set(name, value)
        text: str = etree.tostring(root, pretty_print=True, encoding="unicode")
        return '<?xml version="1.0" ?>\n' + text

    def write_report(self, spec: str, *, base: str | None = None) -> str:
        """Write a report given as ``json:PATH`` or ``cobertura:PATH``; returns the path."""
        from pathlib import Path

        from callflow._files import write_atomically
        from callflow.errors import InputError

        problem = report_spec_problem(spec)
        if problem is not None:
            raise InputError(f"coverage report: {problem}")
        kind, _, path = spec.partition(":")
        render = {"json": self.to_json, "cobertura": self.to_cobertura}[kind]
        target = Path(path)
        write_atomically(target, render(base=base).encode("utf-8"))
        return path


def _branch_dict(branch: Branch) -> dict[str, Any]:
    return {
        "line": branch.line,
        "column": branch.column,
        "outcome": branch.outcome,
        "description": branch.description,
        "hits": branch.hits,
    }


def _rate(part: int, whole: int) -> str:
    return f"{part / whole:.4f}" if whole else "1"


def _pct(percent: float) -> str:
    # Never round up to 100% while a branch is missing.
    shown = int(percent * 10) / 10
    return f"{shown:.1f}%"


REPORT_KINDS = ("json", "cobertura")


def report_spec_problem(spec: str) -> str | None:
    """What is wrong with a report given as ``KIND:PATH`` (None when it is usable)."""
    from pathlib import Path

    kind, colon, path = spec.partition(":")
    if kind not in REPORT_KINDS or not colon or not path:
        return f"expected json:PATH or cobertura:PATH, not {spec!r}"
    folder = Path(path).parent
    if not folder.is_dir():
        return f"{spec!r}: no folder {folder}"
    return None


@contextmanager
def record_coverage(data: CoverageData | None = None) -> Iterator[CoverageData]:
    """Collect branch coverage of every call simulated inside the ``with`` block."""
    from callflow.simulate._machine import TRANSCRIPT_OBSERVERS

    collected = data if data is not None else CoverageData()
    observer = collected.add_transcript
    TRANSCRIPT_OBSERVERS.append(observer)
    try:
        yield collected
    finally:
        TRANSCRIPT_OBSERVERS.remove(observer)
