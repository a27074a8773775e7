"""Lint, fix and graph cost on a large flow, next to lxml's own work on the same document.

There is no peer that lints call XML, so the figures are set beside the lxml operations
every user already pays for: XSD validation (lint's neighbour in `callflow validate`) and a
parse + serialise round trip (what a fixer that re-serialises the tree would cost, while
losing comments' placement and formatting). Run: ``python tests/benchmarks/bench_lint.py``.

A second part times lint per document on many small clean flows (the ones
`bench_validate.py` generates), freshly parsed as in `callflow validate`, next to the XSD
validation of the same documents: the cost lint adds to every file of a batch.

A third part prices a warning, on flows shaped like the platform's own examples (legacy
`<callback>`, `<Callback>` without method or `<Error>`: about 1.5 warnings a file): the rules'
walk, the Document's first location (its one scan of the text) and the rest of lint's side
(Diagnostic, XPath, suppression), per warning.

A fourth part prices three ways of choosing the elements the rules declare (the walk's
``iter()``, lxml's ``iter(*tags)``, one compiled XPath union), per document.

A last part shows each rule linear in the document: µs per element at 100 to 10,000 elements
for the shapes that would expose a quadratic rule, beside xmllint --schema on the same file
(CPU time of the child, per element). Run with ``--quick`` to skip it.
"""

from __future__ import annotations

import functools
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

from lxml import etree

from callflow.document import Document, safe_parser
from callflow.fix import fix_document
from callflow.graph import build_graph, to_dot
from callflow.lint import iter_findings, iter_lint_diagnostics
from callflow.resources import default_schema_path
from callflow.schema import Schema, load_schema

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_validate import clean_flow

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


def legacy_flow(rng: random.Random, index: int) -> str:
    """A flow as the platform's examples write them: about 1.5 lint warnings on average."""
    method = ' method="POST"' if rng.random() < 0.5 else ""  # else CF306
    error = "<Error><Say>Sorry.</Say></Error>" if rng.random() < 0.5 else ""  # else CF307
    callback = f'<Callback url="https://app.example.com/next/{index}"{method}>{error}</Callback>'
    if rng.random() < 0.5:
        last = f"<callback>https://app.example.com/legacy/{index}</callback>"  # CF315
    else:
        last = f"<Play>https://media.example.com/{index}.mp3</Play>"
    keys = rng.sample("123456789", rng.randint(2, 4))
    cases = "".join(
        f'<Case dtmf="{key}"><Say>Option {key}.</Say>{callback if key == keys[0] else ""}</Case>'
        for key in keys
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Response>\n'
        f"  <Say>Welcome to flow {index}.</Say>\n"
        '  <Gather numDigits="1" timeout="8000" finishOnKey="#">\n'
        f"    <Say>Choose an option.</Say>\n    <Switch>{cases}"
        "<Default><Say>Sorry.</Say></Default></Switch>\n"
        f"  </Gather>\n  {last}\n  <Hangup/>\n</Response>\n"
    )


def cpu_per_file(texts: list[str], work: Callable[[Document], object]) -> float:
    """Best of 5 CPU seconds per file of ``work`` over freshly parsed documents."""
    best = float("inf")
    for _ in range(5):
        documents = parsed(texts)
        started = time.process_time()
        for document in documents:
            work(document)
        best = min(best, time.process_time() - started)
    return best / len(texts)


def warning_cost() -> None:
    rng = random.Random(20261201)
    texts = [legacy_flow(rng, index) for index in range(2000)]
    warnings = sum(len(list(iter_lint_diagnostics(d))) for d in parsed(texts))
    lint = cpu_per_file(texts, lambda d: list(iter_lint_diagnostics(d)))
    walk = cpu_per_file(texts, lambda d: list(iter_findings(d)))
    locate = cpu_per_file(texts, lambda d: d.locate(d.root))
    per = len(texts) / warnings * 1e6
    print(
        f"{len(texts)} flows shaped like the platform's examples, {warnings / len(texts):.2f} "
        "warnings a file (CPU, best of 5)"
    )
    print(f"  {'callflow lint, per file':<40} {lint * 1e6:8.1f} µs")
    print(f"  {'  per warning':<40} {lint * per:8.1f} µs")
    print(f"  {'  of which the rules walk':<40} {walk * per:8.1f} µs")
    print(f"  {'  of which the first location (Document)':<40} {locate * per:8.1f} µs")
    rest = (lint - walk - locate) * per
    print(f"  {'  the rest (Diagnostic, XPath, directives)':<40} {rest:8.1f} µs")


