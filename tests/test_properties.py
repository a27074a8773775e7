"""Properties that hold for all inputs: loading never raises, every diagnostic is locatable."""

from __future__ import annotations

import re
from xml.sax.saxutils import quoteattr

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callflow.check import iter_document_diagnostics
from callflow.document import load_bytes

TAGS = [
    "Say",
    "Play",
    "Pause",
    "Hangup",
    "Gather",
    "Dial",
    "Callback",
    "Record",
    "Sya",
    "Case",
    "Error",
    "To",
    "Switch",
    "Default",
    "Call",
    "callback",
    "Answer",
    "Unknown",
]
ATTRIBUTES = [
    "numDigits",
    "numDigts",
    "timeout",
    "length",
    "loop",
    "gender",
    "url",
    "method",
    "dtmf",
    "tag",
    "field",
    "value",
    "delay",
    "asr",
    "leg",
    "bogus",
]
VALUES = [
    "1",
    "0",
    "-3",
    "8s",
    "MALE",
    "male",
    "https://x.example.com/a",
    "ftp://x",
    "POST",
    "put",
    "true",
    "yes",
    "",
    "#",
    "to",
]

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def elements(draw: st.DrawFn, depth: int = 0) -> str:
    tag = draw(st.sampled_from(TAGS))
    attrs = draw(st.dictionaries(st.sampled_from(ATTRIBUTES), st.sampled_from(VALUES), max_size=3))
    separators = draw(
        st.lists(st.sampled_from([" ", "\n    ", "  "]), min_size=len(attrs), max_size=len(attrs))
    )
    rendered = "".join(
        f"{sep}{name}={quoteattr(value)}"
        for sep, (name, value) in zip(separators, attrs.items(), strict=True)
    )
    children = draw(st.lists(elements(depth + 1), max_size=3)) if depth < 3 else []
    text = draw(st.sampled_from(["", "hello", "+1555", "https://x.example.com/a.wav"]))
    if not children and not text:
        return f"<{tag}{rendered}/>"
    return f"<{tag}{rendered}>{text}" + "\n".join(children) + f"</{tag}>"


@given(st.lists(elements(), max_size=5))
@SETTINGS
def test_every_diagnostic_points_at_a_real_place_naming_what_is_wrong(children: list[str]) -> None:
    text = "<Response>\n" + "\n".join(children) + "\n</Response>\n"
    document, diagnostics = load_bytes(text.encode(), "flow.xml")
    assert document is not None and diagnostics == []
    lines = text.splitlines()
    for diagnostic in iter_document_diagnostics(document):
        location = diagnostic.location
        assert location.file == "flow.xml"
        assert 1 <= location.line <= len(lines)
        assert location.column is not None
        line = lines[location.line - 1]
        assert 1 <= location.column <= len(line) + 1
        assert diagnostic.xpath is not None
        element = document.root.getroottree().xpath(diagnostic.xpath)
        assert element, diagnostic.xpath
        # The column lands on the tag name, the attribute name, or just after the start tag.
        at = line[location.column - 1 :]
        tag = str(element[0].tag)  # type: ignore[index, union-attr]
        named = [tag] + [a for a in ATTRIBUTES if re.search(rf"\b{a}\b", diagnostic.message)]
        assert any(at.startswith(n) for n in named) or line[location.column - 2] == ">", (
            str(diagnostic),
            line,
        )


@given(st.binary(max_size=400))
@SETTINGS
def test_loading_arbitrary_bytes_never_raises(data: bytes) -> None:
    document, diagnostics = load_bytes(data, "blob.xml")
    assert (document is None) == bool(diagnostics)
    for diagnostic in diagnostics:
        assert diagnostic.location.line >= 1
        assert diagnostic.code.startswith("CF")


@given(st.text(max_size=200))
@SETTINGS
def test_loading_arbitrary_text_never_raises(text: str) -> None:
    document, diagnostics = load_bytes(text.encode("utf-8", "surrogatepass"), "text.xml")
    assert (document is None) == bool(diagnostics)
