"""The one walk finds exactly what each rule, run alone over every element, finds."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from callflow.document import Document
from callflow.lint import RULES, Finding, LintConfig, LintContext, Rule, iter_findings

from .test_lint_rules import EXAMPLES

ROOT = Path(__file__).resolve().parents[2]

TAGS = [
    "Response", "Say", "Play", "Pause", "Hangup", "Record", "Gather", "Switch", "Case",
    "Default", "DTMF", "Error", "Dial", "To", "Callback", "callback", "Answer", "Call",
    "RecordStart", "Unknown", "x:Say", "x:Case", "Gather", "Switch", "Case", "DTMF",
]  # fmt: skip
# Each tag mostly gets the attributes the rules read on it, so that rules fire often.
TAG_ATTRIBUTES = {
    "Gather": ["numDigits", "dtmf_length", "length", "finishOnKey", "dtmf_stop", "timeout",
               "attempts", "url", "callback", "method"],
    "Case": ["dtmf"], "DTMF": ["value"], "Say": ["text", "loop"], "Play": ["url", "record", "loop"],
    "Callback": ["url", "method", "timeout", "body"], "Pause": ["length"], "Answer": ["delay"],
    "Record": ["timeout", "tag"],
}  # fmt: skip
ANY_ATTRIBUTES = ["loop", "attempts", "dtmf", "value", "x:dtmf", "x:loop", "timeout", "url"]
# Values where Python's and a shortcut's reading could part: signs, underscores, non-ASCII
# digits and spaces, exponents, case, keys that hold one another.
NUMBERS = [
    "", " ", "0", "1", "2", "5", "12", "99", "100", "8000", "-5", " 50 ", "+99", "1_000",
    "\u0665", "\u0661\u0662", "20.5", "1e3", "11", "21", "500", "1\u00a0", "\u3000 2",
]  # fmt: skip
KEYS = ["", " ", "1", "2", "12", "#", "*", "1#", "# ", "#*", "1 ", " 1", "1\u00a0", "\u0661"]
URLS = ["", "http://a.example.com", " HTTP://b.example.com", "https://c.example.com", "hTTp://d"]
TEXTS = ["", "  ", "Hello", "1", "http://a.example.com/x", " Http://b ", "https://c", "\u00a0"]
VALUES = {
    **dict.fromkeys(["loop", "attempts", "numDigits", "dtmf_length", "length"], NUMBERS),
    **dict.fromkeys(["timeout", "delay", "x:loop"], NUMBERS),
    **dict.fromkeys(["finishOnKey", "dtmf_stop", "dtmf", "value", "x:dtmf"], KEYS),
    **dict.fromkeys(["url", "callback"], URLS),
    "text": TEXTS, "record": ["", "vm", " vm"], "tag": ["", "vm", "x"],
    "method": ["", "GET", "post"], "body": ["", "true", "false"],
}  # fmt: skip


def _attributes(tag: str) -> st.SearchStrategy[dict[str, str]]:
    names = st.sampled_from(TAG_ATTRIBUTES.get(tag, ANY_ATTRIBUTES)) | st.sampled_from(
        ANY_ATTRIBUTES
    )
    return st.lists(names, unique=True, max_size=4).flatmap(
        lambda chosen: st.fixed_dictionaries(
            {name: st.sampled_from(VALUES[name]) for name in chosen}
        )
    )


def _render(tag: str, attributes: dict[str, str], text: str, children: list[str]) -> str:
    written = "".join(f" {name}={quoteattr(value)}" for name, value in attributes.items())
    return f"<{tag}{written}>{escape(text)}{''.join(children)}</{tag}>"


def _element(children: st.SearchStrategy[list[str]]) -> st.SearchStrategy[str]:
    return st.sampled_from(TAGS).flatmap(
        lambda tag: st.builds(
            _render, st.just(tag), _attributes(tag), st.sampled_from(TEXTS), children
        )
    )


_elements = st.recursive(
    _element(st.just([])) | st.just("<!-- note -->"),
    lambda inner: _element(st.lists(inner, max_size=5)),
    max_leaves=30,
)


@st.composite
def documents(draw: st.DrawFn) -> Document:
    root = draw(st.sampled_from(["Response", "Response", "Gather", "Hangup", "Case"]))
    attributes = draw(_attributes(root))
    written = "".join(f" {name}={quoteattr(value)}" for name, value in attributes.items())
    body = "".join(draw(st.lists(_elements, max_size=6)))
    return Document.from_text(f'<{root} xmlns:x="urn:x"{written}>{body}</{root}>', "flow.xml")


configs = st.builds(
    LintConfig,
    select=st.none() | st.just(["CF30", "CF32"]),
    ignore=st.sampled_from([(), ("CF31",), ("CF302", "CF320")]),
    max_loop=st.integers(1, 30),
    max_attempts=st.integers(1, 30),
)


T = TypeVar("T")


class RecordingContext(LintContext):
    """A context that notes which facts a rule asks for."""

    __slots__ = ("asked",)

    def __init__(self, document: Document, config: LintConfig) -> None:
        super().__init__(document, config)
        self.asked: set[Callable[[etree._Element], object]] = set()

    def fact(self, compute: Callable[[etree._Element], T], element: etree._Element) -> T:
        self.asked.add(compute)
        return super().fact(compute, element)


def alone(rule: Rule, document: Document, config: LintConfig) -> list[Finding]:
    """One rule run by itself over every element of its tags, with facts of its own: the
    naive reference. It ignores the attributes a rule declares per tag (the walk hands it
    only the elements carrying one of them), so that a declaration narrower than the rule's
    condition shows as a finding the walk misses."""
    context = RecordingContext(document, config)
    tags = rule.tags
    found: list[Finding] = []
    for element in document.iter_elements():
        carries = any(element.get(name) is not None for name in rule.attributes)
        if tags is None or element.tag in tags or carries:
            found.extend(rule.visit(element, context))
        elif rule.attributes:  # the walk may hand it any element: it must find nothing there
            assert not rule.visit(element, context), (rule.code, element.tag)
    assert context.asked <= set(rule.needs), f"{rule.code} reads facts it does not declare"
    return found


def each_rule_alone(document: Document, config: LintConfig) -> list[Finding]:
    """The plain engine: every enabled rule, one after the other, no shared walk."""
    return [
        finding
        for code, rule in RULES.items()
        if config.enabled(code)
        for finding in alone(rule, document, config)
    ]


def described(findings: list[Finding]) -> list[tuple[object, ...]]:
    return [
        (f.code, f.element, f.message, f.hint, f.attribute, f.text, type(f.fix)) for f in findings
    ]


@settings(max_examples=150, deadline=None)
@given(documents(), configs)
def test_the_one_walk_finds_exactly_what_each_rule_alone_finds(
    document: Document, config: LintConfig
) -> None:
    assert described(list(iter_findings(document, config))) == described(
        each_rule_alone(document, config)
    )


@pytest.mark.parametrize("code", sorted(EXAMPLES))
def test_each_rule_alone_finds_its_failing_example(code: str) -> None:
    failing, passing = EXAMPLES[code]
    config = LintConfig()
    found = Document.from_text(f"<Response>{failing}</Response>", "flow.xml")
    clean = Document.from_text(f"<Response>{passing}</Response>", "flow.xml")
    assert alone(RULES[code], found, config)
    assert not alone(RULES[code], clean, config)


def test_the_one_walk_matches_each_rule_alone_on_the_repository_flows() -> None:
    paths = sorted(ROOT.glob("examples/**/*.xml")) + sorted(ROOT.glob("tests/**/*.xml"))
    checked = 0
    for path in paths:
        try:
            document = Document.from_path(path)
        except Exception:  # the corpus holds deliberately broken files too
            continue
        config = LintConfig()
        assert described(list(iter_findings(document, config))) == described(
            each_rule_alone(document, config)
        ), path
        checked += 1
    assert checked > 10


# Hand-picked boundaries, where shared facts or the dispatch would most easily part from a rule.
EDGES = [
    ('<Say text="">Hello</Say>', LintConfig()),
    ('<Say text=" ">  </Say>', LintConfig()),
    ('<Gather attempts="5"><Say>m</Say></Gather>', LintConfig(max_loop=30, max_attempts=3)),
    ('<Play loop="5">https://m</Play>', LintConfig(max_loop=3, max_attempts=30)),
    ('<Play loop="1_000">https://m</Play>', LintConfig()),
    ('<Play loop="\u0661\u0662\u0663">https://m</Play>', LintConfig()),
    ('<Pause length=" +5 "/>', LintConfig()),
    ('<Gather numDigits="0"><Say>m</Say><Switch><Case dtmf="1"/><Default/></Switch></Gather>',
     LintConfig()),
    ('<Gather finishOnKey="#*"><Say>m</Say><Switch><Case dtmf="#"/><Case dtmf="*"/>'
     "<Default/></Switch></Gather>", LintConfig()),
    ('<Gather><Say>m</Say><Switch><Case dtmf=" 1"/><Case dtmf="1\u00a0"/><Default/></Switch>'
     "</Gather>", LintConfig()),
    ('<Gather><Say>m</Say><Case dtmf="12"/><DTMF value="12"/></Gather>', LintConfig()),
    ('<Gather numDigits="2"><Say>m</Say><Switch><DTMF value="123"/><Default/></Switch></Gather>',
     LintConfig()),
    ('<Switch xmlns:x="urn:x"><x:Case dtmf="1"/><x:Case dtmf="1"/><x:Default/></Switch>',
     LintConfig()),
    ("<Hangup/><!-- then --><Say>late</Say>", LintConfig()),
    ("<Gather><Say>m</Say><Hangup/><Say>again</Say></Gather>", LintConfig()),
    ('<Callback url="https://a" method="GET"><x:Error xmlns:x="urn:x"/></Callback>', LintConfig()),
    ("<callback> HTTP://a.example.com </callback>", LintConfig()),
]  # fmt: skip


@pytest.mark.parametrize(("body", "config"), EDGES)
def test_the_one_walk_matches_each_rule_alone_at_the_edges(body: str, config: LintConfig) -> None:
    document = Document.from_text(f"<Response>{body}</Response>", "flow.xml")
    assert described(list(iter_findings(document, config))) == described(
        each_rule_alone(document, config)
    )


def test_a_declaration_narrower_than_the_rule_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    # CF316 declared as if only url= could make a Gather legacy: the reference, which visits
    # every <Gather>, finds what the walk then misses.
    from callflow.lint import _walk

    real = RULES["CF316"]
    narrow = Rule(
        real.code, real.name, real.title, real.severity, real.fixable, real.visit,
        tags={"Gather": ("url",)}, needs=real.needs,
    )  # fmt: skip
    monkeypatch.setitem(RULES, "CF316", narrow)
    _walk.dispatch_table.cache_clear()
    try:
        document = Document.from_text(
            '<Response><Gather dtmf_length="1"><Say>m</Say></Gather></Response>', "flow.xml"
        )
        config = LintConfig(select=["CF316"])
        assert [f.code for f in each_rule_alone(document, config)] == ["CF316"]
        assert list(iter_findings(document, config)) == []
    finally:
        monkeypatch.undo()
        _walk.dispatch_table.cache_clear()


@pytest.mark.parametrize("code", sorted(RULES))
def test_every_attribute_a_rule_waits_for_is_one_its_tag_has(code: str) -> None:
    # A misspelt name would silently keep the rule from ever seeing the tag.
    from callflow.vocabulary import load_vocabulary

    elements = load_vocabulary().elements
    for tag, names in (RULES[code].carrying or {}).items():
        assert names is None or names <= set(elements[tag].attributes), (tag, names)


def test_the_walk_hands_a_rule_only_the_elements_it_declares() -> None:
    # The per-tag attributes narrow what the walk hands a rule; the rest of its tags' elements
    # never reach its visit (what the rule finds there is nothing, as the property test holds).
    seen: list[tuple[str, str]] = []
    real = RULES["CF311"]

    def spy(element: etree._Element, context: LintContext) -> list[Finding]:
        seen.append((str(element.tag), ",".join(sorted(element.keys()))))
        return list(real.visit(element, context))

    from callflow.lint import _walk

    RULES["CF311"] = Rule(
        real.code, real.name, real.title, real.severity, real.fixable, spy,
        tags={"Say": ("text",)},
    )  # fmt: skip
    _walk.dispatch_table.cache_clear()
    try:
        document = Document.from_text(
            '<Response><Say>a</Say><Say text="b"/><Say lang="en"/><Play text="c"/></Response>',
            "flow.xml",
        )
        list(iter_findings(document, LintConfig(select=["CF311"])))
    finally:
        RULES["CF311"] = real
        _walk.dispatch_table.cache_clear()
    assert seen == [("Say", "text")]
