"""The pytest helpers in callflow.testing: they pass on what happened and explain failures."""

from __future__ import annotations

import pytest

from callflow.document import Document
from callflow.simulate import Caller, Transcript, simulate
from callflow.testing import (
    assert_branch,
    assert_dialled,
    assert_hung_up,
    assert_no_problems,
    assert_not_said,
    assert_said,
)

FLOW = """<Response>
  <Gather numDigits="1" attempts="2">
    <Say>Press 1 for sales.</Say>
    <Switch>
      <Case dtmf="1">
        <Dial><To>+15550100001</To><To>+15550100002</To></Dial>
        <Hangup tag="sales-done"/>
      </Case>
      <Default><Say>Try again.</Say></Default>
    </Switch>
  </Gather>
</Response>
"""


@pytest.fixture
def transcript() -> Transcript:
    caller = Caller(presses=["7", "1"], dial={"+15550100001": "busy"})
    return simulate(Document.from_text(FLOW, "sales.xml"), caller)


def test_assert_said_finds_a_matching_text_and_returns_its_event(transcript: Transcript) -> None:
    event = assert_said(transcript, r"press \d for sales".replace("press", "Press"))
    assert event.location.line == 3


def test_assert_said_fails_with_the_transcript(transcript: Transcript) -> None:
    with pytest.raises(
        AssertionError, match=r"nothing said matches 'goodbye'[\s\S]*transcript:[\s\S]*Try again"
    ):
        assert_said(transcript, "goodbye")


def test_assert_not_said(transcript: Transcript) -> None:
    assert_not_said(transcript, "goodbye")
    with pytest.raises(AssertionError, match=r"'Try again\.' was said"):
        assert_not_said(transcript, "again")


def test_assert_dialled_with_and_without_outcome(transcript: Transcript) -> None:
    assert_dialled(transcript, "+15550100001")
    assert_dialled(transcript, "+15550100002", outcome="answered")
    with pytest.raises(
        AssertionError, match=r"\+15550100001 with outcome answered was not dialled"
    ):
        assert_dialled(transcript, "+15550100001", outcome="answered")
    with pytest.raises(AssertionError, match=r"dialled: .*busy"):
        assert_dialled(transcript, "+19999999999")


def test_assert_hung_up_by_and_tag(transcript: Transcript) -> None:
    assert_hung_up(transcript, by="flow", tag="sales-done")
    with pytest.raises(AssertionError, match=r"did not hang up by caller"):
        assert_hung_up(transcript, by="caller")


def test_assert_branch_by_digits_name_and_attempt(transcript: Transcript) -> None:
    assert_branch(transcript, "default", attempt=1)
    assert_branch(transcript, "1", attempt=2)
    with pytest.raises(AssertionError, match=r"branches taken: \['default', '1'\]"):
        assert_branch(transcript, "2")


def test_assert_no_problems(transcript: Transcript) -> None:
    assert_no_problems(transcript)
    broken = simulate("<Response><callback>https://x.example/a</callback></Response>", app={})
    with pytest.raises(AssertionError, match="CF901"):
        assert_no_problems(broken)


def test_transcript_views(transcript: Transcript) -> None:
    assert transcript.dialled == ["+15550100001", "+15550100002"]
    assert transcript.hung_up
    assert transcript.said("sales") and not transcript.said("^sales")
