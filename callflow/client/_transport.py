"""The client's transport: retries, the total deadline and the size limit, once for sync and
async.

`GuardedTransport` and `AsyncGuardedTransport` wrap the transport that does the I/O (httpx's
own, the sandbox's, a test's) the way httpx expects a policy to be added: each request goes
through `RetryState`, which decides alone whether and how long to wait before the next try
(`RetryPolicy`, with full jitter from an injectable random source); every try is read in full
within its deadline and size limit (`callflow.client._wire`) before the client sees it. The
two classes differ only in how they wait.
"""

from __future__ import annotations

import email.utils
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from callflow.client._wire import Limits, aread_limited, read_limited

logger = logging.getLogger("callflow.client")

#: Request extensions the client sets and reads (httpx passes extensions through).
IDEMPOTENT = "callflow.idempotent"
ATTEMPTS = "callflow.attempts"


def _retry_after(response: httpx.Response, now: Callable[[], float]) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - now())


class RetryState:
    """One request's way through a retry policy: how many tries so far, and what next."""

    def __init__(
        self,
        policy: Any,
        request: httpx.Request,
        clock: Callable[[], float],
        random: Callable[[], float],
    ) -> None:
        self.policy = policy
        self.idempotent = bool(request.extensions.get(IDEMPOTENT, False))
        self.clock = clock
        self.random = random
        self.attempt = 0

    def log(self, request: httpx.Request, delay: float, why: str) -> None:
        # The path only: a query could carry a token.
        logger.info("retrying %s %s in %.2fs: %s", request.method, request.url.path, delay, why)

    def after_error(self, error: httpx.TransportError) -> float | None:
        """Seconds to wait before retrying after ``error``, or None to give up."""
        if self.attempt >= self.policy.attempts:
            return None
        never_sent = isinstance(error, httpx.ConnectError | httpx.ConnectTimeout)
        if never_sent or self.idempotent:
            return float(self.policy.delay(self.attempt, self.random))
        return None

    def after_response(self, response: httpx.Response) -> float | None:
        """Seconds to wait before retrying after ``response``, or None to use it as it is."""
        status = response.status_code
        if self.attempt >= self.policy.attempts or status not in self.policy.statuses:
            return None
        if status != 429 and not self.idempotent:
            return None  # a 429 did no work; any other failure may have
        waited = _retry_after(response, self.clock)
        if waited is None:
            return float(self.policy.delay(self.attempt, self.random))
        if waited > self.policy.max_retry_after:
            return None
        return waited


def _bounded_timeouts(request: httpx.Request, base: dict[str, Any], limits: Limits) -> None:
    # Every wait of this try ends by its deadline, not only the reading of the body.
    left = limits.remaining()
    request.extensions["timeout"] = {
        key: left if value is None else min(float(value), left) for key, value in base.items()
    }


class _Guard:
    def __init__(
        self,
        policy: Any,
        *,
        deadline: float,
        max_bytes: int,
        clock: Callable[[], float],
        random: Callable[[], float],
    ) -> None:
        self.policy = policy
        self.deadline = deadline
        self.max_bytes = max_bytes
        self.clock = clock
        self.random = random

    def start(self, request: httpx.Request) -> tuple[RetryState, dict[str, Any]]:
        base = dict(request.extensions.get("timeout") or httpx.Timeout(None).as_dict())
        return RetryState(self.policy, request, self.clock, self.random), base

    def try_limits(self, request: httpx.Request, base: dict[str, Any], state: RetryState) -> Limits:
        state.attempt += 1
        request.extensions[ATTEMPTS] = state.attempt
        limits = Limits(self.deadline, self.max_bytes)
        _bounded_timeouts(request, base, limits)
        return limits


class GuardedTransport(httpx.BaseTransport):
    """Retries, deadline and size limit around a sync transport."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        policy: Any,
        *,
        deadline: float,
        max_bytes: int,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
        random: Callable[[], float],
    ) -> None:
        self.inner = inner
        self.sleep = sleep
        self.guard = _Guard(
            policy, deadline=deadline, max_bytes=max_bytes, clock=clock, random=random
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        state, base = self.guard.start(request)
        while True:
            limits = self.guard.try_limits(request, base, state)
            try:
                response = read_limited(self.inner.handle_request(request), limits, request)
            except httpx.TransportError as error:
                delay = state.after_error(error)
                if delay is None:
                    raise
                state.log(request, delay, type(error).__name__)
                self.sleep(delay)
                continue
            delay = state.after_response(response)
            if delay is None:
                return response
            state.log(request, delay, f"HTTP {response.status_code}")
            response.close()
            self.sleep(delay)

    def close(self) -> None:
        self.inner.close()


class AsyncGuardedTransport(httpx.AsyncBaseTransport):
    """Retries, deadline and size limit around an async transport."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        policy: Any,
        *,
        deadline: float,
        max_bytes: int,
        sleep: Callable[[float], Awaitable[None]],
        clock: Callable[[], float],
        random: Callable[[], float],
    ) -> None:
        self.inner = inner
        self.sleep = sleep
        self.guard = _Guard(
            policy, deadline=deadline, max_bytes=max_bytes, clock=clock, random=random
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        import anyio

        state, base = self.guard.start(request)
        while True:
            limits = self.guard.try_limits(request, base, state)
            try:
                # The deadline also holds an in-process app that ignores socket timeouts.
                with anyio.fail_after(limits.remaining() + 0.05):
                    answer = await self.inner.handle_async_request(request)
                    response = await aread_limited(answer, limits, request)
            except TimeoutError:
                error: httpx.TransportError = httpx.ReadTimeout(
                    f"no complete answer within {self.guard.deadline:g} s", request=request
                )
                delay = state.after_error(error)
                if delay is None:
                    raise error from None
                state.log(request, delay, "ReadTimeout")
                await self.sleep(delay)
                continue
            except httpx.TransportError as error:
                delay = state.after_error(error)
                if delay is None:
                    raise
                state.log(request, delay, type(error).__name__)
                await self.sleep(delay)
                continue
            delay = state.after_response(response)
            if delay is None:
                return response
            state.log(request, delay, f"HTTP {response.status_code}")
            await self.sleep(delay)

    async def aclose(self) -> None:
        await self.inner.aclose()
