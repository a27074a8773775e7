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

import re

from lxml import etree

from callflow.diagnostics import Diagnostic, Severity
from callflow.document import MAX_DOCUMENT_BYTES, load_bytes
from callflow.sourcemap import SourceLocation
from callflow.twiml import _codes as codes
from callflow.twiml._api import TwimlConversion
from callflow.twiml._convert import (
    MARK_CLOSE,
    MARK_OPEN,
    MARKER,
    convert_tree,
    reserved_character,
)

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
    if len(data) > limit:
        return TwimlConversion(None, None, load_bytes(data, filename, max_bytes=limit)[1])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return TwimlConversion(None, None, load_bytes(data, filename, max_bytes=limit)[1])
    reserved = reserved_character(text, filename)
    if reserved is not None:
        return TwimlConversion(None, None, [reserved])
    spans: list[str] = []
    starts: list[int] = []
    pieces: list[str] = []
    last = 0
    for match in _JINJA.finditer(text):
        pieces.append(text[last : match.start()])
        number = len(spans)
        spans.append(match.group(0))
        starts.append(match.start())
        pieces.append(_filler(match.group(0), f"{MARK_OPEN}{number}", MARK_CLOSE))
        last = match.end()
    pieces.append(text[last:])
    skeleton = "".join(pieces)
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def where(offset: int) -> SourceLocation:
        import bisect

        index = bisect.bisect_right(line_starts, offset) - 1
        return SourceLocation(filename, index + 1, offset - line_starts[index] + 1)

    problems: list[Diagnostic] = []
    in_content: set[int] = set()
    inside_markup: set[int] = set()
    in_attribute: set[int] = set()
    for match in _MARKUP.finditer(skeleton):
        segment = match.group(0)
        if MARK_OPEN not in segment:
            continue
        numbers = [int(m.group(1)) for m in MARKER.finditer(segment)]
        inside_markup.update(numbers)
        if segment.startswith(("<!--", "<![CDATA[", "<?")):
            continue  # comments and CDATA keep their text; put back verbatim
        allowed: set[int] = set()
        named: set[int] = set(numbers)  # an end tag is all name
        if match.group("name") is not None:
            attrs_start = match.start("attrs") - match.start()
            named = {int(m.group(1)) for m in MARKER.finditer(segment) if m.start() < attrs_start}
            for quoted in _QUOTED.finditer(match.group("attrs") or ""):
                allowed.update(int(m.group(1)) for m in MARKER.finditer(quoted.group(0)))
        in_attribute |= allowed
        for number in numbers:
            if number in allowed:
                continue
            kind = "a tag name" if number in named else "attributes"
            problems.append(
                Diagnostic(
                    codes.TEMPLATE,
                    Severity.ERROR,
                    f"the Jinja construct {_short(spans[number])} builds {kind}; the TwiML "
                    "conversion carries Jinja only in attribute values and element content",
                    where(starts[number]),
                    hint='write the element out in each branch (e.g. {% if %}<Say voice="man">'
                    "…{% else %}<Say>…{% endif %}), or convert this part by hand",
                )
            )
    for number in sorted(in_attribute):
        if '"' in spans[number] and "'" in spans[number]:
            problems.append(
                Diagnostic(
                    codes.TEMPLATE,
                    Severity.ERROR,
                    f"the Jinja construct {_short(spans[number])} in an attribute value uses "
                    'both kinds of quotes; the converted tag quotes its attributes with "',
                    where(starts[number]),
                    hint="use one kind of quotes inside the construct",
                )
            )
    if problems:
        return TwimlConversion(None, None, problems)
    in_content = set(range(len(spans))) - inside_markup

    def as_instruction(match: re.Match[str]) -> str:
        number = int(match.group(1))
        if number not in in_content:
            return match.group(0)
        return _filler(match.group(0), f"<?jinja {number} ", "?>")

    skeleton = MARKER.sub(as_instruction, skeleton)
    document, read = load_bytes(
        skeleton.encode("utf-8"), filename, max_bytes=limit + 16 * len(spans)
    )
    if document is None:
        notes = [
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
        return TwimlConversion(None, None, notes)
    tree, state = convert_tree(document, base_url)
    accounted = frozenset(state.mapped | state.reported)
    if document.root.tag != "Response":
        return TwimlConversion(None, None, state.diagnostics, document, accounted)
    checked, found = checked_output(
        tree, state.origins, document, templated=True, explained=state.explained
    )
    body = etree.tostring(tree, encoding="unicode", pretty_print=True)
    before = [
        etree.tostring(node, encoding="unicode")
        for node in reversed(list(document.root.itersiblings(preceding=True)))
    ]
    after = [etree.tostring(node, encoding="unicode") for node in document.root.itersiblings()]
    output = '<?xml version="1.0" encoding="UTF-8"?>\n' + "".join(
        f"{node.strip()}\n" for node in before
    )
    output += body + "".join(f"{node.strip()}\n" for node in after)

    def restore(match: re.Match[str]) -> str:
        number = int(match.group(1))
        span = spans[number]
        if number in state.scaled:
            scaled = _EXPRESSION.fullmatch(span)
            if scaled is not None:
                left, expression, right = scaled.groups()
                span = f"{{{{{left} ((({expression.strip()}) | float) * 1000) | int {right}}}}}"
        if number in in_attribute:
            # The converted tag quotes attributes with ": a string in the construct uses '.
            span = span.replace('"', "'")
        return span

    output = MARKER.sub(restore, _PI.sub(restore, output))

    def verbatim(match: re.Match[str]) -> str:
        return _short(spans[int(match.group(1))])

    report = [
        Diagnostic(
            d.code,
            d.severity,
            MARKER.sub(verbatim, d.message),
            d.location,
            xpath=d.xpath,
            hint=MARKER.sub(verbatim, d.hint) if d.hint else d.hint,
        )
        for d in [*state.diagnostics, *found]
    ]
    return TwimlConversion(checked, output, report, document, accounted)


def _short(span: str, limit: int = 40) -> str:
    span = " ".join(span.split())
    return span if len(span) <= limit else span[: limit - 1] + "…"
