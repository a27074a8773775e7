"""Gather: digits, finish key, attempts, and which of Case / Default / Error runs."""

from __future__ import annotations

import httpx

from callflow.document import Document
from callflow.simulate import Caller, simulate

MENU = """<Response>
  <Gather numDigits="1" attempts="3" timeout="4000">
    <Say>Press 1 or 2.</Say>
    <Switch>
      <Case dtmf="1"><Say>One.</Say></Case>
      <Case dtmf="2"><Say>Two.</Say><Hangup tag="two"/></Case>
      <Default><Say>Sorry.</Say></Default>
      <Error><Say>Too many tries.</Say></Error>
    </Switch>
  </Gather>
  <Say>After the menu.</Say>
</Response>
"""


def flow(text: str) -> Document:
    return Document.from_text(text, "menu.xml")


def run(text: str, *presses: str) -> list[str]:
    return simulate(flow(text), Caller(presses=presses)).spoken


def test_matching_case_runs_and_the_flow_continues_after_the_gather() -> None:
    assert run(MENU, "1") == ["Press 1 or 2.", "One.", "After the menu."]


def test_hangup_in_a_case_ends_the_call() -> None:
    transcript = simulate(flow(MENU), Caller(presses=["2"]))
    assert transcript.spoken == ["Press 1 or 2.", "Two."]
    assert transcript.ended_by == "hangup"


def test_default_runs_after_each_failed_attempt_then_the_prompt_repeats() -> None:
    assert run(MENU, "9", "1") == [
        "Press 1 or 2.",
        "Sorry.",
        "Press 1 or 2.",
        "One.",
        "After the menu.",
    ]


def test_error_runs_once_after_the_last_failed_attempt_after_default() -> None:
    spoken = run(MENU, "9", "silence", "7")
    assert spoken == ["Press 1 or 2.", "Sorry."] * 3 + ["Too many tries.", "After the menu."]


def test_branches_are_recorded_per_attempt() -> None:
    transcript = simulate(flow(MENU), Caller(presses=["9", "", "1"]))
    assert transcript.branches == ["default", "default", "1"]
    gathers = transcript.of("gather")
    assert [g["digits"] for g in gathers] == ["9", "", "1"]
    assert [g["timed_out"] for g in gathers] == [False, True, False]


def test_without_default_a_failed_attempt_is_a_retry_and_the_last_runs_error() -> None:
    text = MENU.replace("<Default><Say>Sorry.</Say></Default>", "")
    transcript = simulate(flow(text), Caller(presses=["9", "9", "9"]))
    assert transcript.branches == ["retry", "retry", "error"]
    assert transcript.spoken[-2:] == ["Too many tries.", "After the menu."]


def test_without_default_or_error_the_flow_falls_through() -> None:
    text = """<Response><Gather><Switch><Case dtmf="1"><Say>One.</Say></Case></Switch>
      </Gather><Say>Next.</Say></Response>"""
    transcript = simulate(flow(text), Caller(presses=["5"]))
    assert transcript.branches == ["none"]
    assert transcript.spoken == ["Next."]


def test_num_digits_stops_collection_and_later_keys_are_not_heard() -> None:
    text = """<Response><Gather numDigits="2"><Switch>
      <Case dtmf="12"><Say>Twelve.</Say></Case></Switch></Gather></Response>"""
    transcript = simulate(flow(text), Caller(presses=["1234"]))
    assert transcript.of("gather")[0]["digits"] == "12"
    assert transcript.said("Twelve")


def test_finish_key_ends_collection_and_is_not_part_of_the_digits() -> None:
    text = """<Response><Gather numDigits="4" finishOnKey="#"><Switch>
      <Case dtmf="42"><Say>Forty-two.</Say></Case></Switch></Gather></Response>"""
    transcript = simulate(flow(text), Caller(presses=["42#9"]))
    gather = transcript.of("gather")[0]
    assert (gather["digits"], gather["timed_out"]) == ("42", False)
    assert transcript.said("Forty-two")


def test_default_finish_key_is_star() -> None:
    text = """<Response><Gather numDigits="3"><Switch>
      <Case dtmf="7"><Say>Seven.</Say></Case></Switch></Gather></Response>"""
    assert simulate(flow(text), Caller(presses=["7*"])).said("Seven")


def test_too_few_digits_wait_for_the_timeout_and_keep_what_was_typed() -> None:
    text = """<Response><Gather numDigits="3" timeout="8000"><Switch>
      <Case dtmf="12"><Say>Partial.</Say></Case></Switch></Gather></Response>"""
    transcript = simulate(flow(text), Caller(presses=["12"]))
    gather = transcript.of("gather")[0]
    assert (gather["digits"], gather["timed_out"]) == ("12", True)
    assert transcript.said("Partial")
    assert transcript.duration_ms == 2 * 300 + 8000 + 400  # two keys, the timeout, one word


def test_silence_costs_the_timeout_on_the_clock() -> None:
    text = '<Response><Gather timeout="7000" attempts="2"/></Response>'
    assert simulate(flow(text), Caller()).duration_ms == 14_000


