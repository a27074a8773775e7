"""The call interpreter: runs a Document step by step against a scripted caller.

The interpreter is a generator: it yields each HTTP request it needs (`_Fetch`) and receives
the outcome (`_Fetched`), so the same code runs under a sync driver (`simulate`) and an
async one (`simulate_async`). The rules it follows are listed in `callflow.simulate`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from lxml import etree

from callflow.client._wire import ACCEPT_ENCODING, aread_limited, read_limited
from callflow.client._wire import Limits as ReplyLimits
from callflow.diagnostics import Diagnostic, Severity
from callflow.document import MAX_DOCUMENT_BYTES, Document
from callflow.simulate._backends import Backend, NetworkRefused
from callflow.simulate._model import (
    HANG_UP,
    Caller,
    CallInfo,
    DialOutcome,
    Event,
    Limits,
    Transcript,
)
from callflow.sourcemap import SourceLocation

if TYPE_CHECKING:
    from callflow.sources import ReadPolicy

# ------------------------------------------------------------------ the documented numbers
# (every number here is listed, with its reason, in the `callflow.simulate` docstring)

SPEECH_MS_PER_WORD = 400
PLAY_MS = 3_000
PAUSE_MS = 1_000
KEY_MS = 300
GATHER_TIMEOUT_MS = 5_000
FINISH_ON_KEY = "*"
RECORD_TIMEOUT_MS = 45_000
FETCH_TIMEOUT_MS = 10_000
CALLBACK_METHOD = "POST"
GATHER_CALLBACK_METHOD = "GET"
RING_MS = 4_000
DIAL_MS = {
    DialOutcome.BUSY: 2_000,
    DialOutcome.NO_ANSWER: 30_000,
    DialOutcome.FAILED: 500,
}
PROMPT_TAGS = frozenset({"Say", "Play", "Pause"})
REPLY_SHOWN_CHARS = 2_000

# ------------------------------------------------------------------ control flow


class _Fetch:
    """A request the interpreter needs answered."""

    __slots__ = ("request", "timeout_ms")

    def __init__(self, request: httpx.Request, timeout_ms: int) -> None:
        self.request = request
        self.timeout_ms = timeout_ms


class _Fetched:
    """What became of a request: a read response, or the exception it raised."""

    __slots__ = ("elapsed_ms", "error", "response")

    def __init__(
        self, response: httpx.Response | None, error: BaseException | None, elapsed_ms: float
    ) -> None:
        self.response = response
        self.error = error
        self.elapsed_ms = elapsed_ms


class _FetchResult:
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


class _CallOver(Exception):
    """The call has ended (hangup, caller, limit): unwinds every block."""

    def __init__(self, reason: str, document: Document, element: etree._Element) -> None:
        super().__init__(reason)
        self.reason = reason
        self.document = document
        self.element = element


class _Redirect(Exception):
    """A fetched document replaces the one running."""

    def __init__(self, document: Document) -> None:
        super().__init__(document.name)
        self.document = document


class _Unhandled(Exception):
    """A failure with no `<Error>` of its own: the document's `<Error>` takes over."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


T = TypeVar("T")
Program = Generator[_Fetch, _Fetched, T]
_Element = etree._Element


class _GatherPlan:
    """A `<Gather>`'s structure: prompts, branches by digits, Default, Error, nested Gather."""

    __slots__ = ("branches", "default", "handler", "nested", "prompts")

    def __init__(self, element: _Element) -> None:
        self.prompts = [c for c in element if c.tag in PROMPT_TAGS]
        self.branches: dict[str, _Element] = {}
        switch = element.find("Switch")
        handler: _Element | None = None
        if switch is not None:
            for case in switch.iterfind("Case"):
                self.branches.setdefault(case.get("dtmf", "").strip(), case)
            self.default = switch.find("Default")
            handler = switch.find("Error")
        else:
            for dtmf in element.iterfind("DTMF"):
                self.branches.setdefault(dtmf.get("value", "").strip(), dtmf)
            self.default = element.find("Default")
        self.handler = handler if handler is not None else element.find("Error")
        self.nested = element.find("Gather")


class _DocumentCache:
    """What the interpreter works out once per element of a document: locations, plans."""

    __slots__ = ("document", "gathers", "locations")

    def __init__(self, document: Document) -> None:
        self.document = document
        self.locations: dict[_Element, tuple[SourceLocation, str]] = {}
        self.gathers: dict[_Element, _GatherPlan] = {}


