"""Output that cannot be forged: escaped text, valid UTF-8 JSON and SARIF, bounded quotes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from callflow.diagnostics import Diagnostic, Severity, cap_repeats, collapse_repeats
from callflow.document import Document
from callflow.reporters import WINDOW, FileLines, render
from callflow.sourcemap import SourceLocation

# Anything a terminal or a log reader would act on, or that is not text at all.
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
SURROGATE = re.compile("[\ud800-\udfff]")

any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)


def diagnostic(
    file: str, message: str, hint: str | None = None, snippet: str | None = None
) -> Diagnostic:
    return Diagnostic(
        "CF305",
        Severity.WARNING,
        message,
        SourceLocation(file, 2, 3, chain=(f"called from {file}:1",)),
        xpath="/Response/Pause",
        hint=hint,
        snippet=snippet,
    )


def text_lines(output: str) -> list[str]:
    assert output.endswith("\n")
    return output[:-1].split("\n")


@settings(max_examples=200, deadline=None)
@given(file=any_text, message=any_text, hint=any_text, snippet=any_text)
def test_text_output_holds_no_raw_control_character(
    file: str, message: str, hint: str, snippet: str
) -> None:
    output = render([diagnostic(file, message, hint, snippet)], "text")
    for line in text_lines(output):
        assert RAW_CONTROL.search(line) is None
        assert SURROGATE.search(line) is None
        assert "\r" not in line and "\t" not in line
    output.encode("utf-8")  # strict: every character is real text


@settings(max_examples=200, deadline=None)
@given(file=any_text, message=any_text, hint=any_text)
def test_each_diagnostic_is_one_header_line_in_text_and_github(
    file: str, message: str, hint: str
) -> None:
    two = [diagnostic(file, message, hint, snippet=""), diagnostic(file, message, hint, "")]
    text = render(two, "text")
    headers = [line for line in text_lines(text) if not line.startswith("    ")]
    assert len(headers) == 2
    github = render(two, "github")
    assert len(text_lines(github)) == 2
    assert all(line.startswith("::warning ") for line in text_lines(github))
    assert "\x1b" not in github


@settings(max_examples=200, deadline=None)
@given(file=any_text, message=any_text, hint=any_text)
def test_json_and_sarif_round_trip_as_utf8(file: str, message: str, hint: str) -> None:
    found = [diagnostic(file, message, hint)]
    for fmt in ("json", "sarif"):
        data = render(found, fmt).encode("utf-8")  # strict: no lone surrogates
        parsed = json.loads(data.decode("utf-8"))
        assert parsed


def test_a_surrogateescape_file_name_shows_its_byte_as_text() -> None:
    name = b"flows/bad\xff.xml".decode("utf-8", "surrogateescape")
    found = [diagnostic(name, "m")]
    assert json.loads(render(found, "json"))[0]["file"] == "flows/bad\\xff.xml"
    sarif = json.loads(render(found, "sarif"))
    uri = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert uri["artifactLocation"]["uri"] == "flows/bad%FF.xml"  # a URI names the byte itself
    assert render(found, "text").startswith("flows/bad\\xff.xml:2:3: ")


def test_a_file_name_with_a_newline_and_esc_cannot_fake_a_diagnostic() -> None:
    name = "x.xml:1:1: CF101 fake\n\x1b[2Jy.xml"
    output = render([diagnostic(name, "real")], "text")
    assert (
        output.splitlines()[0] == "x.xml:1:1: CF101 fake\\n\\x1b[2Jy.xml:2:3: CF305 warning: real"
    )


def test_a_quoted_line_is_cut_to_a_window_around_the_column() -> None:
    line = "<Say " + " ".join(f'a{i}="x"' for i in range(2000)) + ">hi</Say>"
    column = line.index("a1000=") + 1
    found = [
        Diagnostic("CF203", Severity.ERROR, "m", SourceLocation("f.xml", 1, column), snippet=line)
    ]
    quoted, caret = render(found, "text").splitlines()[1:3]
    assert len(quoted) <= 4 + 2 * WINDOW + 2
    assert quoted.startswith("    …") and quoted.endswith("…")
    assert quoted[caret.index("^") :].startswith("a1000=")


def test_a_quoted_line_with_escapes_keeps_the_caret_under_the_column() -> None:
    line = '<Say x="\x1b\x1b">hi</Say>'
    found = [
        Diagnostic(
            "CF203",
            Severity.ERROR,
            "m",
            SourceLocation("f.xml", 1, line.index("hi") + 1),
            snippet=line,
        )
    ]
    quoted, caret = render(found, "text").splitlines()[1:3]
    assert quoted[caret.index("^") :].startswith("hi</Say>")


def test_repeats_of_one_code_in_one_file_are_capped_with_a_count() -> None:
    many = [
        Diagnostic("CF305", Severity.WARNING, "m", SourceLocation("f.xml", line, 2))
        for line in range(1, 32_001)
    ]
    other = Diagnostic("CF305", Severity.WARNING, "m", SourceLocation("g.xml", 1, 2))
    capped = cap_repeats([*many, other], 10)
    assert len(capped) == 12
    assert capped[10].message == "… and 31,990 more CF305 in this file"
    assert capped[11] is other
    text = render(many, "text", lines=lambda file, line: None)
    assert "… and 31,980 more CF305 in this file" in text
    assert len(text) < 10_000
    assert len(json.loads(render(many, "json"))) == 32_000  # machine output keeps every one


def test_capping_counts_a_collapsed_report_once() -> None:
    same = [Diagnostic("CF305", Severity.WARNING, "m", SourceLocation("f.xml", 1, 2))] * 50
    collapsed = collapse_repeats(same)
    assert cap_repeats(collapsed, 10) == collapsed


def test_a_utf16_file_is_quoted_as_decoded_text(tmp_path: Path) -> None:
    path = tmp_path / "flow.xml"
    path.write_bytes('<Response>\n  <Pause length="5"/>\n</Response>\n'.encode("utf-16"))
    assert FileLines()(str(path), 2) == '  <Pause length="5"/>'


def test_a_cr_only_file_is_quoted_by_its_real_lines(tmp_path: Path) -> None:
    path = tmp_path / "flow.xml"
    path.write_bytes(b'<Response>\r  <Pause length="5"/>\r</Response>\r')
    assert FileLines()(str(path), 2) == '  <Pause length="5"/>'


def test_a_binary_file_is_never_quoted(tmp_path: Path) -> None:
    path = tmp_path / "env.xml"
    path.write_bytes(b"HOME=/root\x00SECRET=hunter2\x00")
    found = [Diagnostic("CF101", Severity.ERROR, "m", SourceLocation(str(path), 1, 1))]
    assert "hunter2" not in render(found, "text")


def test_validate_prints_escaped_names_and_valid_json_for_hostile_files(tmp_path: Path) -> None:
    names = ["esc\x1b[31m.xml", "new\nline.xml", os.fsdecode(b"bad\xff.xml")]
    for name in names:
        (tmp_path / name).write_text(
            '<Response>\n  <Say x="\x1b]0;pwned\x07">hi</Say>\n</Response>\n'
        )
    command = [sys.executable, "-m", "callflow", "validate", str(tmp_path)]
    text = subprocess.run(command, capture_output=True, check=False)
    assert text.stdout
    assert b"\x1b" not in text.stdout and b"\x07" not in text.stdout
    assert b"\xff" not in text.stdout
    as_json = subprocess.run([*command, "--format", "json"], capture_output=True, check=False)
    files = {entry["file"] for entry in json.loads(as_json.stdout.decode("utf-8"))}
    assert str(tmp_path / "bad\\xff.xml") in files


def test_a_long_line_costs_a_window_not_the_line(tmp_path: Path) -> None:
    attributes = " ".join(f'a{i}="x"' for i in range(3000))
    document = Document.from_text(f"<Response><Say {attributes}>hi</Say></Response>")
    from callflow.schema import iter_diagnostics

    found = list(iter_diagnostics(document))
    assert len(found) == 3000
    text = render(found, "text", lines=FileLines({document.name: document.text}))
    assert len(text) < 25 * 400


wide_or_plain = st.sampled_from(["utf-8", "utf-16", "utf-32", "latin-1"])


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=300))
def test_any_bytes_give_diagnostics_that_render_safely(data: bytes) -> None:
    from callflow.document import load_bytes

    document, problems = load_bytes(data, "flow.xml")
    assert (document is None) == bool(problems)
    if problems:
        lines = FileLines({"flow.xml": data.decode("utf-8", "replace")})
        for line in text_lines(render(problems, "text", lines=lines)):
            assert RAW_CONTROL.search(line) is None
        json.loads(render(problems, "json").encode("utf-8"))


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=60), encoding=wide_or_plain)
def test_any_attribute_text_in_any_encoding_quotes_as_visible_text(
    text: str, encoding: str
) -> None:
    from callflow.document import load_bytes

    value = text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    xml = (
        f'<?xml version="1.0" encoding="{encoding}"?>\n'
        f'<Response>\n  <Say bad="{value}">x</Say>\n</Response>\n'
    )
    try:
        data = xml.encode(encoding)
    except UnicodeEncodeError:
        return
    document, problems = load_bytes(data, "flow.xml")
    if document is None:
        found = problems
    else:
        from callflow.schema import iter_diagnostics

        found = list(iter_diagnostics(document))
        assert found and found[0].location.line == 3
    lines = FileLines({"flow.xml": document.text}) if document is not None else FileLines()
    output = render(found, "text", lines=lines)
    assert "\x00" not in output
    for line in text_lines(output):
        assert RAW_CONTROL.search(line) is None


def test_an_exception_carrying_a_hostile_diagnostic_prints_it_escaped() -> None:
    from callflow.errors import ValidationError

    found = diagnostic("a\x1b[2J.xml", "value '\x1b]0;x\x07'")
    error = ValidationError(f"1 problem; first: {found}", [found])
    assert RAW_CONTROL.search(str(error)) is None
