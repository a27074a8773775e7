"""Running untrusted code in a child process: a time limit, a clean stdout, results by pipe.

`run_in_child` calls a function in a forked child (or, where ``fork`` is unavailable, a
fresh interpreter) and returns what it sent back, with what went wrong otherwise: the
time limit passed, the process ended without answering (``os._exit``, a signal such as
SIGSEGV), it wrote too much to its standard output or error, or it left a process
running. The child is the leader of its own process group, and the whole group is
killed when the call ends, so a fork that outlives the script goes with it.

Forking from the parent costs a few milliseconds and keeps the modules already imported;
a fresh interpreter costs a Python start-up (and an import of the builder) per call.
The child's standard input is ``/dev/null``; its standard output and error go to a pipe
the parent reads and counts (so they never reach the parent's own stdout); its answer goes
through a second pipe, as a length-prefixed message the parent validates before use.
``faulthandler`` writes the child's stack to a third pipe on a crash and just before
the time limit, so a hang or a segfault can be reported at the line that was running.
"""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Callable

#: Bytes of the child's own output kept for the report (the rest is only counted).
OUTPUT_KEPT = 200
#: Seconds after the time limit before the child is killed (its stack is dumped first).
GRACE = 0.5
_HEADER = struct.Struct("!Q")
#: The real ``os._exit``, kept before code in the child can replace it.
_exit = os._exit
_FRAME = re.compile(r'^\s*File "(.*)", line (\d+)', re.MULTILINE)


class ChildOutcome:
    """What a child process gave: its answer, or how it ended without one."""

    __slots__ = (
        "answer",
        "exit_status",
        "left_running",
        "output",
        "output_size",
        "signal",
        "stack",
        "timed_out",
        "too_much_output",
    )

    def __init__(self) -> None:
        self.answer: bytes | None = None
        self.output = b""
        self.output_size = 0
        self.timed_out = False
        self.too_much_output = False
        self.left_running = False
        self.exit_status: int | None = None
        self.signal: int | None = None
        self.stack = ""

    def frames(self) -> list[tuple[str, int]]:
        """(file, line) of the child's dumped stack, innermost first."""
        return [(file, int(line)) for file, line in _FRAME.findall(self.stack)]


def run_in_child(
    work: Callable[[], bytes],
    *,
    timeout: float,
    max_output: int,
    max_answer: int,
    spawn_target: str | None = None,
    spawn_argument: bytes = b"",
) -> ChildOutcome:
    """Run ``work()`` in a child process; its return value comes back as ``answer``.

    ``spawn_target`` (``"module:function"``, called with ``spawn_argument`` and returning
    bytes) is what a fresh interpreter runs where ``fork`` is not available.
    """
    answer_read, answer_write = os.pipe()
    output_read, output_write = os.pipe()
    stack_read, stack_write = os.pipe()
    for stream in (sys.stdout, sys.stderr):  # no buffered parent output copied into the child
        with contextlib.suppress(Exception):
            stream.flush()
    process: subprocess.Popen[bytes] | None = None
    if _fork_is_safe() or spawn_target is None:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child; its coverage is not collected
            os.close(answer_read)
            os.close(output_read)
            os.close(stack_read)
            _child(work, answer_write, output_write, stack_write, timeout)
    else:
        assert spawn_target is not None
        process = subprocess.Popen(
            [sys.executable, "-c", _SPAWNED, spawn_target, str(answer_write), str(stack_write)],
            stdin=subprocess.PIPE,
            stdout=output_write,
            stderr=output_write,
            pass_fds=(answer_write, stack_write),
            start_new_session=True,
            env=dict(os.environ, CALLFLOW_CHILD_TIMEOUT=str(timeout)),
        )
        pid = process.pid
        assert process.stdin is not None
        with contextlib.suppress(OSError):
            process.stdin.write(_HEADER.pack(len(spawn_argument)) + spawn_argument)
            process.stdin.close()
    os.close(answer_write)
    os.close(output_write)
    os.close(stack_write)
    try:
        return _watch(pid, answer_read, output_read, stack_read, timeout, max_output, max_answer)
    finally:
        # The child is not reaped before this, so its process group cannot have been
        # reused: everything it started (and did not move to a session of its own) ends.
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        if process is not None:
            process.returncode = 0  # reaped above
        for fd in (answer_read, output_read, stack_read):
            with contextlib.suppress(OSError):
                os.close(fd)


def _fork_is_safe() -> bool:
    # macOS system libraries are not fork-safe once threads exist; Linux and BSDs are.
    return hasattr(os, "fork") and sys.platform != "darwin"


