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
        # Python-level streams too: the parent's may be objects of its own (a test's capture,
        # an editor's channel) that would swallow what the script prints.
        sys.stdin = open(0, closefd=False)  # noqa: SIM115 - lives as long as the child
        sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
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
    watch = _Watch(pid, timeout, max_output, max_answer)
    watch.register(answer=answer_fd, output=output_fd, stack=stack_fd)
    try:
        watch.run()
    finally:
        watch.finish()
    return watch.outcome


class _Watch:
    """The parent's side of one child: its pipes read until it ends, its time runs out, or
    it writes too much. Each pipe's reader is found by the pipe's name in `_READERS`."""

    def __init__(self, pid: int, timeout: float, max_output: int, max_answer: int) -> None:
        self.pid = pid
        self.max_output = max_output
        self.max_answer = max_answer
        self.outcome = ChildOutcome()
        self.answer = bytearray()
        self.stack = bytearray()
        self.deadline = time.monotonic() + timeout + GRACE
        self.selector = selectors.DefaultSelector()
        self.exit_fd: int | None = None
        self.status: os.waitid_result | None = None

    def register(self, **pipes: int) -> None:
        for name, fd in pipes.items():
            self.selector.register(fd, selectors.EVENT_READ, name)
        with contextlib.suppress(AttributeError, OSError):
            self.exit_fd = os.pidfd_open(self.pid)  # readable when the child ends
            self.selector.register(self.exit_fd, selectors.EVENT_READ, "exit")

    def run(self) -> None:
        while True:
            if self.status is None:
                self.status = _ended(self.pid)
            open_pipes = [k for k in self.selector.get_map().values() if k.data != "exit"]
            if self.status is not None and not open_pipes:
                return
            wait = self.wait()
            if wait is None:
                return
            for key, _ in self.selector.select(wait):
                if _READERS[key.data](self, key.fd):
                    return

    def wait(self) -> float | None:
        """How long to wait for the pipes now; None when the time is up (noted in the outcome)."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            if self.status is None:
                self.outcome.timed_out = True
            else:
                self.outcome.left_running = True  # something else holds the pipes open
            return None
        if self.status is not None:
            # The child is gone; the pipes close at once unless a process it left
            # behind holds them.
            remaining = min(remaining, 0.2)
            self.deadline = min(self.deadline, time.monotonic() + 0.2)
        if self.exit_fd is not None or self.status is not None:
            return remaining
        return min(remaining, 0.02)  # no pidfd to wake us when the child ends: poll

    # One reader per pipe; each returns True to stop watching.

    def child_exited(self, fd: int) -> bool:
        self.selector.unregister(fd)
        return False

    def read(self, fd: int) -> bytes:
        """The next chunk of pipe ``fd``; b"" (and the pipe forgotten) at its end."""
        chunk = os.read(fd, 65536)
        if not chunk:
            self.selector.unregister(fd)
        return chunk

    def read_answer(self, fd: int) -> bool:
        chunk = self.read(fd)
        if chunk:
            self.answer += chunk
            if len(self.answer) > self.max_answer + _HEADER.size:
                self.selector.unregister(fd)
        return False

    def read_output(self, fd: int) -> bool:
        chunk = self.read(fd)
        outcome = self.outcome
        if chunk:
            if outcome.output_size < OUTPUT_KEPT:
                outcome.output += chunk[: OUTPUT_KEPT - outcome.output_size]
            outcome.output_size += len(chunk)
            if outcome.output_size > self.max_output:
                outcome.too_much_output = True
                return True
        return False

    def read_stack(self, fd: int) -> bool:
        self.stack += self.read(fd)
        return False

    def finish(self) -> None:
        """Close the watch and fill in how the child ended (killing it if it has not)."""
        self.selector.close()
        if self.exit_fd is not None:
            os.close(self.exit_fd)
        outcome = self.outcome
        outcome.stack = self.stack.decode("utf-8", "replace")
        if self.status is None:
            with contextlib.suppress(OSError):
                os.killpg(self.pid, signal.SIGKILL)
            self.status = _ended(self.pid, block=True)
        status = self.status
        if status is not None and status.si_code == os.CLD_EXITED:
            outcome.exit_status = status.si_status
        elif status is not None:
            outcome.signal = status.si_status
        outcome.answer = self.valid_answer()

    def valid_answer(self) -> bytes | None:
        """The child's answer when its length prefix matches what came (else None)."""
        if len(self.answer) < _HEADER.size:
            return None
        (size,) = _HEADER.unpack(self.answer[: _HEADER.size])
        if size <= self.max_answer and len(self.answer) == _HEADER.size + size:
            return bytes(self.answer[_HEADER.size :])
        return None


_READERS: dict[str, Callable[[_Watch, int], bool]] = {
    "answer": _Watch.read_answer,
    "output": _Watch.read_output,
    "stack": _Watch.read_stack,
    "exit": _Watch.child_exited,
}
