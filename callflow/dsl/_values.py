"""Attribute values: what each attribute (or an element's text) accepts, and its wire form.

The builder takes Python values (``timeout=8000``, ``timedelta(seconds=8)``, ``True``, an
enumeration's string) and writes their XML text; the parser goes the other way
(`python_value`). Every rule here is written once and read by both.
"""

from __future__ import annotations

import re
from datetime import timedelta

_XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Plain names only: no namespace prefixes, and nothing starting with "xml", which XML
# reserves (an `xmlns` attribute would silently move the whole flow into a namespace).
XML_NAME = re.compile(r"(?![Xx][Mm][Ll])[A-Za-z_][A-Za-z0-9._-]*")
_WHITESPACE = re.compile(r"[ \t\n\r]+")
_NONNEGATIVE = re.compile(r"\+?[0-9]+")

#: The kinds whose values are whole numbers (an int, or a timedelta for a duration).
NUMBER_KINDS = ("duration", "nonnegative", "positive")


class AttributeSpec:
    """One attribute (or an element's text): Python name, wire name and value rules.

    ``kind`` is one of ``duration`` (int ms or timedelta), ``positive`` (int ≥ 1),
    ``nonnegative`` (int ≥ 0), ``boolean``, ``enum``, ``token`` (whitespace-collapsed
    string) or ``string``. ``pattern`` is the schema's pattern in Python syntax.
    """

    __slots__ = (
        "any_printable",
        "description",
        "enumeration",
        "kind",
        "literal_values",
        "name",
        "pattern",
        "python_name",
        "regex",
        "required",
        "type_name",
    )

    def __init__(
        self,
        python_name: str,
        name: str,
        kind: str,
        type_name: str,
        *,
        required: bool = False,
        enumeration: tuple[str, ...] = (),
        pattern: str | None = None,
        literal_values: tuple[str, ...] = (),
        description: str = "",
    ) -> None:
        self.python_name = python_name
        self.name = name
        self.kind = kind
        self.type_name = type_name
        self.required = required
        self.enumeration = enumeration
        self.pattern = pattern
        self.regex = re.compile(pattern) if pattern is not None else None
        self.literal_values = literal_values  # a finite pattern's values, as typed
        self.description = description
        #: Whether every printable string (`str.isprintable`: no control character, no
        #: surrogate, no non-character, no whitespace but the space) is valid as written:
        #: a string with no pattern (`check` asks nothing more of one).
        self.any_printable = kind == "string" and pattern is None

    def check(self, wire: str) -> str | None:
        """Why the wire form ``wire`` is not valid here (None when it is)."""
        return check_wire_value(self, wire)

    def convert(self, value: object) -> str:
        """The wire form of a Python value; raises TypeError/ValueError with the reason."""
        return wire_value(self, value)

    def __repr__(self) -> str:
        return f"AttributeSpec({self.python_name!r} -> {self.name!r}, {self.kind})"


def _collapse(value: str) -> str:
    """xs:token's whitespace rule: runs of whitespace become one space, ends trimmed."""
    return _WHITESPACE.sub(" ", value).strip(" ")


def illegal_character(value: str) -> str | None:
    """A description of the first character XML 1.0 forbids in ``value``, or None."""
    found = _XML_ILLEGAL.search(value)
    if found is None:
        return None
    return f"U+{ord(found.group(0)):04X} at index {found.start()}"


def describe(spec: AttributeSpec) -> str:
    """What the attribute accepts, in words."""
    if spec.description:
        return spec.description
    if spec.enumeration:
        return "one of " + ", ".join(spec.enumeration)
    return {
        "duration": "a whole number of milliseconds (int) or a timedelta",
        "positive": "a whole number, 1 or more",
        "nonnegative": "a whole number, 0 or more",
        "boolean": "True or False",
    }.get(spec.kind, "a string")


def check_wire_value(spec: AttributeSpec, value: str) -> str | None:
    """Why the wire form ``value`` is not valid for ``spec`` (None when it is valid)."""
    bad = illegal_character(value)
    if bad is not None:
        return f"contains {bad}, a character XML 1.0 does not allow"
    if spec.kind == "string":
        if spec.regex is not None and not spec.regex.fullmatch(value):
            return f"expected {describe(spec)}"
        return None
    collapsed = _collapse(value)
    if spec.kind in NUMBER_KINDS:
        if not _NONNEGATIVE.fullmatch(collapsed) or (
            spec.kind == "positive" and int(collapsed) < 1
        ):
            return f"expected {describe(spec)}"
        return None
    if spec.enumeration and collapsed not in spec.enumeration:
        return f"expected {describe(spec)}"
    if spec.regex is not None and not spec.regex.fullmatch(collapsed):
        return f"expected {describe(spec)}"
    return None


def wire_value(spec: AttributeSpec, value: object) -> str:
    """The attribute text for a Python value; raises ValueError/TypeError with the reason."""
    kind = spec.kind
    if kind == "boolean":
        if not isinstance(value, bool):
            raise TypeError(f"expected True or False, got {type(value).__name__}")
        return "true" if value else "false"
    if kind in NUMBER_KINDS:
        return _number(spec, value)
    if not isinstance(value, str):
        raise TypeError(f"expected {describe(spec)} (a str), got {type(value).__name__}")
    reason = check_wire_value(spec, value)
    if reason is not None:
        raise ValueError(reason)
    return value


def _number(spec: AttributeSpec, value: object) -> str:
    if isinstance(value, timedelta) and spec.kind == "duration":
        microseconds = value // timedelta(microseconds=1)
        if microseconds % 1000:
            raise ValueError("a timedelta here must be a whole number of milliseconds")
        value = microseconds // 1000
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected {describe(spec)}, got {type(value).__name__}")
    minimum = 1 if spec.kind == "positive" else 0
    if value < minimum:
        raise ValueError(f"expected {describe(spec)}, got {value}")
    return str(value)


def python_value(spec: AttributeSpec, wire: str) -> object:
    """The Python value that builds ``wire`` (inverse of the builder's conversion)."""
    if spec.kind == "boolean" and wire in ("true", "false"):
        return wire == "true"
    if spec.kind in NUMBER_KINDS and wire.isdigit():
        number = int(wire)
        if str(number) == wire:
            return number
    return wire


def value_hint(tag: str, attribute: AttributeSpec | None, value: object) -> str | None:
    """What to write instead: the closest allowed value, the XML name, the unit."""
    if attribute is None:
        return None
    if attribute.python_name == "#text":
        return f"the text of <{tag}> is {describe(attribute)}"
    allowed = attribute.enumeration or attribute.literal_values
    if allowed and isinstance(value, str):
        from callflow.vocabulary import closest

        guess = closest(value, allowed)
        listing = ", ".join(repr(v) for v in allowed)
        return (f"did you mean {guess!r}? " if guess else "") + f"allowed: {listing}"
    if attribute.kind == "duration" and isinstance(value, str | float):
        return f"durations are whole milliseconds: {attribute.python_name}=8000 is 8 s"
    if attribute.python_name != attribute.name:
        return f"`{attribute.python_name}` is the XML attribute `{attribute.name}`"
    return None