# Kept for the few most recent flows given to `simulate` (documents fetched during a call
# are cached for that call only), so that simulating one flow many times (a test suite, a
# benchmark) works each element out once. Entries hold their document, so an id is never
# reused while its entry lives.
_CACHE: dict[int, _DocumentCache] = {}
_CACHE_SIZE = 32


def _cache_of(document: Document) -> _DocumentCache:
    entry = _CACHE.get(id(document))
    if entry is not None and entry.document is document:
        return entry
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    entry = _CACHE[id(document)] = _DocumentCache(document)
    return entry


# ------------------------------------------------------------------ the interpreter

#: Called with every finished transcript (`callflow.coverage` listens here).
TRANSCRIPT_OBSERVERS: list[Callable[[Transcript], None]] = []


class _Interpreter:
    def __init__(self, caller: Caller, call: CallInfo, limits: Limits) -> None:
        self.caller = caller
        self.call = call
        self.limits = limits
        self.events: list[Event] = []
        self.diagnostics: list[Diagnostic] = []
        self.clock = 0
        self.steps = 0
        self.fetches = 0
        self.presses_used = 0
        self.recordings: set[str] = set()
        self.recording_since: int | None = None
        self.documents: list[Document] = []
        self.caches: dict[int, _DocumentCache] = {}
        self.document_handler: _Element | None = None
        self.handling_document_error = False
        self.plain: dict[str, Callable[[Document, _Element], None]] = {
            "Answer": self._answer,
            "Say": self._say,
            "Play": self._play,
            "Pause": self._pause,
            "Hangup": self._hangup,
            "RecordStart": self._record_start,
            "RecordStop": self._record_stop,
            "RecordWait": self._record_wait,
        }
        self.flowing: dict[str, Callable[[Document, _Element], Program[None]]] = {
            "Record": self._record,
            "Gather": self._gather,
            "Dial": self._dial,
            "Callback": self._callback,
            "callback": self._callback,
            "Call": self._call,
        }

    # -- the call -----------------------------------------------------------------

    def run(self, document: Document) -> Program[Transcript]:
        current = document
        ended_by = "document-end"
        try:
            while True:
                replacement = yield from self._document(current)
                if replacement is None:
                    break
                current = replacement
            self._check_clock(current, current.root)
            self._emit(current, current.root, "end", reason="document-end")
        except _CallOver as over:
            ended_by = over.reason
            self._emit(over.document, over.element, "end", reason=over.reason)
        self._report_unused_presses(current)
        transcript = Transcript(
            self.events,
            self.diagnostics,
            self.call,
            ended_by,
            self.clock,
            self.steps,
            self.documents,
        )
        for observer in TRANSCRIPT_OBSERVERS:
            observer(transcript)
        return transcript

    def _document(self, document: Document) -> Program[Document | None]:
        self.documents.append(document)
        root = document.root
        self.document_handler = next((c for c in root if c.tag == "Error"), None)
        self.handling_document_error = False
        try:
            try:
                yield from self._block(document, root, skip_error=True)
            except _Unhandled as failure:
                handler = self.document_handler
                assert handler is not None
                self.handling_document_error = True
                self._emit(document, handler, "error", reason=failure.reason, of="Response")
                yield from self._block(document, handler)
        except _Redirect as redirect:
            return redirect.document
        return None

    def _block(
        self, document: Document, parent: _Element, *, skip_error: bool = False
    ) -> Program[None]:
        for child in parent:
            tag = child.tag
            if not isinstance(tag, str) or (skip_error and tag == "Error"):
                continue
            self._step(document, child)
            plain = self.plain.get(tag)
            if plain is not None:
                plain(document, child)
                continue
            flowing = self.flowing.get(tag)
            if flowing is not None:
                yield from flowing(document, child)
            else:
                self._diagnose(
                    document,
                    child,
                    "CF909",
                    Severity.WARNING,
                    f"<{tag}> is not an action the simulator knows; skipped",
                    hint="run `callflow validate` on this flow",
                )

    # -- bookkeeping ----------------------------------------------------------------

    def _cache(self, document: Document) -> _DocumentCache:
        cache = self.caches.get(id(document))
        if cache is None:
            given = bool(self.documents) and document is self.documents[0]
            cache = _cache_of(document) if given else _DocumentCache(document)
            self.caches[id(document)] = cache
        return cache

    def _where(self, document: Document, element: _Element) -> tuple[SourceLocation, str]:
        table = self._cache(document).locations
        found = table.get(element)
        if found is None:
            found = table[element] = (document.locate(element), document.xpath_of(element))
        return found

    def _emit(
        self,
        document: Document,
        element: _Element,
        kind: str,
        *,
        at: int | None = None,
        **data: Any,
    ) -> Event:
        location, xpath = self._where(document, element)
        event = Event(kind, self.clock if at is None else at, location, data, xpath)
        self.events.append(event)
        return event

    def _diagnose(
        self,
        document: Document,
        element: _Element,
        code: str,
        severity: Severity,
        message: str,
        hint: str | None = None,
    ) -> None:
        location, xpath = self._where(document, element)
        self.diagnostics.append(Diagnostic(code, severity, message, location, xpath, hint))

    def _step(self, document: Document, element: _Element) -> None:
        self.steps += 1
        if self.steps > self.limits.max_steps:
            self._diagnose(
                document,
                element,
                "CF906",
                Severity.ERROR,
                f"the flow ran {self.limits.max_steps:,} steps without ending; stopped",
                hint="a flow this long is probably looping; raise Limits.max_steps if not",
            )
            raise _CallOver("limit", document, element)
        at_step = self.caller.hang_up_at_step
        if at_step is not None and self.steps >= at_step:
            self._emit(document, element, "hangup", by="caller", tag=None)
            raise _CallOver("caller", document, element)
        self._check_clock(document, element)

    def _check_clock(self, document: Document, element: _Element) -> None:
        at_ms = self.caller.hang_up_at_ms
        if at_ms is not None and self.clock >= at_ms:
            # The step in progress was cut short when the caller hung up.
            self.clock = at_ms
            self._emit(document, element, "hangup", by="caller", tag=None)
            raise _CallOver("caller", document, element)
        if self.clock > self.limits.max_call_ms:
            self._diagnose(
                document,
                element,
                "CF907",
                Severity.ERROR,
                f"the call lasted over {self.limits.max_call_ms // 1000:,} simulated seconds; "
                "stopped",
                hint="check loop counts and durations; raise Limits.max_call_ms if intended",
            )
            raise _CallOver("limit", document, element)

    def _number(
        self,
        document: Document,
        element: _Element,
        name: str,
        default: int,
        *,
        alternatives: tuple[str, ...] = (),
        minimum: int = 0,
    ) -> int:
        for attribute in (name, *alternatives):
            raw = element.get(attribute)
            if raw is None:
                continue
            try:
                value = int(raw.strip())
            except ValueError:
                value = minimum - 1
            if value >= minimum:
                return value
            self._diagnose(
                document,
                element,
                "CF912",
                Severity.WARNING,
                f"<{element.tag!s}> {attribute}={raw!r} is not a whole number ≥ {minimum}; "
                f"simulated with {default}",
            )
            return default
        return default

    def _report_unused_presses(self, document: Document) -> None:
        unused = self.caller.presses[self.presses_used :]
        if unused:
            self.diagnostics.append(
                Diagnostic(
                    "CF910",
                    Severity.INFO,
                    (
                        "the caller script has 1 press that no <Gather> used"
                        if len(unused) == 1
                        else f"the caller script has {len(unused)} presses that no "
                        "<Gather> used"
                    )
                    + f": {', '.join(repr(p) for p in unused)}",
                    self._where(document, document.root)[0],
                )
            )

    # -- failures -----------------------------------------------------------------

    def _failed(
        self,
        document: Document,
        element: _Element,
        handler: _Element | None,
        code: str,
        problem: str,
    ) -> Program[None]:
        """A step failed: its own `<Error>` runs, else the document's, else the flow goes on."""
        if handler is not None:
            self._diagnose(
                document, element, code, Severity.WARNING, f"{problem}; its <Error> runs"
            )
            self._emit(document, handler, "error", reason=problem, of=element.tag)
            yield from self._block(document, handler)
            return
        self._escalate(document, element, code, problem)

    def _escalate(self, document: Document, element: _Element, code: str, problem: str) -> None:
        if self.document_handler is not None and not self.handling_document_error:
            self._diagnose(
                document,
                element,
                code,
                Severity.WARNING,
                f"{problem}; the document's <Error> runs",
            )
            raise _Unhandled(problem)
        self._diagnose(
            document,
            element,
            code,
            Severity.ERROR,
            f"{problem}; no <Error> handles it, the flow goes on",
            hint=f"add an <Error> block to <{element.tag}> (or to <Response>)"
            if element.tag in ("Callback", "Gather")
            else "add an <Error> block to <Response>",
        )

    # -- simple actions -------------------------------------------------------------

    def _answer(self, document: Document, element: _Element) -> None:
        delay = self._number(document, element, "delay", 0)
        self._emit(document, element, "answer", ms=delay, tag=element.get("tag"))
        self.clock += delay

    def _say(self, document: Document, element: _Element) -> None:
        raw = element.text if element.text and element.text.strip() else element.get("text", "")
        text = " ".join((raw or "").split())
        loop = self._number(document, element, "loop", 1, minimum=1)
        duration = max(1, len(text.split())) * SPEECH_MS_PER_WORD * loop
        voice = {
            "type": element.get("type", "Standard"),
            "gender": element.get("gender", "FEMALE"),
            "lang": element.get("lang", "en-US"),
            "code": element.get("code"),
        }
        self._emit(document, element, "say", text=text, voice=voice, loop=loop, ms=duration)
        self.clock += duration

    def _play(self, document: Document, element: _Element) -> None:
        record = element.get("record")
        url = (element.text or "").strip() or element.get("url")
        loop = self._number(document, element, "loop", 1, minimum=1)
        problem: str | None = None
        if record is not None and not url:
            url = None
            if record not in self.recordings:
                problem = f"<Play> of recording {record!r}, but no recording has that tag yet"
        elif not url:
            problem = "<Play> has no URL"
        elif url in self.caller.failing_media:
            problem = f"<Play> {url} failed to load"
        duration = 0 if problem else self.caller.media_ms.get(url or "", PLAY_MS) * loop
        self._emit(
            document,
            element,
            "play",
            url=url,
            record=record,
            loop=loop,
            leg=element.get("leg"),
            failed=problem is not None,
            ms=duration,
        )
        self.clock += duration
        if problem is not None:
            self._escalate(document, element, "CF908", problem)

    def _pause(self, document: Document, element: _Element) -> None:
        length = self._number(document, element, "length", PAUSE_MS)
        self._emit(document, element, "pause", ms=length)
        self.clock += length

    def _hangup(self, document: Document, element: _Element) -> None:
        self._emit(document, element, "hangup", by="flow", tag=element.get("tag"))
        raise _CallOver("hangup", document, element)

    def _record_start(self, document: Document, element: _Element) -> None:
        self._emit(document, element, "record-start", tag=element.get("tag"))
        self.recording_since = self.clock

    def _record_stop(self, document: Document, element: _Element) -> None:
        if self.recording_since is None:
            self._diagnose(
                document,
                element,
                "CF911",
                Severity.INFO,
                "<RecordStop> with no recording running",
            )
            self._emit(document, element, "record-stop", ms=0)
            return
        self._emit(document, element, "record-stop", ms=self.clock - self.recording_since)
        self.recording_since = None

    def _record_wait(self, document: Document, element: _Element) -> None:
        self._emit(document, element, "record-wait", ms=self.caller.message_ms)
        self.clock += self.caller.message_ms

    # -- actions with children or requests ----------------------------------------------

    def _record(self, document: Document, element: _Element) -> Program[None]:
        tag = element.get("tag")
        asr = element.get("asr") == "true"
        timeout = self._number(document, element, "timeout", RECORD_TIMEOUT_MS)
        if any(isinstance(child.tag, str) for child in element):
            self._emit(
                document,
                element,
                "record",
                tag=tag,
                asr=asr,
                timeout_ms=timeout,
                wraps=True,
                ms=None,
            )
            started = self.clock
            yield from self._block(document, element)
            self._emit(document, element, "record-stop", tag=tag, ms=self.clock - started)
        else:
            duration = min(self.caller.message_ms, timeout)
            self._emit(
                document,
                element,
                "record",
                tag=tag,
                asr=asr,
                timeout_ms=timeout,
                wraps=False,
                ms=duration,
            )
            self.clock += duration
        if tag is not None:
            self.recordings.add(tag)

    def _call(self, document: Document, element: _Element) -> Program[None]:
        field = element.get("field", "")
        value = element.get("value", "")
        actual = {"from": self.call.from_number, "to": self.call.to_number}.get(field)
        matched = actual is not None and actual.strip() == value.strip()
        self._emit(
            document, element, "call", field=field, value=value, actual=actual, matched=matched
        )
        if matched:
            yield from self._block(document, element)

    def _dial(self, document: Document, element: _Element) -> Program[None]:
        rung: list[dict[str, str]] = []
        winner: str | None = None
        winner_outcome: DialOutcome | None = None
        for child in element:
            if child.tag not in ("To", "Sip"):
                continue
            target = (child.text or "").strip()
            outcome = self.caller.outcome_for(target)
            if winner is not None and outcome.connects:
                rung.append({"target": target, "outcome": "cancelled"})
                continue
            rung.append({"target": target, "outcome": outcome.value})
            if winner is None and outcome.connects:
                winner, winner_outcome = target, outcome
        if winner_outcome is not None:
            overall = winner_outcome.value
            duration = RING_MS + self.caller.talk_ms
        else:
            seen = {r["outcome"] for r in rung}
            overall = next(
                (o.value for o in (DialOutcome.NO_ANSWER, DialOutcome.BUSY) if o.value in seen),
                DialOutcome.FAILED.value,
            )
            duration = max((DIAL_MS[DialOutcome(r["outcome"])] for r in rung), default=0)
        self._emit(
            document,
            element,
            "dial",
            targets=rung,
            target=winner,
            outcome=overall,
            ms=duration,
        )
        self.clock += duration
        if winner_outcome is DialOutcome.CALLER_HANGS_UP:
            self._emit(document, element, "hangup", by="caller", tag=None)
            raise _CallOver("caller", document, element)
        if winner is None:
            handler = next((c for c in element if c.tag == "Error"), None)
            if handler is not None:
                self._emit(
                    document, handler, "error", reason=f"no target connected ({overall})", of="Dial"
                )
                yield from self._block(document, handler)

    def _callback(self, document: Document, element: _Element) -> Program[None]:
        legacy = element.tag == "callback"
        url = (element.text or "").strip() if legacy else element.get("url", "").strip()
        method = (element.get("method") or CALLBACK_METHOD).upper()
        timeout = self._number(document, element, "timeout", FETCH_TIMEOUT_MS)
        tag = element.get("tag")
        body = self.call.call_object(self.clock) if element.get("body") == "true" else None
        result = yield from self._fetch(
            document,
            element,
            method,
            url,
            timeout,
            params={"tag": tag} if tag is not None else None,
            json_body=body,
        )
        if result.document is not None:
            raise _Redirect(result.document)
        assert result.code is not None and result.problem is not None
        handler = None if legacy else next((c for c in element if c.tag == "Error"), None)
        yield from self._failed(document, element, handler, result.code, result.problem)

    def _gather(self, document: Document, element: _Element) -> Program[None]:
        num_digits = self._number(
            document, element, "numDigits", 1, alternatives=("dtmf_length", "length"), minimum=1
        )
        attempts = self._number(document, element, "attempts", 1, minimum=1)
        timeout = self._number(document, element, "timeout", GATHER_TIMEOUT_MS)
        finish = element.get("finishOnKey") or element.get("dtmf_stop") or FINISH_ON_KEY
        gathers = self._cache(document).gathers
        plan = gathers.get(element)
        if plan is None:
            plan = gathers[element] = _GatherPlan(element)
        prompts, branches, default, handler = (
            plan.prompts,
            plan.branches,
            plan.default,
            plan.handler,
        )
        for attempt in range(1, attempts + 1):
            if attempt > 1:
                self._step(document, element)
            for prompt in prompts:
                self._step(document, prompt)
                self.plain[str(prompt.tag)](document, prompt)
            started = self.clock
            entry = self._next_press()
            if entry == HANG_UP:
                self._emit(document, element, "hangup", by="caller", tag=None)
                raise _CallOver("caller", document, element)
            digits, finished, keys = _collect(entry, num_digits, finish)
            self.clock += keys * KEY_MS + (0 if finished else timeout)
            timed_out = not finished
            last = attempt == attempts
            remote = yield from self._gather_request(document, element, digits, attempt, timed_out)
            if isinstance(remote, Document):
                self._emit_gather(
                    document, element, started, digits, attempt, attempts, timed_out, "remote"
                )
                raise _Redirect(remote)
            if isinstance(remote, _FetchResult):
                self._emit_gather(
                    document, element, started, digits, attempt, attempts, timed_out, "error"
                )
                assert remote.code is not None and remote.problem is not None
                yield from self._failed(document, element, handler, remote.code, remote.problem)
                return
            matched = branches.get(digits) if digits else None
            if matched is not None:
                self._emit_gather(
                    document,
                    element,
                    started,
                    digits,
                    attempt,
                    attempts,
                    timed_out,
                    "case",
                    match=digits,
                )
                yield from self._block(document, matched)
                break
            if default is not None:
                branch = "default"
            elif last and handler is not None:
                branch = "error"
            else:
                branch = "none" if last else "retry"
            self._emit_gather(
                document, element, started, digits, attempt, attempts, timed_out, branch
            )
            if default is not None:
                yield from self._block(document, default)
            if last and handler is not None:
                self._emit(
                    document,
                    handler,
                    "error",
                    of="Gather",
                    reason=f"no valid digits after {attempts} attempt{'s' if attempts > 1 else ''}",
                )
                yield from self._block(document, handler)
        nested = plan.nested
        if nested is not None:
            self._step(document, nested)
            yield from self._gather(document, nested)

    def _emit_gather(
        self,
        document: Document,
        element: _Element,
        at: int,
        digits: str,
        attempt: int,
        attempts: int,
        timed_out: bool,
        branch: str,
        match: str | None = None,
    ) -> None:
        self._emit(
            document,
            element,
            "gather",
            at=at,
            digits=digits,
            attempt=attempt,
            attempts=attempts,
            timed_out=timed_out,
            branch=branch,
            match=match,
        )

    def _next_press(self) -> str:
        presses = self.caller.presses
        if self.presses_used >= len(presses):
            return ""
        entry = presses[self.presses_used]
        self.presses_used += 1
        return entry or ""

    def _gather_request(
        self,
        document: Document,
        element: _Element,
        digits: str,
        attempt: int,
        timed_out: bool,
    ) -> Program[Document | _FetchResult | None]:
        """Send the digits to a `<Gather url>` or legacy `callback`; None means "carry on"."""
        url = element.get("url")
        timeout = FETCH_TIMEOUT_MS
        if url is not None:
            params = {
                "dtmf": digits,
                "from": self.call.from_number,
                "tn": self.call.to_number,
                "state": "live",
                "sca": self.call.sip_control_app,
                "call": self.call.uuid,
            }
            result = yield from self._fetch(document, element, "GET", url, timeout, params=params)
        else:
            callback = element.get("callback")
            if callback is None:
                return None
            method = (element.get("method") or GATHER_CALLBACK_METHOD).upper()
            fields = {
                "code": digits,
                "success": "true" if digits else "false",
                "attempts": str(attempt),
            }
            if method == "GET":
                result = yield from self._fetch(
                    document, element, method, callback, timeout, params=fields
                )
            else:
                result = yield from self._fetch(
                    document, element, method, callback, timeout, form=fields
                )
        if result.document is not None:
            return result.document
        if result.empty:
            return None
        return result

    # -- HTTP ------------------------------------------------------------------------

    def _fetch(
        self,
        document: Document,
        element: _Element,
        method: str,
        url: str,
        timeout_ms: int,
        *,
        params: Mapping[str, str] | None = None,
        json_body: object = None,
        form: Mapping[str, str] | None = None,
    ) -> Program[_FetchResult]:
        self.fetches += 1
        if self.fetches > self.limits.max_fetches:
            self._diagnose(
                document,
                element,
                "CF905",
                Severity.ERROR,
                f"the flow made over {self.limits.max_fetches} requests in one call; stopped "
                "(a callback loop?)",
                hint="raise Limits.max_fetches if the flow really needs more",
            )
            raise _CallOver("limit", document, element)
        started = self.clock
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
            result = _FetchResult(code="CF901", problem=f"cannot request {url!r}: {error}")
        else:
            request.extensions["timeout"] = httpx.Timeout(timeout_ms / 1000).as_dict()
            fetched = yield _Fetch(request, timeout_ms)
            if fetched.response is not None:
                status = fetched.response.status_code
                reply = fetched.response.text[:REPLY_SHOWN_CHARS]
            result = self._classify(fetched, url, timeout_ms)
            if result.code == "CF902":
                self.clock += timeout_ms
        self._emit(
            document,
            element,
            "callback",
            at=started,
            url=url,
            method=method,
            of=element.tag,
            status=status,
            reply=reply,
            error=result.problem,
        )
        return result

    def _classify(self, fetched: _Fetched, url: str, timeout_ms: int) -> _FetchResult:
        error = fetched.error
        if isinstance(error, NetworkRefused):
            return _FetchResult(code="CF901", problem=f"request to {url} refused: {error}")
        if isinstance(error, httpx.TimeoutException):
            return _FetchResult(code="CF902", problem=f"{url} timed out after {timeout_ms} ms")
        if isinstance(error, httpx.TooManyRedirects):
            return _FetchResult(
                code="CF904",
                problem=f"{url} redirected more than {self.limits.max_redirects} times",
            )
        if error is not None:
            detail = str(error) or type(error).__name__
            if not isinstance(error, httpx.HTTPError):
                detail = f"the app raised {type(error).__name__}: {error}"
            return _FetchResult(code="CF901", problem=f"request to {url} failed: {detail}")
        response = fetched.response
        assert response is not None
        if fetched.elapsed_ms > timeout_ms:
            return _FetchResult(
                code="CF902",
                problem=f"{url} answered after {fetched.elapsed_ms:.0f} ms, over its "
                f"{timeout_ms} ms timeout",
            )
        if response.status_code >= 400:
            return _FetchResult(code="CF901", problem=f"{url} answered HTTP {response.status_code}")
        content = response.content
        if not content.strip():
            return _FetchResult(
                empty=True, code="CF903", problem=f"{url} answered with an empty body"
            )
        from callflow.sources import load_data

        # An answer is XML whatever its URL ends with (never a template or a script).
        [answer] = load_data(content, url, kind="xml")
        fetched_document, problems = answer.document, answer.diagnostics
        if fetched_document is None:
            first = problems[0].message if problems else "not XML"
            return _FetchResult(code="CF903", problem=f"{url} did not answer call XML: {first}")
        if fetched_document.root.tag != "Response":
            return _FetchResult(
                code="CF903",
                problem=f"{url} answered <{fetched_document.root.tag!s}>, not <Response>",
            )
        return _FetchResult(fetched_document)


