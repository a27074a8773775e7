"""A kept template's render (the flow server's fast path, `callflow.templating._prepared`)
gives exactly what `TemplateRenderer.render_marked` gives, for every context."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callflow.templating import PreparedTemplate, prepare_template

HEADERS = {
    "none": "",
    "typed": (
        "{#- callflow\n[variables]\n"
        'count = { type = "integer", default = 2, meaning = "m" }\n'
        'greeting = { type = "string", default = "Hi", meaning = "m" }\n'
        'plain = { type = "anything", default = "p", meaning = "m" }\n'
        "-#}\n"
    ),
    "mistyped default": (
        "{#- callflow\n[variables]\n"
        'count = { type = "integer", default = "two", meaning = "m" }\n-#}\n'
    ),
    "broken": "{#- callflow\n[variables\n-#}\n",
}
BODY = (
    "<Response>\n  <Say>{{ request.from }} {{ greeting | default('-') }}"
    " {{ count | default(0) }} {{ plain | default('') }} {{ is_main() }}</Say>\n"
    "  {% if request.loop is defined %}{% for x in range(10**7) %}{{ x }}{% endfor %}{% endif %}\n"
    "  {% if request.fail is defined and request.fail %}{{ request.missing.nothing }}{% endif %}\n"
    "</Response>\n"
)
NAMES = st.sampled_from(["request", "count", "greeting", "plain", "other", "__callflow_main__"])
VALUES = st.one_of(
    st.text(max_size=8),
    st.integers(-5, 5),
    st.booleans(),
    st.none(),
    st.lists(st.integers(0, 3), max_size=3),
    st.fixed_dictionaries(
        {"from": st.text(max_size=6)}, optional={"fail": st.booleans(), "loop": st.just(True)}
    ),
)
CONTEXTS = st.one_of(
    st.none(),
    st.dictionaries(NAMES, VALUES, max_size=4),
    st.dictionaries(st.integers(0, 2), VALUES, min_size=1, max_size=2),  # names not text
)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, PreparedTemplate]:
    folder = tmp_path_factory.mktemp("prepared")
    kept = {}
    for name, header in HEADERS.items():
        path = folder / f"{name.replace(' ', '_')}.xml.j2"
        path.write_text(header + BODY)
        made = prepare_template(Path(path), header + BODY)
        assert made is not None
        kept[name] = made
    return kept


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(header=st.sampled_from(sorted(HEADERS)), context=CONTEXTS)
def test_a_prepared_render_is_the_plain_render(
    prepared: dict[str, PreparedTemplate], header: str, context: dict[object, object] | None
) -> None:
    template = prepared[header]
    assert template.render(context) == template.render_marked(context)  # type: ignore[arg-type]


def test_the_fast_path_is_taken_for_a_served_request(
    prepared: dict[str, PreparedTemplate], monkeypatch: pytest.MonkeyPatch
) -> None:
    template = prepared["typed"]
    monkeypatch.setattr(
        type(template._renderer), "render_marked", lambda *args, **kwargs: pytest.fail("plain")
    )  # (the renderer's own method: what the fast path must not need)
    rendered = template.render({"request": {"from": "+1"}})
    document, problems = template.parse(rendered)
    assert document is not None and not problems
    assert "<Say>+1 Hi 2 p true</Say>" in document.text
