"""Validating a Document against the Call XML schema, with messages written for people.

lxml's XMLSchema (libxml2) does the validation; its raw messages are rewritten into
diagnostics with a stable code, the attribute's or tag's exact column, and a hint. The
vocabulary behind the hints is loaded only when a document actually has a problem.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeVar

from lxml import etree

from callflow.diagnostics import Diagnostic, Severity, ranked
from callflow.document import Document, schema_tree
from callflow.errors import InputError, ValidationError
from callflow.resources import default_schema_file, is_default_schema
from callflow.sourcemap import SourceLocation

if TYPE_CHECKING:
    from pathlib import Path

    from callflow.vocabulary import Vocabulary

# What each schema type means, for messages ("… expects a whole number of milliseconds").
TYPE_DESCRIPTIONS: dict[str, str] = {
    "Milliseconds": "a whole number of milliseconds (0 or more)",
    "Count": "a whole number, 1 or more",
    "Boolean": "true or false",
    "HttpUrl": "an http:// or https:// URL",
    "OptionalHttpUrl": "an http:// or https:// URL",
    "Key": "one key: 0-9, *, # or +",
    "Keys": "keys: digits 0-9, * or #",
    "CallbackMethod": "GET, POST, PATCH or DELETE",
    "GatherMethod": "GET or POST",
    "LanguageCode": "a language code such as en-US, en-GB or es",
    "DialTarget": "a SIP URI (sip:user@host), user@domain, or a phone number (digits, optional +)",
    "SipAddress": "user@host or user@host:port",
    "VoiceType": "Standard or WaveNet",
    "Gender": "MALE or FEMALE",
    "Leg": "aleg, bleg or both",
    "CallField": "to or from",
    "nonNegativeInteger": "a whole number, 0 or more",
    "positiveInteger": "a whole number, 1 or more",
    "integer": "a whole number",
    "string": "text",
    "token": "text",
}

_MESSAGE = (
    r"(?s)^Element '(?P<element>[^']+)'(?:, attribute '(?P<attribute>[^']+)')?: (?P<rest>.*)$"
)
_EXPECTED = r"Expected is(?: one of)? \( (?P<names>[^)]*) \)"
_VALUE = r"(?s)The value '(?P<value>.*?)' (?:is|has)"
_ATOMIC = (
    r"(?s)'(?P<value>.*?)' is not a valid value of the (?:atomic|union|list) type '(?P<type>[^']+)'"
)
_SET = r"\{(?P<set>.*)\}"
_SECONDS = r"(?i)^\s*(\d+(?:\.\d+)?)\s*(s|sec|secs|second|seconds)\s*$"


class Schema:
    """A compiled XSD. `iter_diagnostics` yields every problem; `validate` raises."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.file = os.fspath(path)
        try:
            self._xsd = etree.XMLSchema(schema_tree(self.file))
        except (OSError, etree.XMLSyntaxError, etree.XMLSchemaParseError) as error:
            raise InputError(f"{self.file}: not a usable XML schema: {error}") from None
        self.is_default = is_default_schema(self.file)

    @property
    def path(self) -> Path:
        from pathlib import Path

        return Path(self.file)

    def __repr__(self) -> str:
        return f"Schema({str(self.path)!r})"

    def is_valid(self, document: Document) -> bool:
        return bool(self._xsd.validate(document.root))

    def iter_diagnostics(self, document: Document) -> Iterator[Diagnostic]:
        if self._xsd.validate(document.root):
            return
        seen: set[tuple[str, str | None, str]] = set()
        for entry in self._xsd.error_log:
            diagnostic = self._diagnostic(document, entry)
            # libxml2 reports a bad value twice (the facet, then the type), and an element
            # that must be empty twice when it holds text and a child: keep the first.
            key = (diagnostic.xpath or "", _attribute_of(entry.message), diagnostic.code)
            if diagnostic.code in ("CF205", "CF206", "CF209") and key in seen:
                continue
            seen.add(key)
            yield diagnostic

    def validate(self, document: Document) -> None:
        found = ranked(self.iter_diagnostics(document))
        if found:
            raise ValidationError(
                f"{document.name}: {len(found)} schema problem(s); first: {found[0]}", found
            )

    # -- turning one libxml2 message into a Diagnostic ------------------------------

    def _diagnostic(self, document: Document, entry: etree._LogEntry) -> Diagnostic:
        message = entry.message or ""
        element = _element_at(document, entry.path)
        if entry.type_name == "SCHEMAV_CVC_ELT_1":
            return self._wrong_root(document, entry)
        match = re.match(_MESSAGE, message)
        if match is None or element is None:
            return self._make(document, element, entry, "CF299", _clean(message))
        attribute = match.group("attribute")
        if attribute is not None and attribute.startswith("{"):
            attribute = _prefixed(element, attribute)
        problem = _Problem(document, element, entry, match.group("element"), attribute)
        rest = match.group("rest")
        handler = _BY_TYPE.get(entry.type_name) or _by_text(_BY_TEXT, rest)
        if handler is not None:
            return handler(self, problem, rest)
        return self._make(document, element, entry, "CF299", _clean(rest), attribute=attribute)

    def _wrong_root(self, document: Document, entry: etree._LogEntry) -> Diagnostic:
        root = document.root
        qname = etree.QName(root)
        if qname.namespace is not None:
            return self._make(
                document,
                root,
                entry,
                "CF208",
                f"<{qname.localname}> is in the namespace '{qname.namespace}'; "
                "call XML uses no namespace",
                hint="remove the xmlns declaration from the root element",
            )
        return self._make(
            document,
            root,
            entry,
            "CF208",
            f"the root element is <{qname.localname}>; a call flow's root is <Response>",
            hint="wrap the flow in <Response>…</Response>" if self.is_default else None,
        )

    def _make(
        self,
        document: Document,
        element: etree._Element | None,
        entry: etree._LogEntry,
        code: str,
        message: str,
        *,
        hint: str | None = None,
        attribute: str | None = None,
        text: bool = False,
    ) -> Diagnostic:
        if element is not None:
            location = document.locate(element, attribute, text=text)
            xpath: str | None = document.xpath_of(element)
        else:
            location = document.locate_line(entry.line or 1, None)
            xpath = entry.path or None
        return Diagnostic(code, Severity.ERROR, message, location, xpath=xpath, hint=hint)

    def _report(
        self,
        problem: _Problem,
        code: str,
        message: str,
        *,
        hint: str | None = None,
        attribute: str | None = None,
        text: bool = False,
        at: etree._Element | None = None,
    ) -> Diagnostic:
        """A diagnostic at the problem's element (or ``at``)."""
        element = problem.element if at is None else at
        return self._make(
            problem.document,
            element,
            problem.entry,
            code,
            message,
            hint=hint,
            attribute=attribute,
            text=text,
        )

    def _describe_attribute(self, tag: str, name: str) -> str | None:
        vocabulary = _vocabulary(self.file)
        info = vocabulary.element(tag) if vocabulary is not None else None
        if info is None or name not in info.attributes:
            return None
        attr = info.attributes[name]
        return f"'{name}' takes {_describe_type(attr.type_name, attr.base, attr.enumeration)}"

    # One handler per shape of libxml2 message, found in `_BY_TYPE` or `_BY_TEXT`;
    # ``rest`` is the message after "Element 'x'[, attribute 'y']: ".

    def _unknown_attribute(self, problem: _Problem, rest: str) -> Diagnostic:
        tag, attribute = problem.tag, problem.attribute or "?"
        vocabulary = _vocabulary(self.file)
        info = vocabulary.element(tag) if vocabulary is not None else None
        allowed = list(info.attributes) if info is not None else []
        hint: str | None
        if not allowed:
            hint = f"<{tag}> takes no attributes"
        else:
            from callflow.vocabulary import closest

            guess = closest(attribute, allowed)
            listing = ", ".join(allowed)
            hint = (
                f"did you mean `{guess}`? <{tag}> takes: {listing}"
                if guess
                else f"<{tag}> takes: {listing}"
            )
        return self._report(
            problem,
            "CF203",
            f"<{tag}> has no attribute '{attribute}'",
            hint=hint,
            attribute=attribute,
        )

    def _missing_attribute(self, problem: _Problem, rest: str) -> Diagnostic:
        missing = re.search(r"attribute '([^']+)'", rest)
        name = missing.group(1) if missing else "?"
        return self._report(
            problem,
            "CF204",
            f"<{problem.tag}> needs the attribute '{name}'",
            hint=self._describe_attribute(problem.tag, name),
        )

    def _must_be_empty(self, problem: _Problem, rest: str) -> Diagnostic:
        tag = problem.tag
        return self._report(
            problem,
            "CF209",
            f"<{tag}> must be empty; it holds content",
            hint=f"write <{tag}/> with attributes only",
        )

    def _text_not_allowed(self, problem: _Problem, rest: str) -> Diagnostic:
        return self._report(
            problem,
            "CF206",
            f"text is not allowed directly inside <{problem.tag}>",
            hint="put spoken text in a <Say> element",
            text=True,
        )

    def _text_only(self, problem: _Problem, rest: str) -> Diagnostic:
        first = next(iter(problem.element), None)
        inner = f"<{first.tag}>" if first is not None and isinstance(first.tag, str) else "elements"
        return self._report(
            problem,
            "CF202",
            f"<{problem.tag}> holds only text; {inner} is not allowed inside it",
            at=first,
        )

    def _content(self, problem: _Problem, rest: str) -> Diagnostic:
        expected = _expected_names(rest)
        handler = _by_text(_CONTENT_BY_TEXT, rest)
        if handler is not None:
            return handler(self, problem, expected)
        vocabulary = _vocabulary(self.file)
        if vocabulary is not None and vocabulary.element(problem.tag) is not None:
            return self._misplaced_child(problem, expected)
        return self._unknown_child(problem, expected)

    def _missing_child(self, problem: _Problem, expected: list[str]) -> Diagnostic:
        names = " or ".join(f"<{n}>" for n in expected) or "a child element"
        return self._report(
            problem,
            "CF207",
            f"<{problem.tag}> is missing {names}",
            hint=f"add {names} inside <{problem.tag}>",
        )

    def _unknown_child(self, problem: _Problem, expected: list[str]) -> Diagnostic:
        from callflow.vocabulary import closest

        tag, parent = problem.tag, problem.element.getparent()
        vocabulary = _vocabulary(self.file)
        parent_info = (
            vocabulary.element(str(parent.tag))
            if vocabulary is not None and parent is not None
            else None
        )
        if parent_info is not None:
            # libxml2's list depends on the parser state; the parent's full list reads better.
            expected = list(parent_info.children)
        guess = closest(tag, expected) or (
            vocabulary.closest_tag(tag) if vocabulary is not None else None
        )
        hint = f"did you mean <{guess}>?" if guess else None
        if expected:
            hint = (
                (hint + " " if hint else "")
                + f"allowed {problem.where}: "
                + ", ".join(f"<{n}>" for n in expected)
            )
        return self._report(problem, "CF201", f"unknown element <{tag}>", hint=hint)

    def _misplaced_child(self, problem: _Problem, expected: list[str]) -> Diagnostic:
        tag, where = problem.tag, problem.where
        if expected:
            hint = "allowed at this point: " + ", ".join(f"<{n}>" for n in expected)
            if tag in _ORDER_HINTS:
                hint += "; " + _ORDER_HINTS[tag]
        else:
            hint = _ORDER_HINTS.get(tag) or (
                f"nothing more may follow at this point inside {where.removeprefix('inside ')}"
            )
        return self._report(
            problem, "CF202", f"<{tag}> is not allowed {where} at this point", hint=hint
        )

    def _bad_value(self, problem: _Problem, rest: str) -> Diagnostic:
        tag, attribute = problem.tag, problem.attribute
        value_match = re.search(_VALUE, rest) or re.search(_ATOMIC, rest)
        value = value_match.group("value") if value_match else None
        vocabulary = _vocabulary(self.file)
        info = vocabulary.element(tag) if vocabulary is not None else None
        typeinfo = None
        if info is not None:
            typeinfo = info.attributes.get(attribute) if attribute else info.text
        enumeration: tuple[str, ...] = ()
        set_match = re.search(_SET, rest)
        if set_match:
            enumeration = tuple(re.findall(r"'([^']*)'", set_match.group("set")))
        elif typeinfo is not None:
            enumeration = typeinfo.enumeration
        if typeinfo is not None:
            expects = _describe_type(typeinfo.type_name, typeinfo.base, enumeration)
        else:
            atomic = re.search(_ATOMIC, rest)
            expects = _describe_type(atomic.group("type") if atomic else "", "", enumeration)
        shown = f"'{value}'" if value else "an empty value"
        subject = f"'{attribute}' on <{tag}>" if attribute else f"the text of <{tag}>"
        return self._report(
            problem,
            "CF205" if attribute else "CF206",
            f"{shown} is not valid for {subject}: expected {expects}",
            hint=_value_hint(
                value, enumeration, typeinfo.type_name if typeinfo is not None else None
            ),
            attribute=attribute,
            text=attribute is None,
        )


