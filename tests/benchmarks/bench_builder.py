"""Builder cost: build and serialise a typical IVR flow, next to twilio-python's VoiceResponse.

Run: ``pip install 'opentact-callflow[bench]'`` (or just ``twilio``), then
``python tests/benchmarks/bench_builder.py [DOCUMENTS_PER_ROUND] [--plain-path]``.

The document is the same in both builders: a greeting, a record, a gather with a prompt and a
switch of two cases plus a default and an error, a dial, a callback and a hangup. callflow
checks every keyword, value and child as it is built and records the author's file and line of
every node (source capture is always on); twilio-python checks nothing and records nothing.
Tags TwiML lacks go through twilio's generic ``add_child``. The builders are timed in
alternating rounds so that a burst of load on a shared machine hits all alike; the figure per
builder is the median round (the best round is printed too), in wall time and in CPU time
(user + sys of the process, which is all there is: no workers).

With ``--plain-path`` callflow builds every node the plain way, its fenced fast path
(``callflow/dsl/_fast.py``) switched off: the difference is what the fast path buys.

Two workloads: the same texts in every document (a service answering calls with its menu),
and new texts and URLs in every document (nothing the builder remembers from one document to
the next helps: it remembers the strings it has already found valid).
"""

from __future__ import annotations

import gc
import itertools
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from lxml import etree  # noqa: E402

from callflow.document import safe_parser  # noqa: E402
from callflow.dsl import (  # noqa: E402
    Callback,
    Case,
    Default,
    Dial,
    Error,
    Gather,
    Hangup,
    Record,
    Response,
    Say,
    Switch,
    To,
)

try:
    from twilio.twiml.voice_response import VoiceResponse
except ImportError:  # pragma: no cover - depends on the environment
    VoiceResponse = None

ROUNDS = 15


def callflow_nested(label: str = "") -> str:
    """The flow written as nested constructor calls (``label`` varies its texts)."""
    flow = Response(
        Say(f"Welcome to Example Corp.{label}"),
        Record(timeout=30000, asr=False),
        Gather(
            Say(f"For sales press 1, for support press 2.{label}"),
            Switch(
                Case(Say(f"Connecting you to sales.{label}"), dtmf="1"),
                Case(Say(f"Connecting you to support.{label}"), dtmf="2"),
                Default(Say(f"Sorry, that is not an option.{label}")),
                Error(Say(f"Sorry, something went wrong.{label}")),
            ),
            num_digits=1,
            timeout=8000,
            finish_on_key="#",
        ),
        Dial(To("+15550100001")),
        Callback(url=f"https://ivr.example.com/done{label}", method="POST"),
        Hangup(),
    )
    return flow.to_xml()


def callflow_blocks(label: str = "") -> str:
    """The same flow written with `with` blocks (the README's style)."""
    with Response() as flow:
        Say(f"Welcome to Example Corp.{label}")
        Record(timeout=30000, asr=False)
        with Gather(num_digits=1, timeout=8000, finish_on_key="#"):
            Say(f"For sales press 1, for support press 2.{label}")
            with Switch():
                Case(Say(f"Connecting you to sales.{label}"), dtmf="1")
                Case(Say(f"Connecting you to support.{label}"), dtmf="2")
                Default(Say(f"Sorry, that is not an option.{label}"))
                Error(Say(f"Sorry, something went wrong.{label}"))
        Dial(To("+15550100001"))
        Callback(url=f"https://ivr.example.com/done{label}", method="POST")
        Hangup()
    return flow.to_xml()


def twilio_voice_response(label: str = "") -> str:
    """The same flow with twilio-python (generic children for what TwiML lacks)."""
    assert VoiceResponse is not None
    response = VoiceResponse()
    response.say(f"Welcome to Example Corp.{label}")
    response.record(timeout=30000, asr=False)
    gather = response.gather(num_digits=1, timeout=8000, finish_on_key="#")
    gather.say(f"For sales press 1, for support press 2.{label}")
    switch = gather.add_child("Switch")
    switch.add_child("Case", dtmf="1").add_child("Say", f"Connecting you to sales.{label}")
    switch.add_child("Case", dtmf="2").add_child("Say", f"Connecting you to support.{label}")
    switch.add_child("Default").add_child("Say", f"Sorry, that is not an option.{label}")
    switch.add_child("Error").add_child("Say", f"Sorry, something went wrong.{label}")
    response.dial().add_child("To", "+15550100001")
    response.add_child("Callback", url=f"https://ivr.example.com/done{label}", method="POST")
    response.hangup()
    return str(response.to_xml())


