"""Checking a batch of files in forked copies of this process.

The copies start with the schema, the rules and the settings already loaded (``gc.freeze``
keeps their collector off the parent's pages); each checks one contiguous share and sends back
only its diagnostics, as plain values pickled once through a pipe. A copy ends with ``os._exit``,
so that nothing of the parent (atexit handlers, buffered output) runs twice. An exception in a
share is raised again in the parent, as one process would raise it. Only where ``fork`` exists;
`callflow.commands.validate` keeps a process pool elsewhere.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

if TYPE_CHECKING:
    from callflow.diagnostics import Diagnostic

#: One file to check: its name, and the name to show for it (standard input's label).
_Item = tuple[str, "str | None"]
#: What checking one share gives (by default, its diagnostics).
_Result = TypeVar("_Result")


def check_in_forks(
    files: list[_Item],
    check: Callable[[list[_Item]], _Result],
    jobs: int,
    *,
    pack: Callable[[_Result], object],
    unpack: Callable[[Any], _Result],
) -> list[_Result]:
    """What ``check`` gives for each of ``jobs`` contiguous shares of ``files``, in share
    order: the first checked in this process, each other in a forked copy of it (the schema,
    the rules and the settings already loaded) that sends back ``pack(result)``, pickled
    once through a pipe, for ``unpack`` to make again here (diagnostics cross as plain
    columns: `to_columns`, `from_columns`)."""
    import gc
    import pickle  # noqa: F401  (imported once here: every copy pickles, this process unpickles)

    from callflow.check import collector_paused

    size = -(-len(files) // jobs)
    shares = [files[i : i + size] for i in range(0, len(files), size)]
    children: list[tuple[int, int]] = []  # (pid, read end of its pipe), in share order
    gc.freeze()  # the copies' collector leaves this process's objects (and pages) alone
    try:
        for share in shares[1:]:
            read, write = os.pipe()
            try:
                pid = os.fork()
            except BaseException:  # no copy (out of processes or memory): no pipe either
                os.close(read)
                os.close(write)
                raise
            if pid == 0:  # the copy: check its share, send the result, and end here
                os.close(read)
                _send_result(write, share, check, pack)
            os.close(write)
            children.append((pid, read))
        # A share makes no cycles, only diagnostics that live to the end: the collector
        # would walk all those gathered so far again at every pass (15% of a run of 25,000
        # files with 1.4 warnings each). It runs again when the share is done.
        with collector_paused():
            found = [check(shares[0])]
            while children:
                pid, read = children[0]
                children[0] = (pid, -1)  # the file object below owns (and closes) the pipe
                with os.fdopen(read, "rb") as pipe:
                    data = pipe.read()
                _, status = os.waitpid(pid, 0)
                children.pop(0)
                kind, value = _received(data, status)
                if kind == "error":
                    raise value
                found.append(unpack(value))
        return found
    finally:
        gc.unfreeze()
        for pid, read in children:  # interrupted: the copies end too, and their pipes close
            import signal

            if read >= 0:
                os.close(read)
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)
                os.waitpid(pid, 0)


def _received(data: bytes, status: int) -> tuple[str, Any]:
    """What a copy sent: ("ok", value) or ("error", exception); a copy that ended before
    sending all of it (killed, out of memory, a failed write) is a clear RuntimeError."""
    import pickle

    if not data or os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError("a worker process ended before sending its results")
    try:
        kind, value = pickle.loads(data)
    except Exception:  # cut short: whatever the unpickler says, it is the same failure
        raise RuntimeError("a worker process sent incomplete results") from None
    return kind, value


def _send_result(
    write: int,
    share: list[_Item],
    check: Callable[[list[_Item]], _Result],
    pack: Callable[[_Result], object],
) -> NoReturn:
    """In a forked copy: ``pack`` of what ``share`` gives (or the exception raised) to
    ``write``. A copy that cannot send ends with status 1, which the parent reports."""
    import gc
    import pickle

    gc.disable()  # as in the parent's share; this copy ends when its share is sent
    code = 0
    try:
        try:
            result: tuple[str, object] = ("ok", pack(check(share)))
        except Exception as error:  # raised again in the parent, as one process would
            result = ("error", error)
        try:
            data = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as error:
            data = pickle.dumps(("error", RuntimeError(f"{type(error).__name__}: {error}")))
        with os.fdopen(write, "wb") as pipe:
            pipe.write(data)
    except BaseException:
        code = 1
    finally:
        os._exit(code)


#: Diagnostics as they cross from a worker: one list per field (code, severity, message,
#: file, line, column, chain, xpath, hint, snippet), the i-th diagnostic's fields at index i.
#: Plain values pickle at half the cost of objects, and lists of them without a tuple per
#: diagnostic; the same string in many diagnostics (a file name, a message) is pickled once.
_Columns = tuple[list[Any], ...]


def to_columns(diagnostics: list[Diagnostic]) -> _Columns:
    locations = [d.location for d in diagnostics]
    return (
        [d.code for d in diagnostics],
        [d.severity.value for d in diagnostics],
        [d.message for d in diagnostics],
        [where.file for where in locations],
        [where.line for where in locations],
        [where.column for where in locations],
        [where.chain for where in locations],
        [d.xpath for d in diagnostics],
        [d.hint for d in diagnostics],
        [d.snippet for d in diagnostics],
    )


def from_columns(columns: _Columns) -> list[Diagnostic]:
    from callflow.diagnostics import Diagnostic, Severity
    from callflow.sourcemap import SourceLocation

    codes, severities, messages, files, lines, columns_, chains, xpaths, hints, snippets = columns
    by_value = {severity.value: severity for severity in Severity}
    locations = map(SourceLocation, files, lines, columns_, chains)
    return list(
        map(
            Diagnostic,
            codes,
            map(by_value.__getitem__, severities),
            messages,
            locations,
            xpaths,
            hints,
            snippets,
        )
    )