class _Problem:
    """One libxml2 message about an element: where it is and what it names."""

    __slots__ = ("attribute", "document", "element", "entry", "tag")

    def __init__(
        self,
        document: Document,
        element: etree._Element,
        entry: etree._LogEntry,
        tag: str,
        attribute: str | None,
    ) -> None:
        self.document = document
        self.element = element
        self.entry = entry
        self.tag = tag
        self.attribute = attribute

    @property
    def where(self) -> str:
        """ "inside <Parent>" (or "here" at the root), for messages about a child."""
        parent = self.element.getparent()
        return f"inside <{parent.tag!s}>" if parent is not None else "here"


_Handler = Callable[[Schema, _Problem, str], Diagnostic]
_ContentHandler = Callable[[Schema, _Problem, list[str]], Diagnostic]
_H = TypeVar("_H")

#: libxml2's error type -> the handler of messages of that shape.
_BY_TYPE: dict[str, _Handler] = {
    "SCHEMAV_CVC_COMPLEX_TYPE_3_2_1": Schema._unknown_attribute,
    "SCHEMAV_CVC_COMPLEX_TYPE_3_2_2": Schema._unknown_attribute,
    "SCHEMAV_CVC_COMPLEX_TYPE_4": Schema._missing_attribute,
    "SCHEMAV_ELEMENT_CONTENT": Schema._content,
    "SCHEMAV_CVC_COMPLEX_TYPE_2_1": Schema._must_be_empty,
    "SCHEMAV_CVC_COMPLEX_TYPE_2_3": Schema._text_not_allowed,
    "SCHEMAV_CVC_COMPLEX_TYPE_2_2": Schema._text_only,
}
#: Messages of other types, by their text: (pattern searched in it, handler), first match wins.
#: Patterns are compiled when a document first has a problem (`re` keeps them), not at import.
_BY_TEXT: tuple[tuple[str, _Handler], ...] = ((r"not a valid value|\[facet", Schema._bad_value),)
#: Content messages by their text; any other is about a child in the wrong place.
_CONTENT_BY_TEXT: tuple[tuple[str, _ContentHandler], ...] = (
    (r"^Missing child element", Schema._missing_child),
)


