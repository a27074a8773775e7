"""TwiML templates → OpenTact templates: convert the XML skeleton, carry Jinja through.

Technique: every Jinja construct (``{{ }}``, ``{% %}``, ``{# #}``, a raw block) is set
aside before the XML is parsed. One in element content becomes a processing instruction
``<?jinja N?>``, one in an attribute value a private-use placeholder; both keep the
construct's newlines (and, when there is room, its width), so lines and columns of the
skeleton are those of the template. The skeleton converts like any TwiML document (one verb
to one tag, in place, which keeps ``{% if %}`` … ``{% endif %}`` around the same tags), and
the constructs are put back into the converted text verbatim. A duration given by an
expression (``timeout="{{ t }}"``) is scaled in Jinja (``* 1000``).

What cannot be carried is reported at its template line and nothing is written: a construct
inside a tag but outside an attribute value (Jinja that builds attributes or tag names), and
a skeleton that is not well formed once the constructs are set aside (a Jinja tag that opens
an element in one branch and closes it in another). The delimiters are Jinja's defaults; a
``{{`` inside a string inside a construct ends nothing early, but a ``}}`` there does.
"""

from __future__ import annotations

import bisect
import re

from lxml import etree

from callflow.diagnostics import Diagnostic, Severity
from callflow.document import MAX_DOCUMENT_BYTES, Document, load_bytes
from callflow.sourcemap import SourceLocation
from callflow.twiml import _codes as codes
from callflow.twiml._api import TwimlConversion
from callflow.twiml._convert import convert_tree
from callflow.twiml._state import MARK_CLOSE, MARK_OPEN, MARKER
from callflow.twiml._values import reserved_character

_JINJA = re.compile(
    r"\{%-?\s*raw\s*-?%\}.*?\{%-?\s*endraw\s*-?%\}|\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL
)
_MARKUP = re.compile(
    r"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>|</[^>]*>"
    r"""|<(?P<name>[^\s/>!?]*)(?P<attrs>(?:[^>"']|"[^"]*"|'[^']*')*)>""",
    re.DOTALL,
)
_QUOTED = re.compile(r""""[^"]*"|'[^']*'""")
_PI = re.compile(r"<\?jinja (\d+)\s*\?>")
_EXPRESSION = re.compile(r"\{\{(-?)(.*?)(-?)\}\}", re.DOTALL)


def _filler(span: str, head: str, tail: str) -> str:
    """``head`` + blanks keeping ``span``'s newlines (and width when it fits) + ``tail``."""
    blank = re.sub(r"[^\n]", " ", span)
    first_line = blank.split("\n", 1)[0]
    if len(first_line) >= len(head) + (len(tail) if "\n" not in blank else 0):
        body = head + blank[len(head) :]
    else:
        body = head + blank[len(first_line) :] if "\n" in blank else head
    if body.endswith(" " * len(tail)) and len(body) >= len(head) + len(tail):
        return body[: len(body) - len(tail)] + tail
    return body + tail


class _SetAside:
    """A template with its Jinja constructs set aside: the XML skeleton and what was in it."""

    def __init__(self, text: str, filename: str) -> None:
        self.filename = filename
        self.spans: list[str] = []  # construct N, verbatim
        self.starts: list[int] = []  # where construct N starts in the template
        pieces: list[str] = []
        last = 0
        for match in _JINJA.finditer(text):
            pieces.append(text[last : match.start()])
            number = len(self.spans)
            self.spans.append(match.group(0))
            self.starts.append(match.start())
            pieces.append(_filler(match.group(0), f"{MARK_OPEN}{number}", MARK_CLOSE))
            last = match.end()
        pieces.append(text[last:])
        self.skeleton = "".join(pieces)
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        #: Constructs inside markup (tags, comments, CDATA, instructions), and in attribute values.
        self.inside_markup: set[int] = set()
        self.in_attribute: set[int] = set()

    def where(self, number: int) -> SourceLocation:
        """The template line and column where construct ``number`` starts."""
        offset = self.starts[number]
        index = bisect.bisect_right(self.line_starts, offset) - 1
        return SourceLocation(self.filename, index + 1, offset - self.line_starts[index] + 1)

    def placement_problems(self) -> list[Diagnostic]:
        """Constructs where the conversion cannot carry them (building tags or attributes)."""
        problems: list[Diagnostic] = []
        for match in _MARKUP.finditer(self.skeleton):
            if MARK_OPEN in match.group(0):
                problems += self._in_markup(match)
        for number in sorted(self.in_attribute):
            if '"' in self.spans[number] and "'" in self.spans[number]:
                problems.append(
                    Diagnostic(
                        codes.TEMPLATE,
                        Severity.ERROR,
                        f"the Jinja construct {_short(self.spans[number])} in an attribute value "
                        'uses both kinds of quotes; the converted tag quotes its attributes with "',
                        self.where(number),
                        hint="use one kind of quotes inside the construct",
                    )
                )
        return problems

    def _in_markup(self, match: re.Match[str]) -> list[Diagnostic]:
        segment = match.group(0)
        numbers = [int(m.group(1)) for m in MARKER.finditer(segment)]
        self.inside_markup.update(numbers)
        if segment.startswith(("<!--", "<![CDATA[", "<?")):
            return []  # comments and CDATA keep their text; put back verbatim
        allowed: set[int] = set()
        named: set[int] = set(numbers)  # an end tag is all name
        if match.group("name") is not None:
            attrs_start = match.start("attrs") - match.start()
            named = {int(m.group(1)) for m in MARKER.finditer(segment) if m.start() < attrs_start}
            for quoted in _QUOTED.finditer(match.group("attrs") or ""):
                allowed.update(int(m.group(1)) for m in MARKER.finditer(quoted.group(0)))
        self.in_attribute |= allowed
        return [
            Diagnostic(
                codes.TEMPLATE,
                Severity.ERROR,
                f"the Jinja construct {_short(self.spans[number])} builds "
                f"{'a tag name' if number in named else 'attributes'}; the TwiML "
                "conversion carries Jinja only in attribute values and element content",
                self.where(number),
                hint='write the element out in each branch (e.g. {% if %}<Say voice="man">'
                "…{% else %}<Say>…{% endif %}), or convert this part by hand",
            )
            for number in numbers
            if number not in allowed
        ]

    def parseable(self) -> str:
        """The skeleton with each construct of element content as ``<?jinja N?>``."""
        in_content = set(range(len(self.spans))) - self.inside_markup

        def as_instruction(match: re.Match[str]) -> str:
            number = int(match.group(1))
            if number not in in_content:
                return match.group(0)
            return _filler(match.group(0), f"<?jinja {number} ", "?>")

        return MARKER.sub(as_instruction, self.skeleton)

    def restore(self, text: str, scaled: set[int]) -> str:
        """``text`` with every construct put back (durations in ``scaled`` times 1000)."""

        def restored(match: re.Match[str]) -> str:
            number = int(match.group(1))
            span = self.spans[number]
            if number in scaled:
                expression = _EXPRESSION.fullmatch(span)
                if expression is not None:
                    left, inner, right = expression.groups()
                    span = f"{{{{{left} ((({inner.strip()}) | float) * 1000) | int {right}}}}}"
            if number in self.in_attribute:
                # The converted tag quotes attributes with ": a string in the construct uses '.
                span = span.replace('"', "'")
            return span

        return MARKER.sub(restored, _PI.sub(restored, text))

    def verbatim(self, diagnostic: Diagnostic) -> Diagnostic:
        """``diagnostic`` quoting each construct as the template wrote it, not its placeholder."""

        def quoted(match: re.Match[str]) -> str:
            return _short(self.spans[int(match.group(1))])

        hint = diagnostic.hint
        return Diagnostic(
            diagnostic.code,
            diagnostic.severity,
            MARKER.sub(quoted, diagnostic.message),
            diagnostic.location,
            xpath=diagnostic.xpath,
            hint=MARKER.sub(quoted, hint) if hint else hint,
        )