def _collect(entry: str, num_digits: int, finish: str) -> tuple[str, bool, int]:
    """The digits a Gather takes from what the caller typed: (digits, finished, keys used).

    Collection stops at the finish key (not included) or at ``num_digits`` digits; keys
    typed after that are not heard. Without either, the Gather times out with what it has.
    """
    digits: list[str] = []
    for used, key in enumerate(entry, start=1):
        if key == finish:
            return "".join(digits), True, used
        digits.append(key)
        if len(digits) >= num_digits:
            return "".join(digits), True, used
    return "".join(digits), False, len(entry)


# ------------------------------------------------------------------ drivers

#: What the simulator accepts: anything the front door reads (`callflow.sources.load_flows`):
#: a Document, a builder flow, XML text or bytes, a path, ``-``, a library template name.
Source = object


def load_flow(
    source: Source,
    *,
    context: Mapping[str, object] | None = None,
    sample: str | None = None,
    filename: str | None = None,
    policy: ReadPolicy | None = None,
) -> Document:
    """The Document to simulate, through the front door (`callflow.sources.load_flow`).

    Raises `InputError` when the source cannot be read and `ValidationError` (with
    diagnostics) when it does not load.
    """
    from callflow.sources import DEFAULT_POLICY
    from callflow.sources import load_flow as front_door

    return front_door(
        source,
        context=context,
        sample=sample,
        filename=filename,
        policy=policy if policy is not None else DEFAULT_POLICY,
    )


