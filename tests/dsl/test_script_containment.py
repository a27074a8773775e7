"""Builder scripts run in a child process: whatever a script does to its process becomes a
located CF7xx diagnostic, and the other files of the run are still checked."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

# Private on purpose: the script runner's own containment is what this module tests.
from callflow.dsl._script import load_script_sources
from callflow.sources import ReadPolicy

FLOW = 'from callflow.dsl import Response, Say\nflow = Response(Say("hi"))\n'
BAD_XML = '<Response><Gather numDigts="1"/></Response>\n'
BAD_XML_ERROR = "bad.xml:1:19: CF203"

#: name → (script, code, line, severity)
FAILURES: dict[str, tuple[str, str, int, str]] = {
    "sys_exit": ("import sys\nsys.exit(3)\n", "CF702", 2, "error"),
    "system_exit": ("x = 1\nraise SystemExit(0)\n", "CF702", 2, "error"),
    "os_exit": ("import os\nos._exit(0)\n", "CF708", 2, "error"),
    "keyboard_interrupt": ("x = 1\nraise KeyboardInterrupt\n", "CF702", 2, "error"),
    "hang": ("x = 1\nwhile True: x += 1\n", "CF707", 2, "error"),  # one line: either bytecode
    "fork": (
        "import os, time\n" + FLOW + "if os.fork() == 0:\n    time.sleep(60)\n",
        "CF709",
        1,
        "error",
    ),
    "fd_writes": (
        "import os\n" + FLOW + 'os.write(1, b"forged.xml:1:1: CF000 fake\\n")\nos.write(2, b"x")\n',
        "CF706",
        1,
        "warning",
    ),
    "print": (FLOW + "\nprint('debugging')\n", "CF706", 4, "warning"),
    "huge_output": (
        'import os\nwhile True:\n    os.write(1, b"y" * 65536)\n',
        "CF710",
        1,
        "error",
    ),
    "segfault": ("import ctypes\nctypes.string_at(0)\n", "CF708", 2, "error"),
    "killed": ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n", "CF708", 1, "error"),
}


def _validate(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "callflow", "validate", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("jobs", [[], ["--jobs", "2"]], ids=["serial", "jobs2"])
@pytest.mark.parametrize("name", sorted(FAILURES))
def test_a_misbehaving_script_is_reported_and_the_other_files_still_checked(
    tmp_path: Path, name: str, jobs: list[str]
) -> None:
    script, code, line, severity = FAILURES[name]
    (tmp_path / "bad.xml").write_text(BAD_XML)
    (tmp_path / f"{name}.py").write_text(script)
    (tmp_path / "good.py").write_text(FLOW)
    started = time.monotonic()
    proc = _validate(tmp_path, "bad.xml", f"{name}.py", "good.py", *jobs)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert BAD_XML_ERROR in proc.stdout
    shown = f"{name}.py:{line}: {code}" + (" warning:" if severity == "warning" else " ")
    assert shown in proc.stdout, proc.stdout
    assert "3 files checked" in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    # Nothing the script wrote reaches callflow's own output as a line of its own.
    assert not [row for row in proc.stdout.splitlines() if row.startswith(("forged", "y" * 8))]
    assert "debugging" not in proc.stdout.splitlines()
    assert time.monotonic() - started < 60


def test_a_fork_that_outlives_the_script_is_stopped(tmp_path: Path) -> None:
    marker = tmp_path / "still-running"
    script = tmp_path / "fork.py"
    script.write_text(
        "import os, time\n" + FLOW + "if os.fork() == 0:\n"
        f"    time.sleep(2)\n    open({str(marker)!r}, 'w').close()\n"
    )
    [source] = load_script_sources(script)
    assert [d.code for d in source.diagnostics] == ["CF709"]
    time.sleep(3)
    assert not marker.exists()


def test_the_time_limit_is_the_policys(tmp_path: Path) -> None:
    script = tmp_path / "slow.py"
    script.write_text("import time\ntime.sleep(30)\n")
    started = time.monotonic()
    [source] = load_script_sources(script, policy=ReadPolicy(script_timeout=0.5))
    assert time.monotonic() - started < 5
    [problem] = source.diagnostics
    assert (problem.code, problem.location.line) == ("CF707", 2)
    assert "0.5 s" in problem.message


def test_a_script_still_maps_to_its_lines_through_the_child(tmp_path: Path) -> None:
    script = tmp_path / "hello.py"
    script.write_text(FLOW)
    [source] = load_script_sources(script)
    assert source.diagnostics == [] and source.document is not None
    assert source.document.source_map.elements["/Response/Say"].line == 2
    assert source.document.locate(source.document.root[0]).line == 2


def test_unsaved_text_runs_instead_of_the_file(tmp_path: Path) -> None:
    script = tmp_path / "edited.py"
    script.write_text(FLOW)
    [source] = load_script_sources(script, text=b"x = 1\ny = 1 / 0\n")
    [problem] = source.diagnostics
    assert (problem.code, problem.location.file, problem.location.line) == (
        "CF702",
        str(script),
        2,
    )


def test_a_script_cannot_forge_its_answer_with_other_codes(tmp_path: Path) -> None:
    # The child's answer is data: a script replacing the encoder still only yields
    # diagnostics of its own kind, never "no problems" for another file.
    script = tmp_path / "forger.py"
    script.write_text(
        "import callflow.dsl._script as s, json\n"
        "s._diagnostic_json = lambda d: {'code': 'CF000', 'severity': 'info', "
        "'message': 'fine', 'location': ['other.xml', 1, None, []], 'hint': None}\n"
        "raise ValueError('boom')\n"
    )
    [source] = load_script_sources(script)
    assert [d.code for d in source.diagnostics] == ["CF708"]


def test_checking_a_script_leaves_this_process_as_it_was(tmp_path: Path) -> None:
    script = tmp_path / "meddles.py"
    script.write_text("import os, sys\nos.environ['CALLFLOW_MEDDLED'] = '1'\nsys.path.clear()\n")
    load_script_sources(script)
    assert "CALLFLOW_MEDDLED" not in os.environ
    assert sys.path


@pytest.mark.parametrize("name", ["os_exit", "segfault", "print", "fork"])
def test_a_fresh_interpreter_contains_a_script_where_fork_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    # The fallback for systems without a safe fork (macOS) is chosen by a private switch;
    # turning it off here is the only way to run that path on Linux.
    import callflow._child

    monkeypatch.setattr(callflow._child, "_fork_is_safe", lambda: False)
    script, code, line, _ = FAILURES[name]
    path = tmp_path / f"{name}.py"
    path.write_text(script)
    [source] = load_script_sources(path)
    assert [(d.code, d.location.line) for d in source.diagnostics] == [(code, line)]


def test_a_fresh_interpreter_gives_the_same_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import callflow._child

    path = tmp_path / "hello.py"
    path.write_text(FLOW)
    [forked] = load_script_sources(path)
    monkeypatch.setattr(callflow._child, "_fork_is_safe", lambda: False)
    [spawned] = load_script_sources(path)
    assert forked.document is not None and spawned.document is not None
    assert forked.document.text == spawned.document.text
    assert forked.document.source_map.elements == spawned.document.source_map.elements