def _template_text(data: bytes, filename: str, limit: int) -> str | list[Diagnostic]:
    """The template's text, or why it cannot be read (too large, not UTF-8, reserved)."""
    if len(data) > limit:
        return load_bytes(data, filename, max_bytes=limit)[1]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return load_bytes(data, filename, max_bytes=limit)[1]
    reserved = reserved_character(text, filename)
    return text if reserved is None else [reserved]


def _not_well_formed(read: list[Diagnostic]) -> list[Diagnostic]:
    """The skeleton's parse errors, said in terms of the template."""
    return [
        Diagnostic(
            codes.TEMPLATE,
            Severity.ERROR,
            f"once its Jinja constructs are set aside, the template's XML is not well "
            f"formed: {d.message}",
            d.location,
            hint="a Jinja tag must not open an element in one branch and close it in "
            "another: write each element whole inside each branch, or convert this part "
            "by hand",
        )
        if d.code == "CF101"
        else d
        for d in read
    ]


def _serialized(tree: etree._Element, document: Document) -> str:
    """The converted document's text, with what stood around the root kept in place."""
    body = etree.tostring(tree, encoding="unicode", pretty_print=True)
    before = [
        etree.tostring(node, encoding="unicode")
        for node in reversed(list(document.root.itersiblings(preceding=True)))
    ]
    after = [etree.tostring(node, encoding="unicode") for node in document.root.itersiblings()]
    output = '<?xml version="1.0" encoding="UTF-8"?>\n' + "".join(
        f"{node.strip()}\n" for node in before
    )
    return output + body + "".join(f"{node.strip()}\n" for node in after)


def convert_template(
    source: str | bytes,
    *,
    base_url: str | None,
    filename: str,
    max_bytes: int | None,
) -> TwimlConversion:
    from callflow.twiml._api import checked_output

    limit = max_bytes if max_bytes is not None else MAX_DOCUMENT_BYTES
    data = source.encode("utf-8", "surrogatepass") if isinstance(source, str) else source
    text = _template_text(data, filename, limit)
    if not isinstance(text, str):
        return TwimlConversion(None, None, text)
    aside = _SetAside(text, filename)
    problems = aside.placement_problems()
    if problems:
        return TwimlConversion(None, None, problems)
    document, read = load_bytes(
        aside.parseable().encode("utf-8"), filename, max_bytes=limit + 16 * len(aside.spans)
    )
    if document is None:
        return TwimlConversion(None, None, _not_well_formed(read))
    tree, state = convert_tree(document, base_url)
    accounted = frozenset(state.mapped | state.reported)
    if document.root.tag != "Response":
        return TwimlConversion(None, None, state.diagnostics, document, accounted)
    checked, found = checked_output(
        tree, state.origins, document, templated=True, explained=state.explained
    )
    output = aside.restore(_serialized(tree, document), state.scaled)
    report = [aside.verbatim(d) for d in [*state.diagnostics, *found]]
    return TwimlConversion(checked, output, report, document, accounted)


def _short(span: str, limit: int = 40) -> str:
    span = " ".join(span.split())
    return span if len(span) <= limit else span[: limit - 1] + "…"
