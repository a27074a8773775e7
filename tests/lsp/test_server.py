"""`callflow lsp` through a real LSP client over JSON-RPC, the server in a subprocess."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

pytestmark = pytest.mark.asyncio

Check = Callable[[Sequence[types.Diagnostic]], bool]


async def diagnostics_for(
    client: LanguageClient, uri: str, ready: Check = lambda found: True, timeout: float = 20
) -> list[types.Diagnostic]:
    """The diagnostics published for ``uri`` once they satisfy ``ready``."""

    async def wait() -> list[types.Diagnostic]:
        while True:
            found = client.diagnostics.get(uri)
            if found is not None and ready(found):
                return list(found)
            await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)

    return await asyncio.wait_for(wait(), timeout)


def open_buffer(client: LanguageClient, path: Path, text: str, version: int = 1) -> str:
    uri = path.as_uri()
    language = "python" if path.suffix == ".py" else "jinja" if path.suffix == ".j2" else "xml"
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, language, version, text))
    )
    return uri


def change_buffer(client: LanguageClient, uri: str, text: str, version: int) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            [types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


def codes(found: Sequence[types.Diagnostic]) -> list[object]:
    return [d.code for d in found]


def position(text: str, marker: str, after: int = 0) -> types.Position:
    offset = text.index(marker) + after
    line = text.count("\n", 0, offset)
    return types.Position(line, offset - (text.rfind("\n", 0, offset) + 1))


BAD_ATTRIBUTE = '<Response>\n  <Pause lenght="500"/>\n</Response>\n'
CLEAN = '<Response>\n  <Pause length="500"/>\n</Response>\n'


# ---------------------------------------------------------------- diagnostics


async def test_open_publishes_schema_problems_with_code_severity_hint_and_docs_link(
    client: LanguageClient, tmp_path: Path
) -> None:
    uri = open_buffer(client, tmp_path / "flow.xml", BAD_ATTRIBUTE)
    found = await diagnostics_for(client, uri, lambda f: bool(f))
    (problem,) = found
    assert problem.code == "CF203"
    assert problem.severity == types.DiagnosticSeverity.Error
    assert problem.range.start == types.Position(1, 9)
    assert problem.code_description is not None
    assert problem.code_description.href.endswith("reference/diagnostics/#cf203")
    hints = [r.message for r in problem.related_information or ()]
    assert any("length" in hint for hint in hints)


async def test_ranges_count_utf16_code_units(client: LanguageClient, tmp_path: Path) -> None:
    text = '<Response>\n  <Say>😀</Say><Pause lenght="5"/>\n</Response>\n'
    uri = open_buffer(client, tmp_path / "flow.xml", text)
    (problem,) = await diagnostics_for(client, uri, lambda f: bool(f))
    before = text.splitlines()[1].split("lenght")[0]  # the emoji is two UTF-16 code units
    assert len(before) == 21
    assert problem.range.start == types.Position(1, 22)


async def test_a_broken_callflow_table_is_reported_not_fatal(
    client: LanguageClient, tmp_path: Path
) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.callflow]\nignore = "CF301"\nbogus = 1\n')
    uri = open_buffer(client, tmp_path / "flow.xml", CLEAN)
    found = await diagnostics_for(client, uri, lambda f: bool(f))
    assert found[0].severity == types.DiagnosticSeverity.Error
    assert "pyproject.toml" in found[0].message or "tool.callflow" in found[0].message


async def test_closing_a_buffer_clears_its_diagnostics(
    client: LanguageClient, tmp_path: Path
) -> None:
    uri = open_buffer(client, tmp_path / "flow.xml", BAD_ATTRIBUTE)
    await diagnostics_for(client, uri, lambda f: bool(f))
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri))
    )
    assert await diagnostics_for(client, uri, lambda f: not f) == []


async def test_the_unsaved_buffer_is_checked_not_the_file_on_disk(
    client: LanguageClient, tmp_path: Path
) -> None:
    path = tmp_path / "flow.xml"
    path.write_text(CLEAN)
    uri = open_buffer(client, path, BAD_ATTRIBUTE)
    assert codes(await diagnostics_for(client, uri, lambda f: bool(f))) == ["CF203"]


async def test_every_change_is_checked_and_the_newest_version_wins(
    client: LanguageClient, tmp_path: Path
) -> None:
    uri = open_buffer(client, tmp_path / "flow.xml", CLEAN)
    assert await diagnostics_for(client, uri) == []
    for version in range(2, 8):  # a burst of edits: only the last one counts
        change_buffer(client, uri, BAD_ATTRIBUTE.replace("500", str(version)), version)
    change_buffer(client, uri, '<Response>\n  <Hangup bogus="1"/>\n</Response>\n', 8)
    found = await diagnostics_for(
        client, uri, lambda f: bool(f) and "bogus" in f[0].message, timeout=10
    )
    assert codes(found) == ["CF203"]
    change_buffer(client, uri, CLEAN, 9)
    assert await diagnostics_for(client, uri, lambda f: not f) == []


async def test_lint_findings_are_warnings_and_the_pyproject_table_applies(
    client: LanguageClient, tmp_path: Path
) -> None:
    flow = "<Response>\n  <Hangup/>\n  <Say>never heard</Say>\n</Response>\n"
    uri = open_buffer(client, tmp_path / "a" / "flow.xml", flow)
    found = await diagnostics_for(client, uri, lambda f: bool(f))
    assert codes(found) == ["CF301"]
    assert found[0].severity == types.DiagnosticSeverity.Warning
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "pyproject.toml").write_text('[tool.callflow]\nignore = ["CF301"]\n')
    other = open_buffer(client, tmp_path / "b" / "flow.xml", flow)
    assert await diagnostics_for(client, other) == []


async def test_an_inline_suppression_in_the_buffer_silences_its_rule(
    client: LanguageClient, tmp_path: Path
) -> None:
    flow = (
        "<Response>\n  <Hangup/>\n  <!-- callflow: ignore CF301 -->\n"
        "  <Say>never heard</Say>\n</Response>\n"
    )
    uri = open_buffer(client, tmp_path / "flow.xml", flow)
    assert await diagnostics_for(client, uri) == []


async def test_an_inline_suppression_in_an_unsaved_template_silences_its_rule(
    client: LanguageClient, tmp_path: Path
) -> None:
    text = (
        '{# callflow\n[samples.basic]\nx = "1"\n#}\n<Response>\n  <Hangup/>\n'
        "  <Say>{{ x }}</Say>\n</Response>\n"
    )
    path = tmp_path / "t.xml.j2"
    path.write_text(text)
    uri = open_buffer(client, path, text)
    assert codes(await diagnostics_for(client, uri, lambda f: bool(f))) == ["CF301"]
    silenced = text.replace("  <Say>", "  {# callflow: ignore CF301 #}\n  <Say>")
    change_buffer(client, uri, silenced, 2)
    assert await diagnostics_for(client, uri, lambda f: not f) == []


TEMPLATE = textwrap.dedent(
    """\
    {# callflow
    [samples.basic]
    greeting = "Hello"
    [samples.other]
    greeting = "Hi"
    #}
    <Response>
      {% include "part.xml.j2" %}
      <Say>{{ greeting }}</Say>
    </Response>
    """
)
PARTIAL = '{# callflow partial = true #}\n<Pause lenght="1"/>\n'


async def test_a_template_problem_appears_at_the_template_line(
    client: LanguageClient, tmp_path: Path
) -> None:
    (tmp_path / "part.xml.j2").write_text("{# callflow partial = true #}\n<Pause/>\n")
    text = TEMPLATE.replace("<Say>{{ greeting }}</Say>", '<Say loop="0">{{ greeting }}</Say>')
    uri = open_buffer(client, tmp_path / "menu.xml.j2", text)
    found = await diagnostics_for(client, uri, lambda f: bool(f))
    assert codes(found) == ["CF205"]  # once, although both samples render it
    assert found[0].range.start.line == 8


async def test_a_problem_in_a_partial_appears_on_the_partial_and_on_the_include_line(
    client: LanguageClient, tmp_path: Path
) -> None:
    partial = tmp_path / "part.xml.j2"
    partial.write_text(PARTIAL)
    uri = open_buffer(client, tmp_path / "menu.xml.j2", TEMPLATE)
    on_partial = await diagnostics_for(client, partial.as_uri(), lambda f: bool(f))
    assert codes(on_partial) == ["CF203"]
    assert on_partial[0].range.start.line == 1
    on_template = await diagnostics_for(client, uri, lambda f: bool(f))
    assert codes(on_template) == ["CF203"]
    assert on_template[0].range.start.line == 7  # the {% include %} line
    assert "part.xml.j2" in on_template[0].message


async def test_a_template_syntax_error_in_the_buffer_is_reported(
    client: LanguageClient, tmp_path: Path
) -> None:
    (tmp_path / "part.xml.j2").write_text("{# callflow partial = true #}\n<Pause/>\n")
    uri = open_buffer(client, tmp_path / "menu.xml.j2", TEMPLATE.replace("%}\n  <Say", "\n  <Say"))
    found = await diagnostics_for(client, uri, lambda f: bool(f))
    assert "CF601" in codes(found)


async def test_a_builder_script_is_checked_on_save_not_on_change(
    client: LanguageClient, tmp_path: Path
) -> None:
    script = tmp_path / "flow.py"
    script.write_text("from callflow.dsl import Hangup, Response\nflow = Response(Hangup())\n")
    uri = open_buffer(client, script, script.read_text())
    assert await diagnostics_for(client, uri) == []
    broken = "import callflow\nraise RuntimeError('boom')\n"
    change_buffer(client, uri, broken, 2)
    await asyncio.sleep(0.5)
    assert list(client.diagnostics[uri]) == []  # the change ran nothing
    script.write_text(broken)
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(uri))
    )
    found = await diagnostics_for(client, uri, lambda f: bool(f))
    assert codes(found) == ["CF702"]
    assert found[0].range.start.line == 1  # the line that raised


async def test_a_builder_script_runs_in_a_child_process_that_cannot_disturb_the_server(
    client: LanguageClient, tmp_path: Path
) -> None:
    script = tmp_path / "noisy.py"
    script.write_text(
        "import os, sys\nfrom callflow.dsl import Hangup, Response\n"
        "print('Content-Length: 5')\nos.write(1, b'junk')\nflow = Response(Hangup(), tag=1)\n"
    )
    uri = open_buffer(client, script, script.read_text())
    found = await diagnostics_for(client, uri, lambda f: bool(f))
    # The rejected node at its line, and the script's writes reported (CF706), not obeyed.
    assert sorted(codes(found)) == ["CF701", "CF706"]
    [rejected] = [d for d in found if d.code == "CF701"]
    assert rejected.range.start.line == 4
    probe = open_buffer(client, tmp_path / "probe.xml", BAD_ATTRIBUTE)
    assert codes(await diagnostics_for(client, probe, lambda f: bool(f))) == ["CF203"]


async def test_a_builder_script_that_never_ends_is_stopped_and_the_server_answers_meanwhile(
    client: LanguageClient, tmp_path: Path
) -> None:
    script = tmp_path / "endless.py"
    script.write_text("import callflow\nwhile True:\n    pass\n")
    uri = open_buffer(client, script, script.read_text())
    probe = open_buffer(client, tmp_path / "probe.xml", BAD_ATTRIBUTE)
    assert codes(await diagnostics_for(client, probe, lambda f: bool(f), timeout=2)) == ["CF203"]
    found = await diagnostics_for(client, uri, lambda f: bool(f), timeout=40)
    assert [d.code for d in found if d.severity == types.DiagnosticSeverity.Error]


async def test_a_python_file_that_does_not_use_callflow_is_never_run(
    client: LanguageClient, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    script = tmp_path / "other.py"
    script.write_text(f"open({str(marker)!r}, 'w').close()\n")
    uri = open_buffer(client, script, script.read_text())
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(uri))
    )
    probe = open_buffer(client, tmp_path / "probe.xml", BAD_ATTRIBUTE)
    await diagnostics_for(client, probe, lambda f: bool(f))  # the save was handled before
    assert not marker.exists()
    assert uri not in client.diagnostics


@pytest.mark.parametrize(
    "garbage",
    ["\x00\x01\x02 binary", "<Response><<<&&&", "", "\ud800 lone surrogate <", "{% if %}{{"],
    ids=["binary", "broken-xml", "empty", "surrogate", "jinja-junk"],
)
async def test_a_garbage_buffer_gets_diagnostics_not_a_crash(
    client: LanguageClient, tmp_path: Path, garbage: str
) -> None:
    uri = open_buffer(client, tmp_path / "junk.xml", garbage)
    found = await diagnostics_for(client, uri, lambda f: bool(f))
    assert all(d.severity == types.DiagnosticSeverity.Error for d in found)
    template = open_buffer(client, tmp_path / "junk.xml.j2", garbage)
    await diagnostics_for(client, template, lambda f: bool(f))
    # the server still answers
    hover = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(0, 0))
    )
    assert hover is None or hover.contents


# ---------------------------------------------------------------- completion


async def complete(client: LanguageClient, uri: str, where: types.Position) -> list[str]:
    result = await client.text_document_completion_async(
        types.CompletionParams(types.TextDocumentIdentifier(uri), where)
    )
    assert isinstance(result, types.CompletionList)
    return [item.label for item in result.items]


async def test_inside_a_switch_only_case_default_and_error_are_offered(
    client: LanguageClient, tmp_path: Path
) -> None:
    text = (
        "<Response>\n  <Gather>\n    <Switch>\n      <\n    </Switch>\n  </Gather>\n</Response>\n"
    )
    uri = open_buffer(client, tmp_path / "flow.xml", text)
    assert await complete(client, uri, types.Position(3, 7)) == ["Case", "Default", "Error"]


async def test_inside_a_response_the_actions_are_offered(
    client: LanguageClient, tmp_path: Path
) -> None:
    text = "<Response>\n  <\n</Response>\n"
    uri = open_buffer(client, tmp_path / "flow.xml", text)
    labels = await complete(client, uri, types.Position(1, 3))
    assert {"Say", "Gather", "Dial", "Hangup", "Callback", "Error"} <= set(labels)
    assert "Case" not in labels and "Response" not in labels


async def test_attributes_not_yet_written_are_offered(
    client: LanguageClient, tmp_path: Path
) -> None:
    text = '<Response>\n  <Gather numDigits="1" \n</Response>\n'
    uri = open_buffer(client, tmp_path / "flow.xml", text)
    labels = await complete(client, uri, position(text, 'numDigits="1" ', 14))
    assert "timeout" in labels and "finishOnKey" in labels
    assert "numDigits" not in labels


async def test_the_values_of_an_enumerated_attribute_are_offered(
    client: LanguageClient, tmp_path: Path
) -> None:
    text = '<Response>\n  <Say gender=""/>\n</Response>\n'
    uri = open_buffer(client, tmp_path / "flow.xml", text)
    assert await complete(client, uri, position(text, 'gender="', 8)) == ["MALE", "FEMALE"]


async def test_completion_works_in_templates_outside_jinja_and_not_inside(
    client: LanguageClient, tmp_path: Path
) -> None:
    text = "<Response>\n  {% if x %}<\n  {{ greeting < }}\n</Response>\n"
    uri = open_buffer(client, tmp_path / "t.xml.j2", text)
    assert "Say" in await complete(client, uri, position(text, "%}<", 3))
    assert await complete(client, uri, position(text, "greeting <", 10)) == []


# ---------------------------------------------------------------- hover


async def test_hover_on_an_attribute_says_what_it_does_its_unit_and_default(
    client: LanguageClient, tmp_path: Path
) -> None:
    text = '<Response>\n  <Gather timeout="8000" numDigits="2"/>\n</Response>\n'
    uri = open_buffer(client, tmp_path / "flow.xml", text)
    hover = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri), position(text, "timeout", 2))
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert "milliseconds" in hover.contents.value
    assert "Milliseconds" in hover.contents.value
    digits = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri), position(text, "numDigits", 3))
    )
    assert digits is not None and isinstance(digits.contents, types.MarkupContent)
    assert "Default: `1`" in digits.contents.value


async def test_hover_on_a_tag_says_what_it_does(client: LanguageClient, tmp_path: Path) -> None:
    text = "<Response>\n  <Hangup/>\n</Response>\n"
    uri = open_buffer(client, tmp_path / "flow.xml", text)
    hover = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri), position(text, "Hangup", 1))
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert "Ends the call" in hover.contents.value


# ---------------------------------------------------------------- code actions


async def actions_for(
    client: LanguageClient, uri: str, found: Sequence[types.Diagnostic]
) -> list[types.CodeAction]:
    result = await client.text_document_code_action_async(
        types.CodeActionParams(
            types.TextDocumentIdentifier(uri),
            found[0].range,
            types.CodeActionContext(diagnostics=list(found)),
        )
    )
    return [a for a in result or () if isinstance(a, types.CodeAction)]


def applied(text: str, action: types.CodeAction, uri: str) -> str:
    assert action.edit is not None and action.edit.changes is not None
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def offset(p: types.Position) -> int:
        return offsets[p.line] + p.character

    for edit in sorted(action.edit.changes[uri], key=lambda e: offset(e.range.start), reverse=True):
        text = text[: offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end) :]
    return text


async def test_a_safe_fix_is_offered_as_a_quick_fix(client: LanguageClient, tmp_path: Path) -> None:
    text = (
        '<Response>\n  <Callback url="https://example.com/next">\n'
        "    <Error><Hangup/></Error>\n  </Callback>\n</Response>\n"
    )
    uri = open_buffer(client, tmp_path / "flow.xml", text)
    found = await diagnostics_for(client, uri, lambda f: "CF306" in codes(f))
    cf306 = [d for d in found if d.code == "CF306"]
    actions = await actions_for(client, uri, cf306)
    fix = next(a for a in actions if a.title.startswith("Fix CF306"))
    fixed = applied(text, fix, uri)
    assert 'method="' in fixed
    change_buffer(client, uri, fixed, 2)
    assert "CF306" not in codes(
        await diagnostics_for(client, uri, lambda f: "CF306" not in codes(f))
    )


async def test_ignore_this_rule_here_writes_the_suppression_comment(
    client: LanguageClient, tmp_path: Path
) -> None:
    text = "<Response>\n  <Hangup/>\n  <Say>never heard</Say>\n</Response>\n"
    uri = open_buffer(client, tmp_path / "flow.xml", text)
    found = await diagnostics_for(client, uri, lambda f: bool(f))
    actions = await actions_for(client, uri, found)
    ignore = next(a for a in actions if a.title.startswith("Ignore CF301"))
    silenced = applied(text, ignore, uri)
    assert "<!-- callflow: ignore CF301 -->" in silenced
    change_buffer(client, uri, silenced, 2)
    assert await diagnostics_for(client, uri, lambda f: not f) == []


async def test_ignore_here_in_a_template_writes_a_jinja_comment(
    client: LanguageClient, tmp_path: Path
) -> None:
    text = (
        '{# callflow\n[samples.basic]\nx = "1"\n#}\n<Response>\n  <Hangup/>\n'
        "  <Say>{{ x }}</Say>\n</Response>\n"
    )
    uri = open_buffer(client, tmp_path / "t.xml.j2", text)
    found = await diagnostics_for(client, uri, lambda f: "CF301" in codes(f))
    actions = await actions_for(client, uri, [d for d in found if d.code == "CF301"])
    ignore = next(a for a in actions if a.title.startswith("Ignore CF301"))
    assert "{# callflow: ignore CF301 #}" in applied(text, ignore, uri)


# ---------------------------------------------------------------- definition


async def test_definition_goes_from_an_include_to_the_file_and_from_a_macro_call_to_the_macro(
    client: LanguageClient, tmp_path: Path
) -> None:
    (tmp_path / "macros.xml.j2").write_text(
        "{# callflow partial = true #}\n\n"
        '{% macro option(key) %}<Case dtmf="{{ key }}"/>{% endmacro %}\n'
    )
    (tmp_path / "part.xml.j2").write_text("{# callflow partial = true #}\n<Pause/>\n")
    text = (
        '{% import "macros.xml.j2" as m %}\n<Response>\n  {% include "part.xml.j2" %}\n'
        "  {{ m.option(1) }}\n</Response>\n"
    )
    uri = open_buffer(client, tmp_path / "menu.xml.j2", text)

    async def definition(where: types.Position) -> types.Location:
        found = await client.text_document_definition_async(
            types.DefinitionParams(types.TextDocumentIdentifier(uri), where)
        )
        assert isinstance(found, types.Location)
        return found

    include = await definition(position(text, "part.xml.j2", 2))
    assert include.uri == (tmp_path / "part.xml.j2").as_uri()
    imported = await definition(position(text, "macros.xml.j2", 1))
    assert imported.uri == (tmp_path / "macros.xml.j2").as_uri()
    macro = await definition(position(text, "m.option", 3))
    assert macro.uri == (tmp_path / "macros.xml.j2").as_uri()
    assert macro.range.start.line == 2
