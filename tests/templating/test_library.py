"""The bundled library: every sample validates, every template documents itself."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from callflow.check import check_document
from callflow.templating import library_path, library_templates, load_template_sources

LIBRARY = sorted(library_path().glob("*.xml.j2"))
REQUIRED = {
    "ivr_menu",
    "business_hours",
    "voicemail",
    "call_forwarding",
    "language_selection",
    "survey",
    "dynamic_menu",
}


def test_library_has_the_promised_flows() -> None:
    names = {p.name.removesuffix(".xml.j2") for p in LIBRARY}
    assert names >= REQUIRED


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.name)
def test_every_sample_of_every_library_template_validates(path: Path) -> None:
    sources = load_template_sources(path)
    assert sources, path
    for source in sources:
        assert source.document is not None, (source.label, source.diagnostics)
        problems = source.diagnostics + check_document(source.document)
        assert problems == [], (source.label, problems)


@pytest.mark.parametrize("template", library_templates(), ids=lambda t: t.name)
def test_every_library_template_documents_variables_macros_and_samples(template) -> None:  # type: ignore[no-untyped-def]
    header = template.header
    assert header.title and header.description
    assert header.variables and header.samples and template.macros
    for variable in header.variables.values():
        assert variable.type and variable.meaning


def test_library_macros_are_usable_from_a_user_template(write: Callable[[str, str], Path]) -> None:
    path = write(
        "mine.xml.j2",
        "{# callflow\n[samples.basic]\n#}\n"
        '{% from "callflow/ivr_menu.xml.j2" import menu %}\n'
        '{% from "callflow/voicemail.xml.j2" import voicemail %}\n'
        "<Response>\n"
        "{{ menu([{'key': '1', 'label': 'sales', 'actions': [{'dial': '+15550100'}]}], 'Hi.') }}\n"
        "{{ voicemail('Leave a message.', transcribe=true) }}\n"
        "</Response>\n",
    )
    (source,) = load_template_sources(path)
    assert source.document is not None, source.diagnostics
    assert check_document(source.document) == []
    assert [el.tag for el in source.document.root] == ["Gather", "Say", "Record", "Say", "Hangup"]


def test_a_wrong_value_for_a_library_macro_is_reported_at_the_users_call(
    write: Callable[[str, str], Path],
) -> None:
    path = write(
        "mine.xml.j2",
        "{# callflow\n[samples.basic]\n#}\n"
        '{% from "callflow/actions.xml.j2" import actions %}\n'
        "<Response>\n{{ actions([{'dial': 'not a number'}]) }}\n</Response>\n",
    )
    (source,) = load_template_sources(path)
    assert source.document is not None
    (problem,) = check_document(source.document)
    # Reported where the user wrote the call, with the library's part in the chain.
    assert (problem.location.file, problem.location.line) == (str(path), 6)
    assert problem.location.chain[0].startswith("in macro `dial_target` (callflow/actions.xml.j2:")
    assert problem.location.chain[-1] == "with sample `basic`"


def test_extending_the_layout_fills_its_blocks(write: Callable[[str, str], Path]) -> None:
    path = write(
        "child.xml.j2",
        "{# callflow\n[samples.basic]\n#}\n"
        '{% extends "callflow/layout.xml.j2" %}\n'
        '{% block flow %}\n  <Say>Inside.</Say>\n  <Pause length="two"/>\n{% endblock %}\n',
    )
    (source,) = load_template_sources(path)
    assert source.document is not None, source.diagnostics
    assert [el.tag for el in source.document.root] == ["Answer", "Say", "Pause", "Hangup"]
    (problem,) = check_document(source.document)
    assert (Path(problem.location.file).name, problem.location.line) == ("child.xml.j2", 7)


def test_templates_command_lists_every_template_and_its_variables(
    run_cli: Callable[..., object],
) -> None:
    result = run_cli("templates")
    assert result.code == 0  # type: ignore[attr-defined]
    out = result.out  # type: ignore[attr-defined]
    for template in library_templates():
        assert template.name in out
        for name in template.header.variables:
            assert f"  {name}: " in out


def test_templates_command_shows_one_template_as_json(run_cli: Callable[..., object]) -> None:
    import json

    result = run_cli("templates", "voicemail", "--json")
    (entry,) = json.loads(result.out)  # type: ignore[attr-defined]
    assert entry["name"] == "callflow/voicemail.xml.j2"
    greeting = next(v for v in entry["variables"] if v["name"] == "greeting")
    assert greeting["required"] is True
    assert "voicemail" in entry["macros"]


def test_templates_command_rejects_unknown_names(run_cli: Callable[..., object]) -> None:
    result = run_cli("templates", "nope")
    assert result.code == 2  # type: ignore[attr-defined]


def test_layout_frame_macro_wraps_a_call_body(write: Callable[[str, str], Path]) -> None:
    path = write(
        "framed.xml.j2",
        "{# callflow\n[samples.basic]\n#}\n"
        '{% from "callflow/layout.xml.j2" import frame %}\n'
        '{% call frame(greeting="Hello.") %}\n  <Say>Body.</Say>\n{% endcall %}\n',
    )
    (source,) = load_template_sources(path)
    assert source.document is not None, source.diagnostics
    assert [el.tag for el in source.document.root] == ["Answer", "Say", "Say", "Hangup"]
    assert source.document.locate(source.document.root[2]).line == 6


def test_validate_accepts_the_whole_library_folder(run_cli: Callable[..., object]) -> None:
    result = run_cli("validate", library_path())
    assert result.code == 0, result  # type: ignore[attr-defined]
    assert "no problems" in result.err  # type: ignore[attr-defined]


def test_failures_inside_library_macros_are_reported_at_the_users_line(
    write: Callable[[str, str], Path],
) -> None:
    path = write(
        "mine.xml.j2",
        "{# callflow\n[samples.basic]\n#}\n"
        '{% from "callflow/actions.xml.j2" import say %}\n'
        "<Response>\n{{ say(words) }}\n</Response>\n",
    )
    (source,) = load_template_sources(path)
    (problem,) = source.diagnostics
    assert (problem.code, problem.location.file, problem.location.line) == ("CF602", str(path), 6)


def test_bad_values_inside_library_macros_point_at_the_users_call(
    write: Callable[[str, str], Path],
) -> None:
    path = write(
        "mine.xml.j2",
        '{# callflow\n[samples.basic]\ntext = "ring\\u0007"\n#}\n'
        '{% from "callflow/actions.xml.j2" import say %}\n'
        "<Response>\n{{ say(text) }}\n</Response>\n",
    )
    (source,) = load_template_sources(path)
    (problem,) = source.diagnostics
    assert (problem.code, problem.location.file, problem.location.line) == ("CF606", str(path), 7)
    assert problem.location.chain[0].startswith("in callflow/actions.xml.j2:")
