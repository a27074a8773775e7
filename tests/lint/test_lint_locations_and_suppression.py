"""Lint findings land where the author wrote them, and inline comments silence them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from callflow.diagnostics import Diagnostic
from callflow.document import Document
from callflow.lint import iter_lint_diagnostics
from callflow.sourcemap import SourceLocation, SourceMap

Lint = Callable[..., list[Diagnostic]]
Write = Callable[[str, str], Path]

GENERATED = """<Response>
  <Say>Hello</Say>
  <Pause length="5"/>
</Response>
"""


def test_findings_on_a_mapped_document_point_into_the_template(write: Write) -> None:
    template = write("menu.xml.j2", "{# line 1 #}\n<Response>\n{{ greet() }}\n{{ pause }}\n")
    source_map = SourceMap(
        str(template),
        identity=False,
        lines={3: SourceLocation(str(template), 4, None, ("in macro `pause`",))},
    )
    document = Document.from_text(GENERATED, str(template), source_map=source_map)
    (found,) = [d for d in iter_lint_diagnostics(document) if d.code == "CF305"]
    assert found.location.file == str(template)
    assert found.location.line == 4
    assert found.location.chain == ("in macro `pause`",)


def test_findings_on_a_builder_document_point_at_the_python_line(write: Write) -> None:
    script = write("flow.py", "flow = Response(\n    Say('Hello'),\n    Pause(length=5),\n)\n")
    source_map = SourceMap(
        str(script),
        identity=False,
        elements={"/Response/Pause": SourceLocation(str(script), 3)},
    )
    document = Document.from_text(GENERATED, str(script), source_map=source_map)
    (found,) = [d for d in iter_lint_diagnostics(document) if d.code == "CF305"]
    assert (found.location.file, found.location.line) == (str(script), 3)


def test_a_python_comment_on_the_builder_line_silences_the_finding(write: Write) -> None:
    script = write(
        "flow.py",
        "flow = Response(\n    Say('Hello'),\n    Pause(length=5),  # callflow: ignore CF305\n)\n",
    )
    source_map = SourceMap(
        str(script), identity=False, elements={"/Response/Pause": SourceLocation(str(script), 3)}
    )
    document = Document.from_text(GENERATED, str(script), source_map=source_map)
    assert [d.code for d in iter_lint_diagnostics(document)] == []


def test_a_jinja_comment_above_the_template_line_silences_the_finding(write: Write) -> None:
    template = write(
        "menu.xml.j2",
        "<Response>\n  <Say>Hello</Say>\n  {# callflow: ignore CF305 #}\n  {{ pause }}\n",
    )
    source_map = SourceMap(
        str(template), identity=False, lines={3: SourceLocation(str(template), 4)}
    )
    document = Document.from_text(GENERATED, str(template), source_map=source_map)
    assert [d.code for d in iter_lint_diagnostics(document)] == []


def test_xml_comment_on_the_same_line_silences_that_line(lint: Lint) -> None:
    body = '<Pause length="5"/> <!-- callflow: ignore CF305 -->\n<Pause length="6"/>'
    found = [d for d in lint(body) if d.code == "CF305"]
    assert [d.location.line for d in found] == [4]


def test_xml_comment_alone_on_its_line_silences_the_next_element(lint: Lint) -> None:
    body = '<!-- callflow: ignore CF305 -->\n<Pause length="5"/>\n<Pause length="6"/>'
    found = [d for d in lint(body) if d.code == "CF305"]
    assert [d.location.line for d in found] == [5]


def test_comment_before_a_multiline_element_covers_its_attributes(lint: Lint) -> None:
    body = '<!-- callflow: ignore CF305 -->\n<Gather\n   timeout="8">\n<Say>m</Say></Gather>'
    assert "CF305" not in {d.code for d in lint(body)}


def test_suppression_names_only_the_codes_it_lists(lint: Lint) -> None:
    body = '<Say text="x">y</Say> <!-- callflow: ignore CF305 -->'
    assert "CF311" in {d.code for d in lint(body)}


def test_several_codes_and_prefixes_may_be_listed(lint: Lint) -> None:
    body = '<Hangup/>\n<!-- callflow: ignore CF301, CF31 -->\n<Say text="x">y</Say>'
    assert {d.code for d in lint(body)} == set()


def test_bare_ignore_silences_every_lint_code_on_the_line(lint: Lint) -> None:
    body = '<Say text="x" loop="500">y</Say> <!-- callflow: ignore -->'
    assert lint(body) == []


def test_ignore_file_silences_a_code_everywhere(lint: Lint) -> None:
    body = (
        '<!-- callflow: ignore-file CF305 -->\n<Pause length="5"/>\n'
        '<Pause length="6"/>\n<Say text="a">b</Say>'
    )
    assert {d.code for d in lint(body)} == {"CF311"}


def test_suppression_in_a_file_on_disk_is_read_from_its_text(write: Write) -> None:
    path = write(
        "flow.xml", '<Response>\n<Pause length="5"/><!-- callflow: ignore -->\n</Response>'
    )
    document = Document.from_path(path)
    assert list(iter_lint_diagnostics(document)) == []


def test_a_comment_before_an_element_applies_across_blank_lines(lint: Lint) -> None:
    body = (
        "<Gather><Say>m</Say>\n"
        "  <!--\n    callflow: ignore CF313\n    callers always press a key\n  -->\n\n"
        '  <Switch><Case dtmf="1"/></Switch>\n'
        "</Gather>"
    )
    assert "CF313" not in {d.code for d in lint(body)}
    assert "CF313" in {d.code for d in lint(body.replace("ignore CF313", "note"))}


def test_a_trailing_comment_does_not_reach_the_next_element(lint: Lint) -> None:
    body = '<Pause length="5"/> <!-- callflow: ignore CF305 -->\n<Pause length="6"/>'
    assert [d.location.line for d in lint(body) if d.code == "CF305"] == [4]


def test_messages_name_the_other_file_when_a_macro_wrote_the_element() -> None:
    source_map = SourceMap(
        "ivr.xml.j2",
        identity=False,
        lines={
            2: SourceLocation("macros.xml.j2", 7, None, ("in macro `bye`",)),
            3: SourceLocation("ivr.xml.j2", 5),
        },
    )
    text = "<Response>\n  <Hangup/>\n  <Say>late</Say>\n</Response>\n"
    document = Document.from_text(text, "ivr.xml.j2", source_map=source_map)
    (found,) = iter_lint_diagnostics(document, select=["CF301"])
    assert (found.location.file, found.location.line) == ("ivr.xml.j2", 5)
    assert "(macros.xml.j2:7)" in found.message
