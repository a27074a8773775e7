"""Writing the user's files safely: all or nothing, one writer at a time, identity kept.

An existing file is rewritten through `rewriting`: the file is opened, locked (an advisory
``flock`` on the file itself, the lock every callflow run takes), read, and replaced only if
it is still exactly what was read, as one step under the lock. The new text goes to a
temporary file in the same folder, which takes the old file's owner, group and mode before it
is moved over the old one (``os.replace``), so readers see the old file or the new one, never a
mix. A symbolic link is followed: its target is rewritten, the link stays.

Temporary files are named ``.NAME.callflow-fix-PID-TOKEN.tmp`` and locked while they are
written; `LeftoverCleaner` removes the ones a killed run left behind (its process gone, the
file unlocked and older than a minute) and nothing else.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import grp
import os
import pwd
import re
import secrets
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from callflow.errors import InputError

T = TypeVar("T")

#: How long `rewriting` waits for another run that holds the file's lock.
LOCK_TIMEOUT = 10.0

#: A leftover temporary file younger than this is never removed, whatever its process.
LEFTOVER_MIN_AGE = 60.0

_TEMPORARY = re.compile(
    r"\.(?P<name>.*)\.callflow-fix-(?P<pid>[1-9][0-9]{0,9})-(?P<token>[0-9a-f]{12})\.tmp",
    re.DOTALL,
)
_NAME_MAX = 255


def temporary_name(name: str) -> str:
    """A fresh temporary file name for rewriting the file ``name`` (shortened to fit)."""
    suffix = f".callflow-fix-{os.getpid()}-{secrets.token_hex(6)}.tmp"
    room = _NAME_MAX - len(suffix.encode()) - 1
    stem = os.fsencode(name)[:room].decode("utf-8", "ignore") if room > 0 else ""
    return f".{stem}{suffix}"


def is_temporary_name(name: str) -> bool:
    """True for the names `temporary_name` makes, and only those."""
    return _TEMPORARY.fullmatch(name) is not None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _process_gone(pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists but belongs to someone else
        return False
    return False


class LeftoverCleaner:
    """Removes the temporary files killed runs left in a folder, once per folder.

    A file is removed only if its name is one `temporary_name` makes, it is a regular
    file (not a link), the process named in it is gone, nobody holds its lock, and it
    is older than ``min_age`` seconds. Anything else, however similar its name, stays.
    """

    def __init__(self, min_age: float = LEFTOVER_MIN_AGE, clock: Callable[[], float] = time.time):
        self.min_age = min_age
        self._clock = clock
        self._done: set[str] = set()

    def clean(self, folder: Path) -> list[Path]:
        """Remove the leftovers in ``folder`` (the first time it is named); the paths removed."""
        key = os.path.realpath(folder)
        if key in self._done:
            return []
        self._done.add(key)
        removed: list[Path] = []
        try:
            entries = list(os.scandir(key))
        except OSError:
            return removed
        for entry in entries:
            found = _TEMPORARY.fullmatch(entry.name)
            if found is None or not _process_gone(int(found.group("pid"))):
                continue
            if self._remove_if_abandoned(os.path.join(key, entry.name)):
                removed.append(Path(key, entry.name))
        return removed

    def _remove_if_abandoned(self, path: str) -> bool:
        try:
            handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return False  # a link, gone, or unreadable: not ours to judge
        try:
            status = os.fstat(handle)
            if not stat.S_ISREG(status.st_mode):
                return False
            if self._clock() - status.st_mtime < self.min_age:
                return False
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return False  # a live run (perhaps in another process namespace) writes it
            now = os.lstat(path)
            if (now.st_dev, now.st_ino) != (status.st_dev, status.st_ino):
                return False
            os.unlink(path)
            return True
        except OSError:
            return False
        finally:
            os.close(handle)


def _new_temporary(folder: str, name: str, mode: int) -> tuple[int, str]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    while True:
        temporary = os.path.join(folder, temporary_name(name))
        try:
            handle = os.open(temporary, flags, mode)
        except FileExistsError:
            continue
        except OSError as error:
            raise OSError(error.errno, error.strerror, folder) from None
        # Tells a cleaner that the file is being written; without flock, its pid and age do.
        with contextlib.suppress(OSError):
            fcntl.flock(handle, fcntl.LOCK_EX)
        return handle, temporary


def _write_all(handle: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(handle, view) :]
    os.fsync(handle)


def _through_temporary(
    target: str,
    data: bytes,
    settle: Callable[[int], T],
    replace: Callable[[str, str], None],
) -> T:
    """Write ``data`` to a private temporary file beside ``target``, let ``settle(handle)``
    give it its identity and make the last checks (raising leaves ``target`` as it was), then
    move it over ``target`` and sync the folder. The temporary file never outlives a failure."""
    folder, name = os.path.split(target)
    handle, temporary = _new_temporary(folder, name, 0o600)
    try:
        _write_all(handle, data)
        settled = settle(handle)
        replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    finally:
        os.close(handle)
    _sync_folder(folder)
    return settled


def _sync_folder(folder: str) -> None:
    with contextlib.suppress(OSError):
        handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


def _owner_name(uid: int, gid: int) -> str:
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = str(uid)
    try:
        group = grp.getgrgid(gid).gr_name
    except KeyError:
        group = str(gid)
    return f"{user}:{group}"


def _keep_identity(handle: int, status: os.stat_result) -> list[str]:
    """Give the temporary file the old file's owner, group and mode; say what could not be."""
    notes: list[str] = []
    try:
        os.fchown(handle, status.st_uid, status.st_gid)
    except OSError:  # not allowed, or a file system without owners
        with contextlib.suppress(OSError):
            os.fchown(handle, -1, status.st_gid)
        now = os.fstat(handle)
        notes.append(
            f"owner {_owner_name(status.st_uid, status.st_gid)} could not be kept (this user "
            f"may not give files away); the file now belongs to "
            f"{_owner_name(now.st_uid, now.st_gid)}"
        )
    os.fchmod(handle, stat.S_IMODE(status.st_mode))  # after chown, which clears set-id bits
    return notes


