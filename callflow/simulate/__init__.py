"""Simulate calls offline: run a call flow against a scripted caller and get a transcript.

::

    from callflow.simulate import Caller, simulate

    transcript = simulate("examples/ivr_menu.xml", Caller(presses=["2", "4"]), app=my_wsgi_app)
    assert transcript.said("balance")

Rules the simulator follows
===========================

The platform's documentation leaves these points open; this is the one list of what the
simulator does about them (the README's "Simulating calls" repeats it for users).

**Clock.** Simulated milliseconds, starting at 0 when the flow starts. ``<Say>`` lasts
400 ms per word (150 words a minute; at least one word) times ``loop``. ``<Play>`` lasts
3000 ms times ``loop`` unless ``Caller.media_ms`` gives the URL's length; a failed one lasts
0. ``<Pause>`` without ``length`` lasts 1000 ms. ``<Answer delay>`` adds its delay. Each key
the caller types takes 300 ms. A fetch takes no simulated time unless it times out (then it
costs its timeout).

**Gather.** ``numDigits`` (or legacy ``dtmf_length``/``length``) defaults to 1, ``attempts``
to 1, ``timeout`` to 5000 ms, ``finishOnKey`` (or legacy ``dtmf_stop``) to ``*``. One
attempt: the prompts (``<Say>``, ``<Play>``, ``<Pause>`` children) play, then the caller's
next script entry is typed. Collection stops at the finish key (not part of the digits) or
at ``numDigits`` digits; keys after that are not heard. Otherwise the attempt waits
``timeout`` and keeps the digits typed so far. Then:

1. digits equal to a ``<Case dtmf>`` (or legacy ``<DTMF value>``) run that branch, and the
   Gather is over;
2. otherwise (wrong digits, or none) the attempt failed: ``<Default>`` runs after *every*
   failed attempt (it is where re-prompts such as "Sorry, I did not understand" belong);
3. when the *last* attempt fails, the ``<Error>`` (the Switch's, else the Gather's own) runs
   once, after the ``<Default>`` — "no valid digits were entered";
4. the flow then continues with the tag after ``</Gather>``; a legacy nested ``<Gather>``
   runs as the next menu once the outer one is over.

The gather event's ``branch`` is ``case`` (with ``match``), ``default``, ``error``,
``retry`` (no Default, attempts remain), ``none`` (no Default or Error, last attempt) or
``remote``. When the caller script runs out, the caller is silent; a script entry
``"hangup"`` hangs up at that attempt.

**Gather URLs.** ``url`` (legacy set A) is requested with GET and the query parameters
``dtmf``, ``from``, ``tn``, ``state=live``, ``sca``, ``call``; ``callback`` (legacy set B)
with ``method`` (GET by default; POST sends a form) and ``code``, ``success`` (``true``
when any digits were typed), ``attempts`` (the attempt number). If the reply is a
``<Response>`` document it replaces the flow (``branch="remote"``); an empty reply means
"carry on" and the local branches decide; a failure runs the Gather's ``<Error>``.

**Callback.** ``<Callback>`` (and legacy ``<callback>URL</callback>``) requests its URL with
``method`` (POST when missing), ``tag`` as a query parameter, the call object as a JSON body
when ``body="true"``, and ``timeout`` (10000 ms when missing). The returned document
*replaces* the running one: nothing after the ``<Callback>`` runs. A connection error, an
HTTP status ≥ 400, a timeout, more than ``Limits.max_redirects`` redirects, an empty body,
or a body that is not a ``<Response>`` document is a failure. An in-process app that answers
after the timeout (in wall-clock time) counts as timed out; fetched XML is parsed with the
same safe parser as files and is not schema-checked.

**Failures and Error blocks.** A failed step runs its own ``<Error>``, then the flow goes
on after the step. A failure with no ``<Error>`` of its own (a failed ``<Play>``, a
``<callback>``, a ``<Callback>`` without one) runs the document's top-level ``<Error>`` and
the document ends there; without one, the step is skipped and the flow goes on. Each failure
is a diagnostic: a warning when an ``<Error>`` handled it, an error when nothing did.

**Dial.** Every target rings at once; each has the caller's outcome for it (default
``answered``). The first answering target in document order wins; other answering targets
are ``cancelled``. An answered call lasts 4000 ms of ringing plus ``Caller.talk_ms``; then
the dialled side hangs up and the flow continues after ``</Dial>``. The outcome
``caller-hangs-up`` ends the whole call. With nobody connected the dial lasts as long as its
slowest target (busy 2000 ms, failed 500 ms, no answer 30000 ms), its ``<Error>`` runs if
present (an outcome, not a failure: no diagnostic), and the flow continues.

**Call, Record, Answer, Hangup.** ``<Call field value>`` compares ``value`` with the
simulated call's ``from`` or ``to`` after trimming spaces. An empty ``<Record>`` records the
caller for ``min(Caller.message_ms, timeout)`` (timeout 45000 ms when missing); a
``<Record>`` wrapping tags records while they run. ``<RecordWait>`` waits
``Caller.message_ms``; ``<RecordStop>`` with nothing recording is an info diagnostic.
``<Play record="tag">`` fails unless a recording with that tag was made earlier in the call.
``<Hangup>`` ends the call; so does the end of a document (the platform hangs up).

**Limits** (`Limits`): 10,000 steps (action tags run, each Gather attempt counting one),
100 requests per call (callback loops), 5 HTTP redirects per request, 4 hours of simulated
call. Passing one stops the call with an error diagnostic and ``ended_by="limit"``; the
simulator never hangs on a flow (an in-process app that never returns is outside its reach).

Diagnostic codes
================

CF901 request failed · CF902 request timed out · CF903 reply is not call XML · CF904 too
many redirects · CF905 request limit reached · CF906 step limit reached · CF907 call length
limit reached · CF908 media failed · CF909 unknown tag skipped · CF910 unused caller script
entries · CF911 RecordStop with no recording · CF912 attribute value not understood.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from callflow.diagnostics import register_code
from callflow.simulate._backends import Backend
from callflow.simulate._engine import load_flow, simulate, simulate_async
from callflow.simulate._events import (
    Answered,
    Compared,
    Dialled,
    Ended,
    ErrorRuns,
    Event,
    Gathered,
    HungUp,
    Paused,
    Payload,
    Played,
    Recorded,
    RecordingEnded,
    RecordStarted,
    RecordStopped,
    RecordWaited,
    Requested,
    Ring,
    Said,
    Voice,
)
from callflow.simulate._model import (
    HANG_UP,
    SILENCE,
    Caller,
    CallInfo,
    DialOutcome,
    Limits,
    Transcript,
    parse_press,
)

__all__ = [
    "HANG_UP",
    "SILENCE",
    "Answered",
    "Backend",
    "CallInfo",
    "Caller",
    "Compared",
    "DialOutcome",
    "Dialled",
    "Ended",
    "ErrorRuns",
    "Event",
    "Gathered",
    "HungUp",
    "Limits",
    "Paused",
    "Payload",
    "Played",
    "RecordStarted",
    "RecordStopped",
    "RecordWaited",
    "Recorded",
    "RecordingEnded",
    "Requested",
    "Ring",
    "Said",
    "Transcript",
    "Voice",
    "load_flow",
    "parse_press",
    "simulate",
    "simulate_async",
]

for _code, _title in (
    ("CF901", "simulated request failed"),
    ("CF902", "simulated request timed out"),
    ("CF903", "reply to a simulated request is not call XML"),
    ("CF904", "too many redirects in a simulated request"),
    ("CF905", "request limit reached in a simulated call (callback loop?)"),
    ("CF906", "step limit reached in a simulated call"),
    ("CF907", "simulated call length limit reached"),
    ("CF908", "media failed to play in a simulated call"),
    ("CF909", "tag unknown to the simulator, skipped"),
    ("CF910", "caller script entries never used"),
    ("CF911", "RecordStop with no recording running"),
    ("CF912", "attribute value not understood by the simulator"),
):
    register_code(_code, _title)


class _CallableModule(types.ModuleType):
    """Importing ``callflow.simulate`` binds the *module* as ``callflow.simulate``, which
    would hide the `simulate` function exported under the same name; making the module
    callable keeps ``callflow.simulate(...)`` working whichever of the two is bound."""

    def __call__(self, *args: Any, **kwargs: Any) -> Transcript:
        return simulate(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
