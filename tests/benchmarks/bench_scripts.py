"""Benchmark: what running a builder script in a child process costs per script.

Both sides load the same small builder script N times into a Document with its source map:

* callflow: `load_script_sources` — fork a child, run the script there, send the XML and
  source map back as JSON, parse them again in the parent.
* peer: the same script run in this process (`run_script` + ``to_document``), as checking
  did before scripts were contained.

CPU time counts this process and its children (user + sys).

Run: ``python tests/benchmarks/bench_scripts.py [N]`` (default 200).
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

# Private on purpose: the script runner is what this benchmark times.
from callflow.dsl._script import load_script_sources, run_script

SCRIPT = """\
from callflow.dsl import Gather, Hangup, Response, Say

flow = Response(
    Gather(Say("Press 1 for sales, 2 for support."), num_digits=1, timeout=5),
    Say("Goodbye."),
    Hangup(),
)
"""


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure(n: int, work: Callable[[], object]) -> tuple[float, float]:
    work()  # warm
    cpu, wall = _cpu(), time.perf_counter()
    for _ in range(n):
        work()
    return (time.perf_counter() - wall) / n, (_cpu() - cpu) / n


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "menu.py"
        path.write_text(SCRIPT, encoding="utf-8")

        def ours() -> None:
            [source] = load_script_sources(path)
            assert source.document is not None and not source.diagnostics

        def peer() -> None:
            result = run_script(path)
            assert result.flow is not None
            result.flow.to_document(str(path))

        peer_wall, peer_cpu = measure(n, peer)
        our_wall, our_cpu = measure(n, ours)
    print(f"builder script, {n} loads, load average {os.getloadavg()[0]:.2f}")
    print(
        f"  in-process run (peer)      {peer_wall * 1e3:7.2f} ms wall  {peer_cpu * 1e3:7.2f} ms CPU"
    )
    print(
        f"  child process (callflow)   {our_wall * 1e3:7.2f} ms wall  {our_cpu * 1e3:7.2f} ms CPU"
        f"  (+{(our_wall - peer_wall) * 1e3:.2f} ms wall per script)"
    )


if __name__ == "__main__":
    main()
