"""The lint rules: each a stable CF3xx code, a default severity, the tags it visits, and its visit.

A visit looks at one element and returns its findings there (an empty tuple, mostly): the element
(and attribute) at fault, a message, a hint, and, for the safe cases, a `Fix` that says *what* to
change (`callflow.fix` decides *how* to change the author's text). What several visits need about
the same element is a fact (below), computed once per document through `LintContext.fact`.
"""

from __future__ import annotations

from lxml import etree

from callflow.diagnostics import Severity
from callflow.lint._model import (
    AddAttribute,
    BranchesToSwitch,
    Finding,
    Findings,
    LintContext,
    RenameAttribute,
    ReplaceElement,
    rule,
)
from callflow.lint._tree import (
    GATHER_LEGACY_A,
    GATHER_LEGACY_B,
    GATHER_RENAMES,
    LEGACY_A,
    LEGACY_B,
    MENU_TAGS,
    SECONDS_THRESHOLD,
    attribute_sets,
    children,
    default_callback_method,
    document_order,
    finish_keys_below,
    first_hangup,
    first_recordings,
    free_key,
    gather_digits,
    gather_finish_key,
    int_or_none,
    menu_branches,
    name_of,
    quote_attribute,
    short,
    stripped_text,
)

Element = etree._Element
NOTHING: Findings = ()

# ---------------------------------------------------------------- the rules


@rule(
    "CF301",
    "unreachable-after-hangup",
    "actions after <Hangup> never run",
    Severity.WARNING,
    tags=("Hangup",),
    needs=(first_hangup,),
)
def _after_hangup(hangup: Element, context: LintContext) -> Findings:
    if hangup.getnext() is None:  # the usual place: last in its block
        return NOTHING
    block = hangup.getparent()
    if block is None or block.tag not in context.kinds.blocks:
        return NOTHING
    if context.fact(first_hangup, block) is not hangup:
        return NOTHING  # the block's first <Hangup> speaks for all that follow
    actions = context.kinds.actions
    unreachable = [sibling for sibling in hangup.itersiblings() if sibling.tag in actions]
    if not unreachable:
        return NOTHING
    count = len(unreachable)
    noun = "action" if count == 1 else "actions"
    return (
        Finding(
            "CF301",
            unreachable[0],
            f"<{name_of(unreachable[0])}> never runs: it follows <Hangup/> "
            f"({context.where(hangup)}) in the same block ({count} {noun} unreachable)",
            hint="move these actions before <Hangup/>, or delete them",
        ),
    )


@rule(
    "CF302",
    "duplicate-branch",
    "two branches of one menu match the same keys",
    Severity.WARNING,
    tags=MENU_TAGS,
    needs=(children,),
)
def _duplicate_branch(menu: Element, context: LintContext) -> Findings:
    found = context.fact(children, menu).branches
    if len(found) < 2 or len({value for _, value, _ in found}) == len(found):
        return NOTHING
    first: dict[str, Element] = {}
    repeats: list[Finding] = []
    for branch, value, attribute in found:
        earlier = first.setdefault(value, branch)
        if earlier is branch:
            continue
        repeats.append(
            Finding(
                "CF302",
                branch,
                f'<{name_of(branch)} {attribute}="{value}"> repeats the branch at '
                f"{context.where(earlier)}; only the first one ever runs",
                hint="merge the two branches, or give this one the keys you meant",
                attribute=attribute,
            )
        )
    return repeats


@rule(
    "CF303",
    "branch-longer-than-digits",
    "a branch needs more digits than the menu collects",
    Severity.WARNING,
    tags=("Gather",),
    needs=(menu_branches, children),
)
def _branch_too_long(gather: Element, context: LintContext) -> Findings:
    found = context.derived(menu_branches, gather)
    if not found:
        return NOTHING
    digits, source = gather_digits(gather)
    if max(len(value) for _, value, _ in found) <= digits:
        return NOTHING
    said = f'{source}="{digits}"' if source else "numDigits defaults to 1"
    return [
        Finding(
            "CF303",
            branch,
            f'<{name_of(branch)} {attribute}="{value}"> can never match: the <Gather> collects at '
            f"most {digits} digit{'s' if digits != 1 else ''} ({said})",
            hint=f'set numDigits="{len(value)}" on the <Gather>, or shorten this value',
            attribute=attribute,
        )
        for branch, value, attribute in found
        if len(value) > digits
    ]