def shape(xml: str) -> list[tuple[str, list[tuple[str, str]], str]]:
    """Each element's tag, sorted attributes and text: what both builders must agree on."""
    root = etree.fromstring(xml.encode(), safe_parser())
    return [
        (str(el.tag), sorted((str(k), str(v)) for k, v in el.attrib.items()), el.text or "")
        for el in root.iter()
        if isinstance(el.tag, str)
    ]


def per_document(build: Callable[[str], str], labels: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds per document over one round: one document per label (one
    process, no workers: its CPU time is user + sys of everything the build costs)."""
    started, cpu_started = time.perf_counter(), time.process_time()
    for label in labels:
        build(label)
    wall = time.perf_counter() - started
    return wall / len(labels), (time.process_time() - cpu_started) / len(labels)


def plain_path() -> None:
    """Switch callflow's fast path off for the whole run: no shortcut of `build`, no memory of
    values or frames, no string matched at once (what tests/dsl/test_fast.py does per test)."""
    from callflow.dsl import _fast, _source

    _fast.build = lambda *arguments: False
    _fast.author_site = _source.author_site
    _fast.accepted = lambda attribute, value: False
    _fast.convert = lambda attribute, value: attribute.convert(value)
    _fast.check_text = lambda attribute, text: attribute.check(text)


def main() -> int:
    if VoiceResponse is None:
        print(
            "bench_builder needs twilio-python, the peer it compares with: "
            "pip install 'opentact-callflow[bench]' (or pip install twilio)",
            file=sys.stderr,
        )
        return 2
    arguments = [argument for argument in sys.argv[1:] if argument != "--plain-path"]
    documents = int(arguments[0]) if arguments else 2000
    if "--plain-path" in sys.argv[1:]:
        plain_path()
        print("callflow's fast path is switched off (--plain-path)")
    builders: dict[str, Callable[[str], str]] = {
        "callflow, nested calls": callflow_nested,
        "callflow, with blocks": callflow_blocks,
        "twilio VoiceResponse (peer)": twilio_voice_response,
    }
    for label in ("", "/7"):
        expected = shape(twilio_voice_response(label))
        for name, build in builders.items():
            if shape(build(label)) != expected:
                print(f"{name} built a different document:\n{build(label)}", file=sys.stderr)
                return 1
    # Labels per round: none, or new ones for every document of every round.
    workloads: dict[str, Callable[[int], list[str]]] = {
        "same texts": lambda batch: [""] * documents,
        "new texts": lambda batch: [f"/{batch}/{index}" for index in range(documents)],
    }
    print(
        f"flow: {len(expected)} elements, {len(callflow_nested().encode())} bytes; "
        f"{ROUNDS} alternating rounds of {documents} documents"
    )
    ratios = []
    batches = itertools.count()  # a new batch of labels for every round of every builder
    for workload, labels_of in workloads.items():
        for build in builders.values():
            per_document(build, labels_of(next(batches))[:200])  # warm up
        timings: dict[str, list[tuple[float, float]]] = {name: [] for name in builders}
        gc.collect()
        for _ in range(ROUNDS):
            for name, build in builders.items():
                labels = labels_of(next(batches))
                timings[name].append(per_document(build, labels))
        heading = f"{workload}: build + serialise"
        print(f"  {heading:<36} {'wall':>9} {'best':>9} {'CPU':>9}")
        medians, cpu_medians = {}, {}
        for name, rounds in timings.items():
            medians[name] = statistics.median(wall for wall, _ in rounds)
            cpu_medians[name] = statistics.median(cpu for _, cpu in rounds)
            best = min(wall for wall, _ in rounds)
            print(
                f"    {name:<34} {medians[name] * 1e6:6.1f} µs {best * 1e6:6.1f} µs "
                f"{cpu_medians[name] * 1e6:6.1f} µs"
            )
        peer, cpu_peer = (
            medians["twilio VoiceResponse (peer)"],
            cpu_medians["twilio VoiceResponse (peer)"],
        )
        for name in ("callflow, nested calls", "callflow, with blocks"):
            label = f"{name} / twilio, {workload}:"
            ratios.append(
                f"  {label:<52} {medians[name] / peer:5.2f}x wall "
                f"{cpu_medians[name] / cpu_peer:5.2f}x CPU"
            )
    print("ratios of the medians (target ≤ 0.50x):")
    print("\n".join(ratios))
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"load average after the run: {load} ({os.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
