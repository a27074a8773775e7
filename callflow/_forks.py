"""Checking a batch of files in forked copies of this process.

The copies start with the schema, the rules and the settings already loaded (``gc.freeze``
keeps their collector off the parent's pages); each checks one contiguous share and sends back
only its diagnostics, as plain rows pickled once through a pipe. A copy ends with ``os._exit``,
so that nothing of the parent (atexit handlers, buffered output) runs twice. An exception in a
share is raised again in the parent, as one process would raise it. Only where ``fork`` exists;
`callflow.commands.validate` keeps a process pool elsewhere.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from callflow.diagnostics import Diagnostic

#: One file to check: its name, and the name to show for it (standard input's label).
_Item = tuple[str, "str | None"]


def check_in_forks(
    files: list[_Item], check: Callable[[list[_Item]], list[Diagnostic]], jobs: int
) -> list[Diagnostic]:
    """Check ``files`` in ``jobs`` processes: this one and ``jobs - 1`` forked copies of it
    (the schema, the rules and the settings already loaded), each given one contiguous
    share and sending back only its diagnostics, pickled once through a pipe."""
    import gc
    import pickle

    from callflow.check import collector_paused

    size = -(-len(files) // jobs)
    shares = [files[i : i + size] for i in range(0, len(files), size)]
    children: list[tuple[int, int]] = []  # (pid, read end of its pipe), in share order
    gc.freeze()  # the copies' collector leaves this process's objects (and pages) alone
    try:
        for share in shares[1:]:
            read, write = os.pipe()
            pid = os.fork()
            if pid == 0:  # the copy: check its share, send the result, and end here
                os.close(read)
                _send_result(write, share, check)
            os.close(write)
            children.append((pid, read))
        # A share makes no cycles, only diagnostics that live to the end: the collector
        # would walk all those gathered so far again at every pass (15% of a run of 25,000
        # files with 1.4 warnings each). It runs again when the share is done.
        with collector_paused():
            found = check(shares[0])
            for pid, read in children:
                with os.fdopen(read, "rb") as pipe:
                    data = pipe.read()
                os.waitpid(pid, 0)
                if not data:
                    raise RuntimeError("a worker process ended before sending its results")
                kind, value = pickle.loads(data)
                if kind == "error":
                    raise value
                found.extend(_from_rows(value))
        children.clear()
        return found
    finally:
        gc.unfreeze()
        for pid, _ in children:  # interrupted: the copies end too
            import signal

            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)
                os.waitpid(pid, 0)


def _send_result(
    write: int, share: list[_Item], check: Callable[[list[_Item]], list[Diagnostic]]
) -> NoReturn:
    """In a forked copy: the diagnostics of ``share`` (or the exception raised) to ``write``."""
    import gc
    import pickle

    gc.disable()  # as in the parent's share; this copy ends when its share is sent
    code = 0
    try:
        try:
            result: tuple[str, object] = ("ok", _to_rows(check(share)))
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


#: A diagnostic as it crosses from a worker: plain values pickle at half the cost of objects.
_Row = tuple[
    str, str, str, str, int, "int | None", tuple[str, ...], "str | None", "str | None", "str | None"
]


def _to_rows(diagnostics: list[Diagnostic]) -> list[_Row]:
    rows: list[_Row] = []
    for d in diagnostics:
        where = d.location
        rows.append(
            (
                d.code,
                d.severity.value,
                d.message,
                where.file,
                where.line,
                where.column,
                where.chain,
                d.xpath,
                d.hint,
                d.snippet,
            )
        )
    return rows


def _from_rows(rows: list[_Row]) -> list[Diagnostic]:
    from callflow.diagnostics import Diagnostic, Severity
    from callflow.sourcemap import SourceLocation

    severities = {severity.value: severity for severity in Severity}
    return [
        Diagnostic(
            code,
            severities[severity],
            message,
            SourceLocation(file, line, column, chain),
            xpath,
            hint,
            snippet,
        )
        for code, severity, message, file, line, column, chain, xpath, hint, snippet in rows
    ]