@rule(
    "CF304",
    "branch-uses-finish-key",
    "a branch contains the key that ends input",
    Severity.WARNING,
    tags=("Gather",),
    needs=(menu_branches, children, finish_keys_below),
)
def _branch_finish_key(gather: Element, context: LintContext) -> Findings:
    found = context.derived(menu_branches, gather)
    if not found:
        return NOTHING
    key, source = gather_finish_key(gather)
    stopped = [(branch, value, attribute) for branch, value, attribute in found if key in value]
    if not stopped:
        return NOTHING
    said = f'{source}="{key}"' if source else f"finishOnKey defaults to {key}"
    free = free_key(context.fact(finish_keys_below, context.document.root)[gather])
    return [
        Finding(
            "CF304",
            branch,
            f'<{name_of(branch)} {attribute}="{value}"> can never match: "{key}" ends the input '
            f"instead of being collected ({said})",
            hint=f'set finishOnKey to a key no branch uses (e.g. finishOnKey="{free}")',
            attribute=attribute,
        )
        for branch, value, attribute in stopped
    ]


@rule(
    "CF305",
    "duration-in-seconds",
    "a duration so small it was surely written in seconds",
    Severity.WARNING,
    tags=lambda kinds: kinds.durations_of,
)
def _duration_in_seconds(element: Element, context: LintContext) -> Findings:
    found: list[Finding] = []
    tag: str = element.tag  # type: ignore[assignment]
    for attribute in context.kinds.durations_of[tag]:
        value = int_or_none(element.get(attribute))
        if value is None or not 0 < value < SECONDS_THRESHOLD:
            continue  # the usual case: a duration in milliseconds, or none written
        found.append(
            Finding(
                "CF305",
                element,
                f'<{tag} {attribute}="{value}"> is {value} millisecond{"s" if value != 1 else ""}'
                "; durations in call XML are milliseconds",
                hint=f"if you meant {value} second{'s' if value != 1 else ''}, write "
                f'{attribute}="{value * 1000}"',
                attribute=attribute,
            )
        )
    return found


@rule(
    "CF306",
    "callback-without-method",
    "<Callback> without method",
    Severity.WARNING,
    tags=("Callback",),
    fixable=True,
)
def _callback_method(callback: Element, context: LintContext) -> Findings:
    if callback.get("method") is not None:
        return NOTHING
    method = default_callback_method(callback)
    return (
        Finding(
            "CF306",
            callback,
            "<Callback> has no method; the platform's default is undocumented",
            hint=f'write the method you expect, e.g. method="{method}" (--fix writes that)',
            fix=AddAttribute(callback, "method", method),
        ),
    )


@rule(
    "CF307",
    "callback-without-error",
    "<Callback> without an <Error> block",
    Severity.WARNING,
    tags=("Callback",),
    needs=(children,),
)
def _callback_error(callback: Element, context: LintContext) -> Findings:
    tags = context.fact(children, callback).tags
    if "Error" in tags:
        return NOTHING
    return (
        Finding(
            "CF307",
            callback,
            "<Callback> has no <Error> block: if the fetch fails, times out or returns bad "
            "XML, the caller is left with nothing",
            hint="add <Error> with a fallback, e.g. <Error><Say>Sorry…</Say><Hangup/></Error>",
        ),
    )


#: Where a URL that receives call data is written: tag → attributes (None: the element's text).
URL_PLACES: dict[str, tuple[str | None, ...]] = {
    "Callback": ("url",),
    "Gather": ("url", "callback"),
    "callback": (None,),
}


