"""Benchmark: callflow's template rendering against plain Jinja2 + lxml schema validation.

Both sides render the same library template (callflow/ivr_menu.xml.j2, sample `support`)
from the same compiled-template cache and validate the output against the same XSD.

* callflow: `TemplateRenderer.render` — render with source markers, strip them, parse
  safely, validate; the source map is built lazily (only when a diagnostic asks).
* callflow + one location: the same, then locate one element at its template line (what a
  render pays per diagnostic).
* callflow + full map: the same, then build the whole output-line map.
* peer: a plain Jinja2 environment (same options, no markers, no value checks; booleans
  written true/false as the template expects), then
  ``lxml.etree.fromstring`` and ``XMLSchema.validate``.

Run: ``python tests/benchmarks/bench_templates.py [ITERATIONS]`` (default 10,000).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import jinja2
from lxml import etree

from callflow.resources import default_schema_path
from callflow.templating import TemplateRenderer, library_path
from callflow.templating._render import MAIN_TEMPLATE_KEY, _fail, _is_main

TEMPLATE = "callflow/ivr_menu.xml.j2"
SAMPLE = "support"


def best_of(runs: int, iterations: int, work: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(iterations):
            work()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    renderer = TemplateRenderer()
    header = renderer.header(TEMPLATE)
    context = {**header.defaults, **header.samples[SAMPLE]}

    plain = jinja2.Environment(
        loader=jinja2.PrefixLoader({"callflow": jinja2.FileSystemLoader(str(library_path()))}),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # The one conversion the template relies on: Python booleans as XML booleans.
        finalize=lambda value: ("true" if value else "false") if isinstance(value, bool) else value,
    )
    plain.globals.update(is_main=_is_main, fail=_fail)
    plain_template = plain.get_template(TEMPLATE)
    plain_context = {**context, MAIN_TEMPLATE_KEY: plain_template.name}
    schema = etree.XMLSchema(etree.parse(str(default_schema_path())))
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)

    def peer() -> None:
        root = etree.fromstring(plain_template.render(plain_context).encode(), parser)
        assert schema.validate(root)

    def ours() -> None:
        renderer.render(TEMPLATE, context)

    def ours_with_location() -> None:
        document = renderer.render(TEMPLATE, context)
        assert document.locate(document.root[0]).line > 1

    def ours_with_map() -> None:
        document = renderer.render(TEMPLATE, context)
        assert document.source_map.lines

    # Same document on both sides (markers stripped, values escaped alike).
    assert renderer.render(TEMPLATE, context).text == plain_template.render(plain_context)
    for work in (peer, ours, ours_with_location, ours_with_map):
        work()  # warm caches

    runs = 3
    peer_time = best_of(runs, iterations, peer)
    ours_time = best_of(runs, iterations, ours)
    located_time = best_of(runs, iterations, ours_with_location)
    mapped_time = best_of(runs, iterations, ours_with_map)
    print(f"{TEMPLATE} [sample: {SAMPLE}], {iterations:,} renders, best of {runs} runs")

    def line(label: str, seconds: float) -> str:
        each = seconds / iterations * 1e6
        ratio = "" if seconds is peer_time else f"  ratio {seconds / peer_time:.2f}x"
        return f"  {label:34s}{seconds:8.3f} s  ({each:7.1f} µs each){ratio}"

    print(line("plain Jinja2 + lxml XMLSchema", peer_time))
    print(line("callflow render (lazy map)", ours_time))
    print(line("callflow render + one location", located_time))
    print(line("callflow render + full line map", mapped_time))
    print("  target: callflow render ≤ 1.3x the plain pipeline")


if __name__ == "__main__":
    main()
