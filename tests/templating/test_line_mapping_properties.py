"""For all templates: every line of the rendered text maps back to a template line that exists."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callflow.templating import TemplateRenderer

#: Files every generated template may use: a macro library, an include and a base to extend.
LIBRARY = {
    "lib.xml.j2": (
        "{% macro say(text) %}\n<Say>{{ text }}</Say>\n{% endmacro %}\n"
        "{% macro wrap() %}\n<Gather>\n{{ caller() }}\n</Gather>\n{% endmacro %}\n"
    ),
    "part.xml.j2": '<Pause length="{{ n }}"/>\n  <Hangup/>\n',
    "base.xml.j2": "<Response>\n{% block body %}\n  <Say>base</Say>\n{% endblock %}\n</Response>\n",
}

TEXT = st.sampled_from(["<Say>hi</Say>", "  <Hangup/>", "<Pause/>", "", "   ", "text <b>x</b>"])
VALUE = st.sampled_from(["{{ n }}", "{{ word }}", "{{ lines }}", "{{- word -}}", "{{ say(word) }}"])


def _blocks(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        inner.map(lambda body: f"{{% if flag %}}\n{body}\n{{% else %}}\n<Reject/>\n{{% endif %}}"),
        inner.map(lambda body: f"{{% for n in items %}}\n{body}\n{{% endfor %}}"),
        inner.map(lambda body: f"{{% set kept %}}\n{body}\n{{% endset %}}{{{{ kept }}}}"),
        inner.map(lambda body: f"{{% filter upper %}}\n{body}\n{{% endfilter %}}"),
        inner.map(lambda body: f"{{% call wrap() %}}\n{body}\n{{% endcall %}}"),
        inner.map(lambda body: f"{{%- if flag -%}}\n{body}\n{{%- endif -%}}"),
        st.just("{% include 'part.xml.j2' %}"),
    )


LINE = st.one_of(TEXT, VALUE, st.tuples(TEXT, VALUE, TEXT).map("".join))
BODY = st.recursive(
    st.lists(LINE, min_size=1, max_size=4).map("\n".join),
    lambda inner: st.lists(st.one_of(inner, _blocks(inner)), min_size=1, max_size=3).map("\n".join),
    max_leaves=12,
)
HEAD = "{% from 'lib.xml.j2' import say, wrap %}\n"
TEMPLATE = st.one_of(
    BODY.map(lambda body: f"{HEAD}<Response>\n{body}\n</Response>\n"),
    BODY.map(
        lambda body: (
            f"{{% extends 'base.xml.j2' %}}\n{HEAD}{{% block body %}}\n{body}\n{{% endblock %}}\n"
        )
    ),
)
CONTEXT = {"n": 2, "word": "w", "lines": "one\ntwo\nthree", "flag": True, "items": [1, 2]}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(template=TEMPLATE, flag=st.booleans())
def test_every_output_line_maps_to_a_template_line_that_exists(
    tmp_path: Path, template: str, flag: bool
) -> None:
    for name, text in {**LIBRARY, "main.xml.j2": template}.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    renderer = TemplateRenderer([tmp_path], library=False)
    document, _ = renderer.render_document("main.xml.j2", {**CONTEXT, "flag": flag})
    if document is None:  # not well-formed XML (a value glued to a tag): nothing to map
        return
    sizes = {
        str(tmp_path / name): len(text.split("\n"))
        for name, text in {**LIBRARY, "main.xml.j2": template}.items()
    }
    by_name = {Path(file).name: size for file, size in sizes.items()}
    output_lines = document.text.split("\n")
    lines = document.source_map.lines
    assert sorted(lines) == list(range(1, len(output_lines) + 1))
    for number, location in lines.items():
        assert location.file is not None
        size = by_name[Path(location.file).name]
        assert location.line is not None and 1 <= location.line <= size, (number, location)
        column = len(output_lines[number - 1]) or 1
        at = document.source_map.resolve(number, column)
        assert at.line is not None and 1 <= at.line <= by_name[Path(str(at.file)).name]
