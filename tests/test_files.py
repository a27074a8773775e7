"""Writing user files: atomic, identity kept for existing files, usual mode for new ones;
temporary files a later run recognises, and only those."""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import subprocess
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

# callflow._files is private (the writers behind fix, convert, graph, init): its own test.
from callflow._files import (
    LeftoverCleaner,
    is_temporary_name,
    rewriting,
    temporary_name,
    write_atomically,
)
from callflow.errors import InputError


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


def test_an_existing_file_keeps_its_owner_and_group(tmp_path: Path) -> None:
    target = tmp_path / "diagram.svg"
    target.write_bytes(b"old")
    os.chown(target, 65534, 65534)
    write_atomically(target, b"new")
    assert (target.stat().st_uid, target.stat().st_gid) == (65534, 65534)


# ---------------------------------------------------------------- temporary files


@given(st.text(min_size=1, max_size=300).filter(lambda n: "/" not in n and "\0" not in n))
def test_every_temporary_name_is_recognised_and_fits_in_a_folder(name: str) -> None:
    made = temporary_name(name)
    assert is_temporary_name(made)
    assert len(os.fsencode(made)) <= 255
    assert made.startswith(".") and made.endswith(".tmp")


@pytest.mark.parametrize(
    "name",
    [
        "flow.xml",
        ".flow.xml.callflow-tmp",
        ".flow.xml.abc123.callflow-tmp",  # an older version's temporary file: it cannot be told
        ".flow.xml.callflow-fix-notes.tmp",
        ".flow.xml.callflow-fix-12-0123456789ab.tmp.orig",
        "flow.xml.callflow-fix-12-0123456789ab.tmp",
        ".flow.xml.callflow-fix-12-0123456789AB.tmp",
        ".flow.xml.callflow-fix-012-0123456789ab.tmp",
        ".flow.xml.callflow-fix-12-0123456789a.tmp",
    ],
)
def test_names_that_only_look_like_temporary_files_are_not_recognised(name: str) -> None:
    assert not is_temporary_name(name)


@pytest.fixture
def dead_pid() -> int:
    """The id of a process that has ended."""
    done = subprocess.Popen(["true"])
    done.wait()
    return done.pid


def leftover(folder: Path, pid: int, *, age: float = 3600, token: str = "0123456789ab") -> Path:
    path = folder / f".flow.xml.callflow-fix-{pid}-{token}.tmp"
    path.write_text("half a fix\n")
    then = time.time() - age
    os.utime(path, (then, then))
    return path


def test_the_cleaner_removes_an_old_unlocked_leftover_of_an_ended_process(
    tmp_path: Path, dead_pid: int
) -> None:
    found = leftover(tmp_path, dead_pid)
    assert LeftoverCleaner().clean(tmp_path) == [found]
    assert not found.exists()


def test_the_cleaner_keeps_a_young_leftover(tmp_path: Path, dead_pid: int) -> None:
    found = leftover(tmp_path, dead_pid, age=5)
    assert LeftoverCleaner(min_age=60).clean(tmp_path) == [] and found.exists()


def test_the_cleaner_keeps_the_file_of_a_running_process(tmp_path: Path) -> None:
    found = leftover(tmp_path, os.getppid())
    assert LeftoverCleaner().clean(tmp_path) == [] and found.exists()


def test_the_cleaner_keeps_a_locked_file(tmp_path: Path, dead_pid: int) -> None:
    # Its process may live in another process namespace, where the pid means nothing here.
    found = leftover(tmp_path, dead_pid)
    with found.open("rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert LeftoverCleaner().clean(tmp_path) == []
    assert found.exists()


def test_the_cleaner_never_follows_or_removes_a_link(tmp_path: Path, dead_pid: int) -> None:
    precious = tmp_path / "precious.xml"
    precious.write_text("mine\n")
    link = tmp_path / f".flow.xml.callflow-fix-{dead_pid}-0123456789ab.tmp"
    link.symlink_to(precious)
    os.utime(link, (0, 0), follow_symlinks=False)
    assert LeftoverCleaner().clean(tmp_path) == []
    assert link.is_symlink() and precious.read_text() == "mine\n"


def test_the_cleaner_keeps_a_folder_with_such_a_name(tmp_path: Path, dead_pid: int) -> None:
    folder = tmp_path / f".flow.xml.callflow-fix-{dead_pid}-0123456789ab.tmp"
    folder.mkdir()
    os.utime(folder, (0, 0))
    assert LeftoverCleaner().clean(tmp_path) == [] and folder.is_dir()


def test_the_cleaner_looks_at_a_folder_once(tmp_path: Path, dead_pid: int) -> None:
    cleaner = LeftoverCleaner()
    assert cleaner.clean(tmp_path) == []
    found = leftover(tmp_path, dead_pid)
    assert cleaner.clean(tmp_path) == [] and found.exists()
    assert LeftoverCleaner().clean(tmp_path) == [found]


def test_a_failed_write_removes_its_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "a.xml"

    def failing_replace(source: str, destination: str) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(target, b"x", replace=failing_replace)
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_cannot_be_locked_is_not_rewritten(tmp_path: Path) -> None:
    target = tmp_path / "flow.xml"
    target.write_bytes(b"old")

    def no_locks(handle: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))

    refused = pytest.raises(InputError, match=r"cannot lock the file \(No locks available\)")
    with refused, rewriting(target, lock=no_locks) as handle:
        handle.replace(b"new")
    assert target.read_bytes() == b"old" and list(tmp_path.iterdir()) == [target]


def test_a_rewrite_waits_for_the_lock_then_gives_up(tmp_path: Path) -> None:
    target = tmp_path / "flow.xml"
    target.write_bytes(b"old")
    ticks = iter(range(100))
    with target.open("rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        refused = pytest.raises(InputError, match="another run has been fixing the file")
        with refused, rewriting(target, lock_timeout=3, clock=lambda: next(ticks)):
            raise AssertionError("the lock was taken twice")
    assert target.read_bytes() == b"old"
