"""The validate benchmark's Python peers validate what they read: each exits 0 on valid files
and 1 when one is invalid (the walk, too, still checks the schema). The benchmark itself is
not run here: too slow."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import load_script

bench = load_script("bench_validate", "tests/benchmarks")


@pytest.mark.parametrize("peer", ["LXML_LOOP", "LXML_WALK"])
def test_a_peer_exits_1_only_when_a_file_is_invalid(tmp_path: Path, peer: str) -> None:
    import random

    good = [tmp_path / f"good{index}.xml" for index in range(3)]
    rng = random.Random(7)
    for index, path in enumerate(good):
        path.write_text(bench.CORPORA["realistic"](rng, index), encoding="utf-8")
    bad = tmp_path / "bad.xml"
    bad.write_text("<Response><Bogus/></Response>\n", encoding="utf-8")

    def run(*paths: Path) -> int:
        program = [sys.executable, "-c", getattr(bench, peer), str(bench.SCHEMA)]
        done = subprocess.run([*program, *map(str, paths)], capture_output=True, timeout=60)
        return done.returncode

    assert run(*good) == 0
    assert run(*good, bad) == 1


def test_the_walk_is_the_loop_plus_the_walk() -> None:
    assert bench.LXML_WALK != bench.LXML_LOOP
    assert "root.iter(etree.Element)" in bench.LXML_WALK
    assert (
        bench.LXML_WALK.replace(
            "    for element in root.iter(etree.Element):\n        element.tag, element.keys()\n",
            "",
        )
        == bench.LXML_LOOP
    )


def test_the_one_rule_finds_nothing_in_either_corpus() -> None:
    # Its run prices the walk alone: a finding would add a warning's cost to it.
    import random

    from callflow.document import Document
    from callflow.lint import LintConfig, iter_findings

    config = LintConfig(select=[bench.ONE_RULE])
    for corpus, flow in bench.CORPORA.items():
        rng = random.Random(11)
        for index in range(200):
            document = Document.from_text(flow(rng, index), f"{corpus}{index}.xml")
            assert "<Hangup/>" in document.text
            assert list(iter_findings(document, config)) == []
