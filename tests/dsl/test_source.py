"""Source capture: each node knows the author's line, and a bad keyword its own place.

The frame classification (`USER`, `OURS`, …) is private to `callflow.dsl._source`; the
tests of the author's frame reach it on purpose, to place frames in files of each kind.
"""

from __future__ import annotations

import functools
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callflow.dsl import DTMF, Gather, Response, Say
from callflow.dsl._source import (
    _FILE_KINDS,
    _INSTALLED_DIRS,
    _PACKAGE_DIR,
    _STDLIB_DIRS,
    INSTALLED,
    MAX_CHAIN,
    OURS,
    STDLIB,
    USER,
    Site,
    _classify,
    author_site,
)
from callflow.errors import BuildError

SETTINGS = settings(max_examples=80, deadline=None)


def test_a_node_built_deep_in_a_long_module_knows_its_line() -> None:
    lines = ["from callflow.dsl import Say, Response", "x = 0"]
    lines += [f"x += {number}" for number in range(2000)]
    lines += ["flow = Response(", "    Say('late'),", ")"]
    namespace: dict[str, Any] = {}
    exec(compile("\n".join(lines), "long_flow.py", "exec"), namespace)
    flow = namespace["flow"]
    assert (flow.location.file, flow.location.line) == ("long_flow.py", len(lines) - 2)
    say = flow.children[0]
    assert say.location.line == len(lines) - 1


def nest(depth: int) -> Say:
    """A fragment that calls itself ``depth`` times before building its node."""
    return Say("deep") if depth == 0 else nest(depth - 1)


def test_a_location_names_at_most_max_chain_callers_innermost_first() -> None:
    say = nest(MAX_CHAIN + 2)
    here = sys._getframe(0).f_code.co_filename
    assert say.location.file == here
    assert len(say.location.chain) == MAX_CHAIN
    assert all(entry.startswith(f"called from {here}:") for entry in say.location.chain)
    first_caller_line = int(say.location.chain[0].rsplit(":", 1)[1])
    source = Path(here).read_text("utf-8").splitlines()
    assert "nest(depth - 1)" in source[first_caller_line - 1]


# ---------------------------------------------------------------- the author's frame

KIND_FILES = {
    USER: "flow_steps.py",
    OURS: os.path.join(_PACKAGE_DIR, "dsl", "steps_inside_callflow.py"),
    STDLIB: os.path.join(_STDLIB_DIRS[0], "steps_in_the_standard_library.py"),
    INSTALLED: os.path.join(_INSTALLED_DIRS[0], "steps_in_a_package.py"),
}


def step_function(kind: int) -> Any:
    """A function whose code belongs to a file of ``kind``: it calls on, one frame deeper."""
    namespace: dict[str, Any] = {}
    exec(compile("def step(call):\n    return call()\n", KIND_FILES[kind], "exec"), namespace)
    return namespace["step"]


def expected_site(frame: Any) -> tuple[object, ...]:
    """The rule, spelt out: the innermost author frame, then up to MAX_CHAIN user callers."""
    while frame is not None and _classify(frame.f_code.co_filename) not in (USER, INSTALLED):
        frame = frame.f_back
    if frame is None:
        return ()
    chain = []
    caller = frame.f_back
    for _ in range(MAX_CHAIN):
        if caller is None or _classify(caller.f_code.co_filename) != USER:
            break
        chain.append((caller.f_code, caller.f_lasti))
        caller = caller.f_back
    return (frame.f_code, frame.f_lasti, tuple(chain))


@SETTINGS
@given(
    kinds=st.lists(st.sampled_from([USER, OURS, STDLIB, INSTALLED]), max_size=6),
    forget=st.booleans(),
)
def test_the_author_site_is_the_innermost_author_frame_and_its_user_callers(
    kinds: list[int], forget: bool
) -> None:
    """Whatever files the frames come from, known or met for the first time."""
    if forget:
        _FILE_KINDS.clear()

    def probe() -> tuple[Site, tuple[object, ...]]:
        frame = sys._getframe(1)  # the innermost step (or this test when there is none)
        return author_site(frame), expected_site(frame)

    call: Any = probe
    for kind in kinds:  # partial adds no frame: each step's frame calls the next directly
        call = functools.partial(step_function(kind), call)
    found, expected = call()
    assert found == expected


# ---------------------------------------------------------------- a keyword's own place


def raised(source: str, filename: str) -> BuildError:
    """The BuildError that running ``source`` (as the file ``filename``) raises."""
    path = Path(filename)
    path.write_text(textwrap.dedent(source), "utf-8")
    with pytest.raises(BuildError) as caught:
        exec(compile(path.read_text("utf-8"), str(path), "exec"), {})
    return caught.value


def test_a_bad_keyword_in_a_call_over_several_lines_is_reported_at_its_own_line_and_column(
    tmp_path: Path,
) -> None:
    error = raised(
        """\
        from callflow.dsl import DTMF, Say

        node = DTMF(
            Say("One."),
            valuex="1",
        )
        """,
        str(tmp_path / "menu.py"),
    )
    assert error.location is not None
    assert (error.location.line, error.location.column) == (5, 5)
    assert "unknown keyword argument `valuex`" in error.message


def test_a_bad_value_is_reported_at_its_keyword_on_the_calls_first_line(tmp_path: Path) -> None:
    error = raised(
        """\
        from callflow.dsl import Gather, Say

        flow = [Say("Hi"), Gather(Say("Press 1."), num_digits="one")]
        """,
        str(tmp_path / "menu.py"),
    )
    assert error.location is not None
    assert (error.location.line, error.location.column) == (3, 44)
    assert "num_digits='one'" in error.message


def test_a_keyword_after_non_ascii_text_is_placed_by_characters(tmp_path: Path) -> None:
    error = raised(
        'from callflow.dsl import Say\nSay("Grüß Gott", voicex="x")\n', str(tmp_path / "de.py")
    )
    assert error.location is not None
    assert (error.location.line, error.location.column) == (2, 18)


def test_a_keyword_passed_through_a_mapping_is_reported_at_the_call(tmp_path: Path) -> None:
    error = raised(
        """\
        from callflow.dsl import DTMF

        options = {"valuex": "1"}
        node = DTMF(
            **options,
        )
        """,
        str(tmp_path / "splat.py"),
    )
    assert error.location is not None
    assert (error.location.line, error.location.column) == (4, None)


def test_a_missing_keyword_is_reported_at_the_call() -> None:
    with pytest.raises(BuildError) as caught:
        DTMF(  # type: ignore[call-arg]
            Say("One."),
        )
    assert caught.value.location is not None
    line = sys._getframe(0).f_lineno - 4  # the line of `DTMF(`
    assert (caught.value.location.line, caught.value.location.column) == (line, None)


def test_a_bad_keyword_is_placed_in_process_too() -> None:
    with pytest.raises(BuildError) as caught:
        Response(
            Gather(
                num_digits=1,
                timeout="8 s",  # type: ignore[arg-type]
            )
        )
    location = caught.value.location
    assert location is not None
    line = sys._getframe(0).f_lineno - 5  # the line of `timeout=`
    assert (location.file, location.line, location.column) == (__file__, line, 17)