#: Largest reply the simulator reads, decoded (a call XML document's own limit).
MAX_REPLY_BYTES = MAX_DOCUMENT_BYTES


def _send(client: httpx.Client, fetch: _Fetch, raise_app_errors: bool) -> _Fetched:
    # The simulated timeout also bounds real time: per read (the transport's timeout) and
    # for the whole reply, however slowly it drips (`read_limited`).
    started = time.perf_counter()
    limits = ReplyLimits(fetch.timeout_ms / 1000, MAX_REPLY_BYTES)
    try:
        response = read_limited(client.send(fetch.request, stream=True), limits, fetch.request)
    except Exception as error:
        if raise_app_errors and not isinstance(error, httpx.HTTPError):
            raise
        return _Fetched(None, error, (time.perf_counter() - started) * 1000)
    return _Fetched(response, None, (time.perf_counter() - started) * 1000)


async def _send_async(client: httpx.AsyncClient, fetch: _Fetch, raise_app_errors: bool) -> _Fetched:
    import anyio

    started = time.perf_counter()
    try:
        # In-process apps ignore the transport's timeout; the deadline holds them to it.
        with anyio.fail_after(fetch.timeout_ms / 1000):
            limits = ReplyLimits(fetch.timeout_ms / 1000, MAX_REPLY_BYTES)
            streamed = await client.send(fetch.request, stream=True)
            response = await aread_limited(streamed, limits, fetch.request)
    except TimeoutError:
        error = httpx.ReadTimeout("timed out", request=fetch.request)
        return _Fetched(None, error, (time.perf_counter() - started) * 1000)
    except Exception as error:
        if raise_app_errors and not isinstance(error, httpx.HTTPError):
            raise
        return _Fetched(None, error, (time.perf_counter() - started) * 1000)
    return _Fetched(response, None, (time.perf_counter() - started) * 1000)