SCALING_SHAPES: dict[str, Callable[[int], str]] = {
    "n cases, one key": lambda n: (
        '<Gather numDigits="1" finishOnKey="#"><Say>m</Say><Switch>'
        + '<Case dtmf="1#"><Say>a</Say></Case>' * (n // 2)
        + "</Switch></Gather>"
    ),
    "n siblings after a Hangup": lambda n: (
        "<Say>a</Say>" * (n // 2) + "<Hangup/><Say>b</Say>" * (n // 4)
    ),
    "n legacy menus": lambda n: (
        (
            '<Gather dtmf_length="1" callback="http://a.example.com/c"><Say>m</Say>'
            '<DTMF value="1"><callback>http://b.example.com</callback></DTMF></Gather>'
        )
        * (n // 5)
    ),
}


def child_cpu(command: list[str], runs: int = 3) -> float:
    """Median CPU seconds (user + sys) of a child process."""
    times = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        times.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(times)


def scaling() -> None:
    xmllint = shutil.which("xmllint")
    schema = str(default_schema_path())
    print("lint per element as documents grow (CPU); beside it xmllint --noout --schema on the")
    print("same file, per element, less its start-up (the CPU it takes on <Response/>)")
    print(f"  {'shape':<28} {'elements':>9} {'lint µs/el':>11} {'xmllint µs/el':>14}")
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "scaling.xml")
        command = [xmllint or "xmllint", "--noout", "--schema", schema, path]
        start_up = 0.0
        if xmllint:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write("<Response/>")
            start_up = child_cpu(command, runs=5)
        for name, make in SCALING_SHAPES.items():
            for size in (100, 1_000, 10_000):
                text = f"<Response>{make(size)}</Response>"
                document = Document.from_text(text, "scaling.xml")
                elements = sum(1 for _ in document.iter_elements())
                lint = cpu_per_file([text], lambda d: list(iter_lint_diagnostics(d)))
                peer = "-"
                if xmllint:
                    with open(path, "w", encoding="utf-8") as handle:
                        handle.write(text)
                    cpu = max(child_cpu(command) - start_up, 0.0)
                    peer = f"{cpu / elements * 1e6:.2f}"
                print(f"  {name:<28} {elements:>9} {lint / elements * 1e6:11.2f} {peer:>14}")


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


def selection(flows: list[str]) -> None:
    """What choosing the elements the rules declare costs per document, three ways: the walk's
    own ``iter()`` with a tag read per element, lxml's ``iter(*tags)`` (libxml2 matches the
    tags in C), and one compiled XPath union of the declared tags and attributes. The walk
    uses the first: the others cost more per document than they save in Python."""
    from callflow.lint import RULES

    tags = sorted({tag for rule in RULES.values() for tag in rule.tags or ()})
    attributes = sorted({name for rule in RULES.values() for name in rule.attributes})
    union = etree.XPath(
        "|".join(f"//{tag}" for tag in tags)
        + "|//*["
        + " or ".join(f"@{name}" for name in attributes)
        + "]",
        regexp=False,
        smart_strings=False,
    )
    documents = parsed(flows)
    roots = [document.root for document in documents]
    ways: dict[str, Callable[[etree._Element], object]] = {
        "iter() + tag of each element": lambda root: [e.tag for e in root.iter(etree.Element)],
        "iter(*declared tags)": lambda root: list(root.iter(*tags)),
        "compiled XPath union (tags | @attributes)": union,
    }
    print(f"choosing the elements, per document ({len(tags)} tags, {attributes} on any)")
    for name, way in ways.items():
        seconds = best_of(5, functools.partial(_each, way, roots))
        print(f"  {name:<44} {seconds / len(roots) * 1e6:6.1f} µs")


def _each(way: Callable[[etree._Element], object], roots: list[etree._Element]) -> None:
    for root in roots:
        way(root)


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
    flows = [clean_flow(rng, index) for index in range(2000)]
    sizes = [sum(1 for _ in Document.from_text(text).iter_elements()) for text in flows]
    lint_us, xsd_us = per_document(flows, schema)
    print(f"{len(flows)} clean flows of ~{statistics.mean(sizes):.0f} elements (median of 7)")
    print(f"  {'callflow lint, per document':<40} {lint_us:8.1f} µs")
    print(f"  {'lxml XSD validation (peer), per document':<40} {xsd_us:8.1f} µs")
    print(f"  ratio lint / XSD validation:            {lint_us / xsd_us:8.1f}x")
    selection(flows)
    warning_cost()
    if "--quick" not in sys.argv:
        scaling()


if __name__ == "__main__":
    main()
