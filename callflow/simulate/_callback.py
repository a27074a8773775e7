"""Requests a flow makes: the `<Callback>` handler, and the fetch a `<Gather>` URL shares.

`fetch` builds the request (the URL's own query string kept, the platform's fields added),
yields it for a driver to send, and sorts what came back into a document, an empty reply or
a failure with its CF90x code; each request is a ``callback`` event.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import httpx
from lxml import etree

from callflow.client._wire import ACCEPT_ENCODING
from callflow.diagnostics import Severity
from callflow.document import Document
from callflow.simulate._backends import NetworkRefused
from callflow.simulate._clock import CALLBACK_METHOD, FETCH_TIMEOUT_MS, REPLY_SHOWN_CHARS
from callflow.simulate._control import CallOver, Fetch, Fetched, Program, Redirect
from callflow.simulate._events import Requested
from callflow.simulate._tags import ERROR, LEGACY_CALLBACK, ROOT

if TYPE_CHECKING:
    from callflow.simulate._machine import Machine

Element = etree._Element


class FetchResult:
    """What a request gave the flow: a document, an empty reply, or a failure (code, problem)."""

    __slots__ = ("code", "document", "empty", "problem")

    def __init__(
        self,
        document: Document | None = None,
        *,
        empty: bool = False,
        code: str | None = None,
        problem: str | None = None,
    ) -> None:
        self.document = document
        self.empty = empty
        self.code = code
        self.problem = problem


def callback(machine: Machine, document: Document, element: Element) -> Program[None]:
    """`<Callback url>` and legacy `<callback>URL</callback>`: the reply replaces the flow."""
    legacy = element.tag == LEGACY_CALLBACK
    url = (element.text or "").strip() if legacy else element.get("url", "").strip()
    method = (element.get("method") or CALLBACK_METHOD).upper()
    timeout = machine.number(document, element, "timeout", FETCH_TIMEOUT_MS)
    tag = element.get("tag")
    body = machine.call.call_object(machine.clock) if element.get("body") == "true" else None
    result = yield from fetch(
        machine,
        document,
        element,
        method,
        url,
        timeout,
        params={"tag": tag} if tag is not None else None,
        json_body=body,
    )
    if result.document is not None:
        raise Redirect(result.document)
    assert result.code is not None and result.problem is not None
    handler = None if legacy else next((c for c in element if c.tag == ERROR), None)
    yield from machine.failed(document, element, handler, result.code, result.problem)


def fetch(
    machine: Machine,
    document: Document,
    element: Element,
    method: str,
    url: str,
    timeout_ms: int,
    *,
    params: Mapping[str, str] | None = None,
    json_body: object = None,
    form: Mapping[str, str] | None = None,
) -> Program[FetchResult]:
    """Request ``url`` for ``element`` (within the call's request limit); what came back."""
    machine.fetches += 1
    if machine.fetches > machine.limits.max_fetches:
        machine.diagnose(
            document,
            element,
            "CF905",
            Severity.ERROR,
            f"the flow made over {machine.limits.max_fetches} requests in one call; stopped "
            "(a callback loop?)",
            hint="raise Limits.max_fetches if the flow really needs more",
        )
        raise CallOver("limit", document, element)
    started = machine.clock
    status: int | None = None
    reply: str | None = None
    try:
        # The URL's own query string is kept; the platform's fields are added to it.
        target = httpx.URL(url)
        if params:
            target = target.copy_merge_params(params)
        request = httpx.Request(
            method,
            target,
            json=json_body,
            data=dict(form) if form else None,
            headers={"Accept-Encoding": ACCEPT_ENCODING},
        )
    except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError) as error:
        result = FetchResult(code="CF901", problem=f"cannot request {url!r}: {error}")
    else:
        request.extensions["timeout"] = httpx.Timeout(timeout_ms / 1000).as_dict()
        fetched = yield Fetch(request, timeout_ms)
        if fetched.response is not None:
            status = fetched.response.status_code
            reply = fetched.response.text[:REPLY_SHOWN_CHARS]
        result = classify(fetched, url, timeout_ms, machine.limits.max_redirects)
        if result.code == "CF902":
            machine.clock += timeout_ms
    requested = Requested(url, method, str(element.tag), status, reply, result.problem)
    machine.emit(document, element, requested, at=started)
    return result


def classify(fetched: Fetched, url: str, timeout_ms: int, max_redirects: int) -> FetchResult:
    """A request's outcome as the flow sees it: its failure (by CF90x code) or its reply."""
    error = fetched.error
    if error is not None:
        return _failure(error, url, timeout_ms, max_redirects)
    response = fetched.response
    assert response is not None
    if fetched.elapsed_ms > timeout_ms:
        return FetchResult(
            code="CF902",
            problem=f"{url} answered after {fetched.elapsed_ms:.0f} ms, over its "
            f"{timeout_ms} ms timeout",
        )
    if response.status_code >= 400:
        return FetchResult(code="CF901", problem=f"{url} answered HTTP {response.status_code}")
    content = response.content
    if not content.strip():
        return FetchResult(empty=True, code="CF903", problem=f"{url} answered with an empty body")
    from callflow.sources import load_data

    # An answer is XML whatever its URL ends with (never a template or a script).
    [answer] = load_data(content, url, kind="xml")
    fetched_document, problems = answer.document, answer.diagnostics
    if fetched_document is None:
        first = problems[0].message if problems else "not XML"
        return FetchResult(code="CF903", problem=f"{url} did not answer call XML: {first}")
    if fetched_document.root.tag != ROOT:
        return FetchResult(
            code="CF903",
            problem=f"{url} answered <{fetched_document.root.tag!s}>, not <{ROOT}>",
        )
    return FetchResult(fetched_document)


def _failure(error: BaseException, url: str, timeout_ms: int, max_redirects: int) -> FetchResult:
    if isinstance(error, NetworkRefused):
        return FetchResult(code="CF901", problem=f"request to {url} refused: {error}")
    if isinstance(error, httpx.TimeoutException):
        return FetchResult(code="CF902", problem=f"{url} timed out after {timeout_ms} ms")
    if isinstance(error, httpx.TooManyRedirects):
        return FetchResult(
            code="CF904", problem=f"{url} redirected more than {max_redirects} times"
        )
    detail = str(error) or type(error).__name__
    if not isinstance(error, httpx.HTTPError):
        detail = f"the app raised {type(error).__name__}: {error}"
    return FetchResult(code="CF901", problem=f"request to {url} failed: {detail}")