def read_only_reason(status: os.stat_result, path: str) -> str | None:
    """Why the file is read-only (no write permission for anyone, or not for this user)."""
    mode = stat.S_IMODE(status.st_mode)
    if not mode & 0o222:
        return f"the file is read-only (mode {mode:04o})"
    with contextlib.suppress(OSError):
        if os.statvfs(path).f_flag & os.ST_RDONLY:
            return "the file is on a read-only file system"
    if not os.access(path, os.W_OK):
        return (
            f"the file is read-only for this user (owner "
            f"{_owner_name(status.st_uid, status.st_gid)}, mode {mode:04o})"
        )
    return None


class Rewrite:
    """An existing file opened by `rewriting`: locked, read, replaced only if unchanged."""

    def __init__(self, path: Path, target: str, handle: int, status: os.stat_result, data: bytes):
        self.path = path
        self.target = target  # the file itself, with links followed
        self.data = data
        self._handle = handle
        self._status = status

    def replace(
        self,
        data: bytes,
        *,
        force: bool = False,
        replace: Callable[[str, str], None] = os.replace,
        before_replace: Callable[[], None] | None = None,
    ) -> list[str]:
        """Replace the file by ``data`` if it is still exactly what was read; notes to show.

        Raises `InputError` when the file is refused (read-only without ``force``, several
        hard links, changed since it was read) and `OSError` when it cannot be written;
        either way the file is unchanged and no temporary file is left.
        """
        status = os.fstat(self._handle)
        if not force and (reason := read_only_reason(status, self.target)):
            raise InputError(f"{reason}; --force rewrites it anyway")
        if status.st_nlink > 1:
            raise InputError(
                f"the file has {status.st_nlink} hard links; replacing it would leave the "
                "other names with the old text (copy the file to break the link, then fix it)"
            )

        def settle(handle: int) -> list[str]:
            notes = _keep_identity(handle, status)
            if before_replace is not None:
                before_replace()
            if (change := self._change()) is not None:
                raise InputError(f"{change} while being fixed; not written")
            return notes

        return _through_temporary(self.target, data, settle, replace)

    def _change(self) -> str | None:
        """What happened to the file since it was read, or None if it is exactly as read."""
        before = self._status
        now = os.fstat(self._handle)
        try:
            named = os.stat(self.target)
        except FileNotFoundError:
            return "removed"
        if (named.st_dev, named.st_ino) != (now.st_dev, now.st_ino):
            return "replaced"
        if (now.st_size, now.st_mtime_ns, now.st_nlink) != (
            before.st_size,
            before.st_mtime_ns,
            before.st_nlink,
        ):
            return "changed"
        if os.pread(self._handle, len(self.data) + 1, 0) != self.data:
            return "changed"
        return None


