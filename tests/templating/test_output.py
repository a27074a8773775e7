"""What template values become in the output: the finalizer, and the code generator that writes
``finalize(value)`` without Jinja's ``escape`` around it (`callflow.templating._output`)."""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
import markupsafe
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2.compiler import CodeGenerator

from callflow.errors import TemplateError
from callflow.templating import TemplateRenderer

# private: the finalizer and escaped() have no public name (they are what every value goes
# through, tested here against their definitions)
from callflow.templating._output import ControlCharacters, escaped, finalizer

_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def defined(value: object, policy: ControlCharacters) -> str:
    """The definition: Jinja's ``escape`` of the value's text (a Markup as its own
    ``__html__`` gives it), booleans as call XML spells them, characters XML forbids
    refused or dropped, tab, LF and CR as character references."""
    if isinstance(value, markupsafe.Markup):
        return str(markupsafe.escape(value))
    if isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = value if isinstance(value, str) else str(value)
    if _FORBIDDEN.search(text):
        if policy == "reject":
            raise TemplateError("forbidden")
        text = _FORBIDDEN.sub("", text)
    escaped_text = str(markupsafe.escape(text))
    return escaped_text.translate({9: "&#9;", 10: "&#10;", 13: "&#13;"})


class _Odd(markupsafe.Markup):
    def __html__(self) -> markupsafe.Markup:
        return markupsafe.Markup("odd")


class _Html(str):
    def __html__(self) -> str:
        return "<b>as html</b>"


values = st.one_of(
    st.text(),
    st.text(alphabet="ab&<>'\"\t\n\r\x00\x1f é"),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.none(),
    st.text().map(markupsafe.Markup),
    st.text().map(_Odd),
    st.text().map(_Html),
)


@settings(max_examples=500)
@given(values, st.sampled_from(["reject", "strip"]))
def test_every_value_is_finalized_as_its_definition_says(
    value: object, policy: ControlCharacters
) -> None:
    finalize = finalizer(policy)
    try:
        expected = defined(value, policy)
    except TemplateError:
        with pytest.raises(TemplateError):
            finalize(value)
        return
    result = finalize(value)
    assert isinstance(result, markupsafe.Markup)  # what lets the generator leave escape out
    assert str(result) == expected


@given(st.text())
def test_escaped_is_markupsafe_escape(text: str) -> None:
    result = escaped(text)
    assert type(result) is markupsafe.Markup
    assert result == markupsafe.escape(text)
    assert escaped(_Html(text)) == markupsafe.escape(_Html(text))


TEMPLATES = [
    "<Say>{{ v }}</Say>",
    "<Say>{{ v|safe }}</Say>",
    '<Play url="https://example.com/a/{{ v }}?x={{ v }}#{{ v }}"/>',
    '<Play url="{{ v }}"/>',
    "{% autoescape false %}<Say>{{ v }}</Say>{% endautoescape %}",
    "{% autoescape flag %}<Say>{{ v }}</Say>{% endautoescape %}",
    "{% macro m(x) %}<Say>{{ x }}</Say>{{ caller() }}{% endmacro %}"
    "{% call m(v) %}{{ v }}{% endcall %}",
    "{% set x %}{{ v }}!{% endset %}<Say>{{ x }}{{ x|length }}</Say>",
    "{% for c in v|string %}{{ loop.index }}{{ c }}{% endfor %}",
    "{{ v ~ v }}{{ [v, v]|join(',') }}{{ v|e }}{{ v|urlencode }}",
]


def _renderers(tmp_path: Path, trusted: bool) -> tuple[TemplateRenderer, TemplateRenderer]:
    for number, text in enumerate(TEMPLATES):
        (tmp_path / f"t{number}.xml.j2").write_text(text, encoding="utf-8")
    ours = TemplateRenderer([tmp_path], trusted=trusted, control_characters="strip")
    jinjas = TemplateRenderer([tmp_path], trusted=trusted, control_characters="strip")
    jinjas.environment.code_generator_class = CodeGenerator  # Jinja's escape(finalize(…))
    return ours, jinjas


@pytest.mark.parametrize("trusted", [False, True])
def test_the_generated_code_calls_the_finalizer_alone(tmp_path: Path, trusted: bool) -> None:
    ours, jinjas = _renderers(tmp_path, trusted)
    source = "<Say>{{ v }}</Say>"
    assert "escape(environment.finalize(" in jinjas.environment.compile(source, raw=True)
    code = ours.environment.compile(source, raw=True)
    assert "escape(" not in code and "(environment.finalize(" in code
    # Where escaping is decided at run time, the code is Jinja's.
    volatile = "{% autoescape flag %}{{ v }}{% endautoescape %}"
    assert "(escape if context.eval_ctx.autoescape else str)(" in ours.environment.compile(
        volatile, raw=True
    )


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_templates_render_the_same_text_as_with_jinjas_escape(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    trusted = data.draw(st.booleans())
    ours, jinjas = _renderers(tmp_path_factory.mktemp("t"), trusted)
    value = data.draw(values)
    flag = data.draw(st.booleans())
    for number in range(len(TEMPLATES)):
        name = f"t{number}.xml.j2"
        results = []
        for renderer in (ours, jinjas):
            try:
                results.append(renderer.environment.get_template(name).render(v=value, flag=flag))
            except (jinja2.TemplateError, TypeError) as error:
                results.append(f"{type(error).__name__}: {error}")
        assert results[0] == results[1], name