def _child(
    work: Callable[[], bytes], answer: int, output: int, stack: int, timeout: float
) -> None:  # pragma: no cover - runs in the child
    code = 70
    try:
        os.setpgid(0, 0)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.close(null)
        os.close(output)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        _arm_faulthandler(stack, timeout)
        data = work()
        _send(answer, data)
        code = 0
    finally:
        _exit(code)


def _arm_faulthandler(stack: int, timeout: float) -> None:
    import faulthandler

    handle = os.fdopen(stack, "w", closefd=False)
    faulthandler.enable(file=handle, all_threads=False)
    faulthandler.dump_traceback_later(timeout, file=handle)


def _send(fd: int, data: bytes) -> None:
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def spawned_main() -> None:  # pragma: no cover - runs in a fresh interpreter
    """The fresh interpreter's side of `run_in_child` (where there is no fork)."""
    import importlib

    target, answer, stack = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    size = _HEADER.unpack(sys.stdin.buffer.read(_HEADER.size))[0]
    argument = sys.stdin.buffer.read(size)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    module, name = target.split(":")
    function = getattr(importlib.import_module(module), name)
    code = 70
    try:
        _arm_faulthandler(stack, float(os.environ.get("CALLFLOW_CHILD_TIMEOUT", "3600")))
        _send(answer, function(argument))
        code = 0
    finally:
        _exit(code)


def _ended(pid: int, *, block: bool = False) -> os.waitid_result | None:
    """How the child ended, if it has, without reaping it (its group stays reserved)."""
    options = os.WEXITED | os.WNOWAIT | (0 if block else os.WNOHANG)
    try:
        return os.waitid(os.P_PID, pid, options)
    except ChildProcessError:
        return None


_SPAWNED = "from callflow._child import spawned_main; spawned_main()"


def _watch(
    pid: int,
    answer_fd: int,
    output_fd: int,
    stack_fd: int,
    timeout: float,
    max_output: int,
    max_answer: int,
) -> ChildOutcome:
    outcome = ChildOutcome()
    answer = bytearray()
    stack = bytearray()
    deadline = time.monotonic() + timeout + GRACE
    selector = selectors.DefaultSelector()
    selector.register(answer_fd, selectors.EVENT_READ, "answer")
    selector.register(output_fd, selectors.EVENT_READ, "output")
    selector.register(stack_fd, selectors.EVENT_READ, "stack")
    exit_fd: int | None = None
    with contextlib.suppress(AttributeError, OSError):
        exit_fd = os.pidfd_open(pid)  # readable when the child ends
        selector.register(exit_fd, selectors.EVENT_READ, "exit")
    status: os.waitid_result | None = None
    try:
        while True:
            if status is None:
                status = _ended(pid)
            open_pipes = [k for k in selector.get_map().values() if k.data != "exit"]
            if status is not None and not open_pipes:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if status is None:
                    outcome.timed_out = True
                else:
                    outcome.left_running = True  # something else holds the pipes open
                break
            if status is not None:
                # The child is gone; the pipes close at once unless a process it left
                # behind holds them.
                remaining = min(remaining, 0.2)
                deadline = min(deadline, time.monotonic() + 0.2)
            wait = remaining if exit_fd is not None or status is not None else min(remaining, 0.02)
            for key, _ in selector.select(wait):
                if key.data == "exit":
                    selector.unregister(key.fd)
                    continue
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    selector.unregister(key.fd)
                elif key.data == "answer":
                    answer += chunk
                    if len(answer) > max_answer + _HEADER.size:
                        selector.unregister(key.fd)
                elif key.data == "output":
                    if outcome.output_size < OUTPUT_KEPT:
                        outcome.output += chunk[: OUTPUT_KEPT - outcome.output_size]
                    outcome.output_size += len(chunk)
                    if outcome.output_size > max_output:
                        outcome.too_much_output = True
                        return outcome
                else:
                    stack += chunk
    finally:
        selector.close()
        if exit_fd is not None:
            os.close(exit_fd)
        outcome.stack = stack.decode("utf-8", "replace")
        if status is None:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
            status = _ended(pid, block=True)
        if status is not None and status.si_code == os.CLD_EXITED:
            outcome.exit_status = status.si_status
        elif status is not None:
            outcome.signal = status.si_status
        if len(answer) >= _HEADER.size:
            (size,) = _HEADER.unpack(answer[: _HEADER.size])
            if size <= max_answer and len(answer) == _HEADER.size + size:
                outcome.answer = bytes(answer[_HEADER.size :])
    return outcome
