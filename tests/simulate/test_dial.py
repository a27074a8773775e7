"""Dial: first answer wins, outcomes per target, Error when nobody connects, hangups."""

from __future__ import annotations

import pytest

from callflow.document import Document
from callflow.errors import SimulationError
from callflow.simulate import Caller, DialOutcome, simulate

FORWARD = """<Response>
  <Dial>
    <To>+15550100001</To>
    <To>sip:desk@pbx.example.com</To>
    <Sip>backup@pbx.example.com:5080</Sip>
    <Error><Say>Nobody is available.</Say></Error>
  </Dial>
  <Say>Back in the flow.</Say>
</Response>
"""


def run(**caller: object) -> object:
    return simulate(Document.from_text(FORWARD, "forward.xml"), Caller(**caller))  # type: ignore[arg-type]


def test_first_target_to_answer_wins_and_other_answering_targets_are_cancelled() -> None:
    transcript = simulate(Document.from_text(FORWARD), Caller(dial={"+15550100001": "busy"}))
    dial = transcript.of("dial")[0]
    assert dial["target"] == "sip:desk@pbx.example.com"
    assert dial["outcome"] == "answered"
    assert [t["outcome"] for t in dial["targets"]] == ["busy", "answered", "cancelled"]


def test_when_the_dialled_side_hangs_up_the_flow_continues() -> None:
    transcript = simulate(Document.from_text(FORWARD), Caller(talk_ms=60_000))
    assert transcript.spoken == ["Back in the flow."]
    assert transcript.duration_ms == 4_000 + 60_000 + 4 * 400


def test_when_the_caller_hangs_up_during_the_conversation_everything_ends() -> None:
    transcript = simulate(
        Document.from_text(FORWARD), Caller(dial={"+15550100001": "caller-hangs-up"})
    )
    assert transcript.ended_by == "caller"
    assert transcript.spoken == []
    assert transcript.of("hangup")[0]["by"] == "caller"


@pytest.mark.parametrize(
    ("outcome", "expected_ms"),
    [("busy", 2_000), ("failed", 500), ("no-answer", 30_000)],
)
def test_nobody_connecting_runs_error_and_lasts_as_long_as_the_slowest_target(
    outcome: str, expected_ms: int
) -> None:
    transcript = simulate(Document.from_text(FORWARD), Caller(dial_default=outcome))
    dial = transcript.of("dial")[0]
    assert dial["target"] is None
    assert dial["outcome"] == outcome
    assert transcript.spoken == ["Nobody is available.", "Back in the flow."]
    assert transcript.of("error")[0]["of"] == "Dial"
    assert transcript.of("say")[0].at_ms == expected_ms
    assert transcript.diagnostics == []


def test_mixed_failures_report_no_answer_over_busy_over_failed() -> None:
    caller = Caller(
        dial={"+15550100001": "failed", "sip:desk@pbx.example.com": "busy"},
        dial_default=DialOutcome.NO_ANSWER,
    )
    assert simulate(Document.from_text(FORWARD), caller).of("dial")[0]["outcome"] == "no-answer"


def test_a_dial_without_error_falls_through_when_nobody_answers() -> None:
    text = "<Response><Dial><To>+15550100009</To></Dial><Say>Next.</Say></Response>"
    transcript = simulate(Document.from_text(text), Caller(dial_default="busy"))
    assert transcript.spoken == ["Next."]


def test_unknown_dial_outcome_is_refused_with_the_choices() -> None:
    with pytest.raises(SimulationError, match=r"unknown dial outcome 'maybe'.*answered, "):
        Caller(dial={"+1": "maybe"})