@rule(
    "CF308",
    "insecure-url",
    "a URL that receives call data is not https",
    Severity.WARNING,
    tags=URL_PLACES,
)
def _insecure_url(element: Element, context: LintContext) -> Findings:
    found: list[Finding] = []
    tag: str = element.tag  # type: ignore[assignment]
    for attribute in URL_PLACES[tag]:
        url = (element.get(attribute) if attribute else element.text) or ""
        if not url.strip().lower().startswith("http://"):
            continue
        shown = f" {attribute}" if attribute else ""
        found.append(
            Finding(
                "CF308",
                element,
                f"<{tag}>{shown} uses plain http ({short(url.strip(), 60)}): call data and "
                "the next document travel unencrypted",
                hint="use https://",
                attribute=attribute,
                text=attribute is None,
            )
        )
    return found


@rule(
    "CF309",
    "play-unknown-recording",
    "<Play record> names no earlier <Record tag>",
    Severity.WARNING,
    tags={"Play": ("record",)},
    needs=(first_recordings, document_order),
)
def _play_unknown_recording(play: Element, context: LintContext) -> Findings:
    record = play.get("record")
    if record is None:
        return NOTHING
    name = record.strip()
    root = context.document.root
    first = context.fact(first_recordings, root).get(name)
    if first is not None:
        order = context.fact(document_order, root)
        if order[first] < order[play]:
            return NOTHING
    where = (
        f"; the <Record> at {context.where(first)} comes only after it" if first is not None else ""
    )
    return (
        Finding(
            "CF309",
            play,
            f'<Play record="{name}"> replays a recording that no earlier <Record tag="{name}"> '
            f"makes{where}",
            hint=f'record it first with <Record tag="{name}"/>, or fix the name',
            attribute="record",
        ),
    )


@rule("CF310", "say-nothing", "<Say> has nothing to say", Severity.ERROR, tags=("Say",))
def _say_nothing(say: Element, context: LintContext) -> Findings:
    if stripped_text(say):
        return NOTHING
    attribute = say.get("text")
    if attribute is not None and attribute.strip():
        return NOTHING
    written = "its text attribute is empty" if attribute is not None else "it has no text"
    return (
        Finding(
            "CF310",
            say,
            f"<Say> has nothing to say: {written}",
            hint="put the words between the tags: <Say>Welcome to Acme.</Say>",
            attribute="text" if attribute is not None else None,
        ),
    )


@rule(
    "CF311",
    "say-text-twice",
    "<Say> has both element text and a text attribute",
    Severity.ERROR,
    tags={"Say": ("text",)},
)
def _say_twice(say: Element, context: LintContext) -> Findings:
    if say.get("text") is None or not stripped_text(say):
        return NOTHING
    return (
        Finding(
            "CF311",
            say,
            "<Say> has both element text and a text attribute; which one is spoken is undefined",
            hint='keep the element text (the canonical form) and remove text="…"',
            attribute="text",
        ),
    )


@rule(
    "CF312",
    "play-source",
    "<Play> needs exactly one of: URL text, url, record",
    Severity.ERROR,
    tags=("Play",),
)
def _play_source(play: Element, context: LintContext) -> Findings:
    text = bool(stripped_text(play))
    url = play.get("url") is not None
    record = play.get("record") is not None
    if text + url + record == 1:
        return NOTHING  # the usual case: one source
    sources = [
        name
        for name, present in (("a URL as its text", text), ("url=", url), ("record=", record))
        if present
    ]
    if not sources:
        message = "<Play> has nothing to play"
        hint = "give the audio URL as its text: <Play>https://…/greeting.mp3</Play>"
    else:
        message = f"<Play> has {' and '.join(sources)}; give exactly one source"
        hint = "keep one: the URL as text (canonical), or record= to replay a recording"
    return (Finding("CF312", play, message, hint=hint),)


