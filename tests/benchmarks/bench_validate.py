"""Benchmark: `callflow validate` against `xmllint --schema` (C, the practical floor).

    python tests/benchmarks/bench_validate.py [--files 1000,10000,50000] [--runs 2]
        [--corpus clean,realistic] [--cold-runs 30] [--start-up-only]

1. Batch: one `callflow validate -q FOLDER` run (with lint, and with `--no-lint`) over N
   generated flow files, beside one `xmllint --noout --schema schemas/callflow.xsd` run over
   the same files, and beside a bare Python loop (lxml parse + `XMLSchema` per file, in one
   process) and the same loop reaching every element and reading its tag and attribute
   names (the least a lint walk in Python does, without a rule). Two corpora: ``clean``
   (lint-clean flows) and ``realistic`` (flows shaped like the platform's own examples:
   legacy forms, Callbacks without `<Error>`, about 1.5 lint warnings per file). Targets:
   CPU ≤ 1.6x xmllint's on clean files at 10,000 and 50,000; on the realistic corpus ≤ 2x
   with lint and ≤ 1.4x with ``--no-lint``; wall ≤ 1.2x on an idle machine. A run with one
   rule selected (``--select CF301``, which visits one element a file and finds nothing)
   prices the walk every lint run makes before its rules cost anything.
   ``--breakdown N`` first times the stages of one file in this process over N files:
   reading, parsing, the schema, the lint walk, and locating its findings (µs per file).
2. Start-up: `callflow validate -q one.xml` and `callflow --help` against
   `python -c "import lxml.etree"`. Target ≤ 1.5x. The three commands take turns, run after
   run, so that a change in the machine's load falls on all three alike. ``--start-up-only``
   runs this part alone (no xmllint needed); so does ``--files 0``.

CPU is user+sys of every process of a run (workers included: they are children of the
`callflow` process, which waits for them). Each figure is the median of ``--runs`` runs (a
batch's six commands take turns, run after run, as the start-up ones do); the
1-minute load average is printed beside each line, as other work on the machine shows in
wall times first. Needs `xmllint` (Debian: libxml2-utils) and an installed `callflow`
command in the same environment as this Python. Compiled bytecode is allowed to be cached,
as on a user's machine. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "schemas" / "callflow.xsd"

#: The rule of the "one rule" run: it visits the one `<Hangup>` of a flow and finds nothing in
#: either corpus, so that run is the lint walk with no rule's cost past one visit a file.
ONE_RULE = "CF301"

#: The peer written in Python: what any validator built on lxml costs at least.
LXML_LOOP = """
import sys
from lxml import etree
schema = etree.XMLSchema(etree.parse(sys.argv[1]))
parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
bad = 0
for name in sys.argv[2:]:
    with open(name, "rb") as handle:
        root = etree.fromstring(handle.read(), parser)
    if not schema.validate(root):
        bad += 1
