"""The flow server keeps a served template compiled while its files are unchanged (one stat a
request), sees every change on the next request, and keeps the reading policy; a reply whose
exact text already passed its checks is not checked again, any other one is."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

import callflow.check
import callflow.sources
import callflow.web._cache
from callflow.web import FlowService, Reply, parse_request
from callflow.web._cache import Checked, CheckedReplies

HOUR_AGO = 3600
GREETING = "<Response>\n  <Say>Hello {{ request.from }}</Say>\n</Response>\n"
WITH_INCLUDE = "<Response>\n  {% include 'part.xml.j2' %}\n</Response>\n"


def settled(*paths: Path) -> None:
    """Files and folders as if they last changed an hour ago (the folder's find is kept)."""
    for path in paths:
        stamp = os.stat(path).st_mtime - HOUR_AGO
        os.utime(path, (stamp, stamp))


@pytest.fixture(autouse=True)
def no_racy_window(monkeypatch: pytest.MonkeyPatch) -> None:
    # A file's change time cannot be set back: the tests trust a stamp at once (their edits
    # change a file's size, which the stamp holds too). One test puts the window back.
    monkeypatch.setattr(callflow.web._cache, "RACY_NS", -(10**18))


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The flow files read through the front door."""
    names: list[str] = []
    real = callflow.sources.read_flow_file

    def counting(name: str, *args: object, **kwargs: object) -> object:
        names.append(name)
        return real(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(callflow.sources, "read_flow_file", counting)
    return names


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts that went through the schema and lint checks."""
    texts: list[str] = []
    real = callflow.check.check_document

    def counting(document: object, **kwargs: object) -> object:
        texts.append(document.text)  # type: ignore[attr-defined]
        return real(document, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(callflow.check, "check_document", counting)
    return texts


@pytest.fixture
def flows(tmp_path: Path) -> Path:
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "menu.xml.j2").write_text(GREETING)
    settled(folder / "menu.xml.j2", folder)
    return folder


def ask(service: FlowService, query: str = "from=%2B1", path: str = "/menu") -> Reply:
    return service.respond(path, parse_request("GET", query))


def said(service: FlowService, query: str = "from=%2B1", path: str = "/menu") -> str:
    reply = ask(service, query, path)
    if reply.fallback:
        return "FALLBACK " + " ".join(d.code for d in reply.diagnostics)
    return reply.body.decode() if reply.status == 200 else str(reply.status)


def kept(flows: Path) -> FlowService:
    """A service that has read its template once (through the front door) and kept it."""
    service = FlowService(flows)
    ask(service, "from=warm&n=1")
    return service


def edit(path: Path, text: str) -> None:
    """Rewrite a file in place (the folder is unchanged: only the file's stamp tells)."""
    with open(path, "r+", encoding="utf-8") as handle:
        handle.truncate(0)
        handle.write(text)


# ---------------------------------------------------------------- the kept template


def test_a_settled_template_is_read_once_and_rendered_per_request(
    flows: Path, reads: list[str]
) -> None:
    service = FlowService(flows)
    for number in range(5):
        assert f"Hello +{number}" in said(service, f"from=%2B{number}")
    assert len(reads) == 1


def test_a_template_that_just_changed_is_read_on_every_request(
    flows: Path, reads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(callflow.web._cache, "RACY_NS", 1_000_000_000)
    edit(flows / "menu.xml.j2", GREETING.replace("Hello", "Hi"))  # changed now: racy
    service = FlowService(flows)
    for _ in range(3):
        assert "Hi +1" in said(service)
    assert len(reads) == 3


def test_an_edited_template_is_seen_on_the_next_request(flows: Path, reads: list[str]) -> None:
    service = FlowService(flows)
    assert "Hello +1" in said(service)
    assert "Hello +1" in said(service)
    edit(flows / "menu.xml.j2", GREETING.replace("Hello", "Good evening"))
    assert "Good evening +1" in said(service)
    assert "Good evening +1" in said(service)
    assert len(reads) == 2  # once before the edit, once after


def test_an_edited_include_is_seen_on_the_next_request(flows: Path) -> None:
    (flows / "menu.xml.j2").write_text(WITH_INCLUDE)
    (flows / "part.xml.j2").write_text("<Say>first</Say>\n")
    settled(flows / "menu.xml.j2", flows / "part.xml.j2", flows)
    service = FlowService(flows)
    assert "first" in said(service)
    assert "first" in said(service)
    edit(flows / "part.xml.j2", "<Say>the second</Say>\n")
    assert "the second" in said(service)


def test_a_new_include_is_seen_on_the_next_request(flows: Path) -> None:
    (flows / "menu.xml.j2").write_text(WITH_INCLUDE)
    settled(flows / "menu.xml.j2", flows)
    service = FlowService(flows)
    assert said(service) == "FALLBACK CF603"
    (flows / "part.xml.j2").write_text("<Say>made now</Say>\n")
    assert "made now" in said(service)


def test_a_new_file_beside_the_template_is_seen_on_the_next_request(flows: Path) -> None:
    service = FlowService(flows)
    assert "Hello" in said(service)
    assert "Hello" in said(service)
    (flows / "menu.xml").write_text("<Response><Say>plain XML</Say></Response>\n")
    assert "plain XML" in said(service)  # .xml comes before .xml.j2


def test_a_template_replaced_by_a_link_out_is_refused(flows: Path, tmp_path: Path) -> None:
    outside = tmp_path / "secret.xml.j2"
    outside.write_text("<Response><Say>secret</Say></Response>\n")
    service = FlowService(flows)
    assert "Hello" in said(service)
    (flows / "menu.xml.j2").unlink()
    (flows / "menu.xml.j2").symlink_to(outside)
    settled(flows)
    assert said(service) == "403"


def test_a_template_replaced_by_a_fifo_is_refused(flows: Path) -> None:
    service = FlowService(flows)
    assert "Hello" in said(service)
    (flows / "menu.xml.j2").unlink()
    os.mkfifo(flows / "menu.xml.j2")
    settled(flows)
    assert said(service) == "403"


def test_an_include_replaced_by_a_link_out_is_refused(flows: Path, tmp_path: Path) -> None:
    outside = tmp_path / "secret.xml.j2"
    outside.write_text("<Say>secret</Say>\n")
    (flows / "menu.xml.j2").write_text(WITH_INCLUDE)
    (flows / "part.xml.j2").write_text("<Say>part</Say>\n")
    settled(flows / "menu.xml.j2", flows / "part.xml.j2", flows)
    service = FlowService(flows)
    assert "part" in said(service)
    (flows / "part.xml.j2").unlink()
    (flows / "part.xml.j2").symlink_to(outside)
    settled(flows)
    assert said(service) == "FALLBACK CF611"


# ---------------------------------------------------------------- checked replies


def test_a_reply_already_checked_is_not_checked_again(flows: Path, checks: list[str]) -> None:
    service = kept(flows)
    checks.clear()
    replies = [ask(service) for _ in range(4)]
    assert len(checks) == 1
    assert {reply.body for reply in replies} == {replies[0].body}
    assert all(reply.status == 200 and not reply.fallback for reply in replies)


def test_every_different_reply_is_checked(flows: Path, checks: list[str]) -> None:
    service = kept(flows)
    checks.clear()
    for number in range(5):
        assert f"Hello +{number}" in said(service, f"from=%2B{number}")
    assert len(checks) == 5
    assert len({text for text in checks}) == 5


def test_a_bad_reply_is_refused_every_time(flows: Path, checks: list[str]) -> None:
    (flows / "menu.xml.j2").write_text(
        '<Response>\n  <Gather numDigits="{{ request.n }}"><Say>Hi</Say></Gather>\n</Response>\n'
    )
    settled(flows / "menu.xml.j2", flows)
    service = kept(flows)
    checks.clear()
    answers = [said(service, f"n={n}") for n in ("1", "x", "1", "x", "x")]
    assert answers[0] == answers[2] and "numDigits" in answers[0]
    assert answers[1] == answers[3] == answers[4] == "FALLBACK CF205"
    assert len(checks) == 4  # the good reply once; the bad one every time


def test_warnings_of_a_reply_checked_before_are_reported_again(
    flows: Path, checks: list[str]
) -> None:
    (flows / "menu.xml.j2").write_text(
        '<Response>\n  <Callback url="https://example.com/y?from={{ request.from }}"/>\n'
        "</Response>\n"
    )
    settled(flows / "menu.xml.j2", flows)
    service = kept(flows)
    checks.clear()
    first, second = ask(service), ask(service)
    assert len(checks) == 1
    assert [(d.code, d.location.file, d.location.line) for d in first.diagnostics] == [
        ("CF306", "menu.xml.j2", 2),
        ("CF307", "menu.xml.j2", 2),
    ]
    assert second.diagnostics == first.diagnostics and second.diagnostics is not first.diagnostics


def test_an_include_reloaded_checks_the_same_text_again(flows: Path, checks: list[str]) -> None:
    # A suppression comment in an include changes no output, but does change the findings.
    (flows / "menu.xml.j2").write_text(WITH_INCLUDE)
    (flows / "part.xml.j2").write_text('<Callback url="https://example.com/y"/>\n')
    settled(flows / "menu.xml.j2", flows / "part.xml.j2", flows)
    service = kept(flows)
    checks.clear()
    ask(service), ask(service)
    assert len(checks) == 1
    edit(flows / "part.xml.j2", '<Callback url="https://example.com/y"/>{# note #}\n')
    ask(service)
    assert len(checks) == 2


def test_a_template_kept_under_one_reading_policy_is_read_again_under_another(
    flows: Path, reads: list[str]
) -> None:
    from callflow.sources import ReadPolicy

    service = FlowService(flows)
    said(service), said(service)
    assert len(reads) == 1
    service.policy = ReadPolicy(trusted=True)
    said(service)
    assert len(reads) == 2


def test_the_lint_setting_is_part_of_what_was_checked(flows: Path, checks: list[str]) -> None:
    service = kept(flows)
    checks.clear()
    ask(service)
    service.lint = False
    ask(service)
    assert len(checks) == 2


def test_the_memory_of_checked_replies_is_bounded() -> None:
    memory = CheckedReplies(max_entries=3, max_bytes=1000)
    for number in range(5):
        memory.put(number, Checked(b"x", ()), 10)
    assert len(memory) == 3 and memory.get(0) is None and memory.get(4) is not None
    memory.get(2)  # used: kept over the older 3
    memory.put(5, Checked(b"x", ()), 10)
    assert memory.get(2) is not None and memory.get(3) is None
    for number in range(10, 14):
        memory.put(number, Checked(b"x", ()), 240)
    assert memory.size <= 1000 and len(memory) <= 3
    memory.put("large", Checked(b"x", ()), 400)  # over a quarter of the bound: not kept
    assert memory.get("large") is None


@pytest.mark.parametrize("count", [1, 40])
def test_many_different_replies_stay_within_the_bound(
    flows: Path, count: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = kept(flows)
    monkeypatch.setattr(service, "_checked", CheckedReplies(max_entries=8))
    for number in range(count):
        ask(service, f"from=%2B{number}")
    assert len(service._checked) == min(count, 8)


def test_a_service_answers_the_same_through_its_kept_template(flows: Path) -> None:
    (flows / "menu.xml.j2").write_text(
        '<Response>\n  <Say>Step {{ request.step }}</Say>\n  <Callback method="GET" '
        'url="https://example.com/?from={{ request.from }}"><Error><Hangup/></Error></Callback>'
        "\n</Response>\n"
    )
    settled(flows / "menu.xml.j2", flows)
    kept = FlowService(flows)
    said(kept, "step=0&from=1")  # read, compiled and kept
    # The last query has no `step`: an undefined variable, located at its template line.
    queries = ["step=1&from=a", "step=2&from=x%26y%3D1", "step=%3Cb%3E&from=1", "from=%2B2"]
    make: Callable[[], FlowService] = lambda: FlowService(flows)  # noqa: E731
    for query in queries:
        fresh = make()
        first, again = ask(fresh, query), ask(kept, query)
        assert (again.status, again.body, again.fallback) == (
            first.status,
            first.body,
            first.fallback,
        )
        assert again.diagnostics == first.diagnostics
        assert again.fallback == (query == "from=%2B2")
    assert [(d.code, d.location.line) for d in again.diagnostics] == [("CF602", 2)]


# ---------------------------------------------------------------- log lines


def test_lines_no_handler_writes_are_never_formatted(
    flows: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import logging

    import callflow.web._service as service_module

    made: list[str] = []
    real = service_module.describe_request

    def counting(path: str, request: object) -> str:
        made.append(path)
        return real(path, request)  # type: ignore[arg-type]

    monkeypatch.setattr(service_module, "describe_request", counting)
    log = logging.getLogger("test.callflow.quiet")
    log.propagate = False
    log.setLevel(logging.INFO)  # the logger lets INFO through, its one handler does not
    handler = logging.Handler(logging.WARNING)
    log.addHandler(handler)
    service = FlowService(flows, log=log)
    ask(service)
    assert made == []
    handler.setLevel(logging.INFO)
    records: list[logging.LogRecord] = []
    handler.emit = records.append  # type: ignore[method-assign]
    ask(service)
    assert made == ["/menu"]
    assert [r.getMessage().split()[0] for r in records] == ["request", "reply"]


@pytest.mark.parametrize("value", [None, "", "/some/folder"])
def test_the_search_path_setting_is_what_the_environment_holds(
    monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    from callflow.templating import SEARCH_PATH_VARIABLE
    from callflow.web._cache import search_path_setting

    if value is None:
        monkeypatch.delenv(SEARCH_PATH_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(SEARCH_PATH_VARIABLE, value)
    assert search_path_setting() == os.environ.get(SEARCH_PATH_VARIABLE) == value


def test_a_kept_template_is_read_again_when_the_search_path_setting_changes(
    flows: Path, reads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from callflow.templating import SEARCH_PATH_VARIABLE

    monkeypatch.delenv(SEARCH_PATH_VARIABLE, raising=False)
    service = FlowService(flows)
    said(service)
    said(service)
    assert len(reads) == 1
    monkeypatch.setenv(SEARCH_PATH_VARIABLE, str(flows))
    said(service)
    assert len(reads) == 2