@contextlib.contextmanager
def rewriting(
    path: Path,
    *,
    max_bytes: int | None = None,
    lock_timeout: float = LOCK_TIMEOUT,
    clock: Callable[[], float] = time.monotonic,
    lock: Callable[[int, int], None] = fcntl.flock,
) -> Iterator[Rewrite]:
    """Open ``path`` for rewriting: locked for as long as the block runs, its bytes read.

    Raises `InputError` (not a regular file, larger than ``max_bytes``, still locked by
    another run after ``lock_timeout`` seconds) or `OSError` (cannot be read).
    """
    target = os.path.realpath(path)
    deadline = clock() + lock_timeout
    while True:
        handle = os.open(target, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            status = _locked(handle, target, deadline, clock, lock)
        except BaseException:
            os.close(handle)
            raise
        if status is not None:
            break
        os.close(handle)  # replaced by the run that held the lock: lock the new file
    try:
        if max_bytes is not None and status.st_size > max_bytes:
            raise InputError(f"larger than {max_bytes} bytes")
        data = _read_all(handle, status.st_size, max_bytes)
        yield Rewrite(path, target, handle, os.fstat(handle), data)
    finally:
        os.close(handle)


def _locked(
    handle: int,
    target: str,
    deadline: float,
    clock: Callable[[], float],
    lock: Callable[[int, int], None],
) -> os.stat_result | None:
    """Lock the open file; its status, or None if the name now leads to another file."""
    status = os.fstat(handle)
    if not stat.S_ISREG(status.st_mode):
        raise InputError("not a regular file")
    delay = 0.001
    while True:
        try:
            lock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except OSError as error:
            if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                # Without the lock a concurrent run could lose this fix: refuse instead.
                raise InputError(f"cannot lock the file ({error.strerror})") from None
        if clock() >= deadline:
            raise InputError("another run has been fixing the file for too long; try again")
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
    try:
        named = os.stat(target)
    except FileNotFoundError:
        return None
    if (named.st_dev, named.st_ino) != (status.st_dev, status.st_ino):
        return None
    return os.fstat(handle)


def read_regular_file(path: Path, *, max_bytes: int | None = None) -> bytes:
    """The bytes of ``path`` without locking it; never blocks on a FIFO or a device.

    Raises `InputError` (not a regular file, larger than ``max_bytes``) or `OSError`.
    """
    handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        status = os.fstat(handle)
        if not stat.S_ISREG(status.st_mode):
            raise InputError("not a regular file")
        if max_bytes is not None and status.st_size > max_bytes:
            raise InputError(f"larger than {max_bytes} bytes")
        return _read_all(handle, status.st_size, max_bytes)
    finally:
        os.close(handle)


def _read_all(handle: int, size: int, max_bytes: int | None) -> bytes:
    limit = max_bytes + 1 if max_bytes is not None else None
    chunks: list[bytes] = []
    total = 0
    while limit is None or total < limit:
        chunk = os.read(handle, max(size - total, 1 << 16))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    data = b"".join(chunks)
    if max_bytes is not None and len(data) > max_bytes:
        raise InputError(f"larger than {max_bytes} bytes")
    return data


def write_atomically(
    path: Path,
    data: bytes,
    *,
    replace: Callable[[str, str], None] = os.replace,
) -> None:
    """Write ``data`` to ``path`` (a new file, or one to overwrite) through a temporary file.

    Readers see the old file or the new one, never a mix. An existing file keeps its
    owner, group and mode where the process may keep them; a new one gets the usual mode.
    A symbolic link is followed (its target is rewritten, the link stays).
    """
    target = os.path.realpath(path)

    def settle(handle: int) -> None:
        try:
            status: os.stat_result | None = os.stat(target)
        except FileNotFoundError:
            status = None
        if status is not None and stat.S_ISREG(status.st_mode):
            _keep_identity(handle, status)
        else:  # a new file gets the usual mode, not the private one of the temporary file
            os.fchmod(handle, 0o666 & ~_umask())

    _through_temporary(target, data, settle, replace)


def check_output(
    output: Path,
    *,
    force: bool,
    written_by_us: Callable[[bytes], bool] | None = None,
    source: str | None = None,
    writer: str = "callflow",
) -> None:
    """Raise `InputError` unless ``output`` may be written: not a folder, not the input
    ``source``, and (without ``force``) new, or a file ``written_by_us`` recognises from its
    first KiB."""
    if output.is_dir():
        raise InputError(f"{output} is a directory")
    if not output.exists():
        return
    if source is not None and source != "-" and output.resolve() == Path(source).resolve():
        raise InputError(f"refusing to write over the input {source}")
    if force:
        return
    if written_by_us is not None:
        with output.open("rb") as handle:
            if written_by_us(handle.read(1024)):
                return
        raise InputError(
            f"{output} exists and was not written by {writer}; not replaced "
            "(use --force to replace it)"
        )
    raise InputError(f"{output} exists; pass --force to overwrite it")


def fix_hold_seam() -> Callable[[], None] | None:
    """With CALLFLOW_FIX_HOLD=FILE, each write waits (up to 60 s) for FILE to exist just
    before its final check: the seam tests use to interrupt or race a fix in a real process."""
    hold = os.environ.get("CALLFLOW_FIX_HOLD")
    if not hold:
        return None

    def wait() -> None:
        deadline = time.monotonic() + 60
        while not os.path.exists(hold) and time.monotonic() < deadline:
            time.sleep(0.01)

    return wait


def create_new(path: Path, data: bytes) -> bool:
    """Write ``data`` to a new file ``path`` (its folders made as needed); False, writing
    nothing, when ``path`` exists (a file, a folder, or a link, which is not followed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: never replaces, and never follows a link of that name.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        return False
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(data)
    return True
