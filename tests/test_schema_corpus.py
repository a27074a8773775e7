"""The schema, tested both ways: every documented form validates, each mistake fails for its reason.

Each invalid file starts with ``<!-- expect: CODE LINE:COL [hint-word] -->``: the one
diagnostic it must produce, where, and a word its hint must contain.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from callflow.check import check_document
from callflow.document import Document
from callflow.schema import load_schema

DATA = Path(__file__).parent / "data" / "schema"
VALID = sorted((DATA / "valid").glob("*.xml"))
INVALID = sorted((DATA / "invalid").glob("*.xml"))
EXPECT = re.compile(
    r"<!-- expect: (?P<code>CF\d+) (?P<line>\d+):(?P<col>\d+)(?: (?P<word>\S+))? -->"
)


def test_the_corpus_is_not_empty() -> None:
    assert len(VALID) >= 10
    assert len(INVALID) >= 20


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_documented_form_is_valid(path: Path) -> None:
    document = Document.from_path(path)
    problems = list(load_schema().iter_diagnostics(document))
    assert problems == [], [str(p) for p in problems]


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_mistake_fails_for_its_stated_reason(path: Path) -> None:
    expect = EXPECT.search(path.read_text("utf-8"))
    assert expect is not None, f"{path.name} lacks its expect comment"
    document = Document.from_path(path)
    problems = list(load_schema().iter_diagnostics(document))
    assert len(problems) == 1, [str(p) for p in problems]
    (problem,) = problems
    assert problem.code == expect.group("code")
    assert (problem.location.line, problem.location.column) == (
        int(expect.group("line")),
        int(expect.group("col")),
    )
    assert problem.location.file == str(path)
    assert problem.xpath and problem.xpath.startswith("/")
    if expect.group("word"):
        assert problem.hint is not None and expect.group("word") in problem.hint


@pytest.mark.parametrize("path", sorted(Path("examples").glob("*.xml")), ids=lambda p: p.name)
def test_examples_validate_cleanly(path: Path) -> None:
    errors = [d for d in check_document(Document.from_path(path)) if d.is_error]
    assert errors == []


def test_every_rule_in_the_schema_traces_to_the_reference() -> None:
    text = (Path(__file__).parent.parent / "schemas" / "callflow.xsd").read_text("utf-8")
    # Every named type and group is preceded by a comment citing the reference.
    declarations = re.findall(
        r"(<!--(?:(?!-->).)*-->\s*)?<xs:(?:simpleType|complexType|group) name=\"(\w+)\"",
        text,
        re.DOTALL,
    )
    uncited = [
        name
        for comment, name in declarations
        if "ref:" not in comment and name not in {"ActionBlock", "RecordStopType", "RecordWaitType"}
    ]
    assert uncited == []
