"""The DSL's static types: mypy --strict flags wrong names, values and children (one run)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SNIPPET = """\
from datetime import timedelta

from callflow.dsl import Case, Dial, Gather, Response, Say, Switch, To

good = Response(
    Gather(
        Say("Hi", gender="MALE", loop=2),
        Switch(Case(Dial(To("+15550100")), dtmf="1")),
        num_digits=1,
        timeout=timedelta(seconds=5),
        finish_on_key="#",
    ),
)
text: str = good.to_xml(pretty=True)

Gather(num_digts=1)  # wrong-name
Gather(num_digits="1")  # wrong-value-type
Gather(timeout=8.5)  # wrong-value-type-float
Say("Hi", gender="male")  # wrong-literal
Gather(finish_on_key="x")  # wrong-key
Gather(Dial(To("+15550100")))  # illegal-child
Case(Say("Hi"))  # missing-required
good.add(Say("More."), [Say("And more.")], None)
good.add(Case(Say("Hi"), dtmf="1"))  # illegal-child-add
"""


def test_mypy_strict_flags_exactly_the_wrong_lines(tmp_path: Path) -> None:
    snippet = tmp_path / "typing_snippet.py"
    snippet.write_text(SNIPPET, "utf-8")
    env = {**os.environ, "MYPYPATH": str(ROOT)}
    examples = sorted(str(p) for p in (ROOT / "examples").glob("*.py"))
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", str(snippet), *examples],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
    )
    flagged = {
        int(match.group(1))
        for match in re.finditer(r"typing_snippet\.py:(\d+): error", result.stdout)
    }
    expected = {
        number
        for number, line in enumerate(SNIPPET.splitlines(), start=1)
        if re.search(r"#\s[a-z-]+$", line)
    }
    assert len(expected) == 8
    assert flagged == expected, result.stdout
    assert "examples" not in result.stdout, result.stdout  # the examples type-check clean