def _by_text(table: tuple[tuple[str, _H], ...], rest: str) -> _H | None:
    return next((handler for pattern, handler in table if re.search(pattern, rest)), None)


def _expected_names(rest: str) -> list[str]:
    """The local names libxml2 lists after "Expected is ( … )" (none when it lists none)."""
    found = re.search(_EXPECTED, rest)
    names = [n.strip() for n in found.group("names").split(",") if n.strip()] if found else []
    return [n.strip("{}").split("}")[-1] for n in names]


def _value_hint(
    value: str | None, enumeration: tuple[str, ...], type_name: str | None
) -> str | None:
    """A close allowed value, or the milliseconds a duration in seconds stands for."""
    if value is not None and enumeration:
        from callflow.vocabulary import closest

        guess = closest(value, enumeration)
        hint = f"did you mean `{guess}`?" if guess else None
        return (hint + " " if hint else "") + "allowed: " + ", ".join(enumeration)
    if value is None or type_name != "Milliseconds":
        return None
    seconds = re.match(_SECONDS, value)
    if seconds:
        ms = round(float(seconds.group(1)) * 1000)
        return f"durations are in milliseconds: write {ms} for {seconds.group(1)} s"
    if re.fullmatch(r"\s*\d+\.\d+\s*", value):
        return "durations are whole milliseconds, without a decimal point"
    return None