@rule(
    "CF313",
    "menu-without-default",
    "a menu without <Default>",
    Severity.WARNING,
    tags=MENU_TAGS,
    needs=(children,),
)
def _menu_default(menu: Element, context: LintContext) -> Findings:
    tags = context.fact(children, menu).tags
    if "Default" in tags:
        return NOTHING
    if menu.tag == "Switch":
        return (
            Finding(
                "CF313",
                menu,
                "<Switch> has no <Default>: a caller who presses another key (or none) gets "
                "no answer from the menu",
                hint="add <Default> after the last <Case>, e.g. to repeat the options",
            ),
        )
    if "DTMF" not in tags:
        return NOTHING
    return (
        Finding(
            "CF313",
            menu,
            "<Gather> with <DTMF> branches has no <Default>: other keys get no answer",
            hint="add <Default> after the last <DTMF>",
        ),
    )


@rule(
    "CF314",
    "gather-without-prompt",
    "<Gather> plays no prompt",
    Severity.WARNING,
    tags=("Gather",),
    needs=(children,),
)
def _gather_prompt(gather: Element, context: LintContext) -> Findings:
    tags = context.fact(children, gather).tags
    if "Say" in tags or "Play" in tags:  # a <Pause> alone is silence
        return NOTHING
    return (
        Finding(
            "CF314",
            gather,
            "<Gather> plays no prompt: the caller hears silence while the menu waits for keys",
            hint="put a <Say> or <Play> inside the <Gather>, before its branches",
        ),
    )


@rule(
    "CF315",
    "legacy-callback",
    "legacy lower-case <callback>",
    Severity.WARNING,
    tags=("callback",),
    fixable=True,
)
def _legacy_callback(legacy: Element, context: LintContext) -> Findings:
    url = stripped_text(legacy)
    canonical = f'<Callback url="{quote_attribute(url)}" method="GET"/>'
    clean = url and not legacy.attrib and len(legacy) == 0
    return (
        Finding(
            "CF315",
            legacy,
            "<callback>URL</callback> is the legacy form of <Callback>",
            hint=f"write {canonical}" if url else 'write <Callback url="https://…" method="GET"/>',
            fix=ReplaceElement(legacy, canonical) if clean else None,
        ),
    )


@rule(
    "CF316",
    "legacy-gather-digits",
    "legacy <Gather> attribute set A",
    Severity.WARNING,
    tags={"Gather": GATHER_LEGACY_A},
    needs=(attribute_sets,),
    fixable=True,
)
def _legacy_gather_a(gather: Element, context: LintContext) -> Findings:
    present = context.fact(attribute_sets, gather).get(LEGACY_A)
    if present is None:
        return NOTHING
    targets = [GATHER_RENAMES[a] for a in present if a in GATHER_RENAMES]
    found: list[Finding] = []
    for attribute in present:
        canonical = GATHER_RENAMES.get(attribute)
        value = (gather.get(attribute) or "").strip()
        if canonical is None:  # url: the digits go to a remote endpoint
            found.append(
                Finding(
                    "CF316",
                    gather,
                    f'<Gather url="…"> is legacy set A: the digits are sent to {short(value)}',
                    hint="use <Switch> with a <Case dtmf> per key, each with "
                    f'<Callback url="{short(value)}" method="GET"/> where the server decides',
                    attribute=attribute,
                )
            )
            continue
        safe = gather.get(canonical) is None and targets.count(canonical) == 1
        found.append(
            Finding(
                "CF316",
                gather,
                f'<Gather {attribute}="{value}"> is legacy; the canonical attribute is '
                f'{canonical}="{value}"',
                hint=f'write {canonical}="{value}"'
                + ("" if safe else f" (and remove the other {canonical} source)"),
                attribute=attribute,
                fix=RenameAttribute(gather, attribute, canonical) if safe else None,
            )
        )
    return found


