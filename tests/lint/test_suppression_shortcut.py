"""The suppression shortcut: a document whose text never says ``callflow:`` skips the
suppression check, and finds exactly what the full check finds; with the marker, the full
check runs and silences what it should."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import callflow.lint as lint
from callflow.diagnostics import Diagnostic
from callflow.document import Document
from callflow.lint import iter_lint_diagnostics

# Each line trips a rule (or not); some carry a directive, some only the word in a prompt.
LINES = [
    '<Pause length="5"/>',
    '<Pause length="5"/> <!-- callflow: ignore CF305 -->',
    '<Pause length="5"/> <!-- CALLFLOW: IGNORE cf305 -->',
    "<!-- callflow: ignore CF305 -->",
    "<!-- callflow: ignore-file CF311 -->",
    "<!-- a comment, no directive -->",
    '<Say text="x">y</Say>',
    "<Say>Say callflow: ignore CF311 to the caller</Say>",
    '<Callback url="http://example.com/next"/>',
    '<Play loop="500">https://example.com/a.wav</Play>',
    "<Hangup/>",
]


def described(found: list[Diagnostic]) -> list[tuple[object, ...]]:
    return [(d.code, d.message, d.location, d.xpath, d.hint, d.severity) for d in found]


def plain(document: Document) -> list[Diagnostic]:
    """The full suppression check, whatever the text says."""
    shortcut = lint._without_directives
    lint._without_directives = lambda document: False  # type: ignore[assignment]
    try:
        return list(iter_lint_diagnostics(document))
    finally:
        lint._without_directives = shortcut


@settings(max_examples=150, deadline=None)
@given(lines=st.lists(st.sampled_from(LINES), max_size=8))
def test_the_shortcut_finds_what_the_full_check_finds(lines: list[str]) -> None:
    text = "<Response>\n" + "\n".join(lines) + "\n</Response>\n"
    document = Document.from_text(text, "flow.xml")
    fast = list(iter_lint_diagnostics(document))
    assert described(fast) == described(plain(Document.from_text(text, "flow.xml")))


def test_without_the_marker_the_suppression_check_is_skipped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def never(*args: object) -> object:
        raise AssertionError("the suppression check ran on a text without the marker")

    monkeypatch.setattr(lint, "Suppressions", never)
    monkeypatch.setattr(lint, "comment_before", never)
    document = Document.from_text('<Response>\n<Pause length="5"/>\n</Response>', "flow.xml")
    assert [d.code for d in iter_lint_diagnostics(document)] == ["CF305"]


def test_with_the_marker_a_directive_still_silences() -> None:
    text = '<Response>\n<Pause length="5"/> <!-- Callflow: ignore CF305 -->\n</Response>'
    assert list(iter_lint_diagnostics(Document.from_text(text, "flow.xml"))) == []
    unmarked = text.replace("Callflow: ignore CF305", "a note")
    found = list(iter_lint_diagnostics(Document.from_text(unmarked, "flow.xml")))
    assert [d.code for d in found] == ["CF305"]


@settings(max_examples=300, deadline=None)
@given(
    text=st.lists(
        st.sampled_from(["callflow:", "CallFlow:", "CALLFLOW", ":", "callflow", "ſ", "K", "İ", "x"])
        | st.text(max_size=3),
        max_size=6,
    ).map("".join)
)
def test_the_marker_is_seen_as_a_case_insensitive_search_sees_it(text: str) -> None:
    import re

    from callflow.lint._suppression import mentions_directive

    mention = re.compile(r"callflow:", re.IGNORECASE)  # what the lower-cased copy stands for

    assert mentions_directive(text) == (mention.search(text) is not None)
