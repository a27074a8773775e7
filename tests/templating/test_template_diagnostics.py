"""Bad templates become CF6xx diagnostics at the template line; loading never raises."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from callflow.diagnostics import Severity
from callflow.templating import load_template_sources

Write = Callable[[str, str], Path]
SAMPLE = "{# callflow\n[samples.basic]\nname = 'Ada'\n#}\n"


def only_problem(path: Path):  # type: ignore[no-untyped-def]
    (source,) = load_template_sources(path)
    assert source.document is None
    (problem,) = source.diagnostics
    return problem


def test_syntax_error_is_reported_at_its_line(write: Write) -> None:
    path = write("bad.xml.j2", SAMPLE + "<Response>\n{% if name %}\n<Say/>\n</Response>\n")
    problem = only_problem(path)
    assert problem.code == "CF601"
    assert problem.location.file == str(path)
    assert problem.location.line >= 7  # Jinja notices at the end of the template
    assert "endif" in problem.message


def test_syntax_error_is_reported_even_without_samples(write: Write) -> None:
    path = write("bad.xml.j2", "<Response>\n{{ name }\n</Response>\n")
    (source,) = load_template_sources(path)
    codes = sorted(d.code for d in source.diagnostics)
    assert codes == ["CF601", "CF608"]


def test_template_without_samples_gets_a_warning_saying_how_to_add_one(write: Write) -> None:
    path = write("plain.xml.j2", "<Response><Say>{{ name }}</Say></Response>\n")
    (source,) = load_template_sources(path)
    (warning,) = source.diagnostics
    assert (warning.code, warning.severity) == ("CF608", Severity.WARNING)
    assert warning.hint is not None and "samples." in warning.hint


def test_partial_templates_are_syntax_checked_without_a_warning(write: Write) -> None:
    path = write("part.xml.j2", "{# callflow\npartial = true\n#}\n<Say>{{ x }}</Say>\n")
    (source,) = load_template_sources(path)
    assert source.diagnostics == [] and source.document is None


def test_each_sample_renders_separately_with_a_label(write: Write) -> None:
    path = write(
        "two.xml.j2",
        "{# callflow\n[samples.a]\nn = 1\n[samples.b]\nn = 2\n#}\n"
        "<Response><Pause length='{{ n }}'/></Response>\n",
    )
    sources = load_template_sources(path)
    assert [s.label for s in sources] == [f"{path} [sample: a]", f"{path} [sample: b]"]
    assert [s.document.root[0].get("length") for s in sources if s.document] == ["1", "2"]


def test_undefined_variable_names_the_variable_and_the_line(write: Write) -> None:
    path = write("undef.xml.j2", SAMPLE + "<Response>\n  <Say>{{ greeting }}</Say>\n</Response>\n")
    problem = only_problem(path)
    assert problem.code == "CF602"
    assert "`greeting`" in problem.message
    assert (problem.location.line, problem.location.chain) == (6, ("with sample `basic`",))


def test_given_context_renders_once_with_it(write: Write) -> None:
    path = write("ctx.xml.j2", SAMPLE + "<Response><Say>{{ name }}</Say></Response>\n")
    (source,) = load_template_sources(path, context={"name": "Grace"})
    assert source.document is not None and source.document.root[0].text == "Grace"


def test_error_inside_an_included_file_points_at_that_file(write: Write) -> None:
    write("part.xml.j2", "<Say>\n{% for x in %}\n</Say>\n")
    path = write("main.xml.j2", SAMPLE + "<Response>\n{% include 'part.xml.j2' %}\n</Response>\n")
    problem = only_problem(path)
    assert problem.code == "CF601"
    assert problem.location.file.endswith("part.xml.j2")
    assert problem.location.line == 2
    assert problem.location.chain[0].startswith("included from")
    assert problem.location.chain[0].endswith("main.xml.j2:6")


def test_undefined_inside_an_imported_macro_points_at_the_macro_line(write: Write) -> None:
    write("lib.xml.j2", "{% macro hello() %}\n<Say>{{ missing }}</Say>\n{% endmacro %}\n")
    path = write(
        "main.xml.j2",
        SAMPLE + "{% from 'lib.xml.j2' import hello %}\n<Response>\n{{ hello() }}\n</Response>\n",
    )
    problem = only_problem(path)
    assert problem.code == "CF602"
    assert problem.location.file.endswith("lib.xml.j2")
    assert problem.location.line == 2
    assert problem.location.chain[0].endswith("main.xml.j2:7")


def test_missing_include_is_reported_at_the_include(write: Write) -> None:
    path = write(
        "main.xml.j2", SAMPLE + "<Response>\n{% include 'nowhere.xml.j2' %}\n</Response>\n"
    )
    problem = only_problem(path)
    assert problem.code == "CF603"
    assert "nowhere.xml.j2" in problem.message
    assert problem.location.line == 6


def test_malformed_output_is_reported_at_the_template_line(write: Write) -> None:
    path = write("broken.xml.j2", SAMPLE + "<Response>\n  <Say>{{ name }}</Sya>\n</Response>\n")
    problem = only_problem(path)
    assert problem.code == "CF607"
    assert problem.location.line == 6
    assert "not well-formed" in problem.message


def test_empty_output_is_a_template_problem(write: Write) -> None:
    path = write("empty.xml.j2", SAMPLE + "{% if false %}<Response/>{% endif %}\n")
    assert only_problem(path).code == "CF607"


def test_fail_stops_with_the_author_message(write: Write) -> None:
    path = write(
        "fail.xml.j2", SAMPLE + "<Response>\n{{ fail('no options given') }}\n</Response>\n"
    )
    problem = only_problem(path)
    assert (problem.code, problem.message, problem.location.line) == (
        "CF604",
        "no options given",
        6,
    )


def test_runtime_errors_become_diagnostics(write: Write) -> None:
    path = write("div.xml.j2", SAMPLE + "<Response>\n<Pause length='{{ 1 // 0 }}'/>\n</Response>\n")
    problem = only_problem(path)
    assert problem.code == "CF604"
    assert "ZeroDivisionError" in problem.message


def test_invalid_header_is_reported_at_its_line(write: Write) -> None:
    path = write(
        "header.xml.j2",
        "{# callflow\n[samples.basic]\nname = 'Ada'\nbroken = \n#}\n<Response/>\n",
    )
    (source,) = load_template_sources(path)
    (problem,) = [d for d in source.diagnostics if d.code == "CF609"]
    assert problem.location.line == 4


def test_variables_without_meaning_are_header_problems(write: Write) -> None:
    path = write(
        "vars.xml.j2",
        "{# callflow\n[variables]\nname = { type = 'string' }\n[samples.a]\nname = 'x'\n#}\n"
        "<Response><Say>{{ name }}</Say></Response>\n",
    )
    sources = load_template_sources(path)
    problems = [d for s in sources for d in s.diagnostics]
    assert [p.code for p in problems] == ["CF609"]
    assert problems[0].location.line == 3


def test_header_defaults_fill_missing_variables(write: Write) -> None:
    path = write(
        "defaults.xml.j2",
        "{# callflow\n[variables]\nwho = { type = 'string', default = 'world', meaning = 'x' }\n"
        "[samples.empty]\n#}\n<Response><Say>hello {{ who }}</Say></Response>\n",
    )
    (source,) = load_template_sources(path)
    assert source.document is not None and source.document.root[0].text == "hello world"


def test_missing_file_is_a_diagnostic(tmp_path: Path) -> None:
    (source,) = load_template_sources(tmp_path / "nope.xml.j2")
    assert [d.code for d in source.diagnostics] == ["CF001"]


def test_non_utf8_template_is_a_diagnostic(write: Write, tmp_path: Path) -> None:
    path = tmp_path / "latin.xml.j2"
    path.write_bytes(b"<Response><Say>caf\xe9</Say></Response>")
    (source,) = load_template_sources(path)
    assert [d.code for d in source.diagnostics] == ["CF005"]


def test_is_main_separates_a_flow_from_its_importable_macros(write: Write) -> None:
    write(
        "greet.xml.j2",
        "{% macro hello(who) %}<Say>Hello {{ who }}</Say>{% endmacro %}\n"
        "{% if is_main() %}<Response>{{ hello(name) }}</Response>{% endif %}\n",
    )
    path = write(
        "main.xml.j2",
        SAMPLE + "{% from 'greet.xml.j2' import hello %}<Response>{{ hello('you') }}</Response>\n",
    )
    (source,) = load_template_sources(path)  # importing greet.xml.j2 needs no `name`
    assert source.document is not None, source.diagnostics
    assert source.document.root[0].text == "Hello you"
    (alone,) = load_template_sources(path.parent / "greet.xml.j2", context={"name": "Ada"})
    assert alone.document is not None and alone.document.root[0].text == "Hello Ada"


def test_validating_a_folder_renders_its_templates(
    write: Write, run_cli: Callable[..., object]
) -> None:
    write("flows/ok.xml.j2", SAMPLE + "<Response><Say>{{ name }}</Say></Response>\n")
    bad = write("flows/bad.xml.j2", SAMPLE + "<Response><Sya>{{ name }}</Sya></Response>\n")
    result = run_cli("validate", bad.parent)
    assert result.code == 1  # type: ignore[attr-defined]
    assert f"{bad}:5:12: CF201" in result.out  # type: ignore[attr-defined]
    assert "2 files checked" in result.err  # type: ignore[attr-defined]


def test_pre_commit_hook_selects_templates_by_name() -> None:
    hooks = (Path(__file__).resolve().parents[2] / ".pre-commit-hooks.yaml").read_text()
    entry = hooks[hooks.index("- id: callflow-templates") :]
    assert "entry: callflow validate" in entry
    assert "files: '\\.xml\\.j2$'" in entry


def test_syntax_errors_are_reported_once_however_many_samples(write: Write) -> None:
    path = write(
        "many.xml.j2",
        "{# callflow\n[samples.a]\n[samples.b]\n[samples.c]\n#}\n<Response>{{ x }</Response>\n",
    )
    problems = [d for s in load_template_sources(path) for d in s.diagnostics]
    assert [(p.code, p.location.line) for p in problems] == [("CF601", 6)]


def test_xml_declaration_after_the_header_is_kept(write: Write) -> None:
    path = write(
        "decl.xml.j2",
        "{#- callflow\n[samples.a]\n-#}\n"
        '<?xml version="1.0" encoding="ISO-8859-1"?>\n<Response><Say>é</Say></Response>\n',
    )
    (source,) = load_template_sources(path)
    assert source.document is not None, source.diagnostics
    assert source.document.root[0].text == "é"
    assert source.document.text.startswith('<?xml version="1.0" encoding="UTF-8"?>')


def test_unknown_filters_are_syntax_errors_at_their_line(write: Write) -> None:
    path = write("f.xml.j2", SAMPLE + "<Response>\n<Say>{{ name | shout }}</Say>\n</Response>\n")
    problem = only_problem(path)
    assert (problem.code, problem.location.line) == ("CF601", 6)
    assert "shout" in problem.message


def test_missing_parent_template_is_reported(write: Write) -> None:
    path = write("child.xml.j2", SAMPLE + "{% extends 'nowhere.xml.j2' %}\n")
    problem = only_problem(path)
    assert (problem.code, problem.location.line) == ("CF603", 5)
