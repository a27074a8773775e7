"""Builder cost: build and serialise a typical IVR flow, next to twilio-python's VoiceResponse.

Run: ``pip install 'callflow[bench]'`` (or just ``twilio``), then
``python tests/benchmarks/bench_builder.py [DOCUMENTS_PER_ROUND]``.

The document is the same in both builders: a greeting, a record, a gather with a prompt and a
switch of two cases plus a default and an error, a dial, a callback and a hangup. callflow
checks every keyword, value and child as it is built and records the author's file and line of
every node (source capture is always on); twilio-python checks nothing and records nothing.
Tags TwiML lacks go through twilio's generic ``add_child``. The two builders are timed in
alternating rounds so that a burst of load on a shared machine hits both alike; the figure per
builder is the median round (the best round is printed too).
"""

from __future__ import annotations

import gc
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


def callflow_nested() -> str:
    """The flow written as nested constructor calls."""
    flow = Response(
        Say("Welcome to Example Corp."),
        Record(timeout=30000, asr=False),
        Gather(
            Say("For sales press 1, for support press 2."),
            Switch(
                Case(Say("Connecting you to sales."), dtmf="1"),
                Case(Say("Connecting you to support."), dtmf="2"),
                Default(Say("Sorry, that is not an option.")),
                Error(Say("Sorry, something went wrong.")),
            ),
            num_digits=1,
            timeout=8000,
            finish_on_key="#",
        ),
        Dial(To("+15550100001")),
        Callback(url="https://ivr.example.com/done", method="POST"),
        Hangup(),
    )
    return flow.to_xml()


def callflow_blocks() -> str:
    """The same flow written with `with` blocks (the README's style)."""
    with Response() as flow:
        Say("Welcome to Example Corp.")
        Record(timeout=30000, asr=False)
        with Gather(num_digits=1, timeout=8000, finish_on_key="#"):
            Say("For sales press 1, for support press 2.")
            with Switch():
                Case(Say("Connecting you to sales."), dtmf="1")
                Case(Say("Connecting you to support."), dtmf="2")
                Default(Say("Sorry, that is not an option."))
                Error(Say("Sorry, something went wrong."))
        Dial(To("+15550100001"))
        Callback(url="https://ivr.example.com/done", method="POST")
        Hangup()
    return flow.to_xml()


def twilio_voice_response() -> str:
    """The same flow with twilio-python (generic children for what TwiML lacks)."""
    assert VoiceResponse is not None
    response = VoiceResponse()
    response.say("Welcome to Example Corp.")
    response.record(timeout=30000, asr=False)
    gather = response.gather(num_digits=1, timeout=8000, finish_on_key="#")
    gather.say("For sales press 1, for support press 2.")
    switch = gather.add_child("Switch")
    switch.add_child("Case", dtmf="1").add_child("Say", "Connecting you to sales.")
    switch.add_child("Case", dtmf="2").add_child("Say", "Connecting you to support.")
    switch.add_child("Default").add_child("Say", "Sorry, that is not an option.")
    switch.add_child("Error").add_child("Say", "Sorry, something went wrong.")
    response.dial().add_child("To", "+15550100001")
    response.add_child("Callback", url="https://ivr.example.com/done", method="POST")
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


def per_document(build: Callable[[], str], documents: int) -> float:
    """Seconds per document over one round of ``documents`` builds."""
    started = time.perf_counter()
    for _ in range(documents):
        build()
    return (time.perf_counter() - started) / documents


def main() -> int:
    if VoiceResponse is None:
        print(
            "bench_builder needs twilio-python, the peer it compares with: "
            "pip install 'callflow[bench]' (or pip install twilio)",
            file=sys.stderr,
        )
        return 2
    documents = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    builders: dict[str, Callable[[], str]] = {
        "callflow, nested calls": callflow_nested,
        "callflow, with blocks": callflow_blocks,
        "twilio VoiceResponse (peer)": twilio_voice_response,
    }
    expected = shape(twilio_voice_response())
    for name, build in builders.items():
        if shape(build()) != expected:
            print(f"{name} built a different document:\n{build()}", file=sys.stderr)
            return 1
        per_document(build, 200)  # warm up
    timings: dict[str, list[float]] = {name: [] for name in builders}
    gc.collect()
    for _ in range(ROUNDS):
        for name, build in builders.items():
            timings[name].append(per_document(build, documents))

    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(
        f"flow: {len(expected)} elements, {len(callflow_nested().encode())} bytes; "
        f"{ROUNDS} alternating rounds of {documents} documents; load average {load}"
    )
    print(f"  {'build + serialise, per document':<32} {'median':>9} {'best':>9}")
    medians = {}
    for name, seconds in timings.items():
        medians[name] = statistics.median(seconds)
        print(f"  {name:<32} {medians[name] * 1e6:6.1f} µs {min(seconds) * 1e6:6.1f} µs")
    peer = medians["twilio VoiceResponse (peer)"]
    for name in ("callflow, nested calls", "callflow, with blocks"):
        print(f"  ratio {name} / twilio:{'':<4} {medians[name] / peer:6.2f}x  (target ≤ 0.50x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