_ORDER_HINTS = {
    "Error": "an <Error> block comes last in its parent, at most once",
    "Default": "<Default> follows the <Case> (or <DTMF>) branches",
    "Case": "<Case> belongs inside <Switch>, which belongs inside <Gather>",
    "Switch": "<Switch> follows the prompts inside <Gather>, at most once",
    "DTMF": "<DTMF> branches (legacy) stand directly under <Gather>, after the prompts",
    "To": "<To> belongs inside <Dial>",
    "Sip": "<Sip> belongs inside <Dial>",
}


def _describe_type(type_name: str, base: str, enumeration: tuple[str, ...]) -> str:
    if type_name in TYPE_DESCRIPTIONS:
        return TYPE_DESCRIPTIONS[type_name]
    if enumeration:
        return "one of " + ", ".join(enumeration)
    if base in TYPE_DESCRIPTIONS:
        return TYPE_DESCRIPTIONS[base]
    return f"a value of type {type_name or base or 'string'}"


def _prefixed(element: etree._Element, clark: str) -> str:
    """``{uri}name`` as the author wrote it (``xml:lang``), for messages and columns."""
    qname = etree.QName(clark)
    if qname.namespace == "http://www.w3.org/XML/1998/namespace":
        return f"xml:{qname.localname}"
    for prefix, uri in element.nsmap.items():
        if uri == qname.namespace and prefix:
            return f"{prefix}:{qname.localname}"
    return qname.localname


