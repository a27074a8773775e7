"""`--fix`: safe rewrites by offsets, byte for byte, atomic, idempotent, never lossy."""

from __future__ import annotations

import fcntl
import json
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callflow.document import Document
from callflow.fix import fix_document, fix_file, fixable_findings
from callflow.lint import LintConfig

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


def test_a_file_changed_just_before_the_replace_is_not_overwritten(write: Write) -> None:
    path = write("legacy.xml", golden("legacy.xml"))

    def another_editor() -> None:  # writes the file in place, without taking the lock
        path.write_bytes(b"<Response/>\n")

    outcome = fix_file(path, before_replace=another_editor)
    assert not outcome.written
    assert outcome.result.refused == "not fixed: changed while being fixed; not written"
    assert path.read_bytes() == b"<Response/>\n"
    assert [p.name for p in path.parent.iterdir()] == ["legacy.xml"]


def test_a_file_replaced_just_before_the_replace_is_not_overwritten(write: Write) -> None:
    path = write("legacy.xml", golden("legacy.xml"))
    other = write("other.xml", "<Response/>\n")

    outcome = fix_file(path, before_replace=lambda: os.replace(other, path))
    assert outcome.result.refused == "not fixed: replaced while being fixed; not written"
    assert path.read_bytes() == b"<Response/>\n"


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


def test_force_goes_with_fix(write: Write, run_cli: RunCli) -> None:
    path = write("legacy.xml", golden("legacy.xml"))
    result = run_cli("validate", "--diff", "--force", path)
    assert result.code == 2 and "--force goes with --fix" in result.err


def test_fix_needs_lint(write: Write, run_cli: RunCli) -> None:
    path = write("legacy.xml", golden("legacy.xml"))
    result = run_cli("validate", "--fix", "--no-lint", path)
    assert result.code == 2 and "--no-lint" in result.err
    assert path.read_bytes() == golden("legacy.xml")


# ---------------------------------------------------------------- never losing a fix

# Two fixes on different lines, so that two runs with different --select race on one file.
RACED = """<Response>
  <Say>Hello.</Say>
  <Callback url="https://a.example.com/next"/>
  <callback>https://a.example.com/legacy</callback>
</Response>
"""
LANDED = {  # what each --select leaves in the file when its fix is applied
    "CF306": '<Callback url="https://a.example.com/next" method="GET"/>',
    "CF315": '<Callback url="https://a.example.com/legacy" method="GET"/>',
}


def fixer(
    path: Path, code: str, *, hold: Path | None = None, **options: Any
) -> subprocess.Popen[str]:
    """``callflow validate --fix --select CODE PATH`` in a process of its own."""
    env = dict(os.environ)
    if hold is not None:
        env["CALLFLOW_FIX_HOLD"] = str(hold)
    return subprocess.Popen(
        [sys.executable, "-m", "callflow", "validate", "--fix", "--select", code, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=path.parent,
        **options,
    )


def finished(process: subprocess.Popen[str]) -> tuple[int, str]:
    _, err = process.communicate(timeout=60)
    return process.returncode, err


def temporaries(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if ".callflow-fix-" in p.name)


def wait_for_temporary(folder: Path, process: subprocess.Popen[str]) -> Path:
    """The temporary file of a fixer held just before its replace."""
    deadline = time.monotonic() + 30
    while not temporaries(folder):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"the fixer never paused mid-write: {finished(process)}")
        time.sleep(0.01)
    [found] = temporaries(folder)
    return found


# A fixer process that runs `callflow validate ARGS` for each line of JSON it reads: two of
# them race on every trial without paying for a new interpreter each time.
FIXER_LOOP = """
import contextlib, io, json, sys
from callflow.cli import main
for line in sys.stdin:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(json.loads(line))
        except SystemExit as exit_:
            code = exit_.code
    print(json.dumps([code, err.getvalue()]), flush=True)
"""


