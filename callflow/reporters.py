"""Rendering diagnostics: text (with the quoted source line), json, github, sarif.

Reporters only format: they take the collected diagnostics and return a string. Kept apart
from `callflow.diagnostics` so that the data types import nothing they do not need.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from callflow.diagnostics import CODES, Diagnostic, Severity

FORMATS = ("text", "json", "github", "sarif")

LineSource = Callable[[str, int], str | None]


class FileLines:
    """Reads source lines for quoting, once per file; unknown or unreadable files give None."""

    def __init__(self, overrides: dict[str, str] | None = None) -> None:
        self._cache: dict[str, list[str] | None] = {
            name: text.splitlines() for name, text in (overrides or {}).items()
        }

    def add(self, name: str, text: str) -> None:
        self._cache[name] = text.splitlines()

    def __call__(self, file: str, line: int) -> str | None:
        if file not in self._cache:
            path = Path(file)
            try:
                if path.is_file() and path.stat().st_size <= 4_194_304:
                    self._cache[file] = path.read_text("utf-8", errors="replace").splitlines()
                else:
                    self._cache[file] = None
            except OSError:
                self._cache[file] = None
        lines = self._cache[file]
        if lines is None or not 0 < line <= len(lines):
            return None
        return lines[line - 1]


def format_text(diagnostics: Sequence[Diagnostic], lines: LineSource | None = None) -> str:
    """``path:line:col: CODE message``, the quoted line with a caret, the hint, the chain."""
    source = lines or FileLines()
    out: list[str] = []
    for d in diagnostics:
        severity = "" if d.severity is Severity.ERROR else f"{d.severity.value}: "
        out.append(f"{d.location}: {d.code} {severity}{d.message}")
        quoted = d.snippet if d.snippet is not None else source(d.location.file, d.location.line)
        if quoted is not None and quoted.strip():
            expanded = quoted.replace("\t", " ")
            out.append(f"    {expanded}")
            if d.location.column is not None and d.location.column <= len(expanded) + 1:
                out.append("    " + " " * (d.location.column - 1) + "^")
        for step in d.location.chain:
            out.append(f"    {step}")
        if d.hint:
            out.append(f"    hint: {d.hint}")
    return "\n".join(out) + ("\n" if out else "")


def format_json(diagnostics: Sequence[Diagnostic]) -> str:
    import json

    return json.dumps([d.to_dict() for d in diagnostics], indent=2, ensure_ascii=False) + "\n"


def _github_escape(value: str, *, property_value: bool = False) -> str:
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        value = value.replace(":", "%3A").replace(",", "%2C")
    return value


def format_github(diagnostics: Sequence[Diagnostic]) -> str:
    """GitHub Actions workflow commands: ``::error file=…,line=…,col=…,title=…::message``."""
    out = []
    for d in diagnostics:
        command = {"error": "error", "warning": "warning", "info": "notice"}[d.severity.value]
        props = [
            f"file={_github_escape(d.location.file, property_value=True)}",
            f"line={d.location.line}",
        ]
        if d.location.column is not None:
            props.append(f"col={d.location.column}")
        props.append(f"title={_github_escape(d.code, property_value=True)}")
        message = d.message + (f" (hint: {d.hint})" if d.hint else "")
        out.append(f"::{command} {','.join(props)}::{_github_escape(message)}")
    return "\n".join(out) + ("\n" if out else "")


def format_sarif(diagnostics: Sequence[Diagnostic], *, version: str = "0") -> str:
    """SARIF 2.1.0, one run, one rule per code seen."""
    import json

    codes = sorted({d.code for d in diagnostics})
    rules = [
        {
            "id": code,
            "name": code,
            "shortDescription": {"text": CODES.get(code, code)},
        }
        for code in codes
    ]
    index = {code: i for i, code in enumerate(codes)}
    results = []
    for d in diagnostics:
        region: dict[str, int] = {"startLine": d.location.line}
        if d.location.column is not None:
            region["startColumn"] = d.location.column
        message = d.message + (f"\nhint: {d.hint}" if d.hint else "")
        results.append(
            {
                "ruleId": d.code,
                "ruleIndex": index[d.code],
                "level": {"error": "error", "warning": "warning", "info": "note"}[d.severity.value],
                "message": {"text": message},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": Path(d.location.file).as_posix()},
                            "region": region,
                        },
                        **(
                            {
                                "logicalLocations": [
                                    {"fullyQualifiedName": d.xpath, "kind": "element"}
                                ]
                            }
                            if d.xpath
                            else {}
                        ),
                    }
                ],
            }
        )
    sarif = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "callflow",
                        "version": version,
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(sarif, indent=2, ensure_ascii=False) + "\n"


def render(
    diagnostics: Sequence[Diagnostic],
    fmt: str,
    *,
    lines: LineSource | None = None,
    version: str = "0",
) -> str:
    if fmt == "text":
        return format_text(diagnostics, lines)
    if fmt == "json":
        return format_json(diagnostics)
    if fmt == "github":
        return format_github(diagnostics)
    if fmt == "sarif":
        return format_sarif(diagnostics, version=version)
    raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
