"""Benchmark: how `callflow validate` scales with one file's size, beside `xmllint --schema`.

    python tests/benchmarks/bench_scaling.py [--sizes 1000,8000,64000] [--cases all]

Each case is one generated file of n elements (or n attributes on one tag). For every size the
script runs `callflow validate FILE --format text` (output to /dev/null) and
`xmllint --noout --schema schemas/callflow.xsd FILE`, and prints wall and CPU time (user+sys
of the child processes) per element. Target: callflow's time per element grows by at most
1.5x from the smallest to the largest n. The figures are printed, never asserted; the fast
scaling test lives in tests/test_scaling.py.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "schemas" / "callflow.xsd"


def clean_elements(n: int) -> str:
    """n clean elements: a flat run of prompts (under 1 MiB at 64k)."""
    body = "\n".join("<Say>x</Say>" for _ in range(n))
    return f"<Response>\n{body}\n  <Hangup/>\n</Response>\n"


def unknown_attributes(n: int) -> str:
    """One <Say> with n unknown attributes (n CF203 errors on one tag)."""
    attributes = " ".join(f'a{i}="x"' for i in range(n))
    return f"<Response>\n  <Say {attributes}>hi</Say>\n</Response>\n"


def sibling_warnings(n: int) -> str:
    """n sibling warnings: <Pause length="5"/> (CF305) and, to stay under 1 MiB at 64k
    elements, <Gather/> (CF314), one each."""
    body = "\n".join('<Pause length="5"/>' if i % 4 == 0 else "<Gather/>" for i in range(n))
    return f"<Response>\n{body}\n</Response>\n"


def finish_key_branches(n: int) -> str:
    """One <Gather> whose n <Case> branches each use the finish key (CF304, CF302)."""
    cases = "\n".join('      <Case dtmf="*"><Say>x</Say></Case>' for _ in range(n // 3))
    return (
        "<Response>\n  <Gather>\n    <Say>Choose.</Say>\n    <Switch>\n"
        f"{cases}\n      <Default><Say>Sorry.</Say></Default>\n    </Switch>\n  </Gather>\n"
        "</Response>\n"
    )


def unreachable_branches(n: int) -> str:
    """n/4 branches, each with an action after <Hangup/> (CF301) and a repeated key (CF302)."""
    cases = "\n".join(
        '      <Case dtmf="1"><Hangup/><Say>never</Say></Case>' for _ in range(n // 4)
    )
    return (
        "<Response>\n  <Gather>\n    <Say>Choose.</Say>\n    <Switch>\n"
        f"{cases}\n      <Default><Say>Sorry.</Say></Default>\n    </Switch>\n  </Gather>\n"
        "</Response>\n"
    )


CASES: dict[str, Callable[[int], str]] = {
    "elements": clean_elements,
    "attributes": unknown_attributes,
    "siblings": sibling_warnings,
    "finish-key": finish_key_branches,
    "unreachable": unreachable_branches,
}


def check_in_process(text: str, *, with_json: bool = False) -> int:
    """What `callflow validate FILE` does with one file, in this process (no start-up):
    parse, schema, lint, ordering and the text report (and, ``with_json``, the JSON report:
    only that one makes the lint findings' XPaths, as validate does). Returns the text
    report's size."""
    from callflow.check import collector_paused
    from callflow.diagnostics import collapse_repeats, in_order
    from callflow.document import load_bytes
    from callflow.lint import iter_lint_diagnostics
    from callflow.reporters import FileLines, render
    from callflow.schema import iter_diagnostics

    document, problems = load_bytes(text.encode(), "flow.xml")
    if document is None:
        raise ValueError(f"generated file refused: {problems[0]}")
    with collector_paused():  # as `callflow validate` checks each document
        found = [*iter_diagnostics(document), *iter_lint_diagnostics(document, xpaths=with_json)]
    with collector_paused():  # as `callflow validate` orders and formats the run's findings
        ordered = collapse_repeats(in_order(found))
        report = render(ordered, "text", lines=FileLines({"flow.xml": document.text}))
        if with_json:
            render(ordered, "json")
    return len(report)


def in_process(text: str, runs: int) -> float:
    """The best CPU time of ``runs`` in-process checks of ``text``."""
    times = []
    for _ in range(runs):
        start = time.process_time()
        check_in_process(text)
        times.append(time.process_time() - start)
    return min(times)


def run(command: list[str]) -> tuple[float, float]:
    """(wall, CPU user+sys of the child) seconds for one run, output discarded."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def best(command: list[str], runs: int) -> tuple[float, float]:
    """The fastest of ``runs`` runs: (wall, CPU) each at its minimum."""
    results = [run(command) for _ in range(runs)]
    return min(wall for wall, _ in results), min(cpu for _, cpu in results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,8000,64000")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--runs", type=int, default=3, help="callflow runs per file (best)")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    callflow = shutil.which("callflow") or str(Path(sys.executable).with_name("callflow"))
    xmllint = shutil.which("xmllint")
    print(f"load: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} cores")
    print("µs per element, start-up (a 12-element file of the same case) subtracted;")
    print("cpu = user+sys of the child process; xmllint run once per file;")
    print("in-process = CPU of the same check inside this process (no start-up to subtract)")
    print(
        f"{'case':<12} {'n':>6} {'callflow wall':>14} {'cpu':>8} {'in-process':>11} "
        f"{'xmllint wall':>13} {'cpu':>8}"
    )
    worst = 0.0
    check_in_process(CASES["siblings"](50))  # warm: schema, vocabulary and rules loaded
    with tempfile.TemporaryDirectory() as folder:
        for case in args.cases.split(","):
            tiny = Path(folder) / f"{case}-tiny.xml"
            tiny.write_text(CASES[case](12), encoding="utf-8")
            base_wall, base_cpu = best([callflow, "validate", str(tiny)], args.runs)
            lint = [xmllint or "", "--noout", "--schema", str(SCHEMA)]
            x_base = best([*lint, str(tiny)], 1) if xmllint else (0.0, 0.0)
            per_element: list[float] = []
            for n in sizes:
                path = Path(folder) / f"{case}-{n}.xml"
                path.write_text(CASES[case](n), encoding="utf-8")
                wall, cpu = best([callflow, "validate", str(path)], args.runs)
                wall, cpu = max(wall - base_wall, 0.0), max(cpu - base_cpu, 0.0)
                inside = in_process(path.read_text(encoding="utf-8"), args.runs)
                line = (
                    f"{case:<12} {n:>6} {wall / n * 1e6:>14.2f} {cpu / n * 1e6:>8.2f} "
                    f"{inside / n * 1e6:>11.2f}"
                )
                if xmllint:
                    x_wall, x_cpu = best([*lint, str(path)], 1)
                    x_wall, x_cpu = max(x_wall - x_base[0], 0.0), max(x_cpu - x_base[1], 0.0)
                    line += f" {x_wall / n * 1e6:>13.2f} {x_cpu / n * 1e6:>8.2f}"
                print(line, flush=True)
                per_element.append(inside / n)
            # Judged in process: at n=1k the child's start-up noise exceeds the work itself.
            growth = per_element[-1] / per_element[0]
            worst = max(worst, growth)
            print(
                f"{case:<12} in-process CPU per element, n={sizes[0]} → {sizes[-1]}: "
                f"{growth:.2f}x (target ≤ 1.5x)"
            )
    print(f"worst growth: {worst:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