def test_two_fixers_on_one_file_never_lose_a_fix_they_report(tmp_path: Path) -> None:
    path = tmp_path / "flow.xml"
    workers = {
        code: subprocess.Popen(
            [sys.executable, "-c", FIXER_LOOP],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
        )
        for code in LANDED
    }
    deadline = time.monotonic() + 60
    trials = both = 0
    try:
        while trials < 100 and time.monotonic() < deadline:
            path.write_text(RACED)
            for code, worker in workers.items():  # both start at once
                assert worker.stdin is not None
                worker.stdin.write(json.dumps(["validate", "--fix", "--select", code, str(path)]))
                worker.stdin.write("\n")
                worker.stdin.flush()
            outcomes = {}
            for code, worker in workers.items():
                assert worker.stdout is not None
                outcomes[code] = json.loads(worker.stdout.readline())
            text = path.read_text()
            for code, (exit_code, err) in outcomes.items():
                if "fixed 1 problem(s) in 1 file" in err:
                    assert LANDED[code] in text, f"trial {trials}: {code} said fixed, lost: {err}"
                else:  # a run that could not apply its fix says so, and so does its exit code
                    assert "not fixed" in err and exit_code == 1, (trials, code, err)
            both += all(fix in text for fix in LANDED.values())
            trials += 1
    finally:
        for worker in workers.values():
            worker.communicate(timeout=30)
    assert trials >= 20 and temporaries(tmp_path) == []
    # Both runs take the file's lock: the second waits, then fixes what the first wrote.
    assert both == trials


def test_a_fixer_waits_for_one_holding_the_file_and_both_fixes_land(tmp_path: Path) -> None:
    path = tmp_path / "flow.xml"
    path.write_text(RACED)
    first = fixer(path, "CF306", hold=tmp_path / "go")
    wait_for_temporary(tmp_path, first)
    second = fixer(path, "CF315")
    time.sleep(0.5)
    assert second.poll() is None  # waiting for the lock, not fixing the old text
    (tmp_path / "go").touch()
    assert finished(first)[0] == 0 and finished(second)[0] == 0
    assert all(fix in path.read_text() for fix in LANDED.values())


def test_a_file_another_program_changes_mid_fix_is_reported_and_the_exit_code_says_so(
    tmp_path: Path,
) -> None:
    path = tmp_path / "flow.xml"
    path.write_text(RACED)
    process = fixer(path, "CF306", hold=tmp_path / "go")
    wait_for_temporary(tmp_path, process)
    path.write_text(RACED + "<!-- an editor's change -->\n")  # in place, without the lock
    (tmp_path / "go").touch()
    exit_code, err = finished(process)
    assert exit_code == 1
    assert f"{path}: not fixed: changed while being fixed; not written" in err
    assert f"not fixed: 1 file(s): {path}" in err
    assert path.read_text() == RACED + "<!-- an editor's change -->\n"
    assert temporaries(tmp_path) == []