def test_an_exhausted_script_means_silence() -> None:
    transcript = simulate(flow(MENU), Caller(presses=["9"]))
    assert [g["digits"] for g in transcript.of("gather")] == ["9", "", ""]


def test_hangup_entry_ends_the_call_at_that_attempt() -> None:
    transcript = simulate(flow(MENU), Caller(presses=["9", "hangup"]))
    assert transcript.ended_by == "caller"
    assert transcript.of("hangup")[0]["by"] == "caller"
    assert transcript.spoken == ["Press 1 or 2.", "Sorry.", "Press 1 or 2."]


def test_legacy_dtmf_branches_and_length_attribute() -> None:
    text = """<Response><Gather dtmf_length="2" dtmf_stop="#">
      <DTMF value="11"><Say>Eleven.</Say></DTMF>
      <Default><Say>Other.</Say></Default>
    </Gather></Response>"""
    assert run(text, "11") == ["Eleven."]
    assert run(text, "5#") == ["Other."]


def test_legacy_nested_gather_runs_after_the_outer_one() -> None:
    text = """<Response><Gather length="1">
      <DTMF value="1"><Say>First.</Say></DTMF>
      <Gather length="1"><DTMF value="2"><Say>Second.</Say></DTMF></Gather>
    </Gather></Response>"""
    assert run(text, "1", "2") == ["First.", "Second."]


def test_each_attempt_counts_as_a_step() -> None:
    text = '<Response><Gather attempts="3" timeout="0"/></Response>'
    assert simulate(flow(text), Caller()).steps == 3


# -- digits sent to URLs ------------------------------------------------------------------


def test_gather_url_gets_the_digits_and_call_fields_as_query_parameters() -> None:
    seen: list[httpx.Request] = []

    def app(request: httpx.Request) -> None:
        seen.append(request)

    text = """<Response><Gather url="https://app.example.com/digits?menu=main">
      <DTMF value="3"><Say>Three.</Say></DTMF></Gather></Response>"""
    transcript = simulate(flow(text), Caller(presses=["3"]), app=app)
    params = seen[0].url.params
    assert seen[0].method == "GET"
    assert params["menu"] == "main"
    assert params["dtmf"] == "3"
    assert params["from"] == transcript.call.from_number
    assert params["tn"] == transcript.call.to_number
    assert params["state"] == "live"
    assert params["sca"] == transcript.call.sip_control_app
    assert params["call"] == transcript.call.uuid
    # An empty reply means "carry on": the local branch runs.
    assert transcript.said("Three")


def test_legacy_gather_callback_posts_code_success_and_attempt_number() -> None:
    seen: list[httpx.Request] = []

    def app(request: httpx.Request) -> None:
        seen.append(request)

    text = """<Response><Gather callback="https://app.example.com/cb" method="POST"
      attempts="2"/></Response>"""
    simulate(flow(text), Caller(presses=["", "5"]), app=app)
    bodies = [dict(httpx.QueryParams(r.content.decode())) for r in seen]
    assert [r.method for r in seen] == ["POST", "POST"]
    assert bodies == [
        {"code": "", "success": "false", "attempts": "1"},
        {"code": "5", "success": "true", "attempts": "2"},
    ]


def test_legacy_gather_callback_uses_get_by_default() -> None:
    seen: list[httpx.Request] = []

    def app(request: httpx.Request) -> None:
        seen.append(request)

    text = '<Response><Gather callback="https://app.example.com/cb"/></Response>'
    simulate(flow(text), Caller(presses=["1"]), app=app)
    assert seen[0].method == "GET"
    assert seen[0].url.params["code"] == "1"


def test_a_document_returned_to_the_gather_url_replaces_the_flow() -> None:
    text = """<Response><Gather url="https://app.example.com/digits">
      <DTMF value="1"><Say>Local.</Say></DTMF></Gather><Say>Never.</Say></Response>"""
    replies = {"https://app.example.com/digits": "<Response><Say>Remote.</Say></Response>"}
    transcript = simulate(flow(text), Caller(presses=["1"]), app=replies)
    assert transcript.spoken == ["Remote."]
    assert transcript.branches == ["remote"]


def test_a_failed_gather_url_runs_the_gather_error() -> None:
    text = """<Response><Gather url="https://app.example.com/digits">
      <DTMF value="1"><Say>Local.</Say></DTMF>
      <Error><Say>Broken.</Say></Error></Gather><Say>After.</Say></Response>"""
    transcript = simulate(flow(text), Caller(presses=["1"]), app={})
    assert transcript.spoken == ["Broken.", "After."]
    assert [d.code for d in transcript.diagnostics] == ["CF901"]


def test_a_huge_attempt_count_stops_at_the_step_limit() -> None:
    from callflow.simulate import Limits

    text = '<Response><Gather attempts="1000000000" timeout="0"/></Response>'
    transcript = simulate(flow(text), Caller(), limits=Limits(max_steps=50))
    assert transcript.ended_by == "limit"
    assert [d.code for d in transcript.diagnostics] == ["CF906"]
