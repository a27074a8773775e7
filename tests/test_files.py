"""Writing user files: atomic, permissions kept for existing files, usual mode for new ones."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from callflow.files import write_atomically


def test_a_new_file_gets_the_mode_the_umask_allows(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        target = tmp_path / "diagram.svg"
        write_atomically(target, b"<svg/>")
    finally:
        os.umask(previous)
    assert target.read_bytes() == b"<svg/>"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_an_existing_file_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "flow.xml"
    target.write_bytes(b"old")
    target.chmod(0o640)
    write_atomically(target, b"new")
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_no_temporary_file_is_left_behind(tmp_path: Path) -> None:
    write_atomically(tmp_path / "a.xml", b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.xml"]
