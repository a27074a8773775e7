"""Every rule is linear in the document: the work per element stays flat as documents grow.

Work is counted, not timed: the Python lines executed in callflow's own code while the rules
run over documents of the shapes that would expose a quadratic rule
(n branches with the same keys, n siblings after a `<Hangup/>`, n replays of a later
recording, menus nested n deep, n legacy menus...), at n = 24, 48 and 96.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

import callflow
from callflow.document import Document
from callflow.lint import LintConfig, iter_findings

PACKAGE = str(Path(callflow.__file__).parent)


def _cases(n: int) -> str:  # CF302, CF303, CF304 on every branch
    cases = '<Case dtmf="1#"><Say>a</Say></Case>' * n
    return f'<Gather numDigits="1" finishOnKey="#"><Say>m</Say><Switch>{cases}</Switch></Gather>'


def _after_hangup(n: int) -> str:  # CF301: n actions, then n hangups each followed by one
    return "<Say>early</Say>" * n + "<Hangup/><Say>late</Say>" * n


def _replays(n: int) -> str:  # CF309: n replays of a recording made only at the end
    return '<Play record="vm"/>' * n + '<Record tag="vm"/>'


def _nested_menus(n: int) -> str:  # CF304 with a free key looked for in every menu
    return '<Gather><Say>m</Say><DTMF value="*">' * n + "<Hangup/>" + "</DTMF></Gather>" * n


def _legacy(n: int) -> str:  # CF313-CF319 and CF308 on every menu, CF306/CF307/CF315
    menu = (
        '<Gather dtmf_length="1" numDigits="1" callback="http://a.example.com/c" method="GET">'
        '<DTMF value="1"><callback>http://b.example.com</callback></DTMF>'
        '<DTMF value="1"><Callback url="http://c.example.com"/></DTMF></Gather>'
    )
    return menu * n


def _repeats(n: int) -> str:  # CF305, CF310-CF312, CF320 on every element
    return '<Say loop="500"/><Play loop="90" url="u" record="r"/><Pause length="5"/>' * n


SHAPES: dict[str, Callable[[int], str]] = {
    "cases": _cases,
    "after-hangup": _after_hangup,
    "replays": _replays,
    "nested-menus": _nested_menus,  # 2n deep: n stays under the parser's depth limit
    "legacy": _legacy,
    "repeats": _repeats,
}


def lines_executed(document: Document) -> int:
    """Lines of callflow's code run while every rule looks at ``document``."""
    list(iter_findings(document, LintConfig()))  # once untraced: tables built on first use
    count = 0

    def local(frame: FrameType, event: str, argument: Any) -> Any:
        nonlocal count
        if event == "line":
            count += 1
        return local

    def tracer(frame: FrameType, event: str, argument: Any) -> Any:
        return local if frame.f_code.co_filename.startswith(PACKAGE) else None

    sys.settrace(tracer)
    try:
        findings = list(iter_findings(document, LintConfig()))
    finally:
        sys.settrace(None)
    assert findings  # each shape trips its rules on every repetition
    return count


def work_at_sizes(shape: str) -> list[int]:
    make = SHAPES[shape]
    return [
        lines_executed(Document.from_text(f"<Response>{make(n)}</Response>", "flow.xml"))
        for n in (24, 48, 96)
    ]


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_lint_work_grows_linearly_with_the_document(shape: str) -> None:
    # Counted in a fresh interpreter: a tracer in a process that other tests have used
    # (their threads, their tracers) counts slowly and not only lint's own work.
    script = (
        f"import sys, json; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
        "import test_lint_scaling as t; "
        f"print(json.dumps(t.work_at_sizes({shape!r})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=True
    )
    work = json.loads(done.stdout)
    # Each doubling adds as much work again when the cost is linear (exactly twice the
    # previous step); a quadratic term makes the second step about four times the first.
    first, second = work[1] - work[0], work[2] - work[1]
    assert second <= 2.1 * first, work
