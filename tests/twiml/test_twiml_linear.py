"""The conversion's cost grows linearly with the document (counted, not timed).

The count is of Python and C function calls made while converting (``sys.setprofile``), a
figure that does not depend on the machine's load; a quadratic step would multiply it by 16
when the document grows four times. `tests/benchmarks/bench_twiml.py` gives the times.
"""

from __future__ import annotations

import sys
from types import FrameType

from callflow.twiml import convert_twiml, convert_twiml_template

BLOCK = """
  <Say voice="alice" loop="0">Welcome <emphasis>back</emphasis>.</Say>
  <Gather action="menu" timeout="4" numDigits="1" input="speech">
    <Say>Press 1.</Say><Play>beep.wav</Play><Pause length="1"/>
  </Gather>
  <Dial timeout="10" action="done" statusCallback="/s"><Number>+14155550100</Number>
    <Sip password="x">sip:a@b.example</Sip><Client>c</Client></Dial>
  <Record maxLength="20" playBeep="true"/>
  <Enqueue>q</Enqueue>
  <Redirect>/again</Redirect>"""


def document(blocks: int) -> str:
    return "<Response>" + BLOCK * blocks + "\n</Response>\n"


def calls(run: object) -> int:
    assert callable(run)
    count = 0

    def profile(frame: FrameType, event: str, arg: object) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(profile)
    try:
        run()
    finally:
        sys.setprofile(None)
    return count


def test_converting_a_document_four_times_larger_costs_about_four_times_more() -> None:
    def at(blocks: int) -> int:
        text = document(blocks)
        return calls(lambda: convert_twiml(text, base_url="https://a.example/", filename="x"))

    at(1)  # warm caches (the schema, compiled patterns)
    small, large = at(50), at(200)
    assert 3.0 * small < large < 5.0 * small, (small, large)


def test_converting_a_template_four_times_larger_costs_about_four_times_more() -> None:
    def at(blocks: int) -> int:
        text = document(blocks).replace(
            "<Say>Press 1.</Say>", "{% if a %}<Say>{{ n }}</Say>{% endif %}"
        )
        return calls(lambda: convert_twiml_template(text, base_url="https://a.example/"))

    at(1)
    small, large = at(50), at(200)
    assert 3.0 * small < large < 5.0 * small, (small, large)
