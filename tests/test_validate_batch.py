"""Batch validation: worker processes report what one process reports, errors included,
and a file's problems quote the lines that were checked (the file is read once)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from callflow.commands.validate import Options, check_files
from callflow.diagnostics import Diagnostic
from callflow.sources import DEFAULT_POLICY

Run = Callable[..., Any]  # conftest.run_cli: returns CliResult(code, out, err)
Write = Callable[[str, str | bytes], Path]

WARNED = '<Response>\n  <Callback url="https://x.example.com/a"/>\n</Response>\n'
GOOD = "<Response>\n  <Say>Hello</Say>\n</Response>\n"
OPTIONS = Options(schema=None, lint=True, select=None, ignore=None, policy=DEFAULT_POLICY)


def test_a_files_problems_quote_the_lines_read_for_the_check(write: Write) -> None:
    path = write("warned.xml", WARNED)
    found = check_files([(str(path), None)], OPTIONS)
    assert [d.code for d in found] == ["CF306", "CF307"]
    assert {d.snippet for d in found} == {'  <Callback url="https://x.example.com/a"/>'}


def test_a_templates_problems_are_left_for_the_reporter_to_quote(write: Write) -> None:
    # The rendered text's line 3 is the template's line 4: quoting it would show the wrong line.
    template = (
        "{# callflow samples.basic = { n = 1 } #}\n<Response>\n  <Say>{{ n + 1 }}</Say>\n"
        '  <Callback url="https://x.example.com/a"/>\n</Response>\n'
    )
    path = write("flow.xml.j2", template)
    found = check_files([(str(path), None)], OPTIONS)
    assert [d.code for d in found] == ["CF306", "CF307"]
    assert all(d.snippet is None and d.location.line == 4 for d in found)


def test_text_output_of_many_files_is_the_same_in_one_process_and_in_several(
    run_cli: Run, write: Write, tmp_path: Path
) -> None:
    for index in range(30):
        write(f"many/f{index:02d}.xml", WARNED if index % 2 else GOOD)
    serial = run_cli("validate", "--jobs", "1", tmp_path / "many")
    parallel = run_cli("validate", "--jobs", "3", tmp_path / "many")
    assert serial.code == parallel.code == 0
    assert serial.out == parallel.out
    assert serial.out.count("CF307") == 15


def test_an_error_raised_in_a_workers_share_ends_the_run_as_in_one_process(
    run_cli: Run, write: Write, tmp_path: Path
) -> None:
    for index in range(6):
        write(f"tree/a/f{index}.xml", GOOD)
        write(f"tree/z/f{index}.xml", GOOD)
    write("tree/z/pyproject.toml", "[tool.callflow]\nselect = 5\n")
    serial = run_cli("validate", "--jobs", "1", tmp_path / "tree")
    parallel = run_cli("validate", "--jobs", "2", tmp_path / "tree")
    assert serial.code == parallel.code == 2
    assert serial.err == parallel.err
    assert "[tool.callflow] select" in parallel.err


def test_json_of_a_folder_is_the_same_with_every_number_of_workers(
    run_cli: Run, write: Write, tmp_path: Path
) -> None:
    for index in range(9):
        write(f"jobs/f{index}.xml", WARNED)
    outputs = [
        json.loads(
            run_cli("validate", "--format", "json", "--jobs", str(jobs), tmp_path / "jobs").out
        )
        for jobs in (1, 2, 4, 9)
    ]
    assert all(output == outputs[0] for output in outputs)
    assert len(outputs[0]) == 18


def test_the_shares_are_checked_with_the_collector_paused_and_it_runs_again_after() -> None:
    import gc

    assert gc.isenabled()
    seen: list[bool] = []

    def check(share: list[tuple[str, str | None]]) -> list[Diagnostic]:
        seen.append(gc.isenabled())  # the parent's share (a copy's list is its own)
        return [] if gc.isenabled() else [_note(name) for name, _ in share]

    found = _flat(check_in_forks([("a.xml", None), ("b.xml", None), ("c.xml", None)], check, 2))
    assert seen == [False]
    assert [d.location.file for d in found] == ["a.xml", "b.xml", "c.xml"]  # the copy's too
    assert gc.isenabled()


def _flat(
    shares: list[list[Diagnostic]],
) -> list[Diagnostic]:
    return [diagnostic for share in shares for diagnostic in share]


def check_in_forks(
    files: list[tuple[str, str | None]],
    check: Callable[[list[tuple[str, str | None]]], list[Diagnostic]],
    jobs: int,
) -> list[list[Diagnostic]]:
    """`callflow._forks.check_in_forks` with diagnostics crossing as columns."""
    from callflow import _forks

    return _forks.check_in_forks(
        files, check, jobs, pack=_forks.to_columns, unpack=_forks.from_columns
    )


def _note(name: str) -> Diagnostic:
    from callflow.diagnostics import Severity
    from callflow.sourcemap import SourceLocation

    return Diagnostic("CF305", Severity.WARNING, "a note", SourceLocation(name, 1, None))


def test_diagnostics_from_a_forked_copy_come_back_with_every_field() -> None:
    from callflow.diagnostics import Severity
    from callflow.sourcemap import SourceLocation

    def made(name: str) -> list[Diagnostic]:
        return [
            Diagnostic(
                "CF307",
                Severity.WARNING,
                f"about {name}",
                SourceLocation(name, 4, 3, ("called from flows/menu.py:30",)),
                xpath="/Response/Callback",
                hint="add <Error>",
                snippet="  <Callback url='x'/>",
            ),
            Diagnostic("CF101", Severity.ERROR, "bad", SourceLocation(name, 1, None)),
            Diagnostic("CF901", Severity.INFO, "note", SourceLocation(name, 2, 1), snippet=""),
        ]

    def fields(found: list[Diagnostic]) -> list[tuple[object, ...]]:
        return [(d.to_dict(), d.severity, d.snippet) for d in found]

    files = [("a.xml", None), ("b.xml", None)]
    found = _flat(check_in_forks(files, lambda share: made(share[0][0]), 2))
    assert fields(found) == fields(made("a.xml") + made("b.xml"))


@pytest.mark.parametrize("fmt", ["text", "json", "github", "sarif"])
def test_each_format_is_what_the_fully_made_diagnostics_render(
    fmt: str, run_cli: Run, write: Write, tmp_path: Path
) -> None:
    # validate leaves out what the format does not show (XPaths in text, quoted lines in
    # json): the report is the one every field would have given.
    from callflow.commands._common import format_diagnostics
    from callflow.diagnostics import collapse_repeats, in_order

    for index in range(12):  # past the few XPaths lxml spells, in one file
        write("fmt/many.xml", "<Response>\n" + '  <Pause length="5"/>\n' * 12 + "</Response>\n")
        write(f"fmt/f{index:02d}.xml", WARNED if index % 3 else GOOD)
    files = sorted((str(path), None) for path in (tmp_path / "fmt").iterdir())
    full = collapse_repeats(in_order(check_files(files, OPTIONS)))
    assert full and all(d.xpath and d.snippet for d in full)
    shown = run_cli("validate", "--format", fmt, *[name for name, _ in files])
    assert shown.out == format_diagnostics(full, fmt)


#: A file with more than `MAX_PER_CODE` reports of one code (the count line), a file with
#: errors, warned and clean files, a file that is not XML: every kind of report in one batch.
MANY_PAUSES = "<Response>\n" + '  <Pause length="5"/>\n' * 25 + "</Response>\n"
BROKEN = '<Response>\n  <Gather numDigts="1" timeout="8s"/>\n  <Sya>hi</Sya>\n</Response>\n'


def _mixed_batch(write: Write, folder: str) -> None:
    write(f"{folder}/capped.xml", MANY_PAUSES)
    write(f"{folder}/broken.xml", BROKEN)
    write(f"{folder}/binary.xml", b"<Response>\x00</Response>")
    write(f"{folder}/ctrl.xml", '<Response>\n  <Callback url="https://x/\x1b[2J"/>\n</Response>\n')
    for index in range(14):
        write(f"{folder}/f{index:02d}.xml", WARNED if index % 3 else GOOD)


@pytest.mark.parametrize("fmt", ["text", "json", "github", "sarif"])
@pytest.mark.parametrize("color", ["never", "always"])
def test_every_format_is_byte_for_byte_the_same_with_one_process_and_with_several(
    fmt: str, color: str, run_cli: Run, write: Write, tmp_path: Path
) -> None:
    _mixed_batch(write, "mixed")
    folder = tmp_path / "mixed"
    one = folder / "f01.xml"  # named twice (once in the folder): its reports count twice
    runs = [
        run_cli("validate", "--format", fmt, "--color", color, "--jobs", jobs, folder, one)
        for jobs in ("1", "2", "3", "7")
    ]
    assert runs[0].code == 1
    assert "(2 times)" in runs[0].out or fmt in ("json", "sarif")
    assert "more CF" in runs[0].out or fmt in ("json", "sarif")
    assert "checked: " in runs[0].err
    for run in runs[1:]:
        assert (run.code, run.out, run.err) == (runs[0].code, runs[0].out, runs[0].err)


PART = '<Callback url="https://x.example.com/{{ n }}"/>\n'
MAIN = (
    "{# callflow samples.basic = { n = 1 } #}\n<Response>\n"
    '  <Say>hi</Say>\n  {% include "part.xml.j2" %}\n</Response>\n'
)


@pytest.mark.parametrize("fmt", ["text", "github"])
def test_an_include_also_checked_is_reported_as_in_one_process(
    fmt: str, run_cli: Run, write: Write, tmp_path: Path
) -> None:
    # part.xml.j2 is checked alone (one share) and through main.xml.j2 (the other): its
    # reports from both are one block, as one process gives it.
    write("inc/main.xml.j2", MAIN)
    write("inc/part.xml.j2", "<Response>\n  " + PART.replace("{{ n }}", "2") + "</Response>\n")
    runs = [
        run_cli("validate", "--format", fmt, "--jobs", jobs, tmp_path / "inc")
        for jobs in ("1", "2")
    ]
    assert "part.xml.j2" in runs[0].out and "main.xml.j2" not in runs[0].out.split(":")[0]
    assert (runs[1].code, runs[1].out, runs[1].err) == (runs[0].code, runs[0].out, runs[0].err)


def test_standard_input_beside_files_is_reported_as_in_one_process(
    run_cli: Run, write: Write, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    for index in range(4):
        write(f"in/f{index}.xml", WARNED)
    runs = []
    for jobs in ("1", "3"):
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(WARNED.encode())))
        name = str(tmp_path / "in" / "f2.xml")  # standard input named as a file checked
        runs.append(
            run_cli("validate", "--stdin-filename", name, "--jobs", jobs, tmp_path / "in", "-")
        )
    assert "(2 times)" in runs[0].out
    assert (runs[1].code, runs[1].out, runs[1].err) == (runs[0].code, runs[0].out, runs[0].err)


def test_a_worker_killed_before_sending_is_a_clear_error() -> None:
    import os
    import signal

    def check(share: list[tuple[str, str | None]]) -> list[Diagnostic]:
        if share[0][0] == "b.xml":  # the copy's share
            os.kill(os.getpid(), signal.SIGKILL)
        return []

    with pytest.raises(RuntimeError, match="ended before sending its results"):
        check_in_forks([("a.xml", None), ("b.xml", None)], check, 2)


def test_a_worker_that_cannot_send_is_a_clear_error_not_a_silent_end() -> None:
    from callflow import _forks

    def pack(found: list[Diagnostic]) -> object:
        raise SystemExit(3)  # (not an Exception: nothing is sent, the copy ends with 1)

    with pytest.raises(RuntimeError, match="ended before sending its results"):
        _forks.check_in_forks(
            [("a.xml", None), ("b.xml", None)],
            lambda share: [],
            2,
            pack=pack,
            unpack=_forks.from_columns,
        )


def test_results_cut_short_are_a_clear_error_not_an_unpickling_error() -> None:
    # Private: a pipe cut short at every length cannot be arranged from outside.
    import pickle

    from callflow._forks import _received

    data = pickle.dumps(("ok", [["CF307"] * 50, ["warning"] * 50]))
    assert _received(data, 0) == ("ok", [["CF307"] * 50, ["warning"] * 50])
    for end in (1, len(data) // 2, len(data) - 1):
        with pytest.raises(RuntimeError, match="incomplete results"):
            _received(data[:end], 0)
    with pytest.raises(RuntimeError, match="ended before"):
        _received(data, 256)  # all sent, but the copy failed (exit status 1)


def _open_descriptors() -> set[str]:
    import os

    return set(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to count descriptors")
def test_an_interrupted_batch_ends_its_copies_and_closes_their_pipes() -> None:
    import os

    def check(share: list[tuple[str, str | None]]) -> list[Diagnostic]:
        if share[0][0] == "a.xml":  # this process's share: the user presses Ctrl-C
            raise KeyboardInterrupt
        return []

    before = _open_descriptors()
    with pytest.raises(KeyboardInterrupt):
        check_in_forks([("a.xml", None), ("b.xml", None), ("c.xml", None)], check, 3)
    assert _open_descriptors() == before
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # every copy was waited for: none is left


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to count descriptors")
def test_a_copy_that_cannot_be_made_leaves_no_pipe_open(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    def no_fork() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    before = _open_descriptors()
    with pytest.raises(BlockingIOError):
        check_in_forks([("a.xml", None), ("b.xml", None)], lambda share: [], 2)
    assert _open_descriptors() == before
