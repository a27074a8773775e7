"""The command line's start-up: what `callflow validate -q one.xml` imports, and how it exits.

Start-up is measured by ``tests/benchmarks/bench_validate.py --start-up-only`` (never timed
here); these tests hold the shape that makes it fast. Each run is a fresh interpreter, as a
user's is: in the test process, other tests have imported everything already.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from callflow.cli import build_parser, terminal_columns

GOOD = "<Response>\n  <Say>Hello</Say>\n</Response>\n"

#: What a clean `validate -q` of one file never needs, each with why it stays out. (`inspect`
#: and `typing` are not here: `import lxml.etree` itself imports both.)
NOT_ON_THE_VALIDATE_PATH = {
    "tomllib": "no pyproject.toml names callflow: no TOML to read",
    "dataclasses": "ReadPolicy and the other start-up values are plain classes",
    "shutil": "argparse's width comes from callflow.cli.terminal_columns",
    "difflib": "guesses ('did you mean') are only made for a problem",
    "pathlib": "file names stay strings until a Path is asked for (pathlib and the "
    "urllib.parse and ipaddress it loads are a tenth of the start)",
    "urllib.parse": "no URL is quoted (SARIF is not asked for)",
    "multiprocessing": "one file is checked in this process",
    "concurrent.futures": "one file is checked in this process",
    "callflow.fix": "no --fix or --diff",
    "callflow.templating": "no template among the files",
    "callflow.dsl": "no builder script among the files",
    "jinja2": "no template among the files",
    "httpx": "nothing is sent",
    "xmlschema": "the schema is lxml's",
    "hypothesis": "a test library",
}


def _modules_after(argv: list[str], cwd: Path, exit_code: int = 0) -> set[str]:
    """The modules a fresh interpreter holds after ``callflow ARGV`` exited with ``exit_code``."""
    code = (
        "import sys\nfrom callflow.cli import main\n"
        f"code = main({argv!r})\n"
        "print(code, sorted(sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=cwd,
    )
    code_shown, _, names = done.stdout.strip().splitlines()[-1].partition(" ")
    assert code_shown == str(exit_code), done
    return set(eval(names))  # a printed list of module names


def test_validating_one_clean_file_imports_only_what_it_needs(tmp_path: Path) -> None:
    path = tmp_path / "one.xml"
    path.write_text(GOOD, encoding="utf-8")
    loaded = _modules_after(["validate", "-q", str(path)], tmp_path)
    assert "callflow.lint" in loaded and "lxml.etree" in loaded  # it did validate and lint
    unexpected = {name: why for name, why in NOT_ON_THE_VALIDATE_PATH.items() if name in loaded}
    assert unexpected == {}
    commands = {name for name in loaded if name.startswith("callflow.commands.")}
    assert commands == {"callflow.commands.validate", "callflow.commands._common"}


def test_a_pyproject_naming_callflow_is_still_read(tmp_path: Path) -> None:
    # The other side of the lazy tomllib: settings to read are read, and used (CF307, a
    # warning by default, made an error: the run exits 1).
    (tmp_path / "pyproject.toml").write_text(
        '[tool.callflow]\nseverity = { CF307 = "error" }\n', "utf-8"
    )
    path = tmp_path / "one.xml"
    path.write_text(
        '<Response><Callback url="https://example.com/x" method="POST"/></Response>\n', "utf-8"
    )
    loaded = _modules_after(["validate", "-q", str(path)], tmp_path, exit_code=1)
    assert "tomllib" in loaded


def test_the_console_entry_still_runs_exit_handlers_and_flushes(tmp_path: Path) -> None:
    # console_main freezes the heap out of the collector before exiting: exit itself (atexit
    # handlers, buffered output) is unchanged.
    path = tmp_path / "one.xml"
    path.write_text(GOOD, encoding="utf-8")
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: sys.stdout.write('exit handler ran\\n'))\n"
        f"sys.argv = ['callflow', 'validate', {str(path)!r}]\n"
        "sys.stdout.write('buffered before the command\\n')\n"
        "from callflow.cli import console_main\n"
        "console_main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "buffered before the command\nexit handler ran\n"
    assert done.stderr == "1 file checked, no problems\n"


@pytest.mark.parametrize("columns", [None, "123", "0", "-5", "wide", ""])
def test_terminal_columns_is_the_width_shutil_gives(
    columns: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert terminal_columns() == shutil.get_terminal_size().columns


def test_terminal_columns_reads_the_terminal_when_there_is_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr(os, "get_terminal_size", lambda fd: os.terminal_size((97, 40)))
    assert terminal_columns() == shutil.get_terminal_size().columns == 97


@pytest.mark.parametrize("columns", ["60", "100"])
def test_help_is_what_argparses_own_formatter_writes(
    columns: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    parser = build_parser("validate")
    # argparse keeps its subcommands' parsers in a private action: the one way to reach one.
    chosen = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    sub = chosen.choices["validate"]
    ours = [parser.format_help(), sub.format_help()]
    parser.formatter_class = sub.formatter_class = argparse.HelpFormatter
    assert ours == [parser.format_help(), sub.format_help()]
    assert max(len(line) for line in ours[1].splitlines()) > 50  # wrapped near the width


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the batch forks only where fork exists")
@pytest.mark.parametrize("lint", [True, False])
def test_a_forked_batch_imports_nothing_after_the_fork_and_no_multiprocessing(
    tmp_path: Path, lint: bool
) -> None:
    # Each process writes an `-X importtime` line per module it imports: a module imported
    # after the fork shows twice (once per process), and costs the run twice.
    for index in range(4):
        (tmp_path / f"f{index}.xml").write_text(GOOD, encoding="utf-8")
    argv = ["validate", "-q", "--jobs", "2", str(tmp_path)] + ([] if lint else ["--no-lint"])
    done = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-c",
            f"from callflow.cli import main; main({argv!r})",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    imported = [
        line.rpartition("|")[2].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "imported package" not in line
    ]
    assert "callflow._forks" in imported  # it did fork
    twice = sorted({name for name in imported if imported.count(name) > 1})
    assert twice == []
    assert "multiprocessing" not in imported
