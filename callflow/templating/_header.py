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
one without is required. A variable's ``type`` starts with the kind of value it takes:
``string`` (or text), ``integer``, ``number``, ``boolean``, ``list`` (``list of numbers``),
``table`` (or ``{ … }``); the rest of the words are for people. Values are checked against
it, from the defaults, the samples and the context alike (`apply_types`); text from the
command line (`CommandLineContext`) is converted to it. A type that starts with none of
these words is documentation only. Each ``[samples.NAME]`` table is a context `callflow validate`
renders the template with. ``partial = true`` marks a file that is only included or
imported (it is syntax-checked, never rendered alone).
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from typing import Any

# The header opens with `{# callflow` and a new line, or on one line: `{# callflow KEY = … #}`.
_HEADER = re.compile(
    r"\{#[-+]?[ \t]*callflow(?:[ \t]*\r?\n|[ \t]+(?=[\w\[\"']))(?P<body>.*?)[-+]?#\}", re.DOTALL
)
_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")
_KNOWN_KEYS = {"title", "description", "variables", "samples", "partial"}
_VARIABLE_KEYS = {"type", "default", "meaning"}


class TemplateVariable:
    """One documented variable: its name, type, default (if any) and meaning."""

    __slots__ = ("default", "has_default", "line", "meaning", "name", "type")

    def __init__(
        self,
        name: str,
        type: str,
        meaning: str,
        default: object = None,
        has_default: bool = False,
        line: int = 0,
    ) -> None:
        self.line = line  # the template line that declares it (0: unknown)
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
            name,
            kind,
            meaning,
            spec.get("default"),
            "default" in spec,
            _line_of(name, body, body_line, header.line),
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


# ------------------------------------------------------------------------ typed variables

# The kinds a declared type can start with, and the words that name each.
_KINDS = (
    ("list", ("list", "array")),
    ("table", ("table", "{", "object", "mapping")),
    ("boolean", ("boolean", "bool")),
    ("integer", ("integer", "int")),
    ("number", ("number", "float")),
    ("string", ("string", "text", "str")),
)
_EXAMPLES = {
    "list": """a JSON list, e.g. --var '{name}=["+15550100", "+15550101"]'""",
    "table": """a JSON object, e.g. --var '{name}={{"lang": "en-US"}}'""",
    "boolean": "true or false, e.g. --var {name}=true",
    "integer": "a whole number, e.g. --var {name}=3",
    "number": "a number, e.g. --var {name}=1.5",
}


class CommandLineContext(dict[str, Any]):
    """Variables given on the command line: each value as JSON when it is JSON, else text, as
    for any context, plus ``texts``: the text each top-level ``--var`` was given as, so that a
    declared variable is converted from the text to its own type instead."""

    def __init__(self, values: Mapping[str, Any] = (), texts: Mapping[str, str] = ()) -> None:  # type: ignore[assignment]
        super().__init__(values)
        self.texts: dict[str, str] = dict(texts)


def kind_of(declared: str) -> str | None:
    """The kind of value a declared type takes (``list``, ``table``, ``boolean``,
    ``integer``, ``number``, ``string``), or None when its first word names none."""
    text = declared.strip().lower()
    for kind, words in _KINDS:
        for word in words:
            rest = text[len(word) : len(word) + 1]
            if text.startswith(word) and not (rest.isalnum() or rest == "_"):
                return kind
    return None


def conforms(kind: str, value: object) -> bool:
    """Whether ``value`` is of ``kind``."""
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "list":
        return isinstance(value, list | tuple)
    return isinstance(value, Mapping)


def from_text(kind: str, text: str) -> tuple[bool, object]:
    """``text`` from the command line as a value of ``kind``: (converted, the value)."""
    try:
        parsed: object = json.loads(text)
    except ValueError:
        return (True, text) if kind == "string" else (False, text)
    if kind == "string":
        return True, parsed if isinstance(parsed, str) else text
    return (True, parsed) if conforms(kind, parsed) else (False, text)


def _described(value: object) -> str:
    if isinstance(value, bool):
        what = "true/false"
    elif isinstance(value, int | float):
        what = "a number"
    elif isinstance(value, str):
        what = "text"
    elif isinstance(value, list | tuple):
        what = "a list"
    elif isinstance(value, Mapping):
        what = "a table"
    else:
        what = type(value).__name__
    try:
        shown = json.dumps(value, ensure_ascii=False, default=repr)
    except ValueError:  # a value that refers to itself
        shown = "…"
    if len(shown) > 60:
        shown = shown[:59] + "…"
    return f"{shown} ({what})"


def _article(text: str) -> str:
    return ("an " if text[:1].lower() in "aeiou" else "a ") + text


def apply_types(
    header: TemplateHeader, layers: Sequence[tuple[str, Mapping[str, object]]]
) -> tuple[dict[str, object], list[tuple[int, str, str]]]:
    """The template's values, from ``layers`` (where they come from, in plain words, and the
    values; later ones win), each declared variable converted or checked against its type.

    Returns the values and the problems: (line of the declaration, message, hint)."""
    values: dict[str, object] = {}
    for _, layer in layers:
        values.update(layer.items())
    problems: list[tuple[int, str, str]] = []
    for name, variable in header.variables.items():
        kind = kind_of(variable.type)
        if kind is None or name not in values:
            continue
        label, text = _origin(name, layers)
        if text is not None:
            ok, converted = from_text(kind, text)
            given = (
                f"{json.dumps(text, ensure_ascii=False)} (text that is not {kind_of_words(kind)})"
            )
        else:
            converted = values[name]
            ok = conforms(kind, converted)
            given = _described(converted)
        if ok:
            values[name] = converted
            continue
        message = (
            f"variable `{name}` is declared as {_article(variable.type)}, "
            f"but {label} gives it {given}"
        )
        example = _EXAMPLES.get(kind, "text").format(name=name)
        hint = (
            f"on the command line, write {example}"
            if text is not None
            else f"give `{name}` {_article(variable.type)}"
        )
        problems.append((variable.line or header.line or 1, message, hint))
    return values, problems


def _origin(
    name: str, layers: Sequence[tuple[str, Mapping[str, object]]]
) -> tuple[str, str | None]:
    """Where ``name``'s value comes from: the last layer holding it, in plain words, and
    the text it was given as (``--var``), if it was."""
    for label, layer in reversed(layers):
        if name in layer:
            texts: Mapping[str, str] = getattr(layer, "texts", {})
            text = texts.get(name)
            return ("--var" if text is not None else label, text)
    raise KeyError(name)


def kind_of_words(kind: str) -> str:
    return {
        "list": "a JSON list",
        "table": "a JSON object",
        "boolean": "true or false",
        "integer": "a whole number",
        "number": "a number",
    }.get(kind, kind)
