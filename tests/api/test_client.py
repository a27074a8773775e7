"""The clients against the in-process sandbox: every endpoint, models, config, and secrecy."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest

from callflow.client import App, AsyncClient, Client, Execution, TnLease
from callflow.document import Document
from callflow.errors import ApiError, AuthenticationError, TransportError, ValidationError
from callflow.sandbox import IN_PROCESS_URL, SEEDED_LEASES, Sandbox
from callflow.sourcemap import SourceLocation, SourceMap

from .conftest import Scripted, ok

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ivr_menu.xml"
LEASE_1, LEASE_2 = SEEDED_LEASES[0][0], SEEDED_LEASES[1][0]
MISSING = "00000000-0000-4000-8000-000000000000"


def test_an_app_is_created_listed_shown_updated_and_deleted(client: Client) -> None:
    app = client.create_app("support", subdomain="support-line", call_flow_method="POST")
    assert isinstance(app, App) and app.name == "support" and app.is_active
    assert [a.uuid for a in client.list_apps()] == [app.uuid]
    assert client.get_app(app.uuid).subdomain == "support-line"
    assert client.update_app(app.uuid, name="sales", is_active=False).name == "sales"
    assert client.get_app(app.uuid).is_active is False
    client.delete_app(app.uuid)
    assert client.list_apps() == []


def test_an_unknown_app_is_a_404_api_error(client: Client) -> None:
    with pytest.raises(ApiError) as raised:
        client.get_app(MISSING)
    assert raised.value.status == 404
    assert "not found" in raised.value.message


def test_a_malformed_uuid_is_refused_before_sending(client: Client) -> None:
    from callflow.errors import InputError

    with pytest.raises(InputError, match="not a uuid"):
        client.get_app("not-a-uuid")


def test_leases_are_assigned_listed_and_released(client: Client) -> None:
    app = client.create_app("numbers")
    after = client.change_leases(app.uuid, add=[LEASE_1, LEASE_2])
    assert {lease.uuid for lease in after} == {LEASE_1, LEASE_2}
    assert all(isinstance(lease, TnLease) and lease.app_uuid == app.uuid for lease in after)
    assert [lease.number for lease in client.list_leases(app.uuid)] == [
        "15550100001",
        "15550100002",
    ]
    assert [lease.uuid for lease in client.change_leases(app.uuid, remove=[LEASE_1])] == [LEASE_2]
    assert [lease.uuid for lease in client.get_app(app.uuid).tn_leases] == [LEASE_2]


def test_a_lease_held_by_another_app_is_refused(client: Client) -> None:
    first, second = client.create_app("one"), client.create_app("two")
    client.change_leases(first.uuid, add=[LEASE_1])
    with pytest.raises(ApiError, match="assigned to another app"):
        client.change_leases(second.uuid, add=[LEASE_1])


def test_a_flow_file_is_executed(client: Client, sandbox: Sandbox) -> None:
    app = client.create_app("demo")
    execution = client.execute(app.uuid, EXAMPLE)
    assert isinstance(execution, Execution)
    assert execution.status == "accepted" and execution.app_uuid == app.uuid
    assert sandbox.store.count("executions") == 1


@pytest.mark.parametrize("upload", ["multipart", "raw"])
def test_both_upload_forms_reach_the_platform(client: Client, upload: str) -> None:
    app = client.create_app("demo")
    execution = client.execute(app.uuid, EXAMPLE, upload=upload)  # type: ignore[arg-type]
    assert execution.payload["elements"] == 25


def test_the_default_upload_is_multipart_field_file(scripted: Scripted) -> None:
    bound, recorder = scripted(ok({"uuid": MISSING}))
    bound.execute(MISSING, EXAMPLE)
    sent = recorder.requests[0]
    assert sent.headers["content-type"].startswith("multipart/form-data")
    assert b'name="file"' in sent.content


def test_a_builder_flow_is_executed_through_its_document(client: Client) -> None:
    class Flow:
        def to_document(self) -> Document:
            return Document.from_path(EXAMPLE)

    app = client.create_app("demo")
    assert client.execute(app.uuid, Flow()).status == "accepted"


def test_a_flow_with_errors_is_not_sent(client: Client, sandbox: Sandbox) -> None:
    app = client.create_app("demo")
    bad = Document.from_text('<Response><Gather numDigts="1"/></Response>', "bad.xml")
    with pytest.raises(ValidationError) as raised:
        client.execute(app.uuid, bad)
    assert raised.value.diagnostics[0].code == "CF203"
    assert sandbox.store.count("executions") == 0


def test_a_rejection_is_mapped_to_the_builder_line(client: Client) -> None:
    text = '<Response>\n  <Say>Hi</Say>\n  <Gather numDigts="1"/>\n</Response>\n'
    source_map = SourceMap(
        "flows/menu.py",
        identity=False,
        elements={"/Response/Gather": SourceLocation("flows/menu.py", 42)},
    )
    flow = Document.from_text(text, "flows/menu.py", source_map=source_map)
    app = client.create_app("demo")
    with pytest.raises(ApiError) as raised:
        client.execute(app.uuid, flow, validate=False)
    error = raised.value
    assert error.status == 400 and "numDigts" in error.message
    assert [d.location for d in error.diagnostics] == [SourceLocation("flows/menu.py", 42)]


def test_a_rejection_of_an_xml_file_points_at_its_line(client: Client, tmp_path: Path) -> None:
    flow = tmp_path / "flow.xml"
    flow.write_text('<?xml version="1.0"?>\n<Response>\n  <Say voice="x">Hi</Say>\n</Response>\n')
    app = client.create_app("demo")
    with pytest.raises(ApiError) as raised:
        client.execute(app.uuid, flow, validate=False, upload="raw")
    [diagnostic] = raised.value.diagnostics
    assert diagnostic.location == SourceLocation(str(flow), 3, 8)


def test_an_inactive_app_refuses_execution(client: Client) -> None:
    app = client.create_app("off", is_active=False)
    with pytest.raises(ApiError, match="not active"):
        client.execute(app.uuid, EXAMPLE)


# ---------------------------------------------------------------- models


def test_models_keep_unknown_fields_and_read_both_trunk_spellings() -> None:
    typo = App.from_payload(
        {"uuid": MISSING, "name": "x", "class4_egress_trunk_stings": {"a": 1}, "colour": "red"}
    )
    proper = App.from_payload(
        {"uuid": MISSING, "name": "x", "class4_egress_trunk_settings": {"a": 1}}
    )
    assert typo.trunk_settings == proper.trunk_settings == {"a": 1}
    assert typo.extra == {"colour": "red"}


def test_a_search_result_list_is_read_like_a_bare_list(scripted: Scripted) -> None:
    bound, _ = scripted(ok({"total": 1, "data": [{"uuid": MISSING, "name": "x"}]}))
    assert [app.uuid for app in bound.list_apps()] == [MISSING]


@pytest.mark.parametrize("spelling", ["class4_egress_trunk_settings", "class4_egress_trunk_stings"])
def test_the_configured_trunk_spelling_is_sent(scripted: Scripted, spelling: str) -> None:
    bound, recorder = scripted(ok({"uuid": MISSING, "name": "x"}), trunk_settings_field=spelling)
    bound.create_app("x", trunk_settings={"trunk": "t1"})
    assert json.loads(recorder.requests[0].content)[spelling] == {"trunk": "t1"}


def test_the_sandbox_accepts_both_trunk_spellings(sandbox: Sandbox) -> None:
    with sandbox.client(trunk_settings_field="class4_egress_trunk_stings") as bound:
        app = bound.create_app("x", trunk_settings={"trunk": "t1"})
    assert app.trunk_settings == {"trunk": "t1"}


# ---------------------------------------------------------------- configuration and secrecy


def test_configuration_comes_from_the_environment(scripted: Scripted) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok([])

    env = {"OPENTACT_API_URL": "https://api.example.test/rest/", "OPENTACT_TOKEN": "env-token"}
    with Client(env=env, transport=httpx.MockTransport(answer)) as bound:
        bound.list_apps()
        assert bound.target == "https://api.example.test/rest"
    assert str(seen[0].url) == "https://api.example.test/rest/sip/app"
    assert seen[0].headers["x-auth-token"] == "env-token"


def test_with_no_url_configured_the_target_is_the_sandbox(tmp_path: Path) -> None:
    with Client(env={"CALLFLOW_SANDBOX_DB": str(tmp_path / "s.sqlite3")}) as bound:
        assert bound.is_sandbox and "sandbox" in bound.target
        bound.create_app("persisted")
    with Client(env={"CALLFLOW_SANDBOX_DB": str(tmp_path / "s.sqlite3")}) as again:
        assert [app.name for app in again.list_apps()] == ["persisted"]


def test_login_uses_basic_credentials_then_the_token(scripted: Scripted) -> None:
    bound, recorder = scripted(ok({"token": "jwt-1"}), ok([]))
    bound.login("me@example.test", "pw")
    bound.list_apps()
    assert recorder.requests[0].url.path == "/rest/auth"
    assert recorder.requests[0].headers["authorization"].startswith("Basic ")
    assert recorder.requests[1].headers["x-auth-token"] == "jwt-1"


def test_wrong_sandbox_credentials_are_an_authentication_error(sandbox: Sandbox) -> None:
    with (
        sandbox.client(email="sandbox@callflow.test", password="wrong") as bound,
        pytest.raises(AuthenticationError) as raised,
    ):
        bound.list_apps()
    assert raised.value.status == 401


def test_an_expired_token_is_renewed_once_by_logging_in_again(sandbox: Sandbox) -> None:
    with sandbox.client(token="expired") as bound:
        assert bound.list_apps() == []


def test_the_token_is_not_in_the_repr(scripted: Scripted) -> None:
    bound, _ = scripted()
    assert "secret-token-123" not in repr(bound)
    assert "token set" in repr(bound)


def test_the_token_is_not_in_error_texts_even_when_the_server_echoes_it(scripted: Scripted) -> None:
    bound, _ = scripted(
        httpx.Response(400, json={"success": False, "message": "bad token secret-token-123"})
    )
    with pytest.raises(ApiError) as raised:
        bound.list_apps()
    assert "secret-token-123" not in str(raised.value)
    assert "secret-token-123" not in raised.value.message


def test_the_token_is_not_logged(scripted: Scripted, caplog: pytest.LogCaptureFixture) -> None:
    bound, _ = scripted(httpx.Response(503), ok([]))
    with caplog.at_level(logging.DEBUG):
        bound.list_apps()
    assert caplog.records and all("secret-token-123" not in r.getMessage() for r in caplog.records)


def test_a_token_is_never_sent_over_plain_http_to_another_host() -> None:
    sent: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda request: sent.append(request) or ok([]))
    with (
        Client("http://api.example.test/rest", token="t", transport=transport, env={}) as bound,
        pytest.raises(TransportError, match="use https"),
    ):
        bound.list_apps()
    assert sent == []


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
def test_plain_http_is_allowed_to_a_loopback_address(host: str) -> None:
    transport = httpx.MockTransport(lambda request: ok([]))
    with Client(f"http://{host}:8765/rest", token="t", transport=transport, env={}) as bound:
        assert bound.list_apps() == []


def test_the_in_process_sandbox_is_not_a_network_target(sandbox: Sandbox) -> None:
    with sandbox.client() as bound:
        assert bound.base_url == IN_PROCESS_URL


# ---------------------------------------------------------------- async


@pytest.mark.anyio
async def test_the_async_client_covers_the_same_endpoints(sandbox: Sandbox) -> None:
    async with sandbox.async_client() as bound:
        app = await bound.create_app("async", subdomain="async-app")
        assert [a.uuid for a in await bound.list_apps()] == [app.uuid]
        assert (await bound.update_app(app.uuid, name="renamed")).name == "renamed"
        leases = await bound.change_leases(app.uuid, add=[LEASE_1])
        assert [lease.uuid for lease in leases] == [LEASE_1]
        assert [lease.uuid for lease in await bound.list_leases(app.uuid)] == [LEASE_1]
        assert (await bound.execute(app.uuid, EXAMPLE)).status == "accepted"
        assert (await bound.get_app(app.uuid)).name == "renamed"
        await bound.delete_app(app.uuid)
        with pytest.raises(ApiError):
            await bound.get_app(app.uuid)


@pytest.mark.anyio
async def test_the_async_client_retries_with_its_own_sleep() -> None:
    answers = [httpx.Response(503), ok([])]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    transport = httpx.MockTransport(lambda request: answers.pop(0))
    async with AsyncClient(
        "https://api.test/rest",
        token="t",
        transport=transport,
        sleep=sleep,
        random=lambda: 1.0,
        env={},
    ) as bound:
        assert await bound.list_apps() == []
    assert slept == [0.25]


def test_xml_text_is_executed_as_a_flow(client: Client) -> None:
    app = client.create_app("demo")
    assert client.execute(app.uuid, "<Response><Hangup/></Response>").status == "accepted"


def test_something_that_is_not_a_flow_is_a_type_error(client: Client) -> None:
    with pytest.raises(TypeError, match="cannot read a int as a call flow"):
        client.execute(MISSING, 42)  # type: ignore[arg-type]


def test_the_posted_bytes_keep_the_authors_lines_and_declare_utf8() -> None:
    from callflow.client import wire_bytes

    text = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>\n<Response>\n  <Say>Olá</Say>\n</Response>\n'
    )
    document = Document.from_bytes(text.encode("iso-8859-1"), "latin.xml")
    posted = wire_bytes(document).decode("utf-8")
    assert posted.splitlines()[1:] == text.splitlines()[1:]
    assert 'encoding="UTF-8"' in posted.splitlines()[0]


def test_json_that_is_not_the_envelope_is_a_transport_error(scripted: Scripted) -> None:
    bound, _ = scripted(httpx.Response(200, json={"error": "gateway"}))
    with pytest.raises(TransportError, match="JSON that is not the API's envelope"):
        bound.list_apps()


def test_a_401_without_credentials_says_how_to_give_them(scripted: Scripted) -> None:
    transport = httpx.MockTransport(
        lambda request: httpx.Response(401, json={"success": False, "message": "no"})
    )
    with (
        Client("https://api.test/rest", transport=transport, env={}) as bound,
        pytest.raises(
            AuthenticationError, match="set OPENTACT_TOKEN, or OPENTACT_EMAIL and OPENTACT_PASSWORD"
        ),
    ):
        bound.list_apps()


@pytest.mark.anyio
async def test_concurrent_first_requests_log_in_once(sandbox: Sandbox) -> None:
    import asyncio

    async with sandbox.async_client() as bound:
        await asyncio.gather(*(bound.list_apps() for _ in range(10)))
    assert sandbox.store.count("tokens") == 1


def test_masking_a_short_secret_leaves_other_words_alone() -> None:
    from callflow.client._core import Settings

    settings = Settings("https://api.test/rest", token="t", password="pw")
    assert settings.redact("token t is not valid; pw wrong; twin") == (
        "token *** is not valid; *** wrong; twin"
    )


def test_a_loaded_source_is_executed_through_its_document(client: Client) -> None:
    from callflow.sources import load_flows

    [source] = load_flows(EXAMPLE)
    app = client.create_app("demo")
    assert client.execute(app.uuid, source).status == "accepted"
