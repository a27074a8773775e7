"""Hostile values render as text; the sandbox keeps untrusted templates away from Python."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callflow.errors import TemplateError
from callflow.schema import load_schema
from callflow.templating import TemplateRenderer

Write = Callable[[str, str], Path]

TEMPLATE = (
    '<Response>\n  <Say lang="en-US">{{ text }}</Say>\n  <Hangup tag="{{ text }}"/>\n</Response>\n'
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    (folder / "say.xml.j2").write_text(TEMPLATE, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def renderer(folder: Path) -> TemplateRenderer:
    return TemplateRenderer([folder])


def spoken(renderer: TemplateRenderer, text: str) -> tuple[str, str]:
    document = renderer.render("say.xml.j2", {"text": text})
    say, hangup = document.root
    return say.text or "", hangup.get("tag") or ""


def test_injected_tags_stay_text(renderer: TemplateRenderer) -> None:
    hostile = "</Say><Dial><To>19005550100</To></Dial><Say>"
    document = renderer.render("say.xml.j2", {"text": hostile})
    assert [el.tag for el in document.root] == ["Say", "Hangup"]
    assert spoken(renderer, hostile) == (hostile, hostile)


def test_quotes_and_ampersands_cannot_break_attributes(renderer: TemplateRenderer) -> None:
    hostile = '" onload="x" a=\'b\' &amp; & <'
    document = renderer.render("say.xml.j2", {"text": hostile})
    assert dict(document.root[1].attrib) == {"tag": hostile}


def test_control_characters_are_refused_with_a_located_diagnostic(
    renderer: TemplateRenderer,
) -> None:
    document, problems = renderer.render_document("say.xml.j2", {"text": "ring\x07ring"})
    assert document is None
    (problem,) = problems
    assert problem.code == "CF606"
    assert "U+0007" in problem.message
    assert problem.location.line == 2


def test_control_characters_can_be_stripped_instead(folder: Path) -> None:
    renderer = TemplateRenderer([folder], control_characters="strip")
    assert spoken(renderer, "ring\x07\x01\x02ring\x00") == ("ringring", "ringring")


def test_render_raises_template_error_with_diagnostics(renderer: TemplateRenderer) -> None:
    with pytest.raises(TemplateError) as caught:
        renderer.render("say.xml.j2", {"text": "\x0b"})
    assert [d.code for d in caught.value.diagnostics] == ["CF606"]


def test_very_long_values_render_as_text(renderer: TemplateRenderer) -> None:
    long_text = "<&>" * 20_000
    assert spoken(renderer, long_text) == (long_text, long_text)


def test_output_over_the_size_limit_is_a_clear_diagnostic(renderer: TemplateRenderer) -> None:
    document, problems = renderer.render_document("say.xml.j2", {"text": "x" * 600_000})
    assert document is None
    assert [p.code for p in problems] == ["CF006"]


def test_marker_characters_in_template_text_cannot_fake_locations(write: Write) -> None:
    path = write("odd.xml.j2", "<Response>\x010\x02<Say>x</Say></Response>\n")
    document, problems = TemplateRenderer([path.parent]).render_document("odd.xml.j2")
    assert document is None
    assert [p.code for p in problems] == ["CF607"]
    assert problems[0].location.line == 1


@settings(max_examples=100, deadline=None)
@given(text=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60))
def test_any_string_round_trips_through_text_and_attributes(
    renderer: TemplateRenderer, text: str
) -> None:
    clean = "".join(
        c
        for c in text
        if c in "\t\n\r"
        or 0x20 <= ord(c) <= 0xD7FF
        or 0xE000 <= ord(c) <= 0xFFFD
        or ord(c) >= 0x10000
    )
    assert spoken(renderer, clean) == (clean, clean)


@settings(max_examples=50, deadline=None)
@given(text=st.text(max_size=30))
def test_any_string_renders_valid_xml_or_a_clear_diagnostic(
    renderer: TemplateRenderer, text: str
) -> None:
    document, problems = renderer.render_document("say.xml.j2", {"text": text})
    if document is None:
        assert [p.code for p in problems] == ["CF606"]
    else:
        assert problems == [] and load_schema().is_valid(document)


SANDBOX_ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ (lambda: 0) }}",
    "{{ text.__class__ }}",
    "{{ self._TemplateReference__context }}",
]


@pytest.mark.parametrize("expression", SANDBOX_ESCAPES)
def test_sandbox_refuses_python_internals(write: Write, expression: str) -> None:
    path = write("evil.xml.j2", f"<Response>\n<Say>{expression}</Say>\n</Response>\n")
    renderer = TemplateRenderer([path.parent], sandboxed=True)
    document, problems = renderer.render_document("evil.xml.j2", {"text": "x"})
    assert document is None
    (problem,) = problems
    assert problem.code in ("CF605", "CF601")
    assert problem.location.line == 2


def test_sandbox_refusal_is_named_as_such(write: Write) -> None:
    path = write("evil.xml.j2", "<Response><Say>{{ ''.__class__.__mro__ }}</Say></Response>\n")
    _, problems = TemplateRenderer([path.parent], sandboxed=True).render_document("evil.xml.j2")
    assert [p.code for p in problems] == ["CF605"]
    assert "unsafe" in problems[0].message


def test_sandbox_still_renders_ordinary_templates(write: Write) -> None:
    path = write("ok.xml.j2", "<Response><Say>{{ items | join(', ') | upper }}</Say></Response>\n")
    renderer = TemplateRenderer([path.parent], sandboxed=True)
    document = renderer.render("ok.xml.j2", {"items": ["a", "b"]})
    assert document.root[0].text == "A, B"


def test_loader_cannot_leave_the_search_path(write: Write) -> None:
    write("secret.txt", "password")
    path = write(
        "sub/t.xml.j2",
        "{# callflow\n#}<Response><Say>{% include '../secret.txt' %}</Say></Response>",
    )
    _, problems = TemplateRenderer([path.parent]).render_document("t.xml.j2")
    assert [p.code for p in problems] == ["CF603"]


def test_lone_surrogates_are_refused(renderer: TemplateRenderer) -> None:
    _, problems = renderer.render_document("say.xml.j2", {"text": "a\ud800b"})
    assert [p.code for p in problems] == ["CF606"]
    assert "U+D800" in problems[0].message


@pytest.mark.parametrize(
    "name", ["from", "dtmf", "missing", "items", "get", "__class__", "__init__", "mro", "keys"]
)
def test_a_dict_looked_up_by_attribute_gives_what_jinjas_own_lookup_gives(name: str) -> None:
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    from callflow.templating._sandbox import BoundedSandbox

    environment = BoundedSandbox(undefined=jinja2.StrictUndefined)
    request = {"from": "+1555", "dtmf": "1", "keys": "a key"}
    ours = environment.getattr(request, name)
    jinjas = ImmutableSandboxedEnvironment.getattr(environment, request, name)
    if isinstance(jinjas, jinja2.Undefined):
        assert type(ours) is type(jinjas) and ours._undefined_name == jinjas._undefined_name
        assert ours._undefined_hint == jinjas._undefined_hint
    else:
        assert ours == jinjas