def test_a_run_gives_up_on_a_file_another_run_keeps_locked(write: Write) -> None:
    path = write("legacy.xml", golden("legacy.xml"))
    with path.open("rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        outcome = fix_file(path, lock_timeout=0.2)
    assert outcome.result.refused == (
        "not fixed: another run has been fixing the file for too long; try again"
    )
    assert path.read_bytes() == golden("legacy.xml")


@pytest.mark.parametrize("write_it", [True, False], ids=["fix", "diff"])
def test_a_fifo_named_like_a_flow_is_refused_without_blocking(
    tmp_path: Path, write_it: bool
) -> None:
    fifo = tmp_path / "flow.xml"
    os.mkfifo(fifo)
    outcome = fix_file(fifo, write=write_it)
    assert outcome.result.refused == "not fixed: not a regular file" and not outcome.written


INTERFERENCES = st.sampled_from(
    ["in place", "same size and time", "identical", "append", "rename", "unlink"]
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(interference=st.one_of(st.none(), INTERFERENCES), other=st.binary(max_size=64))
def test_a_fix_is_written_exactly_when_the_file_is_still_as_read(
    tmp_path_factory: pytest.TempPathFactory, interference: str | None, other: bytes
) -> None:
    folder = tmp_path_factory.mktemp("raced")
    path = folder / "flow.xml"
    path.write_text(RACED)
    original = path.read_bytes()
    theirs = {
        "same size and time": original.replace(b"Hello", b"Jello"),
        "identical": original,
        "append": original + other,
    }.get(interference or "", other)

    def another_program() -> None:  # writes the file without taking the lock
        if interference == "rename":
            (folder / "new.xml").write_bytes(theirs)
            os.replace(folder / "new.xml", path)
        elif interference == "unlink":
            path.unlink()
        elif interference is not None:
            before = path.stat()
            path.write_bytes(theirs)
            if interference in ("same size and time", "identical"):
                os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))

    outcome = fix_file(path, before_replace=another_program)
    assert [p.name for p in folder.iterdir() if p.name != "flow.xml"] == []
    if interference in (None, "identical"):  # the file is exactly what was read
        assert outcome.written and all(fix in path.read_text() for fix in LANDED.values())
    elif interference == "unlink":
        assert not outcome.written and not path.exists()
    else:
        assert not outcome.written and path.read_bytes() == theirs
        assert "while being fixed; not written" in (outcome.result.refused or "")


# ---------------------------------------------------------------- leftovers of killed runs