sys.exit(1 if bad else 0)
"""

#: The same loop, plus the least a lint walk in Python does: reach every element and read its
#: tag and its attribute names (no rule, no finding). What lint adds past this is the rules'.
LXML_WALK = LXML_LOOP.replace(
    "    if not schema.validate(root):",
    "    for element in root.iter(etree.Element):\n"
    "        element.tag, element.keys()\n"
    "    if not schema.validate(root):",
)


def clean_flow(rng: random.Random, index: int) -> str:
    """A realistic, clean flow: greeting, a menu with a few branches, dial and callback steps."""
    cases = []
    for key in rng.sample("0123456789*", rng.randint(2, 6)):
        action = rng.choice(
            [
                f"<Say>Option {key} selected for caller {index}.</Say>",
                f"<Dial><To>+1555{rng.randint(1000000, 9999999)}</To>"
                "<Error><Say>Busy.</Say></Error></Dial>",
                f'<Callback url="https://app.example.com/step/{index}" method="POST" '
                'timeout="5000"><Error><Hangup/></Error></Callback>',
                f'<Play loop="2">https://media.example.com/{index}.wav</Play>',
            ]
        )
        cases.append(f'      <Case dtmf="{key}">\n        {action}\n      </Case>')
    body = "\n".join(cases)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Response>\n'
        f'  <Answer delay="{rng.choice([0, 250, 500, 1000, 2000])}"/>\n'
        f'  <Gather numDigits="1" attempts="{rng.randint(1, 3)}" timeout="8000" finishOnKey="#">\n'
        f'    <Say lang="en-US">Welcome, flow {index}. Choose an option.</Say>\n'
        f"    <Switch>\n{body}\n      <Default><Say>Sorry.</Say></Default>\n    </Switch>\n"
        "  </Gather>\n  <Hangup/>\n</Response>\n"
    )


def realistic_flow(rng: random.Random, index: int) -> str:
    """A flow shaped like the platform's own examples: schema-valid, often with a legacy form
    or a Callback without `<Error>` (CF306, CF307, CF313, CF315, CF316, CF318)."""
    shapes = ["callback", "callback-no-method", "legacy-callback", "legacy-gather", "menu"]
    shape = rng.choice(shapes)
    greeting = f'  <Say lang="en-US">Thanks for calling shop {index}.</Say>\n'
    if shape == "callback":  # CF307
        step = f'  <Callback url="https://app.example.com/next/{index}" method="POST"/>\n'
    elif shape == "callback-no-method":  # CF306, CF307
        step = f'  <Callback url="https://app.example.com/next/{index}"/>\n'
    elif shape == "legacy-callback":  # CF315
        step = f"  <callback>https://app.example.com/legacy/{index}</callback>\n"
    elif shape == "legacy-gather":  # CF316, CF318
        step = (
            '  <Gather dtmf_length="1" dtmf_stop="#">\n'
            "    <Say>Press 1 for sales, 2 for support.</Say>\n"
            '    <DTMF value="1"><Dial><To>+15550100001</To></Dial></DTMF>\n'
            '    <DTMF value="2"><Dial><To>+15550100002</To></Dial></DTMF>\n'
            "    <Default><Say>Goodbye.</Say></Default>\n"
            "  </Gather>\n"
        )
    else:  # a clean menu, as in the platform's IVR example
        step = (
            '  <Gather numDigits="1" attempts="2" timeout="8000" finishOnKey="#">\n'
            "    <Say>For billing, press 1. For an operator, press 0.</Say>\n"
            "    <Switch>\n"
            '      <Case dtmf="1"><Dial><To>+15550100001</To>'
            "<Error><Say>Busy.</Say></Error></Dial></Case>\n"
            '      <Case dtmf="0"><Dial><Sip>operator@pbx.example.com:5060</Sip></Dial></Case>\n'
            "      <Default><Say>Sorry.</Say></Default>\n"
            "    </Switch>\n"
            "  </Gather>\n"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Response>\n'
        f'  <Answer delay="500"/>\n{greeting}{step}  <Hangup/>\n</Response>\n'
    )


CORPORA: dict[str, Callable[[random.Random, int], str]] = {
    "clean": clean_flow,
    "realistic": realistic_flow,
}


def measure(command: list[str], cwd: str | None = None) -> tuple[float, float]:
    """(wall, CPU user+sys of the process and every process it waited for) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, cwd=cwd
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def load() -> str:
    return f"load {os.getloadavg()[0]:.2f}"


def warnings_per_file(callflow: str, folder: Path, count: int) -> float:
    done = subprocess.run(
        [callflow, "validate", "-q", "--format", "json", str(folder)], capture_output=True
    )
    found = json.loads(done.stdout or b"[]")
    if isinstance(found, dict):
        found = found.get("diagnostics", [])
    if any(item.get("severity") == "error" for item in found):
        raise SystemExit(f"the generated flows have errors: {found[:3]}")
    return len(found) / count


