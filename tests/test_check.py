"""The validation pipeline: the schema first, then lint, all collected, filtered as asked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings

from callflow.check import check_document, iter_document_diagnostics
from callflow.diagnostics import Diagnostic, in_order
from callflow.document import Document
from callflow.lint import LintConfig
from callflow.schema import load_schema
from callflow.testing import flow_texts

# Line 4 is unreachable after the <Hangup/> of line 3 (lint, CF301); line 5 has an attribute
# the schema does not know (CF203); line 6 speaks nothing (lint, CF310).
FLOW = """<Response>
  <Say>Hi.</Say>
  <Hangup/>
  <Say>after</Say>
  <Say bogus="1">x</Say>
  <Say></Say>
</Response>
"""


def document(text: str = FLOW) -> Document:
    return Document.from_text(text, name="flow.xml")


def codes(found: list[Diagnostic]) -> list[str]:
    return [d.code for d in found]


def test_a_clean_flow_has_no_problems() -> None:
    assert check_document(document("<Response><Say>Hi.</Say></Response>")) == []


def test_every_problem_is_found_and_listed_in_source_order() -> None:
    found = check_document(document())
    assert codes(found) == ["CF301", "CF203", "CF310"]
    assert [d.location.line for d in found] == [4, 5, 6]
    assert found == in_order(found)


def test_the_lazy_form_gives_schema_findings_before_lint_findings() -> None:
    found = iter_document_diagnostics(document())
    assert isinstance(found, Iterator)
    assert codes(list(found)) == ["CF203", "CF301", "CF310"]


def test_without_lint_only_the_schema_speaks() -> None:
    assert codes(check_document(document(), lint=False)) == ["CF203"]


def test_select_chooses_lint_rules_but_never_hides_the_schema() -> None:
    assert codes(check_document(document(), select=["CF31"])) == ["CF203", "CF310"]


def test_ignore_hides_schema_codes_and_lint_rules_alike() -> None:
    assert codes(check_document(document(), ignore=["CF203", "CF301"])) == ["CF310"]
    assert codes(check_document(document(), ignore=["CF2"])) == ["CF301", "CF310"]


def test_the_settings_ignore_list_hides_schema_codes_too() -> None:
    config = LintConfig(ignore=["CF203", "CF310"])
    assert codes(check_document(document(), config=config)) == ["CF301"]


def test_a_given_schema_is_the_one_checked_against(tmp_path: Path) -> None:
    xsd = tmp_path / "only-empty.xsd"
    xsd.write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
        '<xs:element name="Response"><xs:complexType/></xs:element>'
        "</xs:schema>",
        encoding="utf-8",
    )
    flow = document("<Response>\n  <Say>Hi.</Say>\n</Response>\n")
    assert check_document(flow) == []
    (found,) = check_document(flow, schema=load_schema(xsd), lint=False)
    assert (found.code, found.location.line) == ("CF209", 1)


def test_an_element_that_must_be_empty_is_reported_once_whatever_it_holds() -> None:
    flow = document("<Response>\n  <Hangup>bye<Say>z</Say></Hangup>\n</Response>\n")
    assert codes(check_document(flow, lint=False)) == ["CF209"]


@settings(max_examples=40, deadline=None)
@given(flow_texts())
def test_any_generated_flow_is_schema_valid_and_both_forms_agree(text: str) -> None:
    flow = document(text)
    found = check_document(flow)
    assert not [d for d in found if d.code.startswith(("CF1", "CF2"))]
    assert found == in_order(iter_document_diagnostics(flow))
    assert check_document(flow, lint=False) == []


# ---------------------------------------------------------------- the collector's pause


def test_the_collector_is_paused_while_checking_and_runs_again_after() -> None:
    import gc

    from callflow.check import collector_paused

    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():  # nested
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("a check that fails")
    assert gc.isenabled()


def test_a_collector_the_caller_stopped_stays_stopped() -> None:
    import gc

    from callflow.check import collector_paused

    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_pauses_in_two_threads_end_with_the_last_one() -> None:
    import gc
    import threading

    from callflow.check import collector_paused

    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[bool] = []

    def first() -> None:
        with collector_paused():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with collector_paused():
            second_in.set()
            first_out.wait(5)
            seen.append(gc.isenabled())  # the first thread's pause ended, this one's not

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert seen == [False]
    assert gc.isenabled()
