"""Callback: what is sent, every kind of app, failures running Error, and the guards."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import Any

import anyio
import httpx
import pytest

from callflow.document import Document
from callflow.simulate import Backend, Caller, Limits, simulate, simulate_async

URL = "https://app.example.com/next"
NEXT = "<Response>\n  <Say>Fetched.</Say>\n</Response>\n"


def flow(
    callback: str = f'<Callback url="{URL}"/>', after: str = "<Say>Not reached.</Say>"
) -> Document:
    return Document.from_text(f"<Response>\n  {callback}\n  {after}\n</Response>\n", "main.xml")


def handled(url: str = URL, extra: str = "") -> Document:
    return flow(
        f'<Callback url="{url}" {extra}><Error><Say>Fetch failed.</Say></Error></Callback>',
        "<Say>After.</Say>",
    )


# -- what the platform sends ---------------------------------------------------------------


def test_post_with_body_sends_the_call_object_as_json_and_tag_in_the_query() -> None:
    seen: list[httpx.Request] = []

    def app(request: httpx.Request) -> str:
        seen.append(request)
        return NEXT

    document = flow(f'<Callback url="{URL}?v=1" method="post" body="true" tag="menu"/>')
    transcript = simulate(document, app=app)
    (request,) = seen
    assert request.method == "POST"
    assert request.url.params["tag"] == "menu"
    assert request.url.params["v"] == "1"
    call = json.loads(request.content)
    assert call["from"] == transcript.call.from_number
    assert call["to"] == call["tn"] == transcript.call.to_number
    assert call["uuid"] == transcript.call.uuid
    assert call["state"] == "live"


def test_method_defaults_to_post_without_a_body() -> None:
    seen: list[httpx.Request] = []

    def app(request: httpx.Request) -> str:
        seen.append(request)
        return NEXT

    simulate(flow(), app=app)
    assert seen[0].method == "POST"
    assert seen[0].content == b""


def test_the_fetched_document_replaces_the_running_one() -> None:
    transcript = simulate(flow(), app={URL: NEXT})
    assert transcript.spoken == ["Fetched."]
    callback = transcript.of("callback")[0]
    assert (callback["url"], callback["status"], callback["reply"]) == (URL, 200, NEXT)
    assert (callback.location.file, callback.location.line) == ("main.xml", 2)


def test_events_from_a_fetched_document_point_into_the_reply() -> None:
    transcript = simulate(flow(), app={URL: NEXT})
    say = transcript.of("say")[0]
    assert (say.location.file, say.location.line) == (URL, 2)
    assert [d.name for d in transcript.documents] == ["main.xml", URL]


def test_legacy_lowercase_callback_fetches_its_text_url() -> None:
    transcript = simulate(flow(f"<callback>{URL}</callback>"), app={URL: NEXT})
    assert transcript.spoken == ["Fetched."]


# -- kinds of app ---------------------------------------------------------------------------


def wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/xml")])
    return [NEXT.encode()]


async def asgi_app(
    scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]
) -> None:
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/xml")]}
    )
    await send({"type": "http.response.body", "body": NEXT.encode()})


async def async_function(request: httpx.Request) -> str:
    return NEXT


@pytest.mark.parametrize(
    "app",
    [
        wsgi_app,
        asgi_app,
        lambda request: NEXT,
        async_function,
        {URL: NEXT},
        {URL: Document.from_text(NEXT)},
        httpx.MockTransport(lambda request: httpx.Response(200, text=NEXT)),
        Backend.wsgi(wsgi_app),
    ],
    ids=[
        "wsgi",
        "asgi",
        "function",
        "async-function",
        "map",
        "map-document",
        "transport",
        "backend",
    ],
)
def test_every_kind_of_app_answers_in_process(app: object) -> None:
    assert simulate(flow(), app=app).spoken == ["Fetched."]


@pytest.mark.parametrize("app", [asgi_app, wsgi_app, {URL: NEXT}], ids=["asgi", "wsgi", "map"])
def test_simulate_async_runs_on_the_callers_event_loop(app: object) -> None:
    async def main() -> list[str]:
        return (await simulate_async(flow(), app=app)).spoken

    assert anyio.run(main) == ["Fetched."]


def test_an_object_of_unknown_kind_is_refused_with_how_to_wrap_it() -> None:
    from callflow.errors import SimulationError

    with pytest.raises(SimulationError, match=r"Backend\.wsgi"):
        simulate(flow(), app=lambda a, b, c: None)


def test_a_real_server_is_reached_through_the_network_backend() -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/xml")
            self.end_headers()
            self.wfile.write(NEXT.encode())

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/next"
        assert simulate(flow(f'<Callback url="{url}"/>')).spoken == ["Fetched."]
    finally:
        server.shutdown()
        server.server_close()


# -- failures ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        (httpx.Response(500, text="oops"), "CF901"),
        ("", "CF903"),
        ("this is not xml", "CF903"),
        ("<Other/>", "CF903"),
        ("<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><Response/>", "CF903"),
    ],
    ids=["http-500", "empty", "not-xml", "wrong-root", "xxe"],
)
def test_a_bad_reply_runs_the_callbacks_error_and_is_a_warning(reply: object, code: str) -> None:
    transcript = simulate(handled(), app=lambda request: reply)
    assert transcript.spoken == ["Fetch failed.", "After."]
    (problem,) = transcript.diagnostics
    assert (problem.code, problem.severity.value) == (code, "warning")
    assert (problem.location.file, problem.location.line) == ("main.xml", 2)
    assert transcript.of("error")[0]["of"] == "Callback"


def test_an_unmapped_url_is_a_404_failure() -> None:
    transcript = simulate(handled(), app={})
    assert transcript.of("callback")[0]["status"] == 404
    assert transcript.diagnostics[0].code == "CF901"


def test_a_timeout_runs_error_and_costs_the_timeout_on_the_clock() -> None:
    def app(request: httpx.Request) -> str:
        raise httpx.ReadTimeout("slow", request=request)

    transcript = simulate(handled(extra='timeout="2500"'), app=app)
    assert transcript.spoken == ["Fetch failed.", "After."]
    assert transcript.diagnostics[0].code == "CF902"
    assert transcript.of("say")[0].at_ms == 2500


def test_an_in_process_reply_slower_than_the_timeout_counts_as_a_timeout() -> None:
    def app(request: httpx.Request) -> str:
        time.sleep(0.05)
        return NEXT

    transcript = simulate(handled(extra='timeout="10"'), app=app)
    assert transcript.diagnostics[0].code == "CF902"


def test_an_exception_in_the_app_is_a_failed_fetch_naming_it() -> None:
    def app(request: httpx.Request) -> str:
        raise KeyError("account")

    transcript = simulate(handled(), app=app)
    assert "the app raised KeyError" in transcript.diagnostics[0].message


def test_raise_app_errors_lets_the_apps_exception_through() -> None:
    def app(request: httpx.Request) -> str:
        raise KeyError("account")

    with pytest.raises(KeyError):
        simulate(handled(), app=app, raise_app_errors=True)


def test_an_unhandled_failure_is_an_error_and_the_flow_goes_on() -> None:
    transcript = simulate(flow(after="<Say>Next.</Say>"), app={})
    assert transcript.spoken == ["Next."]
    assert transcript.diagnostics[0].severity.value == "error"


def test_an_unhandled_failure_runs_the_documents_error() -> None:
    document = Document.from_text(
        f'<Response><Callback url="{URL}"/><Say>Skipped.</Say>'
        "<Error><Say>Document failed.</Say></Error></Response>"
    )
    assert simulate(document, app={}).spoken == ["Document failed."]


def test_a_redirect_chain_is_followed_up_to_the_limit() -> None:
    def app(request: httpx.Request) -> httpx.Response:
        step = int(request.url.params.get("n", "0"))
        if step < 3:
            return httpx.Response(302, headers={"Location": f"{URL}?n={step + 1}"})
        return httpx.Response(200, text=NEXT)

    assert simulate(handled(), app=app).spoken == ["Fetched."]
    limited = simulate(handled(), app=app, limits=Limits(max_redirects=2))
    assert limited.spoken == ["Fetch failed.", "After."]
    assert limited.diagnostics[0].code == "CF904"


def test_a_callback_loop_stops_at_the_request_limit() -> None:
    loop = f'<Response><Say>Again.</Say><Callback url="{URL}"/></Response>'
    transcript = simulate(Document.from_text(loop), app={URL: loop}, limits=Limits(max_fetches=7))
    assert transcript.ended_by == "limit"
    assert len(transcript.of("callback")) == 7
    assert transcript.diagnostics[-1].code == "CF905"
    assert transcript.diagnostics[-1].location.file == URL


def test_a_fetched_document_can_use_the_caller_script() -> None:
    menu = (
        '<Response><Gather><Switch><Case dtmf="4"><Say>Four.</Say></Case></Switch></Gather>'
        "</Response>"
    )
    transcript = simulate(flow(), Caller(presses=["4"]), app={URL: menu})
    assert transcript.spoken == ["Four."]
