"""Lint, fix and graph cost on a large flow, next to lxml's own work on the same document.

There is no peer that lints call XML, so the figures are set beside the lxml operations
every user already pays for: XSD validation (lint's neighbour in `callflow validate`) and a
parse + serialise round trip (what a fixer that re-serialises the tree would cost, while
losing comments' placement and formatting). Run: ``python tests/benchmarks/bench_lint.py``.

A second part times lint per document on many small clean flows (the ones
`bench_validate.py` generates), freshly parsed as in `callflow validate`, next to the XSD
validation of the same documents: the cost lint adds to every file of a batch.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from lxml import etree

from callflow.document import Document, safe_parser
from callflow.fix import fix_document
from callflow.graph import build_graph, to_dot
from callflow.lint import iter_lint_diagnostics
from callflow.schema import Schema, load_schema

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_validate import generate_flow

MENU = """  <Gather dtmf_length="1" timeout="8000">
    <!-- menu {n} -->
    <Say>Menu {n}: press 1 or 2.</Say>
    <DTMF value="1"><Say>One.</Say><callback>https://ivr.example.com/{n}/one</callback></DTMF>
    <DTMF value="2"><Callback url="https://ivr.example.com/{n}/two"><Error><Hangup/></Error></Callback></DTMF>
    <Default><Say>Sorry.</Say></Default>
  </Gather>
"""


def flow(menus: int) -> str:
    body = "".join(MENU.format(n=n) for n in range(menus))
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<Response>\n{body}</Response>\n'


def best_of(runs: int, action: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - started)
    return best


def parsed(flows: list[str]) -> list[Document]:
    return [Document.from_text(text, f"flows/flow{i:05d}.xml") for i, text in enumerate(flows)]


def per_document(flows: list[str], schema: Schema, rounds: int = 7) -> tuple[float, float]:
    """Median µs per document of (lint, XSD validation), each on freshly parsed documents."""
    lint_times, xsd_times = [], []
    for _ in range(rounds):
        documents = parsed(flows)
        started = time.perf_counter()
        for document in documents:
            for _ in iter_lint_diagnostics(document):
                raise AssertionError("the benchmark flows are meant to be lint-clean")
        lint_times.append(time.perf_counter() - started)
        documents = parsed(flows)
        started = time.perf_counter()
        for document in documents:
            list(schema.iter_diagnostics(document))
        xsd_times.append(time.perf_counter() - started)
    scale = 1e6 / len(flows)
    return statistics.median(lint_times) * scale, statistics.median(xsd_times) * scale


def main() -> None:
    text = flow(200)
    document = Document.from_text(text, "bench.xml")
    schema = load_schema()
    xsd = schema.iter_diagnostics  # warm the schema
    list(xsd(document))
    data = text.encode()
    canonical = Document.from_text(fix_document(document).fixed, "bench.xml")
    figures = {
        "lxml XSD validation (peer)": best_of(5, lambda: list(schema.iter_diagnostics(document))),
        "callflow lint, 20 rules": best_of(5, lambda: list(iter_lint_diagnostics(document))),
        "callflow lint, after --fix": best_of(5, lambda: list(iter_lint_diagnostics(canonical))),
        "lxml parse + serialise (peer)": best_of(
            5, lambda: etree.tostring(etree.fromstring(data, safe_parser()))
        ),
        "callflow fix (offsets, re-validated)": best_of(3, lambda: fix_document(document)),
        "callflow graph to dot": best_of(5, lambda: to_dot(build_graph(document))),
    }
    elements = sum(1 for _ in document.iter_elements())
    findings = len(list(iter_lint_diagnostics(document)))
    left = len(list(iter_lint_diagnostics(canonical)))
    print(f"flow: 200 menus, {elements} elements, {len(data):,} bytes; best of 3-5 runs")
    print(f"  ({findings} lint findings before --fix, {left} after)")
    for name, seconds in figures.items():
        print(f"  {name:<40} {seconds * 1000:8.1f} ms")
    lint = figures["callflow lint, 20 rules"] / figures["lxml XSD validation (peer)"]
    fix = figures["callflow fix (offsets, re-validated)"] / figures["lxml parse + serialise (peer)"]
    print(f"  ratio lint / XSD validation:            {lint:8.1f}x")
    print(f"  ratio fix / parse+serialise:            {fix:8.1f}x")

    rng = random.Random(20261127)
    flows = [generate_flow(rng, index) for index in range(2000)]
    sizes = [sum(1 for _ in Document.from_text(text).iter_elements()) for text in flows]
    lint_us, xsd_us = per_document(flows, schema)
    print(f"{len(flows)} clean flows of ~{statistics.mean(sizes):.0f} elements (median of 7)")
    print(f"  {'callflow lint, per document':<40} {lint_us:8.1f} µs")
    print(f"  {'lxml XSD validation (peer), per document':<40} {xsd_us:8.1f} µs")
    print(f"  ratio lint / XSD validation:            {lint_us / xsd_us:8.1f}x")


if __name__ == "__main__":
    main()
