"""Lint, fix and graph cost on a large flow, next to lxml's own work on the same document.

There is no peer that lints call XML, so the figures are set beside the lxml operations
every user already pays for: XSD validation (lint's neighbour in `callflow validate`) and a
parse + serialise round trip (what a fixer that re-serialises the tree would cost, while
losing comments' placement and formatting). Run: ``python tests/benchmarks/bench_lint.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from lxml import etree

from callflow.document import Document, safe_parser
from callflow.fix import fix_document
from callflow.graph import build_graph, to_dot
from callflow.lint import iter_lint_diagnostics
from callflow.schema import load_schema

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


if __name__ == "__main__":
    main()
