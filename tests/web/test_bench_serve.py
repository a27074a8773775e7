"""The serve benchmark's peers answer what the served app answers: the same elements from the
same template, and the validating floor really validates (its figures would mean nothing if it
skipped the schema). The benchmark itself is not run here: too slow."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from callflow.document import safe_parser
from callflow.web import FlowService, parse_request
from tests.conftest import load_script

bench = load_script("bench_serve", "tests/benchmarks")


def _get(app: Any, query: str) -> tuple[int, dict[bytes, bytes], bytes]:
    """One GET through a raw ASGI app: (status, headers, body)."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "GET",
        "path": "/menu",
        "query_string": query.encode(),
        "headers": [],
    }
    asyncio.run(app(scope, receive, send))
    start, body = sent
    return start["status"], dict(start["headers"]), body["body"]


def _shape(xml: bytes) -> list[tuple[str, list[str]]]:
    root = etree.fromstring(xml, safe_parser())
    return [(str(el.tag), sorted(el.attrib)) for el in root.iter(etree.Element)]


@pytest.fixture()
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "menu.xml.j2").write_text(bench.TEMPLATE, encoding="utf-8")
    monkeypatch.setenv("BENCH_SERVE_FOLDER", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("factory", ["render_floor_app", "validate_floor_app"])
def test_a_floor_answers_the_served_reply_s_elements(folder: Path, factory: str) -> None:
    served = FlowService(folder).respond("/menu", parse_request("GET", bench.QUERY.encode()))
    assert not served.fallback, served.diagnostics
    status, headers, body = _get(getattr(bench, factory)(), bench.QUERY)
    assert status == 200
    assert headers[b"content-type"].startswith(b"text/xml")
    assert int(headers[b"content-length"]) == len(body)
    assert b"Thanks for calling, +15550001234. You pressed 1." in body
    assert _shape(body) == _shape(served.body)


def test_the_validating_floor_answers_its_fallback_for_an_invalid_reply(folder: Path) -> None:
    # The same template with a prompt where the schema allows none: only a schema check
    # notices (the render floor, which checks nothing, answers it as it is).
    broken = bench.TEMPLATE.replace("<Hangup/></Default>", "<Hangup/><Bogus/></Default>")
    (folder / "menu.xml.j2").write_text(broken, encoding="utf-8")
    _, _, checked = _get(bench.validate_floor_app(), bench.QUERY)
    _, _, unchecked = _get(bench.render_floor_app(), bench.QUERY)
    assert b"<Bogus/>" in unchecked
    assert b"<Bogus/>" not in checked and b"Thanks for calling" not in checked
