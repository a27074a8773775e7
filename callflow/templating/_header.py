"""The header a template declares about itself: what it does, its variables, its samples.

The header is a Jinja comment that starts with ``callflow`` and holds TOML::

    {#- callflow
    title = "Voicemail"
    description = "Greeting, beep, recording, thank-you."

    [variables]
    greeting = { type = "string", meaning = "spoken before the beep" }
    transcribe = { type = "boolean", default = false, meaning = "ask for a transcript" }

    [samples.basic]
    greeting = "Please leave a message."
    -#}

A variable with a ``default`` is optional (the default fills it when the context lacks it);
one without is required. Each ``[samples.NAME]`` table is a context `callflow validate`
renders the template with. ``partial = true`` marks a file that is only included or
imported (it is syntax-checked, never rendered alone).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from typing import Any

_HEADER = re.compile(r"\{#[-+]?[ \t]*callflow[ \t]*\r?\n(?P<body>.*?)[-+]?#\}", re.DOTALL)
_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")
_KNOWN_KEYS = {"title", "description", "variables", "samples", "partial"}
_VARIABLE_KEYS = {"type", "default", "meaning"}


class TemplateVariable:
    """One documented variable: its name, type, default (if any) and meaning."""

    __slots__ = ("default", "has_default", "meaning", "name", "type")

    def __init__(
        self, name: str, type: str, meaning: str, default: object = None, has_default: bool = False
    ) -> None:
        self.name = name
        self.type = type
        self.meaning = meaning
        self.default = default
        self.has_default = has_default

    def __repr__(self) -> str:
        return f"TemplateVariable({self.name!r}, type={self.type!r})"

    @property
    def required(self) -> bool:
        return not self.has_default

    def to_dict(self) -> dict[str, object]:
        found: dict[str, object] = {"name": self.name, "type": self.type, "meaning": self.meaning}
        found["required"] = self.required
        if self.has_default:
            found["default"] = self.default
        return found


class TemplateHeader:
    """What a template says about itself; ``problems`` lists (line, message) for bad headers."""

    __slots__ = (
        "_defaults",
        "description",
        "line",
        "partial",
        "problems",
        "samples",
        "title",
        "variables",
    )

    def __init__(self) -> None:
        self.title = ""
        self.description = ""
        self.partial = False
        self.line = 0  # template line of the header's opening, 0 without a header
        self.variables: dict[str, TemplateVariable] = {}
        self.samples: dict[str, dict[str, object]] = {}
        self.problems: list[tuple[int, str]] = []
        self._defaults: dict[str, object] | None = None

    @property
    def defaults(self) -> dict[str, object]:
        """The declared defaults, by variable name (computed once; do not modify)."""
        if self._defaults is None:
            self._defaults = {v.name: v.default for v in self.variables.values() if v.has_default}
        return self._defaults


def parse_header(source: str) -> TemplateHeader:
    """Read the ``{# callflow … #}`` header of a template source (an empty one if absent)."""
    header = TemplateHeader()
    match = _HEADER.search(source)
    if match is None:
        return header
    header.line = source.count("\n", 0, match.start()) + 1
    body_line = source.count("\n", 0, match.start("body")) + 1
    try:
        data = tomllib.loads(match.group("body"))
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        where = _TOML_POSITION.search(message)
        line = body_line + int(where.group(1)) - 1 if where else header.line
        header.problems.append(
            (line, "header is not valid TOML: " + _TOML_POSITION.sub("", message).strip())
        )
        return header
    _read(header, data, body_line, match.group("body"))
    return header


def _line_of(key: str, body: str, body_line: int, default: int) -> int:
    found = re.search(r"^\s*\[?\s*(?:[\w.]*\.)?" + re.escape(key) + r"\b", body, re.MULTILINE)
    return body_line + body.count("\n", 0, found.start()) if found else default


def _read(header: TemplateHeader, data: Mapping[str, Any], body_line: int, body: str) -> None:
    def problem(key: str, message: str) -> None:
        header.problems.append((_line_of(key, body, body_line, header.line), message))

    for key in data:
        if key not in _KNOWN_KEYS:
            problem(key, f"unknown header key `{key}` (known: {', '.join(sorted(_KNOWN_KEYS))})")
    for key in ("title", "description"):
        value = data.get(key, "")
        if isinstance(value, str):
            setattr(header, key, value.strip())
        else:
            problem(key, f"`{key}` must be a string")
    partial = data.get("partial", False)
    if isinstance(partial, bool):
        header.partial = partial
    else:
        problem("partial", "`partial` must be true or false")
    variables = data.get("variables", {})
    if not isinstance(variables, dict):
        problem("variables", "`variables` must be a table of name = { type, default, meaning }")
        variables = {}
    for name, spec in variables.items():
        if not isinstance(spec, dict):
            problem(name, f"variable `{name}` must be a table {{ type = …, meaning = … }}")
            continue
        unknown = set(spec) - _VARIABLE_KEYS
        if unknown:
            problem(name, f"variable `{name}` has unknown keys: {', '.join(sorted(unknown))}")
        kind, meaning = spec.get("type", ""), spec.get("meaning", "")
        if not isinstance(kind, str) or not isinstance(meaning, str) or not kind or not meaning:
            problem(name, f"variable `{name}` needs a `type` and a `meaning` (strings)")
            continue
        header.variables[name] = TemplateVariable(
            name, kind, meaning, spec.get("default"), "default" in spec
        )
    samples = data.get("samples", {})
    if not isinstance(samples, dict):
        problem("samples", "`samples` must hold tables: [samples.NAME]")
        samples = {}
    for name, values in samples.items():
        if isinstance(values, dict):
            header.samples[name] = values
        else:
            problem(name, f"sample `{name}` must be a table: [samples.{name}]")
