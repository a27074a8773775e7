"""The child-process runner: an answer by pipe, or how the child ended without one.

`callflow._child` has no public name: it is the seam the builder-script containment runs
through, and these tests hold each way a child can end to its outcome directly.
"""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest

from callflow._child import OUTPUT_KEPT, run_in_child

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")


def _run(work, *, timeout: float = 5.0, max_output: int = 10_000, max_answer: int = 1000):  # type: ignore[no-untyped-def]
    return run_in_child(work, timeout=timeout, max_output=max_output, max_answer=max_answer)


def test_the_answer_comes_back_and_the_child_exits_cleanly() -> None:
    outcome = _run(lambda: b"hello")
    assert (outcome.answer, outcome.exit_status, outcome.signal) == (b"hello", 0, None)
    assert not (outcome.timed_out or outcome.too_much_output or outcome.left_running)


def test_what_the_child_prints_is_kept_in_part_and_counted() -> None:
    def work() -> bytes:
        print("x" * 500, flush=True)
        return b"ok"

    outcome = _run(work)
    assert outcome.answer == b"ok"
    assert outcome.output == b"x" * OUTPUT_KEPT
    assert outcome.output_size == 501


def test_too_much_output_stops_the_watch() -> None:
    def work() -> bytes:
        while True:
            sys.stdout.write("y" * 4096)

    outcome = _run(work, max_output=50_000)
    assert outcome.too_much_output and outcome.answer is None
    assert outcome.output_size > 50_000 and len(outcome.output) == OUTPUT_KEPT


def test_a_child_past_its_time_limit_is_killed_with_its_stack_dumped() -> None:
    def work() -> bytes:
        time.sleep(30)
        return b"late"

    started = time.monotonic()
    outcome = _run(work, timeout=0.3)
    assert time.monotonic() - started < 10
    assert outcome.timed_out and outcome.answer is None
    assert outcome.signal == signal.SIGKILL
    assert any(file.endswith("test_child.py") for file, _ in outcome.frames())


def test_an_exit_without_answer_gives_its_status() -> None:
    outcome = _run(lambda: os._exit(3))
    assert (outcome.answer, outcome.exit_status, outcome.timed_out) == (None, 3, False)


def test_a_child_killed_by_a_signal_gives_the_signal() -> None:
    def work() -> bytes:
        os.kill(os.getpid(), signal.SIGKILL)
        return b""

    outcome = _run(work)
    assert (outcome.answer, outcome.signal, outcome.exit_status) == (None, signal.SIGKILL, None)


def test_an_answer_larger_than_allowed_is_refused() -> None:
    outcome = _run(lambda: b"z" * 5000, max_answer=100)
    assert outcome.answer is None and outcome.exit_status == 0


def test_a_process_left_holding_the_pipes_is_reported_and_stopped() -> None:
    def work() -> bytes:
        if os.fork() == 0:  # a grandchild keeps the output pipe open
            time.sleep(30)
            os._exit(0)
        return b"done"

    started = time.monotonic()
    outcome = _run(work, timeout=1.0)
    assert time.monotonic() - started < 10
    assert outcome.left_running and outcome.answer == b"done" and outcome.exit_status == 0