def batch(callflow: str, xmllint: str, corpus: str, count: int, runs: int) -> None:
    rng = random.Random(20261127)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "flows"
        folder.mkdir()
        names = []
        for index in range(count):
            name = f"f{index:05d}.xml"
            (folder / name).write_text(CORPORA[corpus](rng, index), encoding="utf-8")
            names.append(name)
        # Warm-up (bytecode caches, page cache), and the corpus checked for what it claims.
        per_file = warnings_per_file(callflow, folder, count)
        rows = [
            ("callflow validate", [callflow, "validate", "-q", "."]),
            ("... --no-lint", [callflow, "validate", "-q", "--no-lint", "."]),
            ("... one rule", [callflow, "validate", "-q", "--select", ONE_RULE, "."]),
            ("xmllint --schema", [xmllint, "--noout", "--schema", str(SCHEMA), *names]),
            ("python lxml loop", [sys.executable, "-c", LXML_LOOP, str(SCHEMA), *names]),
            ("... + element walk", [sys.executable, "-c", LXML_WALK, str(SCHEMA), *names]),
        ]
        print(
            f"{corpus} corpus, {count} files, {per_file:.2f} warnings per file "
            f"(median of {runs}; {os.cpu_count()} cores)"
        )
        # The rows take turns, run after run, so that a change in the machine's load (a
        # neighbour on the other core, a burst) falls on all of them alike.
        results: dict[str, list[tuple[float, float]]] = {label: [] for label, _ in rows}
        for _ in range(runs):
            for label, command in rows:
                results[label].append(measure(command, cwd=str(folder)))
        figures: dict[str, tuple[float, float]] = {}
        for label, _ in rows:
            walls, cpus = zip(*results[label], strict=True)
            figures[label] = wall, cpu = statistics.median(walls), statistics.median(cpus)
            print(f"  {label:<20} wall {wall:7.2f} s   cpu {cpu:7.2f} s   ({load()})", flush=True)
        peer_wall, peer_cpu = figures["xmllint --schema"]
        for label, (wall, cpu) in figures.items():
            if label == "xmllint --schema":
                continue
            print(
                f"  {label:<20} / xmllint: cpu {cpu / peer_cpu:5.2f}x   "
                f"wall {wall / peer_wall:5.2f}x"
            )


def breakdown(corpus: str, count: int, runs: int) -> None:
    """In this process, per file: reading, parsing, the schema, the lint walk, locating its
    findings, and ordering and writing the text report (best of ``runs``, CPU time); what a
    batch adds to these is start-up and the workers. Per warning: what locating adds to the
    walk, and the whole way of a warning in a text run (located as `callflow validate` does
    it, quoted from memory, ordered, formatted)."""
    from callflow.check import collector_paused
    from callflow.commands._common import format_diagnostics
    from callflow.commands.validate import Options, check_files
    from callflow.diagnostics import collapse_repeats, in_order
    from callflow.document import Document, load_bytes
    from callflow.lint import iter_findings, iter_lint_diagnostics
    from callflow.schema import load_schema
    from callflow.sources import DEFAULT_POLICY, read_flow_file

    rng = random.Random(20261127)
    schema = load_schema()
    with tempfile.TemporaryDirectory() as tmp:
        names = []
        for index in range(count):
            name = os.path.join(tmp, f"f{index:05d}.xml")
            Path(name).write_text(CORPORA[corpus](rng, index), encoding="utf-8")
            names.append(name)
        datas = [data for name in names if isinstance(data := read_flow_file(name, tmp), bytes)]
        assert len(datas) == count

        def best(stage: Callable[[], object]) -> float:
            times = []
            for _ in range(runs):
                with collector_paused():
                    start = time.process_time()
                    stage()
                    times.append(time.process_time() - start)
            return min(times) / count * 1e6

        def parsed() -> list[Document | None]:
            return [load_bytes(data, name)[0] for data, name in zip(datas, names, strict=True)]

        documents = parsed()
        checked = [document for document in documents if document is not None]
        assert len(checked) == count
        findings = sum(len(list(iter_findings(document))) for document in checked)
        read = best(lambda: [read_flow_file(name, tmp) for name in names])
        parse = best(parsed)
        valid = best(lambda: [schema.is_valid(document) for document in checked])
        walk = best(lambda: [list(iter_findings(d)) for d in parsed() if d is not None]) - parse
        located = best(lambda: [list(iter_lint_diagnostics(d)) for d in parsed() if d]) - parse
        files = [(name, None) for name in names]
        text_run = Options(None, True, None, None, DEFAULT_POLICY, xpaths=False)
        with_lint = best(lambda: check_files(files, text_run))
        without_lint = best(lambda: check_files(files, text_run._replace(lint=False)))
        found = check_files(files, text_run)
        reported = best(lambda: format_diagnostics(collapse_repeats(in_order(found)), "text"))
    per = findings / count
    print(f"{corpus} corpus, {count} files in process ({per:.2f} warnings per file), us per file:")
    print(
        f"  read {read:5.1f}   parse {parse:5.1f}   schema {valid:5.1f}   lint walk {walk:5.1f}"
        f"   lint located {located:5.1f}   text report {reported:5.1f}"
    )
    if per:
        # What lint adds to a text run's check of a file (walk, locating, quoting), past the
        # walk, plus the report, shared among the file's warnings.
        whole = (with_lint - without_lint - walk + reported) / per
        print(
            f"  each warning: located {(located - walk) / per:5.1f} us   "
            f"end to end {whole:5.1f} us (located, quoted, ordered, formatted)"
        )