@rule(
    "CF317",
    "legacy-gather-callback",
    "legacy <Gather> attribute set B",
    Severity.WARNING,
    tags={"Gather": GATHER_LEGACY_B},
    needs=(attribute_sets,),
)
def _legacy_gather_b(gather: Element, context: LintContext) -> Findings:
    present = context.fact(attribute_sets, gather).get(LEGACY_B)
    if present is None:
        return NOTHING
    url = short((gather.get("callback") or "https://…").strip())
    method = (gather.get("method") or "GET").strip().upper()
    return (
        Finding(
            "CF317",
            gather,
            f"<Gather {' '.join(present)}> is legacy set B (a URL called after each attempt)",
            hint=f"use numDigits/attempts/timeout/finishOnKey with a <Switch>; to let a server "
            f'decide, put <Callback url="{url}" method="{method}"/> in the <Case> branches',
            attribute=present[0],
        ),
    )


@rule(
    "CF318",
    "legacy-dtmf-branches",
    "legacy <DTMF value> branches",
    Severity.WARNING,
    tags=("Gather",),
    needs=(children,),
    fixable=True,
)
def _legacy_dtmf(gather: Element, context: LintContext) -> Findings:
    own = context.fact(children, gather)
    tags = own.tags
    if "DTMF" not in tags:
        return NOTHING
    elements = own.elements
    branches = [child for child in elements if child.tag == "DTMF"]
    first = elements.index(branches[0])
    end = first + len(branches)
    contiguous = all(child.tag == "DTMF" for child in elements[first:end])
    after = elements[end] if end < len(elements) else None
    default = after if after is not None and after.tag == "Default" else None
    fix = (
        BranchesToSwitch(gather, branches, default) if contiguous and "Switch" not in tags else None
    )
    return (
        Finding(
            "CF318",
            branches[0],
            "<DTMF value> branches are the legacy form of <Switch> with <Case dtmf> branches",
            hint='write <Switch><Case dtmf="1">…</Case>…<Default>…</Default></Switch>',
            fix=fix,
        ),
    )


@rule(
    "CF319",
    "gather-mixed-sets",
    "<Gather> mixes attribute sets",
    Severity.WARNING,
    tags={"Gather": GATHER_LEGACY_A + GATHER_LEGACY_B},  # a mix holds a legacy attribute
    needs=(attribute_sets,),
)
def _mixed_sets(gather: Element, context: LintContext) -> Findings:
    sets = context.fact(attribute_sets, gather)
    if len(sets) < 2:
        return NOTHING
    described = "; ".join(f"{name}: {', '.join(used)}" for name, used in sets.items())
    return (
        Finding(
            "CF319",
            gather,
            f"<Gather> mixes attribute sets ({described}); which set the platform obeys is "
            "undefined",
            hint="use only the canonical set: numDigits, attempts, timeout, finishOnKey",
            attribute=list(sets.values())[1][0],
        ),
    )


@rule(
    "CF320",
    "absurd-repeat",
    "an absurd loop or attempts count",
    Severity.WARNING,
    tags=(),
    attributes=("loop", "attempts"),  # on any element: a misspelt tag's count is as absurd
)
def _absurd_repeat(element: Element, context: LintContext) -> Findings:
    config = context.config
    loop = int_or_none(element.get("loop"))
    attempts = int_or_none(element.get("attempts"))
    if (loop is None or loop <= config.max_loop) and (
        attempts is None or attempts <= config.max_attempts
    ):
        return NOTHING  # the usual case: small counts, or none written
    found: list[Finding] = []
    for attribute, value, limit in (
        ("loop", loop, config.max_loop),
        ("attempts", attempts, config.max_attempts),
    ):
        if value is None or value <= limit:
            continue
        found.append(
            Finding(
                "CF320",
                element,
                f'<{name_of(element)} {attribute}="{value}"> repeats {value} times; more than '
                f"{limit} is surely a mistake",
                hint=f"use a small count (the limit is {limit}; raise it with "
                f"max-{attribute} in [tool.callflow])",
                attribute=attribute,
            )
        )
    return found
