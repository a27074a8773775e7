"""Benchmark: converting TwiML with `convert_twiml`, at several document sizes.

No other tool converts TwiML to OpenTact call XML, so the peer is the floor any converter
that checks its output must pay: ``lxml.etree.fromstring`` of the TwiML plus
``XMLSchema.validate`` of the converted document (no mapping, no report, no lint).

* callflow: `convert_twiml` — safe read, one handler per verb, the located report, the output
  parsed, validated and linted with findings mapped back to TwiML lines.
* peer: parse the TwiML, validate the (already converted) output against the same XSD.

Each size repeats one block of eight verbs (Say with SSML, Gather with prompts, Dial with
nouns, Record, Enqueue, Redirect, ...) that yields about 20 report lines.
Prints CPU time (user+sys of this process) and wall time per conversion, best of 3.

Run: ``python tests/benchmarks/bench_twiml.py``
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lxml import etree

from callflow.resources import default_schema_path
from callflow.twiml import convert_twiml

BLOCK = """
  <Say voice="alice" loop="0">Welcome <emphasis>back</emphasis>.</Say>
  <Gather action="menu" timeout="4" numDigits="1" input="speech">
    <Say>Press 1.</Say><Play>beep.wav</Play><Pause length="1"/>
  </Gather>
  <Dial timeout="10" action="done" statusCallback="/s"><Number>+14155550100</Number>
    <Sip>sip:a@b.example</Sip><Client>c</Client></Dial>
  <Record maxLength="20" playBeep="true"/>
  <Enqueue>q</Enqueue>
  <Redirect>/again</Redirect>"""
BASE = "https://app.example.com/"


def best_of(runs: int, iterations: int, work: Callable[[], object]) -> tuple[float, float]:
    """(CPU, wall) seconds per call, the best of ``runs``."""
    best_cpu = best_wall = float("inf")
    for _ in range(runs):
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(iterations):
            work()
        best_cpu = min(best_cpu, (time.process_time() - cpu) / iterations)
        best_wall = min(best_wall, (time.perf_counter() - wall) / iterations)
    return best_cpu, best_wall


def main() -> None:
    schema = etree.XMLSchema(etree.parse(str(default_schema_path())))
    print(f"load: {os.getloadavg()[0]:.2f} (1 min)")
    print(f"{'blocks':>7} {'bytes':>8}  {'callflow cpu/wall ms':>22}  {'peer cpu/wall ms':>18}")
    for blocks in (10, 100, 1000):
        text = "<Response>" + BLOCK * blocks + "\n</Response>\n"
        data = text.encode("utf-8")
        converted = convert_twiml(data, base_url=BASE, filename="bench.xml")
        assert converted.ok and converted.text is not None
        output = etree.fromstring(converted.text.encode("utf-8"))
        iterations = max(1, 200 // blocks)

        def ours(data: bytes = data) -> None:
            convert_twiml(data, base_url=BASE, filename="bench.xml")

        def peer(data: bytes = data, output: etree._Element = output) -> None:
            etree.fromstring(data)
            schema.validate(output)

        cpu, wall = best_of(3, iterations, ours)
        peer_cpu, peer_wall = best_of(3, iterations, peer)
        print(
            f"{blocks:>7} {len(data):>8}  {cpu * 1000:>10.2f} / {wall * 1000:>9.2f}  "
            f"{peer_cpu * 1000:>8.2f} / {peer_wall * 1000:>7.2f}"
        )


if __name__ == "__main__":
    main()
