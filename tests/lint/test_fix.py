"""`--fix`: safe rewrites by offsets, byte for byte, atomic, idempotent, never lossy."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callflow.document import Document
from callflow.errors import InputError
from callflow.files import write_atomically
from callflow.fix import fix_document, fix_file, fixable_findings
from callflow.lint.config import LintConfig

GOLDEN = Path(__file__).parent / "golden"
Write = Callable[[str, str | bytes], Path]
RunCli = Callable[..., Any]


def golden(name: str) -> bytes:
    return (GOLDEN / name).read_bytes()


def test_fix_rewrites_the_legacy_flow_exactly_as_the_golden_file(write: Write) -> None:
    path = write("legacy.xml", golden("legacy.xml"))
    outcome = fix_file(path)
    assert outcome.written and outcome.result.refused is None
    assert path.read_bytes() == golden("legacy.fixed.xml")


def test_the_fixes_applied_are_named_by_code(write: Write) -> None:
    outcome = fix_file(write("legacy.xml", golden("legacy.xml")))
    assert sorted(f.code for f in outcome.result.applied) == [
        "CF306", "CF306", "CF315", "CF316", "CF316", "CF318",
    ]  # fmt: skip


def test_fixing_twice_changes_nothing_the_second_time(write: Write) -> None:
    path = write("legacy.xml", golden("legacy.xml"))
    fix_file(path)
    before = path.stat()
    second = fix_file(path)
    assert not second.written and not second.result.changed
    assert path.stat().st_ino == before.st_ino and path.read_bytes() == golden("legacy.fixed.xml")


def test_crlf_line_endings_and_a_byte_order_mark_are_kept(write: Write) -> None:
    def windows(data: bytes) -> bytes:
        return b"\xef\xbb\xbf" + data.replace(b"\n", b"\r\n")

    path = write("legacy.xml", windows(golden("legacy.xml")))
    fix_file(path)
    assert path.read_bytes() == windows(golden("legacy.fixed.xml"))


def test_a_file_with_nothing_to_fix_is_not_rewritten(write: Write) -> None:
    path = write("clean.xml", golden("legacy.fixed.xml"))
    inode = path.stat().st_ino
    outcome = fix_file(path)
    assert not outcome.written and path.stat().st_ino == inode


def test_a_malformed_file_is_left_untouched(write: Write) -> None:
    data = b"<Response><callback>https://a.example.com/x</callback>\n"
    path = write("broken.xml", data)
    outcome = fix_file(path)
    assert outcome.result.refused is not None and "not fixed" in outcome.result.refused
    assert path.read_bytes() == data


def test_a_file_that_is_not_utf8_is_left_untouched(write: Write) -> None:
    data = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>\n'
        "<Response><Say>Caf\xe9</Say><callback>https://a.example.com/x</callback></Response>\n"
    ).encode("latin-1")
    path = write("latin.xml", data)
    outcome = fix_file(path)
    assert outcome.result.refused == "not fixed: only UTF-8 files are rewritten"
    assert path.read_bytes() == data


def test_a_suppressed_finding_is_not_fixed(write: Write) -> None:
    text = (
        "<Response>\n"
        '  <Callback url="https://a.example.com/x"/> <!-- callflow: ignore CF306 -->\n'
        "</Response>\n"
    )
    path = write("quiet.xml", text)
    assert not fix_file(path).written
    assert path.read_text() == text


def test_only_selected_rules_are_fixed(write: Write) -> None:
    path = write("legacy.xml", golden("legacy.xml"))
    fix_file(path, config=LintConfig(select=["CF306"]))
    text = path.read_text()
    assert "dtmf_length" in text and "<DTMF" in text and "<callback>" in text
    assert 'tag="after-menu" method="POST"' in text


def test_a_branch_conversion_is_refused_when_branches_are_not_contiguous() -> None:
    # Schema-invalid input (a prompt between branches): converted, it would move content.
    text = (
        '<Response><Gather><Say>m</Say><DTMF value="1"/><Say>x</Say>'
        '<DTMF value="2"/></Gather></Response>'
    )
    result = fix_document(Document.from_text(text))
    assert not result.changed


def test_a_failed_write_leaves_the_original_and_no_temporary_file(write: Write) -> None:
    path = write("legacy.xml", golden("legacy.xml"))

    def failing_replace(source: str, target: str) -> None:
        raise OSError("disk full")

    outcome = fix_file(path, replace=failing_replace)
    assert not outcome.written
    assert outcome.result.refused == "not fixed: cannot write (disk full); the file is unchanged"
    assert path.read_bytes() == golden("legacy.xml")
    assert sorted(p.name for p in path.parent.iterdir()) == ["legacy.xml"]


def test_a_file_changed_during_the_fix_is_not_overwritten(write: Write) -> None:
    path = write("flow.xml", "<Response/>\n")
    with pytest.raises(InputError, match="changed while being fixed"):
        write_atomically(path, b"<Response></Response>\n", expected=b"something else")
    assert path.read_text() == "<Response/>\n"
    assert [p.name for p in path.parent.iterdir()] == ["flow.xml"]


def test_fix_reports_a_file_it_will_not_touch_and_goes_on(write: Write, run_cli: RunCli) -> None:
    broken = write("a_broken.xml", "<Response><callback>https://a.example.com/x</callback>\n")
    legacy = write("b_legacy.xml", golden("legacy.xml"))
    result = run_cli("validate", "--fix", broken, legacy)
    assert f"{broken}: not fixed:" in result.err
    assert broken.read_text() == "<Response><callback>https://a.example.com/x</callback>\n"
    assert legacy.read_bytes() == golden("legacy.fixed.xml")
    assert result.code == 1  # the broken file's syntax error is still reported


def test_permissions_are_kept_and_a_symlink_stays_a_link(write: Write, tmp_path: Path) -> None:
    target = write("real/legacy.xml", golden("legacy.xml"))
    os.chmod(target, 0o640)
    link = tmp_path / "link.xml"
    link.symlink_to(target)
    fix_file(link)
    assert link.is_symlink()
    assert target.read_bytes() == golden("legacy.fixed.xml")
    assert target.stat().st_mode & 0o777 == 0o640


# ---------------------------------------------------------------- the command line


def test_diff_prints_the_change_and_writes_nothing(write: Write, run_cli: RunCli) -> None:
    path = write("legacy.xml", golden("legacy.xml"))
    result = run_cli("validate", "--diff", path)
    assert result.code == 1
    assert f"--- {path}" in result.out and f"+++ {path}" in result.out
    assert "-  <callback>" not in result.out  # the callback is indented inside the branch
    assert '+      <Callback url="https://ivr.example.com/sales' in result.out
    assert "would fix 6 problem(s) in 1 file" in result.err
    assert path.read_bytes() == golden("legacy.xml")


def test_diff_on_a_clean_file_exits_zero(write: Write, run_cli: RunCli) -> None:
    path = write("clean.xml", golden("legacy.fixed.xml"))
    result = run_cli("validate", "--diff", path)
    assert (result.code, result.out) == (0, "")
    assert "nothing to fix" in result.err


def test_fix_writes_then_reports_what_is_left(write: Write, run_cli: RunCli) -> None:
    path = write("legacy.xml", golden("legacy.xml"))
    result = run_cli("validate", "--fix", path, "--format", "json")
    assert result.code == 0
    assert path.read_bytes() == golden("legacy.fixed.xml")
    assert '"CF307"' in result.out and '"CF315"' not in result.out
    assert "fixed 6 problem(s) in 1 file" in result.err


def test_fix_and_diff_cannot_be_combined(write: Write, run_cli: RunCli) -> None:
    path = write("legacy.xml", golden("legacy.xml"))
    assert run_cli("validate", "--fix", "--diff", path).code == 2


def test_fixes_leave_templates_and_scripts_alone(write: Write, run_cli: RunCli) -> None:
    text = "<Response><callback>https://a.example.com/x</callback></Response>\n"
    template = write("flow.xml.j2", text)
    result = run_cli("validate", "--diff", template)
    assert (result.code, result.out) == (0, "")
    assert template.read_text() == text


# ---------------------------------------------------------------- for every flow

LEGACY_PIECES = [
    "<callback>https://a.example.com/c?x=1&amp;y=2</callback>",
    '<Callback url="https://a.example.com/c"/>',
    "<Callback url='https://a.example.com/c' body=\"true\"><Error><Hangup/></Error></Callback>",
    '<Gather dtmf_length="2" dtmf_stop="#"><Say>m</Say></Gather>',
    "<Gather length='1'><Say>m</Say><DTMF value=\"1\"><Say>a</Say></DTMF>"
    '<DTMF value="2"/><Default/></Gather>',
    '<Gather numDigits="1" dtmf_length="1"><Say>m</Say></Gather>',
    "<Say>plain</Say>",
    "<!-- a comment -->",
    '<Pause length="500"/>',
]
SPACING = st.sampled_from(["", "\n", "\n  ", "\r\n    ", " "])


@st.composite
def flows(draw: st.DrawFn) -> str:
    pieces = draw(st.lists(st.sampled_from(LEGACY_PIECES), min_size=1, max_size=6))
    body = "".join(draw(SPACING) + piece for piece in pieces)
    return f"<Response>{body}{draw(SPACING)}</Response>\n"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flows())
def test_fixed_flows_have_nothing_fixable_left_and_fix_is_idempotent(text: str) -> None:
    from callflow.schema import load_schema

    document = Document.from_text(text, "flow.xml")
    result = fix_document(document)
    assert result.refused is None
    fixed = Document.from_text(result.fixed, "flow.xml")
    assert fixable_findings(fixed) == []
    assert fix_document(fixed).fixed == result.fixed
    schema = load_schema()
    assert len(list(schema.iter_diagnostics(fixed))) <= len(list(schema.iter_diagnostics(document)))
    # Nothing the author wrote is lost: every comment and every spoken text survives.
    for kept in ("<!-- a comment -->", "<Say>plain</Say>", "<Say>a</Say>"):
        assert result.fixed.count(kept) == text.count(kept)


def test_diff_reports_a_missing_path(tmp_path: Path, run_cli: RunCli) -> None:
    result = run_cli("validate", "--diff", tmp_path / "nope.xml")
    assert result.code == 1 and "CF001" in result.err


def test_fix_needs_lint(write: Write, run_cli: RunCli) -> None:
    path = write("legacy.xml", golden("legacy.xml"))
    result = run_cli("validate", "--fix", "--no-lint", path)
    assert result.code == 2 and "--no-lint" in result.err
    assert path.read_bytes() == golden("legacy.xml")