def start_up(callflow: str, runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        one = Path(tmp) / "one.xml"
        one.write_text(clean_flow(random.Random(1), 1), encoding="utf-8")
        rows = [
            ("callflow validate one", [callflow, "validate", "-q", str(one)]),
            ("callflow --help", [callflow, "--help"]),
            ("import lxml.etree", [sys.executable, "-c", "import lxml.etree"]),
        ]
        print(f"start-up (median of {runs}, taking turns)")
        results: dict[str, list[tuple[float, float]]] = {label: [] for label, _ in rows}
        for _ in range(runs):
            for label, command in rows:
                results[label].append(measure(command))
        figures = {
            label: (
                statistics.median(wall for wall, _ in found),
                statistics.median(cpu for _, cpu in found),
            )
            for label, found in results.items()
        }
        floor_wall, floor_cpu = figures["import lxml.etree"]
        for label, (wall, cpu) in figures.items():
            print(
                f"  {label:<22} wall {wall * 1000:6.1f} ms ({wall / floor_wall:4.2f}x)   "
                f"cpu {cpu * 1000:6.1f} ms ({cpu / floor_cpu:4.2f}x)   ({load()})"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", default="1000,10000,50000", help="comma-separated sizes")
    parser.add_argument("--corpus", default=",".join(CORPORA), help="clean, realistic")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--cold-runs", type=int, default=30)
    parser.add_argument(
        "--start-up-only", action="store_true", help="only the start-up part (no batches)"
    )
    parser.add_argument(
        "--breakdown", type=int, default=0, metavar="N", help="also time the stages in process"
    )
    args = parser.parse_args()
    sizes = [] if args.start_up_only else [int(size) for size in args.files.split(",") if size]
    sizes = [count for count in sizes if count > 0]
    callflow = shutil.which("callflow", path=os.path.dirname(sys.executable)) or shutil.which(
        "callflow"
    )
    xmllint = shutil.which("xmllint")
    if callflow is None or (xmllint is None and sizes):
        print("needs the `callflow` command (pip install -e .) and xmllint (libxml2-utils)")
        return 2
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    if args.cold_runs or args.start_up_only:
        start_up(callflow, args.cold_runs or 30)
    for corpus in [] if args.start_up_only else args.corpus.split(","):
        if args.breakdown:
            breakdown(corpus, args.breakdown, max(args.runs, 3))
        for count in sizes:
            assert xmllint is not None
            batch(callflow, xmllint, corpus, count, args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