def test_the_next_run_removes_what_a_killed_fixer_left_and_nothing_else(
    tmp_path: Path, run_cli: RunCli
) -> None:
    path = tmp_path / "flow.xml"
    path.write_text(RACED)
    process = fixer(path, "CF306", hold=tmp_path / "never")
    leftover = wait_for_temporary(tmp_path, process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert leftover.exists() and path.read_text() == RACED
    alive = os.getppid()
    users = [  # the user's own files, however alike
        ".flow.xml.callflow-fix-notes.tmp",
        ".flow.xml.k2j4h5.callflow-tmp",
        f"flow.xml.callflow-fix-{process.pid}-0123456789ab.tmp",
        f".flow.xml.callflow-fix-{process.pid}-0123456789ab.tmp.orig",
        f".flow.xml.callflow-fix-{alive}-0123456789ab.tmp",  # its process is running
    ]
    for name in users:
        (tmp_path / name).write_text("mine\n")
    young = tmp_path / f".flow.xml.callflow-fix-{process.pid}-ba9876543210.tmp"
    young.write_text("too recent to judge\n")
    old = time.time() - 3600
    for name in [leftover.name, *users]:
        os.utime(tmp_path / name, (old, old))
    result = run_cli("validate", "--fix", path)
    assert result.code == 0
    assert f"note: removed {leftover}, left behind by an interrupted run" in result.err
    assert not leftover.exists() and young.exists()
    assert all((tmp_path / name).read_text() == "mine\n" for name in users)
    assert LANDED["CF306"] in path.read_text()


def test_fixers_killed_at_random_moments_leave_every_file_whole_and_the_next_run_cleans_up(
    tmp_path: Path, run_cli: RunCli
) -> None:
    legacy, fixed = golden("legacy.xml"), golden("legacy.fixed.xml")
    paths = [tmp_path / f"flow{i:02d}.xml" for i in range(40)]
    for path in paths:
        path.write_bytes(legacy)
    pace = random.Random(18)
    left: list[Path] = []
    for rounds in range(1, 7):
        process = subprocess.Popen(
            [sys.executable, "-m", "callflow", "validate", "--fix", "-q", str(tmp_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(pace.uniform(0.05, 0.6))
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert all(path.read_bytes() in (legacy, fixed) for path in paths)
        left += [p for p in tmp_path.iterdir() if p not in paths and p not in left]
        assert len(left) <= rounds  # at most one per killed run
    for leftover in left:
        os.utime(leftover, (0, 0))
    result = run_cli("validate", "--fix", "-q", tmp_path)
    assert result.code == 0, result.err
    assert all(path.read_bytes() == fixed for path in paths)
    assert sorted(tmp_path.iterdir()) == paths


def test_a_run_with_nothing_to_fix_still_removes_leftovers(
    write: Write, tmp_path: Path, run_cli: RunCli
) -> None:
    path = write("clean.xml", golden("legacy.fixed.xml"))
    done = subprocess.Popen(["true"])
    done.wait()
    leftover = tmp_path / f".clean.xml.callflow-fix-{done.pid}-0123456789ab.tmp"
    leftover.write_text("half a fix\n")
    os.utime(leftover, (0, 0))
    result = run_cli("validate", "--fix", path)
    assert result.code == 0 and "nothing to fix" in result.err
    assert not leftover.exists()


# ---------------------------------------------------------------- the file's identity


def test_owner_and_group_are_kept(write: Write) -> None:
    path = write("legacy.xml", golden("legacy.xml"))
    os.chown(path, 65534, 65534)
    outcome = fix_file(path)
    assert (path.stat().st_uid, path.stat().st_gid) == (65534, 65534)
    assert outcome.written and outcome.notes == []


def test_a_file_with_hard_links_is_refused_and_every_name_keeps_its_text(
    write: Write, run_cli: RunCli
) -> None:
    path = write("legacy.xml", golden("legacy.xml"))
    other = path.with_name("same.xml")
    os.link(path, other)
    result = run_cli("validate", "--fix", path)
    assert result.code == 1
    assert f"{path}: not fixed: the file has 2 hard links; replacing it would leave" in result.err
    assert path.read_bytes() == other.read_bytes() == golden("legacy.xml")
    assert path.stat().st_ino == other.stat().st_ino


def test_a_read_only_file_is_refused(write: Write, run_cli: RunCli) -> None:
    path = write("legacy.xml", golden("legacy.xml"))
    path.chmod(0o444)
    result = run_cli("validate", "--fix", path)
    assert result.code == 1
    assert (
        f"{path}: not fixed: the file is read-only (mode 0444); --force rewrites it anyway"
        in result.err
    )
    assert path.read_bytes() == golden("legacy.xml")


def test_force_rewrites_a_read_only_file_and_it_stays_read_only(
    write: Write, run_cli: RunCli
) -> None:
    path = write("legacy.xml", golden("legacy.xml"))
    path.chmod(0o444)
    result = run_cli("validate", "--fix", "--force", path)
    assert result.code == 0 and "fixed 6 problem(s) in 1 file" in result.err
    assert path.read_bytes() == golden("legacy.fixed.xml")
    assert stat.S_IMODE(path.stat().st_mode) == 0o444


def test_every_file_not_fixed_is_named_and_the_exit_code_says_so(
    write: Write, run_cli: RunCli
) -> None:
    first = write("a.xml", golden("legacy.xml"))
    fine = write("b.xml", golden("legacy.xml"))
    last = write("c.xml", golden("legacy.xml"))
    first.chmod(0o444)
    last.chmod(0o400)
    result = run_cli("validate", "--fix", first, fine, last)
    assert result.code == 1
    assert f"not fixed: 2 file(s): {first}, {last}" in result.err
    assert "fixed 6 problem(s) in 1 file" in result.err
    assert fine.read_bytes() == golden("legacy.fixed.xml")
    quiet = run_cli("validate", "--fix", "-q", first, last)
    assert quiet.code == 1 and "not fixed: 2 file(s)" not in quiet.err
    assert f"{first}: not fixed:" in quiet.err and f"{last}: not fixed:" in quiet.err


def test_a_symlinked_file_has_its_target_rewritten_and_stays_a_link(
    write: Write, tmp_path: Path, run_cli: RunCli
) -> None:
    target = write("flows/legacy.xml", golden("legacy.xml"))
    link = tmp_path / "flows" / "menu.xml"
    link.symlink_to("legacy.xml")
    result = run_cli("validate", "--fix", link)
    assert result.code == 0
    assert link.is_symlink() and os.readlink(link) == "legacy.xml"
    assert target.read_bytes() == golden("legacy.fixed.xml")
    assert sorted(p.name for p in target.parent.iterdir()) == ["legacy.xml", "menu.xml"]


def test_diff_never_writes(write: Write, tmp_path: Path, run_cli: RunCli) -> None:
    path = write("legacy.xml", golden("legacy.xml"))
    path.chmod(0o444)
    leftover = tmp_path / ".legacy.xml.callflow-fix-999999999-0123456789ab.tmp"
    leftover.write_text("left by a killed run\n")
    os.utime(leftover, (0, 0))
    before = sorted((p.name, p.stat().st_ino, p.stat().st_mtime_ns) for p in tmp_path.iterdir())
    result = run_cli("validate", "--diff", path)
    assert result.code == 1 and "would fix 6 problem(s) in 1 file" in result.err
    after = sorted((p.name, p.stat().st_ino, p.stat().st_mtime_ns) for p in tmp_path.iterdir())
    assert after == before and path.read_bytes() == golden("legacy.xml")


# ---------------------------------------------------------------- as a user without privileges

AS_NOBODY = """
import contextlib, io, os, sys, tempfile
from callflow.cli import main
# A first run as root imports every module the real one needs: the interpreter's own
# files may be out of an unprivileged user's reach.
with tempfile.TemporaryDirectory() as scratch, contextlib.redirect_stderr(io.StringIO()):
    with open(os.path.join(scratch, "warm.xml"), "w") as warm:
        warm.write("<Response><callback>https://a.example.com/x</callback></Response>")
    main(["validate", "--fix", os.path.join(scratch, "warm.xml")])
os.setgroups([]); os.setgid(65534); os.setuid(65534)
sys.exit(main(sys.argv[1:]))
"""
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")


@pytest.fixture
def shared_folder() -> Iterator[Path]:
    """A folder any user can reach (pytest's own are private to root)."""
    base = Path(tempfile.mkdtemp(prefix="callflow-fix-"))
    base.chmod(0o755)
    yield base
    shutil.rmtree(base)


def run_as_nobody(*args: str | Path) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-c", AS_NOBODY, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stderr


@needs_root
def test_a_read_only_folder_is_reported_not_fixed_and_exits_non_zero(shared_folder: Path) -> None:
    folder = shared_folder / "flows"
    folder.mkdir(mode=0o755)
    path = folder / "legacy.xml"
    path.write_bytes(golden("legacy.xml"))
    os.chown(path, 65534, 65534)  # the user may write the file, not the folder
    exit_code, err = run_as_nobody("validate", "--fix", path)
    assert exit_code == 1
    assert (
        f"{path}: not fixed: cannot write in {folder} (Permission denied); the file is unchanged"
        in err
    )
    assert "nothing to fix" not in err and f"not fixed: 1 file(s): {path}" in err
    assert path.read_bytes() == golden("legacy.xml")


@needs_root
def test_an_owner_the_user_may_not_keep_is_said(shared_folder: Path) -> None:
    folder = shared_folder / "shared"
    folder.mkdir()
    folder.chmod(0o777)
    path = folder / "legacy.xml"
    path.write_bytes(golden("legacy.xml"))
    path.chmod(0o666)  # root's file, which anyone may change
    exit_code, err = run_as_nobody("validate", "--fix", path)
    assert exit_code == 0
    assert (
        f"{path}: note: owner root:root could not be kept (this user may not give files away); "
        "the file now belongs to nobody:nogroup"
    ) in err
    assert path.read_bytes() == golden("legacy.fixed.xml")
    assert stat.S_IMODE(path.stat().st_mode) == 0o666