def _drive(program: Program[Transcript], send: Callable[[_Fetch], _Fetched]) -> Transcript:
    try:
        fetch = next(program)
        while True:
            fetch = program.send(send(fetch))
    except StopIteration as stop:
        transcript: Transcript = stop.value
        return transcript


async def _drive_async(
    program: Program[Transcript], client: httpx.AsyncClient, raise_app_errors: bool
) -> Transcript:
    try:
        fetch = next(program)
        while True:
            fetch = program.send(await _send_async(client, fetch, raise_app_errors))
    except StopIteration as stop:
        transcript: Transcript = stop.value
        return transcript


def _prepare(
    source: Source,
    caller: Caller | None,
    call: CallInfo | None,
    app: object,
    limits: Limits | None,
    context: Mapping[str, object] | None,
    network: bool = False,
) -> tuple[Program[Transcript], Backend, Limits]:
    document = load_flow(source, context=context)
    backend = Backend.of(app, network=network)
    limits = limits if limits is not None else Limits()
    interpreter = _Interpreter(caller or Caller(), call or CallInfo(), limits)
    return interpreter.run(document), backend, limits


def simulate(
    source: Source,
    caller: Caller | None = None,
    *,
    call: CallInfo | None = None,
    app: object = None,
    limits: Limits | None = None,
    context: Mapping[str, object] | None = None,
    raise_app_errors: bool = False,
    network: bool = False,
) -> Transcript:
    """Run a call flow offline against a scripted ``caller``; return the `Transcript`.

    ``source``: a Document, XML text, or a path (``.xml``, ``.xml.j2``, ``.py``).
    ``app`` answers the URLs the flow requests: None (real requests, to loopback only
    unless ``network=True``), a WSGI or ASGI app, a function, a ``{url: xml}`` mapping, an
    httpx transport, or a `Backend`. A request refused by that rule fails as CF901, and its
    callback event says why.
    ``raise_app_errors`` lets an exception raised inside an in-process app propagate
    instead of becoming a failed fetch (a CF901 diagnostic).
    """
    program, backend, limits = _prepare(source, caller, call, app, limits, context, network)
    if backend.is_async:
        from anyio.from_thread import start_blocking_portal

        async def run_async() -> Transcript:
            async with backend.async_client(limits.max_redirects) as client:
                return await _drive_async(program, client, raise_app_errors)

        with start_blocking_portal() as portal:
            return portal.call(run_async)
    return _drive_sync(program, backend, limits, raise_app_errors)


def _drive_sync(
    program: Program[Transcript], backend: Backend, limits: Limits, raise_app_errors: bool
) -> Transcript:
    # Most calls make no request: the client is made on the first one.
    clients: list[httpx.Client] = []

    def send(fetch: _Fetch) -> _Fetched:
        if not clients:
            clients.append(backend.client(limits.max_redirects))
        return _send(clients[0], fetch, raise_app_errors)

    try:
        return _drive(program, send)
    finally:
        for client in clients:
            client.close()


async def simulate_async(
    source: Source,
    caller: Caller | None = None,
    *,
    call: CallInfo | None = None,
    app: object = None,
    limits: Limits | None = None,
    context: Mapping[str, object] | None = None,
    raise_app_errors: bool = False,
    network: bool = False,
) -> Transcript:
    """`simulate` for async code: ASGI apps and the network are awaited on the caller's loop."""
    program, backend, limits = _prepare(source, caller, call, app, limits, context, network)
    if backend.is_async or backend.is_network:
        async with backend.async_client(limits.max_redirects) as client:
            return await _drive_async(program, client, raise_app_errors)
    return _drive_sync(program, backend, limits, raise_app_errors)
