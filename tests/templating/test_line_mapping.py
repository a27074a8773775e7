"""Every line and element of rendered XML points at the template line that produced it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from callflow.schema import load_schema
from callflow.templating import TemplateRenderer

Write = Callable[[str, str], Path]


def render(folder: Path, name: str, context: dict[str, object] | None = None):  # type: ignore[no-untyped-def]
    document, problems = TemplateRenderer([folder]).render_document(name, context or {})
    assert problems == [] and document is not None, problems
    return document


def schema_problems(document):  # type: ignore[no-untyped-def]
    return list(load_schema().iter_diagnostics(document))


def test_plain_template_lines_map_to_themselves(write: Write) -> None:
    path = write("flow.xml.j2", "<Response>\n  <Say>hi</Say>\n  <Hangup/>\n</Response>\n")
    document = render(path.parent, "flow.xml.j2")
    assert [document.source_map.lines[n].line for n in (1, 2, 3, 4)] == [1, 2, 3, 4]
    assert document.source_map.identity is False


def test_loop_output_lines_point_at_the_loop_body(write: Write) -> None:
    path = write(
        "loop.xml.j2",
        "<Response>\n"
        "{% for n in numbers %}\n"
        '  <Pause length="{{ n }}"/>\n'
        "{% endfor %}\n"
        "</Response>\n",
    )
    document = render(path.parent, "loop.xml.j2", {"numbers": [1, "bad", 3]})
    lines = document.source_map.lines
    assert [lines[n].line for n in (2, 3, 4)] == [3, 3, 3]
    assert lines[5].line == 5
    (problem,) = schema_problems(document)
    assert (problem.location.line, problem.location.column) == (3, 10)  # the attribute


def test_conditional_branches_map_to_the_branch_taken(write: Write) -> None:
    path = write(
        "branch.xml.j2",
        "<Response>\n"
        "{% if open %}\n"
        "  <Say>open</Say>\n"
        "{% else %}\n"
        "  <Sya>closed</Sya>\n"
        "{% endif %}\n"
        "</Response>\n",
    )
    assert render(path.parent, "branch.xml.j2", {"open": True}).source_map.lines[2].line == 3
    document = render(path.parent, "branch.xml.j2", {"open": False})
    (problem,) = schema_problems(document)
    assert problem.code == "CF201"
    assert (str(problem.location), problem.location.chain) == (f"{path}:5:4", ())


def test_whitespace_control_joins_lines_without_losing_their_origin(write: Write) -> None:
    path = write(
        "tight.xml.j2",
        "<Response>\n"
        "  <Say>\n"
        "    {%- if x -%}\n"
        "      one\n"
        "    {%- endif -%}\n"
        "  </Say>\n"
        '  <Pause length="{{- bad -}}"/>\n'
        "</Response>\n",
    )
    document = render(path.parent, "tight.xml.j2", {"x": True, "bad": "soon"})
    assert "<Say>one</Say>" in document.text
    (problem,) = schema_problems(document)
    assert problem.location.line == 7


def test_columns_point_inside_the_template_line(write: Write) -> None:
    path = write(
        "cols.xml.j2",
        '<Response>\n  {% if true %}<Gather numDigts="{{ n }}">{% endif %}\n'
        "<Say>x</Say></Gather>\n</Response>\n",
    )
    document = render(path.parent, "cols.xml.j2", {"n": 1})
    (problem,) = schema_problems(document)
    line = path.read_text().splitlines()[1]
    assert problem.location.line == 2
    assert problem.location.column == line.index("numDigts") + 1


def test_lines_after_a_multi_line_value_map_to_the_expression(write: Write) -> None:
    path = write(
        "multi.xml.j2",
        "<Response>\n"
        "{% set block %}\n<Say>a</Say>\n<Say>b</Say>\n<Bad/>\n{% endset %}\n"
        "  {{ block }}\n"
        "  <Hangup/>\n"
        "</Response>\n",
    )
    document = render(path.parent, "multi.xml.j2")
    lines = document.source_map.lines
    hangup_line = document.text.splitlines().index("  <Hangup/>") + 1
    assert lines[hangup_line].line == 8
    (problem,) = schema_problems(document)
    assert problem.code == "CF201"
    assert problem.location.line == 7  # the {{ block }} that printed it


def test_multi_line_string_values_stay_on_their_line(write: Write) -> None:
    path = write("say.xml.j2", "<Response>\n  <Say>{{ text }}</Say>\n  <Hangup/>\n</Response>\n")
    document = render(path.parent, "say.xml.j2", {"text": "one\ntwo\nthree"})
    assert document.root[0].text == "one\ntwo\nthree"
    assert document.source_map.lines[3].line == 3


def test_nested_includes_carry_the_include_chain(write: Write) -> None:
    write("parts/inner.xml.j2", '<Pause length="{{ wait }}"/>\n')
    write("parts/outer.xml.j2", "<Say>before</Say>\n{% include 'parts/inner.xml.j2' %}\n")
    path = write("main.xml.j2", "<Response>\n  {% include 'parts/outer.xml.j2' %}\n</Response>\n")
    document = render(path.parent, "main.xml.j2", {"wait": "later"})
    (problem,) = schema_problems(document)
    assert problem.location.file.endswith("inner.xml.j2")
    assert problem.location.line == 1
    assert problem.location.chain[0].startswith("included from ")
    assert problem.location.chain[0].endswith("outer.xml.j2:2")
    assert problem.location.chain[1].endswith("main.xml.j2:2")


def test_macro_from_another_file_reports_macro_and_call_site(write: Write) -> None:
    write(
        "lib.xml.j2",
        "{% macro menu_option(key, text) %}\n"
        '<Case dtmf="{{ key }}">\n'
        "  <Say>{{ text }}</Say>\n"
        "</Case>\n"
        "{% endmacro %}\n",
    )
    path = write(
        "ivr.xml.j2",
        "{% from 'lib.xml.j2' import menu_option %}\n"
        "<Response>\n"
        '  <Gather numDigits="1">\n'
        "    <Switch>\n"
        "      {{ menu_option('1', 'sales') }}\n"
        "      {{ menu_option('x', 'support') }}\n"
        "    </Switch>\n"
        "  </Gather>\n"
        "</Response>\n",
    )
    document = render(path.parent, "ivr.xml.j2")
    (problem,) = schema_problems(document)
    assert problem.code == "CF205"
    assert problem.location.file.endswith("lib.xml.j2")
    assert problem.location.line == 2
    assert problem.location.chain[0] == "in macro `menu_option`"
    assert problem.location.chain[1].startswith("called from ")
    assert problem.location.chain[1].endswith("ivr.xml.j2:6")


def test_call_block_body_belongs_to_the_caller(write: Write) -> None:
    write(
        "wrap.xml.j2", "{% macro record() %}\n<Record>\n{{ caller() }}\n</Record>\n{% endmacro %}\n"
    )
    path = write(
        "main.xml.j2",
        "{% from 'wrap.xml.j2' import record %}\n<Response>\n"
        "{% call record() %}\n  <Oops/>\n{% endcall %}\n</Response>\n",
    )
    document = render(path.parent, "main.xml.j2")
    (problem,) = schema_problems(document)
    assert (problem.location.line, problem.location.chain) == (4, ())
    assert problem.location.file.endswith("main.xml.j2")


def test_blocks_from_a_child_template_point_at_the_child(write: Write) -> None:
    write(
        "base.xml.j2",
        "<Response>\n  <Say>hello</Say>\n{% block body %}{% endblock %}\n"
        "  <Hangup/>\n</Response>\n",
    )
    path = write(
        "child.xml.j2",
        "{% extends 'base.xml.j2' %}\n{% block body %}\n"
        '  <Pause length="soon"/>\n{% endblock %}\n',
    )
    document = render(path.parent, "child.xml.j2")
    (problem,) = schema_problems(document)
    assert problem.location.file.endswith("child.xml.j2")
    assert problem.location.line == 3
    assert problem.location.chain[0] == "in block `body`"
    assert problem.location.chain[1].endswith("base.xml.j2:3")
    hangup = document.text.splitlines().index("  <Hangup/>") + 1
    assert document.source_map.lines[hangup].file.endswith("base.xml.j2")


def test_filter_block_text_maps_to_the_filter_tag(write: Write) -> None:
    path = write(
        "upper.xml.j2",
        "<Response>\n{% filter upper %}\n  <say>x</say>\n{% endfilter %}\n</Response>\n",
    )
    document = render(path.parent, "upper.xml.j2")
    assert "<SAY>X</SAY>" in document.text
    assert document.source_map.lines[2].line == 2


@pytest.mark.parametrize("sample", ["open", "closed"])
def test_validate_reports_schema_errors_at_template_lines(
    write: Write, run_cli: Callable[..., object], sample: str
) -> None:
    path = write(
        "hours.xml.j2",
        "{# callflow\n[samples.open]\nopen = true\n[samples.closed]\nopen = false\n#}\n"
        "<Response>\n"
        "{% if open %}\n"
        '  <Gather numDigts="1"/>\n'
        "{% else %}\n"
        '  <Pause length="1s"/>\n'
        "{% endif %}\n"
        "</Response>\n",
    )
    result = run_cli("validate", path)
    assert result.code == 1  # type: ignore[attr-defined]
    out = result.out  # type: ignore[attr-defined]
    assert f"{path}:9:11: CF203" in out
    assert f"{path}:11:10: CF205" in out
    assert f"with sample `{sample}`" in out


def test_indenting_or_trimming_macro_output_keeps_the_mapping(write: Write) -> None:
    path = write(
        "filters.xml.j2",
        "{% macro pair() %}\n<Say>a</Say>\n<Sya>b</Sya>\n{% endmacro %}\n"
        "<Response>\n"
        "  {{ pair() | indent(2) }}\n"
        "  {{ pair() | trim }}\n"
        "</Response>\n",
    )
    document = render(path.parent, "filters.xml.j2")
    wrong = [el for el in document.root if el.tag == "Sya"]
    locations = [document.locate(el) for el in wrong]
    assert [(loc.line, loc.chain[0]) for loc in locations] == [(3, "in macro `pair`")] * 2
    assert [loc.chain[1].rsplit(":", 1)[1] for loc in locations] == ["6", "7"]
    assert "<Say>a</Say>\n  <Sya>b</Sya>" in document.text  # indented by the filter


def test_filters_that_rewrite_macro_output_cannot_break_locating(write: Write) -> None:
    path = write(
        "rewrite.xml.j2",
        '{% macro m() %}<Pause length="x"/>{% endmacro %}\n'
        "<Response>\n{{ m() | replace('0', '9') | replace('1', 'z') | upper }}\n</Response>\n",
    )
    document = render(path.parent, "rewrite.xml.j2")
    (problem,) = schema_problems(document)
    assert problem.location.file == str(path)  # somewhere in the template, never an exception
    assert 1 <= problem.location.line <= 4
