"""TwiML templates: the XML skeleton converts, Jinja passes through, the rest is located."""

from __future__ import annotations

from pathlib import Path

import jinja2
import jinja2.sandbox
import pytest

from callflow import convert_twiml_template
from callflow.document import Document
from callflow.schema import load_schema

MENU = """<Response>
  <Say voice="man">Welcome to {{ company }}.</Say>
  {% if open %}
  <Gather action="{{ app }}/menu" numDigits="1" timeout="{{ wait }}">
    {% for option in options %}<Say>Press {{ loop.index }} for {{ option }}.</Say>{% endfor %}
  </Gather>
  {% else %}
  <Say>We are closed.</Say>
  {% endif %}
  <Redirect>{{ app }}/start</Redirect>
</Response>
"""


def render(text: str, **context: object) -> Document:
    environment = jinja2.sandbox.SandboxedEnvironment(undefined=jinja2.StrictUndefined)
    return Document.from_text(environment.from_string(text).render(**context))


def test_the_converted_template_renders_valid_opentact_xml_for_each_branch() -> None:
    conversion = convert_twiml_template(MENU, filename="menu.xml.j2")
    assert conversion.ok and conversion.text is not None
    for is_open in (True, False):
        document = render(
            conversion.text,
            company="Acme",
            open=is_open,
            app="https://app.example.com",
            wait=4,
            options=["sales", "support"],
        )
        assert list(load_schema().iter_diagnostics(document)) == []


def test_jinja_constructs_pass_through_unchanged() -> None:
    conversion = convert_twiml_template(MENU, filename="menu.xml.j2")
    assert conversion.text is not None
    for construct in (
        "{% if open %}",
        "{% for option in options %}",
        "{{ company }}",
        "{% endif %}",
    ):
        assert construct in conversion.text


def test_a_duration_expression_is_scaled_to_milliseconds() -> None:
    conversion = convert_twiml_template(MENU, filename="menu.xml.j2")
    assert conversion.text is not None
    document = render(
        conversion.text, company="A", open=True, app="https://a.example", wait=4, options=["x"]
    )
    gather = document.root.find("Gather")
    assert gather is not None and gather.get("timeout") == "4000"


def test_the_report_is_at_the_template_line() -> None:
    conversion = convert_twiml_template(
        "<Response>\n  {% if x %}\n  <Enqueue>q</Enqueue>\n  {% endif %}\n</Response>",
        filename="q.xml.j2",
    )
    (dropped,) = conversion.diagnostics
    assert (dropped.code, dropped.location.file, dropped.location.line) == ("CF1001", "q.xml.j2", 3)
    assert conversion.text is not None and "{% if x %}" in conversion.text


def test_jinja_that_builds_attributes_is_refused_at_its_line() -> None:
    conversion = convert_twiml_template(
        '<Response>\n<Say {% if m %}voice="man"{% endif %}>Hi</Say>\n</Response>',
        filename="a.xml.j2",
    )
    assert not conversion.ok and conversion.text is None
    assert [(d.code, d.location.line, d.location.column) for d in conversion.diagnostics] == [
        ("CF1007", 2, 6),
        ("CF1007", 2, 27),
    ]


def test_jinja_that_builds_a_tag_name_is_refused() -> None:
    conversion = convert_twiml_template("<Response><{{ verb }}/></Response>", filename="t.xml.j2")
    assert not conversion.ok
    assert "tag name" in conversion.diagnostics[0].message


def test_a_jinja_tag_splitting_an_element_is_refused_at_its_line() -> None:
    conversion = convert_twiml_template(
        '<Response>\n{% if a %}<Gather>{% else %}<Gather numDigits="2">{% endif %}\n'
        "<Say>x</Say>\n</Gather>\n</Response>",
        filename="s.xml.j2",
    )
    assert not conversion.ok
    (problem,) = conversion.diagnostics
    assert problem.code == "CF1007" and problem.location.line == 5


def test_multi_line_constructs_keep_the_lines_of_what_follows() -> None:
    conversion = convert_twiml_template(
        "<Response>\n{% set greeting =\n   'hello' %}\n<Conference>x</Conference>\n</Response>",
        filename="m.xml.j2",
    )
    (dropped,) = conversion.diagnostics
    assert dropped.location.line == 4


def test_a_string_in_an_attribute_construct_is_requoted_to_fit_the_attribute() -> None:
    conversion = convert_twiml_template(
        "<Response><Pause length='{{ p | default(\"2\") }}'/></Response>", filename="q.xml.j2"
    )
    assert conversion.text is not None
    document = render(conversion.text)
    pause = document.root.find("Pause")
    assert pause is not None and pause.get("length") == "2000"


def test_a_construct_with_both_quotes_in_an_attribute_is_refused() -> None:
    conversion = convert_twiml_template(
        "<Response><Say language='{{ \"it's\" }}'>x</Say></Response>", filename="q.xml.j2"
    )
    assert [d.code for d in conversion.diagnostics] == ["CF1007"]
    assert conversion.text is None


def test_the_converted_corpus_template_loads_through_the_front_door(tmp_path: Path) -> None:
    from callflow.sources import load_flow

    source = Path(__file__).resolve().parents[1] / "data" / "twiml" / "ivr.twiml.j2"
    conversion = convert_twiml_template(
        source.read_text("utf-8"), base_url="https://app.example.com/", filename=source.name
    )
    assert conversion.text is not None
    converted = tmp_path / "ivr.xml.j2"
    converted.write_text(conversion.text, encoding="utf-8")
    context = {
        "company": "Acme",
        "open": True,
        "app_url": "https://app.example.com",
        "wait_seconds": 3,
        "options": ["sales"],
        "pause": 1,
        "operator": "+14155550100",
    }
    document = load_flow(converted, context=context)
    assert list(load_schema().iter_diagnostics(document)) == []
    gather = document.root.find("Gather")
    assert gather is not None and gather.get("timeout") == "3000"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ('<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><Response>&x;</Response>', "CF103"),
        ("<Response>{% if a %}<Say>x</Response>", "CF1007"),
        ("", "CF003"),
    ],
    ids=["xxe", "unclosed", "empty"],
)
def test_hostile_templates_are_refused_with_a_diagnostic(text: str, code: str) -> None:
    conversion = convert_twiml_template(text, filename="h.xml.j2")
    assert conversion.text is None
    assert code in [d.code for d in conversion.diagnostics]


def test_bytes_that_are_not_utf8_are_refused() -> None:
    conversion = convert_twiml_template(b"<Response>\xff</Response>", filename="b.xml.j2")
    assert conversion.text is None and conversion.diagnostics


def test_a_template_holding_placeholder_characters_is_refused() -> None:
    conversion = convert_twiml_template("<Response>\ue0000\ue001</Response>", filename="p.j2")
    assert conversion.text is None
    assert [d.code for d in conversion.diagnostics] == ["CF1006"]
