"""`AsyncClient`: the OpenTact API client for asyncio (and anyio on asyncio)."""

from __future__ import annotations

import asyncio
import random as _random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import httpx

from callflow.client._core import (
    DEFAULT_DEADLINE,
    DEFAULT_TIMEOUT,
    MAX_REPLY_BYTES,
    Call,
    Calls,
    Flow,
    RetryPolicy,
    Settings,
    Upload,
    build_request,
    env_proxy,
    fetch_app_flow,
    finish,
    logger,
    prepare_flow,
    resolve_settings,
    transport_failure,
)
from callflow.client._models import TRUNK_SETTINGS_FIELDS, App, CallRecord, Execution, TnLease
from callflow.client._transport import ATTEMPTS, AsyncGuardedTransport
from callflow.errors import AuthenticationError

T = TypeVar("T")


class AsyncClient:
    """The SIP Control App API over httpx, async; the same surface as `Client`, awaited.

    Configuration comes from the arguments, else from ``OPENTACT_API_URL``,
    ``OPENTACT_TOKEN`` (or ``OPENTACT_EMAIL`` and ``OPENTACT_PASSWORD`` for a login through
    ``GET /rest/auth``); with no URL at all the client talks to the bundled sandbox,
    in-process. ``target`` says which. The token is sent as ``X-Auth-Token``, only over
    https or to a loopback address, and never appears in reprs, logs or error texts.

    ``deadline`` bounds each try as a whole, from connecting to the last byte of the answer
    (however slowly it drips); ``max_bytes`` bounds the answer, counted on the wire and again
    as it is decoded (a compressed bomb is refused early). Both end in a `TransportError`.

    ``transport``, ``sleep``, ``clock`` and ``random`` are seams for tests (an httpx
    transport, the function that waits between retries, the wall clock for ``Retry-After``
    dates, and the source of the retries' jitter, returning a float in [0, 1)).
    ``trunk_settings_field`` is the spelling sent for the trunk settings (default: the
    responses' spelling, which the sandbox accepts; the published request docs say
    ``class4_egress_trunk_stings``). ``upload`` is how `execute` sends XML by default:
    ``"multipart"`` (field ``file``, as the one public client does) or ``"raw"``.
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        token: str | None = None,
        email: str | None = None,
        password: str | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        random: Callable[[], float] = _random.random,
        deadline: float = DEFAULT_DEADLINE,
        max_bytes: int = MAX_REPLY_BYTES,
        env: Mapping[str, str] | None = None,
        trunk_settings_field: str = TRUNK_SETTINGS_FIELDS[0],
        upload: Upload = "multipart",
        target: str | None = None,
    ) -> None:
        settings, chosen = resolve_settings(
            base_url,
            token=token,
            email=email,
            password=password,
            env=env,
            transport=transport,
            target=target,
        )
        self._settings: Settings = settings
        self._calls = Calls(trunk_settings_field)
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self.upload: Upload = upload
        self._login_lock = asyncio.Lock()
        inner = (
            chosen
            if chosen is not None
            else httpx.AsyncHTTPTransport(trust_env=True, proxy=env_proxy(settings))
        )
        # Every request goes through the guard: retries, the deadline and the size limit
        # live there, so nothing the client reads can bypass them (hence no env mounts).
        self._http = httpx.AsyncClient(
            timeout=timeout,
            transport=AsyncGuardedTransport(
                inner,  # type: ignore[arg-type]
                self._retry,
                deadline=deadline,
                max_bytes=max_bytes,
                sleep=sleep,
                clock=clock,
                random=random,
            ),
            follow_redirects=False,
            trust_env=False,
        )

    def __repr__(self) -> str:
        state = "token set" if self._settings.token else "no token"
        return f"AsyncClient({self.target!r}, {state})"

    @property
    def target(self) -> str:
        """Where requests go, for people: the API URL, or ``sandbox (in-process, <db>)``."""
        return self._settings.target

    @property
    def base_url(self) -> str:
        return self._settings.base_url

    @property
    def is_sandbox(self) -> bool:
        return self._settings.in_process

    async def aclose(self) -> None:
        await self._http.aclose()
        self._settings.close_owned()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- the endpoints ---------------------------------------------------------------

    async def login(self, email: str | None = None, password: str | None = None) -> None:
        """Get a token through ``GET /rest/auth`` (Basic credentials) and use it from now on."""
        email = email or self._settings.email
        password = password or self._settings.password
        if not email or not password:
            raise ValueError("login needs an email and a password")
        self._settings.email, self._settings.password = email, password
        self._settings.token = await self._send(self._calls.login(email, password))

    async def list_apps(self) -> list[App]:
        return await self._run(self._calls.list_apps())

    async def create_app(self, name: str, **fields: Any) -> App:
        """Create an app; ``fields`` as in api.md (``subdomain``, ``is_active``, ``trunk_settings``,
        ``outbound_voice_profile``, ``call_flow_url``, …)."""
        return await self._run(self._calls.create_app({"name": name, **fields}))

    async def get_app(self, uuid: str) -> App:
        return await self._run(self._calls.get_app(uuid))

    async def update_app(self, uuid: str, **fields: Any) -> App:
        return await self._run(self._calls.update_app(uuid, fields))

    async def delete_app(self, uuid: str) -> None:
        await self._run(self._calls.delete_app(uuid))

    async def list_leases(self, uuid: str) -> list[TnLease]:
        return await self._run(self._calls.list_leases(uuid))

    async def change_leases(
        self, uuid: str, *, add: Sequence[str] = (), remove: Sequence[str] = ()
    ) -> list[TnLease]:
        """Assign ``add`` and release ``remove``; returns the app's leases afterwards."""
        return await self._run(self._calls.change_leases(uuid, add, remove))

    async def execute(
        self,
        app_uuid: str,
        flow: Flow,
        *,
        validate: bool = True,
        upload: Upload | None = None,
        context: Mapping[str, object] | None = None,
        caller: object = None,
    ) -> Execution:
        """Post a call flow to ``POST /sip/app/call/{uuid}``.

        ``flow`` is a Document, a builder flow, XML bytes or a path (``.xml``, ``.xml.j2``
        rendered with ``context``, ``.py``). It is validated first (``validate=False``
        skips that, to test the platform itself). A rejection raises `ApiError` whose
        ``diagnostics`` point at the author's source. ``caller`` (a `callflow.simulate.Caller`
        or a mapping of its fields) scripts the caller the sandbox plays the flow to for its
        call log; other servers ignore it.
        """
        document = prepare_flow(flow, validate=validate, context=context)
        call = self._calls.execute(
            app_uuid, document, upload or self.upload, caller, sandbox=self._settings.local
        )
        return await self._run(call)

    async def fetch_call_flow(
        self, app_uuid: str, *, any_host: bool | None = None
    ) -> tuple[str, bytes]:
        """As `Client.fetch_call_flow` (the fetch runs in a worker thread)."""
        import asyncio

        app = await self.get_app(app_uuid)
        return await asyncio.to_thread(fetch_app_flow, app, self.is_sandbox, any_host)

    async def list_calls(self) -> list[CallRecord]:
        """The sandbox call log, newest first (summaries: no steps, no flow)."""
        return await self._run(self._calls.list_calls())

    async def get_call(self, uuid: str) -> CallRecord:
        """One entry of the sandbox call log, with its steps and the posted flow."""
        return await self._run(self._calls.get_call(uuid))

    # -- sending ---------------------------------------------------------------------

    async def _run(self, call: Call[T]) -> T:
        can_login = bool(self._settings.email and self._settings.password)
        sent_with = self._settings.token
        if sent_with is None and can_login:
            async with self._login_lock:  # concurrent first requests log in once
                if self._settings.token is None:
                    await self.login()
            sent_with = self._settings.token
        try:
            return await self._send(call)
        except AuthenticationError:
            # A token that expired mid-session: log in again once, if we know how.
            if not can_login:
                raise
            async with self._login_lock:
                if self._settings.token == sent_with:
                    await self.login()
            return await self._send(call)

    async def _send(self, call: Call[T]) -> T:
        request = build_request(self._http, self._settings, call)
        try:
            response = await self._http.send(request)
        except httpx.RequestError as error:
            attempts = int(request.extensions.get(ATTEMPTS, 1))
            raise transport_failure(error, call, self._settings, attempts) from None
        logger.debug("%s %s -> %s", call.method, call.path, response.status_code)
        return finish(call, response, self._settings, int(request.extensions.get(ATTEMPTS, 1)))
