"""The call interpreter: runs a Document step by step against a scripted caller.

`Machine` holds the state of one call (the clock, the events, the caller's presses used)
and runs blocks of actions, finding each tag's handler in the one dispatch table
(`callflow.simulate._handlers`). It does no I/O: a handler that needs a request yields it
(see `callflow.simulate._control`), and a driver answers. The rules it follows are listed in
`callflow.simulate`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from lxml import etree

from callflow.diagnostics import Diagnostic, Severity
from callflow.document import Document
from callflow.simulate._control import CallOver, Program, Redirect, Unhandled
from callflow.simulate._events import Ended, ErrorRuns, Event, HungUp, Payload
from callflow.simulate._handlers import FLOWING, PLAIN
from callflow.simulate._model import Caller, CallInfo, Limits, Transcript
from callflow.simulate._tags import CALLBACK, ERROR, GATHER, ROOT
from callflow.sourcemap import SourceLocation

Element = etree._Element

#: Called with every finished transcript (`callflow.coverage` listens here).
TRANSCRIPT_OBSERVERS: list[Callable[[Transcript], None]] = []


class DocumentCache:
    """What the interpreter works out once per element of a document: locations, plans."""

    __slots__ = ("document", "locations", "plans")

    def __init__(self, document: Document) -> None:
        self.document = document
        self.locations: dict[Element, tuple[SourceLocation, str]] = {}
        self.plans: dict[Element, object] = {}  # a handler's reading of its element's children


# Kept for the few most recent flows given to `simulate` (documents fetched during a call
# are cached for that call only), so that simulating one flow many times (a test suite, a
# benchmark) works each element out once. Entries hold their document, so an id is never
# reused while its entry lives.
_CACHE: dict[int, DocumentCache] = {}
_CACHE_SIZE = 32


def _cache_of(document: Document) -> DocumentCache:
    entry = _CACHE.get(id(document))
    if entry is not None and entry.document is document:
        return entry
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    entry = _CACHE[id(document)] = DocumentCache(document)
    return entry


class Machine:
    """One simulated call: its state, the block runner and the bookkeeping handlers share."""

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
        self.caches: dict[int, DocumentCache] = {}
        self.document_handler: Element | None = None
        self.handling_document_error = False

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
            self.check_clock(current, current.root)
            self.emit(current, current.root, Ended("document-end"))
        except CallOver as over:
            ended_by = over.reason
            self.emit(over.document, over.element, Ended(over.reason))
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
        self.document_handler = next((c for c in root if c.tag == ERROR), None)
        self.handling_document_error = False
        try:
            try:
                yield from self.block(document, root, skip_error=True)
            except Unhandled as failure:
                handler = self.document_handler
                assert handler is not None
                self.handling_document_error = True
                self.emit(document, handler, ErrorRuns(failure.reason, ROOT))
                yield from self.block(document, handler)
        except Redirect as redirect:
            return redirect.document
        return None

    def block(
        self, document: Document, parent: Element, *, skip_error: bool = False
    ) -> Program[None]:
        """Run the actions inside ``parent``, in order, each by its tag's handler."""
        plain_handlers, flowing_handlers = PLAIN, FLOWING
        for child in parent:
            tag = child.tag
            if not isinstance(tag, str) or (skip_error and tag == ERROR):
                continue
            self.step(document, child)
            plain = plain_handlers.get(tag)
            if plain is not None:
                plain(self, document, child)
                continue
            flowing = flowing_handlers.get(tag)
            if flowing is not None:
                yield from flowing(self, document, child)
            else:
                self.diagnose(
                    document,
                    child,
                    "CF909",
                    Severity.WARNING,
                    f"<{tag}> is not an action the simulator knows; skipped",
                    hint="run `callflow validate` on this flow",
                )

    def prompt(self, document: Document, element: Element) -> None:
        """Play one prompt (a `<Say>`, `<Play>` or `<Pause>` a `<Gather>` holds) as a step."""
        self.step(document, element)
        PLAIN[cast(str, element.tag)](self, document, element)

    # -- bookkeeping ----------------------------------------------------------------

    def cache(self, document: Document) -> DocumentCache:
        cache = self.caches.get(id(document))
        if cache is None:
            given = bool(self.documents) and document is self.documents[0]
            cache = _cache_of(document) if given else DocumentCache(document)
            self.caches[id(document)] = cache
        return cache

    def where(self, document: Document, element: Element) -> tuple[SourceLocation, str]:
        table = self.cache(document).locations
        found = table.get(element)
        if found is None:
            found = table[element] = (document.locate(element), document.xpath_of(element))
        return found

    def emit(
        self, document: Document, element: Element, payload: Payload, *, at: int | None = None
    ) -> None:
        location, xpath = self.where(document, element)
        self.events.append(Event(payload, self.clock if at is None else at, location, xpath))

    def diagnose(
        self,
        document: Document,
        element: Element,
        code: str,
        severity: Severity,
        message: str,
        hint: str | None = None,
    ) -> None:
        location, xpath = self.where(document, element)
        self.diagnostics.append(Diagnostic(code, severity, message, location, xpath, hint))

    def caller_hangs_up(self, document: Document, element: Element) -> CallOver:
        """Record the caller hanging up at ``element``; the exception to raise."""
        self.emit(document, element, HungUp("caller", None))
        return CallOver("caller", document, element)

    def step(self, document: Document, element: Element) -> None:
        self.steps += 1
        if self.steps > self.limits.max_steps:
            self.diagnose(
                document,
                element,
                "CF906",
                Severity.ERROR,
                f"the flow ran {self.limits.max_steps:,} steps without ending; stopped",
                hint="a flow this long is probably looping; raise Limits.max_steps if not",
            )
            raise CallOver("limit", document, element)
        at_step = self.caller.hang_up_at_step
        if at_step is not None and self.steps >= at_step:
            raise self.caller_hangs_up(document, element)
        self.check_clock(document, element)

    def check_clock(self, document: Document, element: Element) -> None:
        at_ms = self.caller.hang_up_at_ms
        if at_ms is not None and self.clock >= at_ms:
            # The step in progress was cut short when the caller hung up.
            self.clock = at_ms
            raise self.caller_hangs_up(document, element)
        if self.clock > self.limits.max_call_ms:
            self.diagnose(
                document,
                element,
                "CF907",
                Severity.ERROR,
                f"the call lasted over {self.limits.max_call_ms // 1000:,} simulated seconds; "
                "stopped",
                hint="check loop counts and durations; raise Limits.max_call_ms if intended",
            )
            raise CallOver("limit", document, element)

    def number(
        self,
        document: Document,
        element: Element,
        name: str,
        default: int,
        *,
        alternatives: tuple[str, ...] = (),
        minimum: int = 0,
    ) -> int:
        """A whole-number attribute (or the first of its legacy spellings that is given)."""
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
            self.diagnose(
                document,
                element,
                "CF912",
                Severity.WARNING,
                f"<{element.tag!s}> {attribute}={raw!r} is not a whole number ≥ {minimum}; "
                f"simulated with {default}",
            )
            return default
        return default

    def next_press(self) -> str:
        """The caller's next script entry (silence once the script has run out)."""
        presses = self.caller.presses
        if self.presses_used >= len(presses):
            return ""
        entry = presses[self.presses_used]
        self.presses_used += 1
        return entry or ""

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
                        else f"the caller script has {len(unused)} presses that no <Gather> used"
                    )
                    + f": {', '.join(repr(p) for p in unused)}",
                    self.where(document, document.root)[0],
                )
            )

    # -- failures -----------------------------------------------------------------

    def failed(
        self,
        document: Document,
        element: Element,
        handler: Element | None,
        code: str,
        problem: str,
    ) -> Program[None]:
        """A step failed: its own `<Error>` runs, else the document's, else the flow goes on."""
        if handler is not None:
            self.diagnose(document, element, code, Severity.WARNING, f"{problem}; its <Error> runs")
            self.emit(document, handler, ErrorRuns(problem, cast(str, element.tag)))
            yield from self.block(document, handler)
            return
        self.escalate(document, element, code, problem)

    def escalate(self, document: Document, element: Element, code: str, problem: str) -> None:
        """A failure with no `<Error>` of its own: the document's `<Error>`, or a diagnostic."""
        if self.document_handler is not None and not self.handling_document_error:
            self.diagnose(
                document,
                element,
                code,
                Severity.WARNING,
                f"{problem}; the document's <Error> runs",
            )
            raise Unhandled(problem)
        self.diagnose(
            document,
            element,
            code,
            Severity.ERROR,
            f"{problem}; no <Error> handles it, the flow goes on",
            hint=f"add an <Error> block to <{element.tag}> (or to <Response>)"
            if element.tag in (CALLBACK, GATHER)
            else "add an <Error> block to <Response>",
        )