def _attribute_of(message: str | None) -> str | None:
    match = re.match(_MESSAGE, message or "")
    return match.group("attribute") if match else None


def _clean(message: str) -> str:
    message = re.sub(r"^Element '[^']+'(?:, attribute '[^']+')?: ", "", message.strip())
    message = message.replace("[facet '", "[").rstrip(".")
    return message[:1].lower() + message[1:]


def _element_at(document: Document, path: str | None) -> etree._Element | None:
    return document.element_at_path(path) if path else None


@functools.lru_cache(maxsize=8)
def _vocabulary(path: str) -> Vocabulary | None:
    from callflow.vocabulary import load_vocabulary

    try:
        return load_vocabulary(path)
    except Exception:  # a foreign schema the reader cannot follow: messages lose only hints
        return None


@functools.lru_cache(maxsize=8)
def load_schema(path: str | os.PathLike[str] | None = None) -> Schema:
    """The compiled schema at ``path`` (callflow's own by default), cached."""
    return Schema(path if path is not None else default_schema_file())


def iter_diagnostics(document: Document, schema: Schema | None = None) -> Iterator[Diagnostic]:
    """Every schema problem of ``document``, lazily."""
    return (schema or load_schema()).iter_diagnostics(document)


def validate(document: Document, schema: Schema | None = None) -> None:
    """Raise `ValidationError` carrying every schema problem of ``document``."""
    (schema or load_schema()).validate(document)


__all__ = ["Schema", "SourceLocation", "iter_diagnostics", "load_schema", "validate"]
