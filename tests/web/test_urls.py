"""Values in URL attributes reach the next server as exactly one query value, whatever they
hold: a real served template, a real echo server, both on loopback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from lxml import etree

from callflow.web import create_app
from tests.web.conftest import Running

TEMPLATE = """\
<Response>
  <Say>One moment.</Say>
  <Callback url="{{ request.echo }}/echo/{{ request.v }}?v={{ request.v }}&amp;k=1#{{ request.v }}"
            method="GET"/>
</Response>
"""
HOSTILE = [
    "two words",
    'a "quoted" value',
    "<script>",
    "&x=1",
    "a&b=c&d",
    "#fragment",
    "100%",
    "%zz",
    "50% off",
    "plus+sign",
    "equals=sign",
    "slash/and?question",
    "caf\u00e9 \u260e \U0001f4de",
    "tab\tand newline\n",
    "'single'",
    ";semi",
]


def _echo_app() -> object:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def echo(request: Request) -> JSONResponse:
        return JSONResponse(
            {"query": request.query_params.multi_items(), "path": request.scope["path"]}
        )

    return Starlette(routes=[Route("/echo/{rest:path}", echo)])


@pytest.fixture
def servers(run_server: Callable[..., Running], tmp_path: Path) -> tuple[Running, Running]:
    (tmp_path / "next.xml.j2").write_text(TEMPLATE)
    return run_server(create_app(tmp_path)), run_server(_echo_app())


@pytest.mark.parametrize("value", HOSTILE, ids=repr)
def test_a_hostile_value_reaches_the_next_server_as_exactly_one_query_value(
    servers: tuple[Running, Running], value: str
) -> None:
    flows, echo = servers
    reply = httpx.post(flows.url + "/next", data={"v": value, "echo": echo.url, "tag": "t"})
    assert reply.status_code == 200, reply.text
    root = etree.fromstring(reply.content)
    callback = root.find("Callback")
    assert callback is not None, reply.text
    url = callback.get("url")
    assert url is not None and url.startswith(echo.url + "/echo/")
    fetched = httpx.get(url).json()
    assert fetched["query"] == [["v", value], ["k", "1"]]
    assert fetched["path"] == "/echo/" + value  # the path part holds it whole too


def test_a_lone_surrogate_in_a_json_body_is_refused_before_any_template_sees_it(
    servers: tuple[Running, Running],
) -> None:
    flows, _ = servers
    reply = httpx.post(
        flows.url + "/next?tag=t",
        content=b'{"v": "\\ud83d"}',
        headers={"content-type": "application/json"},
    )
    assert reply.status_code == 400 and "lone surrogate" in reply.text
