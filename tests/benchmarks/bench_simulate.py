"""Benchmark: simulate the example IVR 10,000 times with its in-process callback app.

Run: ``python tests/benchmarks/bench_simulate.py [N]``. Prints simulated calls per second
and the cost of one simulated step, side by side with the peer figure: the cost of parsing
the same document (``Document.from_bytes``, and bare ``lxml.etree.fromstring``). Each figure
is given in wall time and in CPU time (user + sys of this process, which runs alone): on a
shared machine the CPU figures are the ones to compare.
"""

from __future__ import annotations

import gc
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from lxml import etree  # noqa: E402

from callflow.document import Document, safe_parser  # noqa: E402
from callflow.simulate import Backend, Caller, simulate  # noqa: E402
from examples.ivr_app import app  # noqa: E402

IVR = ROOT / "examples" / "ivr_menu.xml"

# A mix of callers: the balance path (two callbacks into the app), billing (dial), a caller
# who fumbles twice then asks for the operator, and a technician who is busy.
SCRIPTS = [
    Caller(presses=["2", "4"]),
    Caller(presses=["1"]),
    Caller(presses=["9", "", "0"]),
    Caller(presses=["2", "5"], dial={"+15550100002": "busy"}),
]


def best_of(repeats: int, function: object, count: int) -> tuple[float, float]:
    """Seconds per call of ``function()`` (wall, CPU), the best of ``repeats`` timings of
    ``count`` calls."""
    assert callable(function)
    best = best_cpu = float("inf")
    for _ in range(repeats):
        started, started_cpu = time.perf_counter(), time.process_time()
        for _ in range(count):
            function()
        best = min(best, (time.perf_counter() - started) / count)
        best_cpu = min(best_cpu, (time.process_time() - started_cpu) / count)
    return best, best_cpu


def main() -> None:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    data = IVR.read_bytes()
    document = Document.from_bytes(data, str(IVR))
    backend = Backend.wsgi(app)
    for caller in SCRIPTS:  # warm up: location caches, imports
        simulate(document, caller, app=backend)

    gc.collect()
    steps = events = fetches = 0
    started, started_cpu = time.perf_counter(), time.process_time()
    for index in range(calls):
        transcript = simulate(document, SCRIPTS[index % len(SCRIPTS)], app=backend)
        steps += transcript.steps
        events += len(transcript.events)
        fetches += len(transcript.of("callback"))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - started_cpu

    offline_calls = calls // 2
    started, started_cpu = time.perf_counter(), time.process_time()
    offline_steps = 0
    for _ in range(offline_calls):
        transcript = simulate(document, SCRIPTS[1], app=backend)
        offline_steps += transcript.steps
    offline_elapsed = time.perf_counter() - started
    offline_cpu = time.process_time() - started_cpu

    parse, parse_cpu = best_of(5, lambda: Document.from_bytes(data, "ivr.xml"), 2_000)
    parser = safe_parser()
    bare_parse, bare_parse_cpu = best_of(5, lambda: etree.fromstring(data, parser), 2_000)

    per_step = elapsed / steps
    local_per_step = offline_elapsed / offline_steps
    local_per_step_cpu = offline_cpu / offline_steps
    print(
        f"example IVR ({IVR.name}, {len(data)} bytes), {calls:,} simulated calls, "
        f"{len(SCRIPTS)} caller scripts, in-process WSGI app for callbacks"
    )
    print(
        f"  ({steps / calls:.1f} steps, {events / calls:.1f} events, "
        f"{fetches / calls:.2f} HTTP callbacks per call)"
    )
    print(f"{'':31}{'wall':>12}    {'CPU':>12}")
    print(f"  simulated calls/s            {calls / elapsed:12,.0f}    {calls / cpu:12,.0f}")
    print(
        f"  per call                     {elapsed / calls * 1e6:12,.1f} µs "
        f"{cpu / calls * 1e6:12,.1f} µs"
    )
    print(
        f"  per step (with callbacks)    {per_step * 1e6:12,.2f} µs {cpu / steps * 1e6:12,.2f} µs"
    )
    print(
        f"  per step (no callbacks)      {local_per_step * 1e6:12,.2f} µs "
        f"{local_per_step_cpu * 1e6:12,.2f} µs (billing path only, {offline_calls:,} calls)"
    )
    print("peer: parsing the same document")
    print(f"  Document.from_bytes          {parse * 1e6:12,.2f} µs {parse_cpu * 1e6:12,.2f} µs")
    print(
        f"  lxml etree.fromstring        {bare_parse * 1e6:12,.2f} µs "
        f"{bare_parse_cpu * 1e6:12,.2f} µs"
    )
    print("ratios (CPU)")
    print(f"  step / Document parse        {cpu / steps / parse_cpu:12.2f}")
    print(f"  step (no callbacks) / parse  {local_per_step_cpu / parse_cpu:12.2f}")
    print(f"  whole call / Document parse  {(cpu / calls) / parse_cpu:12.2f}")


if __name__ == "__main__":
    main()
