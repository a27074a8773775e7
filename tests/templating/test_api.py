"""The Python API for rendering at request time."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import callflow
from callflow.errors import TemplateError, ValidationError

Write = Callable[[str, str], Path]


def test_render_template_returns_a_document_mapped_to_the_template(write: Write) -> None:
    path = write("hi.xml.j2", "<Response>\n  <Say>{{ name }}</Say>\n</Response>\n")
    document = callflow.render_template(path, {"name": "Ada"})
    assert document.root[0].text == "Ada"
    assert document.locate(document.root[0]).line == 2


def test_render_template_finds_library_templates_by_name() -> None:
    document = callflow.render_template("callflow/voicemail.xml.j2", {"greeting": "Hi."})
    assert [el.tag for el in document.root] == ["Say", "Record", "Say", "Hangup"]


def test_render_template_raises_validation_error_for_schema_problems(write: Write) -> None:
    path = write("bad.xml.j2", '<Response>\n  <Pause length="{{ n }}"/>\n</Response>\n')
    with pytest.raises(ValidationError) as caught:
        callflow.render_template(path, {"n": "soon"})
    (problem,) = caught.value.diagnostics
    assert (problem.code, problem.location.line) == ("CF205", 2)
    document = callflow.render_template(path, {"n": "soon"}, validate=False)
    assert document.root[0].get("length") == "soon"


def test_render_template_raises_template_error_for_undefined(write: Write) -> None:
    path = write("u.xml.j2", "<Response><Say>{{ nope }}</Say></Response>\n")
    with pytest.raises(TemplateError) as caught:
        callflow.render_template(path)
    assert [d.code for d in caught.value.diagnostics] == ["CF602"]


def test_renderer_compiles_each_template_once(write: Write) -> None:
    path = write("hi.xml.j2", "<Response><Say>{{ name }}</Say></Response>\n")
    renderer = callflow.TemplateRenderer([path.parent])
    first = renderer.environment.get_template("hi.xml.j2")
    for name in ("a", "b", "c"):
        assert renderer.render("hi.xml.j2", {"name": name}).root[0].text == name
    assert renderer.environment.get_template("hi.xml.j2") is first


def test_renderer_picks_up_edited_templates(write: Write) -> None:
    import os

    path = write("hi.xml.j2", "<Response><Say>one</Say></Response>\n")
    renderer = callflow.TemplateRenderer([path.parent])
    assert renderer.render("hi.xml.j2").root[0].text == "one"
    path.write_text("<Response><Say>two</Say></Response>\n")
    stat = path.stat()
    os.utime(path, (stat.st_atime, stat.st_mtime + 5))
    assert renderer.render("hi.xml.j2").root[0].text == "two"


def test_booleans_render_as_xml_booleans(write: Write) -> None:
    path = write("r.xml.j2", '<Response><Record asr="{{ on }}"/></Response>\n')
    assert callflow.render_template(path, {"on": True}).root[0].get("asr") == "true"


def test_paths_outside_the_search_path_are_refused(write: Write, tmp_path: Path) -> None:
    renderer = callflow.TemplateRenderer([tmp_path / "elsewhere"])
    with pytest.raises(TemplateError):
        renderer.render(write("x.xml.j2", "<Response/>"))


def test_sample_contexts_render_through_the_api() -> None:
    renderer = callflow.TemplateRenderer()
    document = renderer.render("callflow/business_hours.xml.j2", sample="closed")
    assert document.root[0].tag == "Say"
    assert renderer.header("callflow/business_hours.xml.j2").variables["is_open"].required


def test_one_renderer_serves_concurrent_requests() -> None:
    from concurrent.futures import ThreadPoolExecutor

    renderer = callflow.TemplateRenderer()

    def answer(number: int) -> str:
        context = {"greeting": f"Caller {number}.", "transcribe": number % 2 == 0}
        return renderer.render("callflow/voicemail.xml.j2", context).text

    with ThreadPoolExecutor(max_workers=4) as pool:
        replies = list(pool.map(answer, range(40)))
    for number, reply in enumerate(replies):
        assert f"<Say>Caller {number}.</Say>" in reply
        assert f'asr="{"true" if number % 2 == 0 else "false"}"' in reply


def test_invalid_header_makes_render_raise(write: Write) -> None:
    path = write("h.xml.j2", "{# callflow\nsamples = 1\n#}\n<Response/>\n")
    with pytest.raises(TemplateError) as caught:
        callflow.render_template(path)
    assert [d.code for d in caught.value.diagnostics] == ["CF609"]
