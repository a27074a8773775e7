"""Benchmark: callflow's template rendering against plain Jinja2 + lxml schema validation.

Both sides render the same library template (callflow/ivr_menu.xml.j2, sample `support`)
from the same compiled-template cache and validate the output against the same XSD.

* callflow: `TemplateRenderer.render` — render in the bounded sandbox with source
  markers, strip them, parse safely, validate; the source map is built lazily (only when
  a diagnostic asks).
* callflow trusted: the same outside the sandbox (``trusted=True``), for reference.
* callflow + one location: the same, then locate one element at its template line (what a
  render pays per diagnostic).
* callflow + full map: the same, then build the whole output-line map.
* peer: a plain Jinja2 environment (same options, no markers, no value checks; booleans
  written true/false as the template expects), then
  ``lxml.etree.fromstring`` and ``XMLSchema.validate``.

Rounds of every side alternate (best round of each kept), so that a change in the
machine's load during the run affects all sides alike; times are CPU seconds of this
process (user + sys), with the wall time of the best round beside them.

Run: ``python tests/benchmarks/bench_templates.py [ITERATIONS]`` (default 10,000).
"""

from __future__ import annotations

import os
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


def best_rounds(
    rounds: int, iterations: int, works: dict[str, Callable[[], object]]
) -> dict[str, tuple[float, float]]:
    """(CPU seconds, wall seconds) of each work's best round, the rounds interleaved."""
    best = {name: (float("inf"), float("inf")) for name in works}
    for _ in range(rounds):
        for name, work in works.items():
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(iterations):
                work()
            taken = (time.process_time() - cpu, time.perf_counter() - wall)
            best[name] = min(best[name], taken)
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

    trusted_renderer = TemplateRenderer(trusted=True)

    def trusted() -> None:
        trusted_renderer.render(TEMPLATE, context)

    def ours_with_location() -> None:
        document = renderer.render(TEMPLATE, context)
        assert document.locate(document.root[0]).line > 1

    def ours_with_map() -> None:
        document = renderer.render(TEMPLATE, context)
        assert document.source_map.lines

    # Same document on both sides (markers stripped, values escaped alike).
    assert renderer.render(TEMPLATE, context).text == plain_template.render(plain_context)
    works = {
        "plain Jinja2 + lxml XMLSchema": peer,
        "callflow render (lazy map)": ours,
        "callflow render, trusted": trusted,
        "callflow render + one location": ours_with_location,
        "callflow render + full line map": ours_with_map,
    }
    for work in works.values():
        work()  # warm caches

    rounds = 5
    chunk = max(iterations // rounds, 1)
    best = best_rounds(rounds, chunk, works)
    print(
        f"{TEMPLATE} [sample: {SAMPLE}], {rounds} interleaved rounds of {chunk:,} renders, "
        f"best round of each; load average {os.getloadavg()[0]:.2f}"
    )
    peer_cpu = best["plain Jinja2 + lxml XMLSchema"][0]
    for label, (cpu, wall) in best.items():
        each = cpu / chunk * 1e6
        ratio = "" if cpu == peer_cpu else f"  ratio {cpu / peer_cpu:.2f}x"
        print(f"  {label:34s}{cpu:7.3f} s CPU {wall:7.3f} s wall ({each:7.1f} µs each){ratio}")
    print("  target: callflow render ≤ 1.3x the plain pipeline")


if __name__ == "__main__":
    main()
