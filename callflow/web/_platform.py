"""What the platform does with an app's call-flow webhook, for the sandbox: when a call
arrives, fetch the app's ``call_flow_url`` (``call_flow_method``, within
``call_flow_request_timeout``) with ``from`` and ``to`` in the query and, on POST, the call
object as JSON; the reply is the call XML to run."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Mapping
from urllib.parse import urlsplit

import httpx

from callflow.document import MAX_DOCUMENT_BYTES
from callflow.errors import ApiError

#: The platform's default wait for the webhook, when the app sets none.
DEFAULT_TIMEOUT_MS = 10_000
#: The hosts the sandbox fetches from: it emulates the platform on this machine only.
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


def _is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def fetch_call_flow(
    app: Mapping[str, object],
    *,
    transport: httpx.BaseTransport | None = None,
    any_host: bool = False,
) -> bytes:
    """The call XML the app's ``call_flow_url`` answers, fetched as the platform fetches it
    when a call arrives. Raises `ApiError` (400) saying what went wrong: a host that is not
    loopback (unless ``any_host``, or a ``transport`` is given), no answer, an error status,
    a reply over the size limit, or one still arriving when the app's timeout has passed
    (a reply that drips is cut off at that deadline, not waited for chunk by chunk)."""
    from callflow.simulate import CallInfo

    url = str(app.get("call_flow_url") or "")
    method = str(app.get("call_flow_method") or "GET").upper()
    raw_timeout = app.get("call_flow_request_timeout")
    timeout_ms = (
        raw_timeout if isinstance(raw_timeout, int) and raw_timeout > 0 else DEFAULT_TIMEOUT_MS
    )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApiError(status=400, message=f"call_flow_url {url!r} is not an http(s) URL")
    if transport is None and not any_host and not _is_loopback(parts.hostname):
        raise ApiError(
            status=400,
            message=f"call_flow_url host {parts.hostname!r} is not on this machine: the sandbox "
            "fetches call flows from loopback addresses only",
        )
    call = CallInfo(sip_control_app=str(app.get("uuid") or CallInfo().sip_control_app))
    query = {"from": call.from_number, "to": call.to_number}
    body = call.call_object(0) if method == "POST" else None
    deadline = time.monotonic() + timeout_ms / 1000
    try:
        with (
            httpx.Client(transport=transport, timeout=timeout_ms / 1000) as client,
            client.stream(method, url, params=query, json=body) as reply,
        ):
            chunks: list[bytes] = []
            size = 0
            for chunk in reply.iter_bytes():
                if time.monotonic() > deadline:
                    raise ApiError(
                        status=400,
                        message=f"call_flow_url {url} did not finish its answer within "
                        f"{timeout_ms:,} ms (the app's call_flow_request_timeout)",
                    )
                size += len(chunk)
                if size > MAX_DOCUMENT_BYTES:
                    raise ApiError(
                        status=400,
                        message=f"call_flow_url answered more than {MAX_DOCUMENT_BYTES:,} bytes",
                    )
                chunks.append(chunk)
    except httpx.HTTPError as error:
        raise ApiError(
            status=400, message=f"call_flow_url {url} did not answer: {type(error).__name__}"
        ) from None
    if not reply.is_success:
        raise ApiError(status=400, message=f"call_flow_url {url} answered {reply.status_code}")
    return b"".join(chunks)
