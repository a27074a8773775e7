"""The render watchdog in a forked child (a builder script's child, a `validate --jobs`
worker): the child gets a watchdog of its own, whatever state the parent's was in at the
fork. Before, a child forked while the parent's watchdog thread held its lock (it takes it
every 0.05 s while a render runs in any thread) waited for that lock forever at its first
render, and a child inherited the renders of the parent's other threads."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from callflow.sources import load_flow

TEMPLATE = "<Response><Say>{{ greeting }}</Say></Response>\n"
#: How long the child may take to render one small template (it takes milliseconds).
CHILD_SECONDS = 20.0


def _render_in_a_child(before_fork: object = None) -> int | None:
    """Fork; the child renders a template in the sandbox and exits 0 (1 on a wrong result).
    The child's exit status, or None when it did not finish within CHILD_SECONDS."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            document = load_flow(TEMPLATE, filename="t.xml.j2", context={"greeting": "hi"})
            code = 0 if "<Say>hi</Say>" in document.text else 1
        finally:
            os._exit(code)
    deadline = time.monotonic() + CHILD_SECONDS
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_child_forked_while_the_watchdog_holds_its_lock_still_renders() -> None:
    from callflow.templating._sandbox import WATCHDOG  # the state a fork copies

    load_flow(TEMPLATE, filename="t.xml.j2", context={"greeting": "warm"})  # thread started
    # The watchdog thread's own look at the renders, caught at the moment of a fork.
    with WATCHDOG._lock:  # private: the lock is what the fork copies, there is no other way
        status = _render_in_a_child()
    assert status == 0, "the forked child never finished its render (it waited on the lock)"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_child_does_not_inherit_the_renders_of_the_parents_other_threads() -> None:
    from callflow.templating._sandbox import WATCHDOG

    started, release = threading.Event(), threading.Event()

    def slow_value() -> str:
        started.set()
        release.wait(10)
        return "slow"

    rendering = threading.Thread(
        target=load_flow,
        args=("<Response><Say>{{ slow() }}</Say></Response>\n",),
        kwargs={"filename": "s.xml.j2", "context": {"slow": slow_value}},
    )
    rendering.start()
    try:
        assert started.wait(10)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            os._exit(0 if not WATCHDOG._renders else 1)  # private: the state a fork copies
        assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    finally:
        release.set()
        rendering.join(10)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_watchdog_whose_thread_ended_starts_another_for_the_next_render() -> None:
    import threading
    import time

    from callflow.templating._sandbox import _Watchdog

    watchdog = _Watchdog()
    failures = []
    fail = threading.Event()  # the loop fails when told: its thread is seen running first

    def broken() -> None:
        fail.wait(5)
        failures.append(1)
        raise RuntimeError("a bug of the watch loop")

    watchdog._watch = broken  # type: ignore[method-assign]  # private: the loop's failure
    watchdog.leave(watchdog.enter(5.0, 2**30))
    first = watchdog._thread
    assert first is not None
    fail.set()
    first.join(5)
    assert not first.is_alive() and watchdog._thread is None and failures == [1]
    del watchdog._watch  # the real loop again
    watchdog.leave(watchdog.enter(5.0, 2**30))
    second = watchdog._thread
    assert second is not None and second is not first
    time.sleep(0.05)
    assert second.is_alive()


def test_a_watchdog_thread_that_cannot_start_is_tried_again_and_leaves_no_render(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import threading

    from callflow.templating._sandbox import _Watchdog

    watchdog = _Watchdog()
    start = threading.Thread.start
    refused = []

    def refuse_once(thread: threading.Thread) -> None:
        if not refused:
            refused.append(thread)
            raise RuntimeError("can't start new thread")
        start(thread)

    monkeypatch.setattr(threading.Thread, "start", refuse_once)
    with pytest.raises(RuntimeError, match="can't start"):
        watchdog.enter(5.0, 2**30)
    assert watchdog._thread is None and watchdog._renders == {}  # private: what it kept
    watchdog.leave(watchdog.enter(5.0, 2**30))
    assert watchdog._thread is not None and watchdog._thread.is_alive()
