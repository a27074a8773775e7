"""Writing the user's files safely: all or nothing, permissions kept, links followed."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from callflow.errors import InputError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomically(
    path: Path,
    data: bytes,
    *,
    expected: bytes | None = None,
    replace: Callable[[str, str], None] = os.replace,
) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory.

    Readers see the old file or the new one, never a mix. The file's permissions are kept
    and a symbolic link is followed (its target is rewritten, the link stays). With
    ``expected``, the write is abandoned (`InputError`) if the file changed meanwhile.
    """
    target = path.resolve()
    handle, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".callflow-tmp", dir=target.parent
    )
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        if target.exists():
            os.chmod(temporary, target.stat().st_mode & 0o7777)
            if expected is not None and target.read_bytes() != expected:
                raise InputError(f"{path}: changed while being fixed; not written")
        else:  # a new file gets the usual mode, not the private one of the temporary file
            os.chmod(temporary, 0o666 & ~_umask())
        replace(temporary, str(target))
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


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
