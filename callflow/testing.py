"""Testing call flows: pytest assertions on transcripts and hypothesis strategies.

::

    from callflow.simulate import Caller, simulate
    from callflow.testing import assert_branch, assert_hung_up, assert_said

    def test_balance():
        transcript = simulate("ivr.xml", Caller(presses=["2", "4"]), app=app)
        assert_branch(transcript, "2")
        assert_said(transcript, r"balance is \\d+")
        assert_hung_up(transcript, tag="balance-told")

The strategies (`call_flows`, `caller_scripts`, `url_replies`) generate schema-valid flows
and caller scripts, so an app's webhooks can be property-tested: every generated call must
end within the simulator's limits, whatever the caller does. Needs ``hypothesis``
(``pip install 'opentact-callflow[testing]'``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence

from hypothesis import strategies as st
from lxml import etree

from callflow.document import Document
from callflow.simulate import Caller, DialOutcome, Event, Transcript
from callflow.vocabulary import load_vocabulary

__all__ = [
    "assert_branch",
    "assert_dialled",
    "assert_hung_up",
    "assert_no_problems",
    "assert_not_said",
    "assert_said",
    "call_flows",
    "caller_scripts",
    "flow_texts",
    "url_replies",
]

# ------------------------------------------------------------------ assertions


def _fail(message: str, transcript: Transcript) -> AssertionError:
    return AssertionError(f"{message}\n\ntranscript:\n{transcript.render()}")


def _pattern(pattern: str | re.Pattern[str]) -> re.Pattern[str]:
    return re.compile(pattern) if isinstance(pattern, str) else pattern


def assert_said(transcript: Transcript, pattern: str | re.Pattern[str]) -> Event:
    """Some `<Say>` text matches ``pattern`` (a regex, searched); returns the first such event."""
    __tracebackhide__ = True
    regex = _pattern(pattern)
    for event in transcript.of("say"):
        if regex.search(str(event.data["text"])):
            return event
    raise _fail(f"nothing said matches {regex.pattern!r}", transcript)


def assert_not_said(transcript: Transcript, pattern: str | re.Pattern[str]) -> None:
    """No `<Say>` text matches ``pattern``."""
    __tracebackhide__ = True
    regex = _pattern(pattern)
    for event in transcript.of("say"):
        if regex.search(str(event.data["text"])):
            raise _fail(f"{event.data['text']!r} was said ({event.location})", transcript)


def assert_dialled(
    transcript: Transcript, target: str, *, outcome: DialOutcome | str | None = None
) -> Event:
    """``target`` was rung by a `<Dial>` (with ``outcome``, if given); returns that event."""
    __tracebackhide__ = True
    wanted = DialOutcome.parse(outcome).value if outcome is not None else None
    rung: list[str] = []
    for event in transcript.of("dial"):
        for ring in event.data["targets"]:
            rung.append(f"{ring['target']} ({ring['outcome']})")
            if ring["target"] == target and wanted in (None, ring["outcome"]):
                return event
    expected = target + (f" with outcome {wanted}" if wanted else "")
    seen = ", ".join(rung) if rung else "nothing was dialled"
    raise _fail(f"{expected} was not dialled; dialled: {seen}", transcript)


def assert_hung_up(
    transcript: Transcript, *, by: str | None = None, tag: str | None = None
) -> Event:
    """The call ended by a hangup (``by`` ``"flow"`` or ``"caller"``; `<Hangup tag>`)."""
    __tracebackhide__ = True
    for event in transcript.of("hangup"):
        if by in (None, event.data["by"]) and tag in (None, event.data.get("tag")):
            return event
    wanted = " ".join(
        part for part in (f"by {by}" if by else "", f"with tag {tag!r}" if tag else "") if part
    )
    raise _fail(
        f"the call did not hang up{' ' + wanted if wanted else ''} "
        f"(it ended by {transcript.ended_by})",
        transcript,
    )


def assert_branch(transcript: Transcript, branch: str, *, attempt: int | None = None) -> Event:
    """A `<Gather>` took ``branch``: the digits of a `<Case>`, or ``default``, ``error``,
    ``retry``, ``none``, ``remote`` (at ``attempt``, if given)."""
    __tracebackhide__ = True
    for event in transcript.of("gather"):
        taken = event.data["match"] if event.data["branch"] == "case" else event.data["branch"]
        if taken == branch and attempt in (None, event.data["attempt"]):
            return event
    raise _fail(
        f"no <Gather> took branch {branch!r}; branches taken: {transcript.branches}", transcript
    )


def assert_no_problems(transcript: Transcript) -> None:
    """The call met no failure: no error or warning diagnostics."""
    __tracebackhide__ = True
    problems = [d for d in transcript.diagnostics if d.severity.value in ("error", "warning")]
    if problems:
        raise _fail("\n".join(str(d) for d in problems), transcript)


# ------------------------------------------------------------------ strategies

DEFAULT_CALLBACK_URLS = (
    "https://app.example.com/flows/next",
    "https://app.example.com/flows/menu",
)
DEFAULT_MEDIA_URLS = (
    "https://media.example.com/hello.wav",
    "https://media.example.com/hold.mp3",
)
DEFAULT_DIAL_TARGETS = ("+15550100001", "sip:desk@pbx.example.com", "agent@pbx.example.com")
DEFAULT_SIP_TARGETS = ("operator@pbx.example.com:5060", "backup@pbx.example.com")
_WORDS = ("hello", "press", "one", "two", "for", "billing", "sorry", "goodbye", "please", "hold")
_RECORD_TAGS = ("message", "note")
_KEY_ALPHABET = "0123456789*#"


def _element(tag: str, attributes: dict[str, str], text: str | None = None) -> etree._Element:
    element = etree.Element(tag, {k: v for k, v in attributes.items()})
    if text is not None:
        element.text = text
    return element


def _optional(draw: st.DrawFn, strategy: st.SearchStrategy[str]) -> str | None:
    return draw(st.none() | strategy)


def _attributes(draw: st.DrawFn, **options: st.SearchStrategy[str]) -> dict[str, str]:
    chosen: dict[str, str] = {}
    for name, strategy in options.items():
        value = _optional(draw, strategy)
        if value is not None:
            chosen[name] = value
    return chosen


def _number(low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(str)


@st.composite
def _say(draw: st.DrawFn) -> etree._Element:
    words = draw(st.lists(st.sampled_from(_WORDS), min_size=1, max_size=8))
    attributes = _attributes(
        draw,
        type=st.sampled_from(("Standard", "WaveNet")),
        gender=st.sampled_from(("MALE", "FEMALE")),
        lang=st.sampled_from(("en-US", "en-GB", "es")),
        loop=_number(1, 3),
    )
    return _element("Say", attributes, " ".join(words).capitalize() + ".")


def _play(media_urls: Sequence[str]) -> st.SearchStrategy[etree._Element]:
    @st.composite
    def build(draw: st.DrawFn) -> etree._Element:
        attributes = _attributes(draw, loop=_number(1, 2))
        if draw(st.booleans()):
            return _element("Play", attributes, draw(st.sampled_from(media_urls)))
        attributes["record"] = draw(st.sampled_from(_RECORD_TAGS))
        return _element("Play", attributes)

    return build()


@st.composite
def _pause(draw: st.DrawFn) -> etree._Element:
    return _element("Pause", _attributes(draw, length=_number(0, 5000)))


def _answer() -> st.SearchStrategy[etree._Element]:
    delays = _attributes_of(delay=_number(0, 2000))
    return st.builds(lambda attributes: _element("Answer", attributes), delays)


def _hangup() -> st.SearchStrategy[etree._Element]:
    tags = st.sampled_from(("done", "bye"))
    return st.builds(lambda attributes: _element("Hangup", attributes), _attributes_of(tag=tags))


def _empty(tag: str) -> st.SearchStrategy[etree._Element]:
    return st.builds(lambda: _element(tag, {}))


def _attributes_of(**options: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, str]]:
    @st.composite
    def build(draw: st.DrawFn) -> dict[str, str]:
        return _attributes(draw, **options)

    return build()


class _Targets:
    """The URLs and targets generated flows refer to."""

    def __init__(
        self,
        callback_urls: Sequence[str],
        media_urls: Sequence[str],
        dial_targets: Sequence[str],
        call_values: Sequence[str],
    ) -> None:
        self.callback_urls = tuple(callback_urls)
        self.media_urls = tuple(media_urls)
        self.dial_targets = tuple(dial_targets)
        self.call_values = tuple(call_values)


def _actions(
    targets: _Targets, depth: int, max_actions: int
) -> st.SearchStrategy[list[etree._Element]]:
    return st.lists(_action(targets, depth, max_actions), max_size=max_actions)


#: A strategy for one tag: given the flows' URLs and targets, the nesting depth left and the
#: number of actions a block may hold.
_Builder = Callable[["_Targets", int, int], st.SearchStrategy[etree._Element]]


@functools.cache
def _action_builders() -> dict[str, _Builder]:
    """One strategy per action tag of the schema."""
    return {
        "Answer": lambda targets, depth, size: _answer(),
        "Say": lambda targets, depth, size: _say(),
        "Play": lambda targets, depth, size: _play(targets.media_urls),
        "Pause": lambda targets, depth, size: _pause(),
        "Hangup": lambda targets, depth, size: _hangup(),
        "Record": _record,
        "RecordStart": lambda targets, depth, size: _empty("RecordStart"),
        "RecordStop": lambda targets, depth, size: _empty("RecordStop"),
        "RecordWait": lambda targets, depth, size: _empty("RecordWait"),
        "Gather": _gather,
        "Dial": _dial,
        "Callback": _callback,
        "callback": _legacy_callback,
        "Call": _call,
    }


#: Actions that are drawn only where a block may still nest (they need branches or a body).
_NESTING_ACTIONS = frozenset({"Gather", "Call"})


@functools.cache
def _schema_tags() -> tuple[tuple[str, ...], tuple[str, ...], frozenset[str]]:
    """The action tags and prompt tags in schema order, and the tags that hold actions."""
    vocabulary = load_vocabulary()
    actions = vocabulary.members("Action")
    prompts = vocabulary.members("Prompt")
    in_order = tuple(vocabulary.elements)
    return (
        tuple(t for t in in_order if t in actions),
        tuple(t for t in in_order if t in prompts),
        vocabulary.holding("Action"),
    )


def _action(targets: _Targets, depth: int, max_actions: int) -> st.SearchStrategy[etree._Element]:
    builders = _action_builders()
    actions, _, _ = _schema_tags()
    return st.one_of(
        [
            builders[tag](targets, depth, max_actions)
            for tag in actions
            if depth > 0 or tag not in _NESTING_ACTIONS
        ]
    )


def _prompt(targets: _Targets) -> st.SearchStrategy[etree._Element]:
    builders = _action_builders()
    _, prompts, _ = _schema_tags()
    return st.one_of([builders[tag](targets, 0, 0) for tag in prompts])


def _block(
    tag: str, targets: _Targets, depth: int, max_actions: int, attributes: dict[str, str]
) -> st.SearchStrategy[etree._Element]:
    _, _, blocks = _schema_tags()
    if tag not in blocks:
        raise ValueError(f"<{tag}> holds no actions in the schema")

    @st.composite
    def build(draw: st.DrawFn) -> etree._Element:
        element = _element(tag, attributes)
        if depth > 0:
            element.extend(draw(_actions(targets, depth - 1, max(1, max_actions // 2))))
        return element

    return build()


def _error_block(
    draw: st.DrawFn, targets: _Targets, depth: int, max_actions: int
) -> etree._Element | None:
    if not draw(st.booleans()):
        return None
    return draw(_block("Error", targets, depth, max_actions, {}))


def _record(targets: _Targets, depth: int, max_actions: int) -> st.SearchStrategy[etree._Element]:
    @st.composite
    def build(draw: st.DrawFn) -> etree._Element:
        attributes = _attributes(
            draw,
            tag=st.sampled_from(_RECORD_TAGS),
            asr=st.sampled_from(("true", "false")),
            timeout=_number(0, 60000),
        )
        return draw(_block("Record", targets, depth, max_actions, attributes))

    return build()


def _call(targets: _Targets, depth: int, max_actions: int) -> st.SearchStrategy[etree._Element]:
    @st.composite
    def build(draw: st.DrawFn) -> etree._Element:
        attributes = {
            "field": draw(st.sampled_from(("from", "to"))),
            "value": draw(st.sampled_from(targets.call_values)),
        }
        return draw(_block("Call", targets, depth, max_actions, attributes))

    return build()


def _dial(targets: _Targets, depth: int, max_actions: int) -> st.SearchStrategy[etree._Element]:
    @st.composite
    def build(draw: st.DrawFn) -> etree._Element:
        dial = _element("Dial", {})
        for _ in range(draw(st.integers(1, 3))):
            if draw(st.booleans()):
                dial.append(_element("To", {}, draw(st.sampled_from(targets.dial_targets))))
            else:
                dial.append(_element("Sip", {}, draw(st.sampled_from(DEFAULT_SIP_TARGETS))))
        error = _error_block(draw, targets, depth, max_actions)
        if error is not None:
            dial.append(error)
        return dial

    return build()


def _callback(targets: _Targets, depth: int, max_actions: int) -> st.SearchStrategy[etree._Element]:
    @st.composite
    def build(draw: st.DrawFn) -> etree._Element:
        url = draw(st.sampled_from(targets.callback_urls))
        attributes = {"url": url, "method": draw(st.sampled_from(("GET", "POST")))}
        attributes.update(
            _attributes(
                draw,
                body=st.sampled_from(("true", "false")),
                timeout=_number(100, 10000),
                tag=st.sampled_from(("menu", "next")),
            )
        )
        callback = _element("Callback", attributes)
        error = _error_block(draw, targets, depth, max_actions)
        if error is not None:
            callback.append(error)
        return callback

    return build()


def _legacy_callback(
    targets: _Targets, depth: int, max_actions: int
) -> st.SearchStrategy[etree._Element]:
    return st.sampled_from(targets.callback_urls).map(lambda url: _element("callback", {}, url))


def _gather(targets: _Targets, depth: int, max_actions: int) -> st.SearchStrategy[etree._Element]:
    @st.composite
    def build(draw: st.DrawFn) -> etree._Element:
        num_digits = draw(st.integers(1, 2))
        attributes = {"numDigits": str(num_digits)}
        attributes.update(
            _attributes(
                draw,
                attempts=_number(1, 3),
                timeout=_number(0, 10000),
                finishOnKey=st.sampled_from(("#", "*")),
            )
        )
        gather = _element("Gather", attributes)
        gather.extend(draw(st.lists(_prompt(targets), max_size=2)))
        keys = st.text(alphabet="0123456789", min_size=1, max_size=num_digits)
        dtmfs = draw(st.lists(keys, min_size=1, max_size=3, unique=True))
        legacy = draw(st.integers(0, 4)) == 0
        branch_tag, key_attribute = ("DTMF", "value") if legacy else ("Case", "dtmf")
        holder = gather if legacy else _element("Switch", {})
        for dtmf in dtmfs:
            holder.append(
                draw(_block(branch_tag, targets, depth, max_actions, {key_attribute: dtmf}))
            )
        if draw(st.booleans()):
            holder.append(draw(_block("Default", targets, depth, max_actions, {})))
        if not legacy:
            error = _error_block(draw, targets, depth, max_actions)
            if error is not None:
                holder.append(error)
            gather.append(holder)
        return gather

    return build()


def call_flows(
    *,
    max_depth: int = 2,
    max_actions: int = 5,
    callback_urls: Sequence[str] = DEFAULT_CALLBACK_URLS,
    media_urls: Sequence[str] = DEFAULT_MEDIA_URLS,
    dial_targets: Sequence[str] = DEFAULT_DIAL_TARGETS,
    call_values: Sequence[str] = ("+15550001234", "+15550100000", "+15559999999"),
    name: str = "<generated flow>",
) -> st.SearchStrategy[Document]:
    """Random schema-valid call flows (Documents), nesting blocks up to ``max_depth``.

    `<Callback>`s request ``callback_urls``, `<Play>` uses ``media_urls``, `<Dial>` rings
    ``dial_targets``, `<Call>` compares with ``call_values``: point them at your app's
    routes to property-test it.
    """
    return flow_texts(
        max_depth=max_depth,
        max_actions=max_actions,
        callback_urls=callback_urls,
        media_urls=media_urls,
        dial_targets=dial_targets,
        call_values=call_values,
    ).map(lambda text: Document.from_text(text, name))


def flow_texts(
    *,
    max_depth: int = 2,
    max_actions: int = 5,
    callback_urls: Sequence[str] = DEFAULT_CALLBACK_URLS,
    media_urls: Sequence[str] = DEFAULT_MEDIA_URLS,
    dial_targets: Sequence[str] = DEFAULT_DIAL_TARGETS,
    call_values: Sequence[str] = ("+15550001234", "+15550100000", "+15559999999"),
) -> st.SearchStrategy[str]:
    """`call_flows` as XML text (one element per line), e.g. for a webhook to return."""
    targets = _Targets(callback_urls, media_urls, dial_targets, call_values)

    @st.composite
    def build(draw: st.DrawFn) -> str:
        response = _element("Response", {})
        response.extend(draw(_actions(targets, max_depth, max_actions)))
        if draw(st.booleans()):
            response.append(draw(_block("Error", targets, max_depth, max_actions, {})))
        text: str = etree.tostring(response, pretty_print=True, encoding="unicode")
        return text

    return build()


def caller_scripts(
    *,
    max_presses: int = 6,
    dial_targets: Sequence[str] = DEFAULT_DIAL_TARGETS + DEFAULT_SIP_TARGETS,
    media_urls: Sequence[str] = DEFAULT_MEDIA_URLS,
) -> st.SearchStrategy[Caller]:
    """Random callers: key presses (sometimes silence, rarely a hangup), dial outcomes,
    failing media, and sometimes a hangup at a given step."""
    keys = st.text(alphabet=_KEY_ALPHABET, min_size=1, max_size=4)
    # one_of picks a branch uniformly: listing keys thrice makes a hangup the rare entry.
    press = st.one_of(keys, keys, keys, st.just("silence"), st.just("hangup"))
    outcomes = st.sampled_from(list(DialOutcome))
    return st.builds(
        Caller,
        presses=st.lists(press, max_size=max_presses),
        dial=st.dictionaries(st.sampled_from(tuple(dial_targets)), outcomes),
        dial_default=outcomes,
        failing_media=st.frozensets(st.sampled_from(tuple(media_urls))),
        hang_up_at_step=st.none() | st.integers(1, 30),
    )


def url_replies(
    urls: Sequence[str] = DEFAULT_CALLBACK_URLS, *, max_depth: int = 1
) -> st.SearchStrategy[dict[str, str]]:
    """Replies for a `Backend.mapping`: per URL a generated flow (which may call the URLs
    again), an empty body, or text that is not call XML; some URLs stay unmapped (404)."""
    reply = st.one_of(
        flow_texts(max_depth=max_depth, max_actions=3, callback_urls=urls),
        st.sampled_from(("", "not xml at all", "<Other/>", "<Response><Say>cut")),
    )
    return st.dictionaries(st.sampled_from(tuple(urls)), reply)
