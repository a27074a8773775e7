"""The lint rules: each a stable CF3xx code, a default severity and a check over the tree.

A check yields `Finding`s: the element (and attribute) at fault, a message, a hint, and,
for the safe cases, a `Fix` that says *what* to change. `callflow.fix` decides *how* to
change the author's text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import PurePath
from typing import TYPE_CHECKING

from lxml import etree

from callflow.diagnostics import Severity, register_code

if TYPE_CHECKING:
    from callflow.document import Document
    from callflow.lint.config import LintConfig

Element = etree._Element

#: Tags that run as steps of a call.
ACTION_TAGS = frozenset(
    {
        "Answer", "Say", "Play", "Pause", "Hangup", "Record", "RecordStart", "RecordStop",
        "RecordWait", "Gather", "Dial", "Callback", "callback", "Call",
    }
)  # fmt: skip
#: Tags whose children are a sequence of actions run top to bottom.
BLOCK_TAGS = frozenset({"Response", "Case", "Default", "Error", "Call", "DTMF", "Record"})
#: Attributes that hold milliseconds: (tag, attribute).
DURATIONS = (
    ("Gather", "timeout"),
    ("Pause", "length"),
    ("Answer", "delay"),
    ("Record", "timeout"),
    ("Callback", "timeout"),
)
#: Below this many milliseconds a duration was almost surely written in seconds.
SECONDS_THRESHOLD = 100
#: The Gather attribute sets (see the language reference).
GATHER_CANONICAL = ("numDigits", "attempts", "timeout", "finishOnKey")
GATHER_LEGACY_A = ("dtmf_length", "dtmf_stop", "length", "url")
GATHER_LEGACY_B = ("callback", "method")
#: Legacy set A attributes with a canonical twin of the same meaning.
GATHER_RENAMES = {"dtmf_length": "numDigits", "length": "numDigits", "dtmf_stop": "finishOnKey"}
DEFAULT_FINISH_KEY = "*"


# ---------------------------------------------------------------- fixes (what to change)


class AddAttribute:
    """Add ``name="value"`` at the end of an element's start tag."""

    __slots__ = ("element", "name", "value")

    def __init__(self, element: Element, name: str, value: str) -> None:
        self.element, self.name, self.value = element, name, value


class RenameAttribute:
    """Rename one attribute, keeping its value and quoting as written."""

    __slots__ = ("element", "new", "old")

    def __init__(self, element: Element, old: str, new: str) -> None:
        self.element, self.old, self.new = element, old, new


class ReplaceElement:
    """Replace an element (start tag to end tag) by new markup."""

    __slots__ = ("element", "markup")

    def __init__(self, element: Element, markup: str) -> None:
        self.element, self.markup = element, markup


class BranchesToSwitch:
    """Legacy ``<DTMF value>`` branches (and a next ``<Default>``) → ``<Switch><Case dtmf>``."""

    __slots__ = ("branches", "default", "gather")

    def __init__(self, gather: Element, branches: list[Element], default: Element | None) -> None:
        self.gather, self.branches, self.default = gather, branches, default


Fix = AddAttribute | RenameAttribute | ReplaceElement | BranchesToSwitch


class Finding:
    """One rule's verdict on one element, before it becomes a located Diagnostic."""

    __slots__ = ("attribute", "code", "element", "fix", "hint", "message", "text")

    def __init__(
        self,
        code: str,
        element: Element,
        message: str,
        *,
        hint: str | None = None,
        attribute: str | None = None,
        text: bool = False,
        fix: Fix | None = None,
    ) -> None:
        self.code = code
        self.element = element
        self.message = message
        self.hint = hint
        self.attribute = attribute
        self.text = text
        self.fix = fix

    def __repr__(self) -> str:
        return f"Finding({self.code}, <{self.element.tag!s}>: {self.message!r})"


class LintContext:
    """What a check may look at: the Document, the settings, the elements by tag."""

    __slots__ = ("_by_tag", "_order", "config", "document")

    def __init__(self, document: Document, config: LintConfig) -> None:
        self.document = document
        self.config = config
        # One walk of the tree, shared by all rules.
        self._by_tag: dict[str, list[Element]] = {}
        for element in document.iter_elements():
            tag = str(element.tag)
            same = self._by_tag.get(tag)
            if same is None:
                self._by_tag[tag] = [element]
            else:
                same.append(element)
        # Document order is needed only to merge several tags: built on first use.
        self._order: dict[Element, int] | None = None

    def named(self, *names: str) -> list[Element]:
        """The elements with these tag names, in document order."""
        if len(names) == 1:
            return self._by_tag.get(names[0], [])
        found = [element for name in names for element in self._by_tag.get(name, [])]
        if self._order is None:
            elements = self.document.iter_elements()
            self._order = {element: index for index, element in enumerate(elements)}
        return sorted(found, key=self._order.__getitem__)

    def where(self, element: Element) -> str:
        """``line N`` of the author's file, or ``file:N`` when another file made it."""
        location = self.document.locate(element)
        if location.file == self.document.source_map.file:
            return f"line {location.line}"
        return f"{PurePath(location.file).name}:{location.line}"


Check = Callable[[LintContext], Iterator[Finding]]


class Rule:
    """A lint rule: code, short name, one-line title, default severity, fixable or not."""

    __slots__ = ("check", "code", "fixable", "name", "severity", "title")

    def __init__(
        self, code: str, name: str, title: str, severity: Severity, fixable: bool, check: Check
    ) -> None:
        self.code = code
        self.name = name
        self.title = title
        self.severity = severity
        self.fixable = fixable
        self.check = check

    def __repr__(self) -> str:
        return f"Rule({self.code} {self.name}, {self.severity.value})"


RULES: dict[str, Rule] = {}


def rule(
    code: str, name: str, title: str, severity: Severity, *, fixable: bool = False
) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        register_code(code, title)
        RULES[code] = Rule(code, name, title, severity, fixable, check)
        return check

    return register


# ---------------------------------------------------------------- tree helpers


def tag_of(node: Element) -> str | None:
    """The tag name of an element; None for comments and processing instructions."""
    return node.tag if isinstance(node.tag, str) else None


def name_of(element: Element) -> str:
    """An element's tag name as text (call XML has no namespaces)."""
    return str(element.tag)


def child_elements(parent: Element) -> list[Element]:
    return [child for child in parent if isinstance(child.tag, str)]


def int_or_none(value: str | None) -> int | None:
    """An attribute value read as a whole number, as the rules read it (None if it is not)."""
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def stripped_text(element: Element) -> str:
    """An element's own text, without surrounding whitespace."""
    return (element.text or "").strip()


def _short(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quote_attribute(value: str) -> str:
    """``value`` escaped for a double-quoted XML attribute."""
    return (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace('"', "&quot;")
        .replace("\n", "&#10;")
        .replace("\t", "&#9;")
    )


def gather_of(branch: Element) -> Element | None:
    """The `<Gather>` a `<Case>` (through its `<Switch>`) or a `<DTMF>` belongs to."""
    parent = branch.getparent()
    if parent is not None and parent.tag == "Switch":
        parent = parent.getparent()
    return parent if parent is not None and parent.tag == "Gather" else None


def gather_digits(gather: Element) -> tuple[int, str | None]:
    """(digits expected, the attribute that says so or None for the default of 1)."""
    for name in ("numDigits", "dtmf_length", "length"):
        value = int_or_none(gather.get(name))
        if value is not None:
            return value, name
    return 1, None


def gather_finish_key(gather: Element) -> tuple[str, str | None]:
    """(the key that ends input, the attribute that says so or None for the default ``*``)."""
    for name in ("finishOnKey", "dtmf_stop"):
        value = gather.get(name)
        if value is not None and value.strip():
            return value.strip(), name
    return DEFAULT_FINISH_KEY, None


def branch_value(branch: Element) -> tuple[str, str]:
    """(the keys a `<Case>` or `<DTMF>` branch matches, the attribute holding them)."""
    attribute = "dtmf" if branch.tag == "Case" else "value"
    return (branch.get(attribute) or "").strip(), attribute


# ---------------------------------------------------------------- the rules


@rule("CF301", "unreachable-after-hangup", "actions after <Hangup> never run", Severity.WARNING)
def _after_hangup(context: LintContext) -> Iterator[Finding]:
    for block in context.named(*BLOCK_TAGS):
        children = child_elements(block)
        for index, child in enumerate(children):
            if child.tag != "Hangup":
                continue
            unreachable = [c for c in children[index + 1 :] if c.tag in ACTION_TAGS]
            if unreachable:
                count = len(unreachable)
                noun = "action" if count == 1 else "actions"
                yield Finding(
                    "CF301",
                    unreachable[0],
                    f"<{name_of(unreachable[0])}> never runs: it follows <Hangup/> "
                    f"({context.where(child)}) in the same block ({count} {noun} unreachable)",
                    hint="move these actions before <Hangup/>, or delete them",
                )
            break


@rule("CF302", "duplicate-branch", "two branches of one menu match the same keys", Severity.WARNING)
def _duplicate_branch(context: LintContext) -> Iterator[Finding]:
    for parent in context.named("Switch", "Gather"):
        seen: dict[str, Element] = {}
        for branch in child_elements(parent):
            if branch.tag not in ("Case", "DTMF"):
                continue
            value, attribute = branch_value(branch)
            first = seen.get(value)
            if first is None:
                seen[value] = branch
                continue
            yield Finding(
                "CF302",
                branch,
                f'<{name_of(branch)} {attribute}="{value}"> repeats the branch at '
                f"{context.where(first)}; only the first one ever runs",
                hint="merge the two branches, or give this one the keys you meant",
                attribute=attribute,
            )


@rule(
    "CF303",
    "branch-longer-than-digits",
    "a branch needs more digits than the menu collects",
    Severity.WARNING,
)
def _branch_too_long(context: LintContext) -> Iterator[Finding]:
    for branch in context.named("Case", "DTMF"):
        gather = gather_of(branch)
        if gather is None:
            continue
        value, attribute = branch_value(branch)
        digits, source = gather_digits(gather)
        if len(value) <= digits:
            continue
        said = f'{source}="{digits}"' if source else "numDigits defaults to 1"
        yield Finding(
            "CF303",
            branch,
            f'<{name_of(branch)} {attribute}="{value}"> can never match: the <Gather> collects at '
            f"most {digits} digit{'s' if digits != 1 else ''} ({said})",
            hint=f'set numDigits="{len(value)}" on the <Gather>, or shorten this value',
            attribute=attribute,
        )


@rule(
    "CF304", "branch-uses-finish-key", "a branch contains the key that ends input", Severity.WARNING
)
def _branch_finish_key(context: LintContext) -> Iterator[Finding]:
    free_keys: dict[Element, str] = {}  # one walk of a menu's branches, not one per finding
    for branch in context.named("Case", "DTMF"):
        gather = gather_of(branch)
        if gather is None:
            continue
        value, attribute = branch_value(branch)
        key, source = gather_finish_key(gather)
        if key not in value:
            continue
        said = f'{source}="{key}"' if source else f"finishOnKey defaults to {key}"
        free = free_keys.get(gather)
        if free is None:
            free = free_keys[gather] = _free_key(gather)
        yield Finding(
            "CF304",
            branch,
            f'<{name_of(branch)} {attribute}="{value}"> can never match: "{key}" ends the input '
            f"instead of being collected ({said})",
            hint=f'set finishOnKey to a key no branch uses (e.g. finishOnKey="{free}")',
            attribute=attribute,
        )


def _free_key(gather: Element) -> str:
    used = "".join(branch_value(b)[0] for b in gather.iter("Case", "DTMF"))
    return next((key for key in "#*+" if key not in used), "#")


@rule(
    "CF305",
    "duration-in-seconds",
    "a duration so small it was surely written in seconds",
    Severity.WARNING,
)
def _duration_in_seconds(context: LintContext) -> Iterator[Finding]:
    for tag, attribute in DURATIONS:
        for element in context.named(tag):
            value = int_or_none(element.get(attribute))
            if value is None or not 0 < value < SECONDS_THRESHOLD:
                continue
            yield Finding(
                "CF305",
                element,
                f'<{tag} {attribute}="{value}"> is {value} millisecond{"s" if value != 1 else ""}'
                "; durations in call XML are milliseconds",
                hint=f"if you meant {value} second{'s' if value != 1 else ''}, write "
                f'{attribute}="{value * 1000}"',
                attribute=attribute,
            )


def default_callback_method(callback: Element) -> str:
    """The method `--fix` writes on a `<Callback>` without one (see the README for why)."""
    return "POST" if (callback.get("body") or "").strip() == "true" else "GET"


@rule(
    "CF306", "callback-without-method", "<Callback> without method", Severity.WARNING, fixable=True
)
def _callback_method(context: LintContext) -> Iterator[Finding]:
    for callback in context.named("Callback"):
        if callback.get("method") is not None:
            continue
        method = default_callback_method(callback)
        yield Finding(
            "CF306",
            callback,
            "<Callback> has no method; the platform's default is undocumented",
            hint=f'write the method you expect, e.g. method="{method}" (--fix writes that)',
            fix=AddAttribute(callback, "method", method),
        )


@rule("CF307", "callback-without-error", "<Callback> without an <Error> block", Severity.WARNING)
def _callback_error(context: LintContext) -> Iterator[Finding]:
    for callback in context.named("Callback"):
        if any(child.tag == "Error" for child in callback):
            continue
        yield Finding(
            "CF307",
            callback,
            "<Callback> has no <Error> block: if the fetch fails, times out or returns bad "
            "XML, the caller is left with nothing",
            hint="add <Error> with a fallback, e.g. <Error><Say>Sorry…</Say><Hangup/></Error>",
        )


@rule("CF308", "insecure-url", "a URL that receives call data is not https", Severity.WARNING)
def _insecure_url(context: LintContext) -> Iterator[Finding]:
    places = (("Callback", "url"), ("Gather", "url"), ("Gather", "callback"), ("callback", None))
    for tag, attribute in places:
        for element in context.named(tag):
            url = (element.get(attribute) if attribute else element.text) or ""
            if not url.strip().lower().startswith("http://"):
                continue
            shown = f" {attribute}" if attribute else ""
            yield Finding(
                "CF308",
                element,
                f"<{tag}>{shown} uses plain http ({_short(url.strip(), 60)}): call data and "
                "the next document travel unencrypted",
                hint="use https://",
                attribute=attribute,
                text=attribute is None,
            )


@rule(
    "CF309",
    "play-unknown-recording",
    "<Play record> names no earlier <Record tag>",
    Severity.WARNING,
)
def _play_unknown_recording(context: LintContext) -> Iterator[Finding]:
    recorded: set[str] = set()
    later: dict[str, Element] = {}
    for element in context.document.iter_elements():
        if element.tag == "Record" and element.get("tag"):
            later.setdefault((element.get("tag") or "").strip(), element)
    for element in context.document.iter_elements():
        if element.tag == "Record" and element.get("tag"):
            recorded.add((element.get("tag") or "").strip())
        if element.tag != "Play" or element.get("record") is None:
            continue
        name = (element.get("record") or "").strip()
        if name in recorded:
            continue
        after = later.get(name)
        where = (
            f"; the <Record> at {context.where(after)} comes only after it"
            if after is not None
            else ""
        )
        yield Finding(
            "CF309",
            element,
            f'<Play record="{name}"> replays a recording that no earlier <Record tag="{name}"> '
            f"makes{where}",
            hint=f'record it first with <Record tag="{name}"/>, or fix the name',
            attribute="record",
        )


@rule("CF310", "say-nothing", "<Say> has nothing to say", Severity.ERROR)
def _say_nothing(context: LintContext) -> Iterator[Finding]:
    for say in context.named("Say"):
        attribute = say.get("text")
        if stripped_text(say) or (attribute is not None and attribute.strip()):
            continue
        written = "its text attribute is empty" if attribute is not None else "it has no text"
        yield Finding(
            "CF310",
            say,
            f"<Say> has nothing to say: {written}",
            hint="put the words between the tags: <Say>Welcome to Acme.</Say>",
            attribute="text" if attribute is not None else None,
        )


@rule("CF311", "say-text-twice", "<Say> has both element text and a text attribute", Severity.ERROR)
def _say_twice(context: LintContext) -> Iterator[Finding]:
    for say in context.named("Say"):
        if stripped_text(say) and say.get("text") is not None:
            yield Finding(
                "CF311",
                say,
                "<Say> has both element text and a text attribute; which one is spoken is "
                "undefined",
                hint='keep the element text (the canonical form) and remove text="…"',
                attribute="text",
            )


@rule("CF312", "play-source", "<Play> needs exactly one of: URL text, url, record", Severity.ERROR)
def _play_source(context: LintContext) -> Iterator[Finding]:
    for play in context.named("Play"):
        sources = [
            name
            for name, present in (
                ("a URL as its text", bool(stripped_text(play))),
                ("url=", play.get("url") is not None),
                ("record=", play.get("record") is not None),
            )
            if present
        ]
        if len(sources) == 1:
            continue
        if not sources:
            message = "<Play> has nothing to play"
            hint = "give the audio URL as its text: <Play>https://…/greeting.mp3</Play>"
        else:
            message = f"<Play> has {' and '.join(sources)}; give exactly one source"
            hint = "keep one: the URL as text (canonical), or record= to replay a recording"
        yield Finding("CF312", play, message, hint=hint)


@rule("CF313", "menu-without-default", "a menu without <Default>", Severity.WARNING)
def _menu_default(context: LintContext) -> Iterator[Finding]:
    for switch in context.named("Switch"):
        if not any(child.tag == "Default" for child in switch):
            yield Finding(
                "CF313",
                switch,
                "<Switch> has no <Default>: a caller who presses another key (or none) gets "
                "no answer from the menu",
                hint="add <Default> after the last <Case>, e.g. to repeat the options",
            )
    for gather in context.named("Gather"):
        children = [child.tag for child in gather]
        if "DTMF" in children and "Default" not in children:
            yield Finding(
                "CF313",
                gather,
                "<Gather> with <DTMF> branches has no <Default>: other keys get no answer",
                hint="add <Default> after the last <DTMF>",
            )


@rule("CF314", "gather-without-prompt", "<Gather> plays no prompt", Severity.WARNING)
def _gather_prompt(context: LintContext) -> Iterator[Finding]:
    for gather in context.named("Gather"):
        if not any(child.tag in ("Say", "Play") for child in gather):
            yield Finding(
                "CF314",
                gather,
                "<Gather> plays no prompt: the caller hears silence while the menu waits for keys",
                hint="put a <Say> or <Play> inside the <Gather>, before its branches",
            )


@rule("CF315", "legacy-callback", "legacy lower-case <callback>", Severity.WARNING, fixable=True)
def _legacy_callback(context: LintContext) -> Iterator[Finding]:
    for legacy in context.named("callback"):
        url = stripped_text(legacy)
        method = "GET"
        canonical = f'<Callback url="{quote_attribute(url)}" method="{method}"/>'
        clean = url and not legacy.attrib and len(legacy) == 0
        yield Finding(
            "CF315",
            legacy,
            "<callback>URL</callback> is the legacy form of <Callback>",
            hint=f"write {canonical}" if url else 'write <Callback url="https://…" method="GET"/>',
            fix=ReplaceElement(legacy, canonical) if clean else None,
        )


def _gather_sets(gather: Element) -> list[tuple[str, list[str]]]:
    sets = (
        ("canonical", GATHER_CANONICAL),
        ("legacy set A", GATHER_LEGACY_A),
        ("legacy set B", GATHER_LEGACY_B),
    )
    found = [(name, [a for a in names if gather.get(a) is not None]) for name, names in sets]
    return [(name, used) for name, used in found if used]


@rule(
    "CF316",
    "legacy-gather-digits",
    "legacy <Gather> attribute set A",
    Severity.WARNING,
    fixable=True,
)
def _legacy_gather_a(context: LintContext) -> Iterator[Finding]:
    for gather in context.named("Gather"):
        present = [a for a in GATHER_LEGACY_A if gather.get(a) is not None]
        targets = [GATHER_RENAMES[a] for a in present if a in GATHER_RENAMES]
        for attribute in present:
            canonical = GATHER_RENAMES.get(attribute)
            value = (gather.get(attribute) or "").strip()
            if canonical is None:  # url: the digits go to a remote endpoint
                yield Finding(
                    "CF316",
                    gather,
                    f'<Gather url="…"> is legacy set A: the digits are sent to {_short(value)}',
                    hint="use <Switch> with a <Case dtmf> per key, each with "
                    f'<Callback url="{_short(value)}" method="GET"/> where the server decides',
                    attribute=attribute,
                )
                continue
            safe = gather.get(canonical) is None and targets.count(canonical) == 1
            yield Finding(
                "CF316",
                gather,
                f'<Gather {attribute}="{value}"> is legacy; the canonical attribute is '
                f'{canonical}="{value}"',
                hint=f'write {canonical}="{value}"'
                + ("" if safe else f" (and remove the other {canonical} source)"),
                attribute=attribute,
                fix=RenameAttribute(gather, attribute, canonical) if safe else None,
            )


@rule("CF317", "legacy-gather-callback", "legacy <Gather> attribute set B", Severity.WARNING)
def _legacy_gather_b(context: LintContext) -> Iterator[Finding]:
    for gather in context.named("Gather"):
        present = [a for a in GATHER_LEGACY_B if gather.get(a) is not None]
        if not present:
            continue
        url = _short((gather.get("callback") or "https://…").strip())
        method = (gather.get("method") or "GET").strip().upper()
        yield Finding(
            "CF317",
            gather,
            f"<Gather {' '.join(present)}> is legacy set B (a URL called after each attempt)",
            hint=f"use numDigits/attempts/timeout/finishOnKey with a <Switch>; to let a server "
            f'decide, put <Callback url="{url}" method="{method}"/> in the <Case> branches',
            attribute=present[0],
        )


@rule(
    "CF318", "legacy-dtmf-branches", "legacy <DTMF value> branches", Severity.WARNING, fixable=True
)
def _legacy_dtmf(context: LintContext) -> Iterator[Finding]:
    for gather in context.named("Gather"):
        children = child_elements(gather)
        branches = [child for child in children if child.tag == "DTMF"]
        if not branches:
            continue
        first = children.index(branches[0])
        run = children[first : first + len(branches)]
        contiguous = all(child.tag == "DTMF" for child in run)
        after = children[first + len(branches)] if first + len(branches) < len(children) else None
        default = after if after is not None and after.tag == "Default" else None
        has_switch = any(child.tag == "Switch" for child in children)
        fix = BranchesToSwitch(gather, branches, default) if contiguous and not has_switch else None
        yield Finding(
            "CF318",
            branches[0],
            "<DTMF value> branches are the legacy form of <Switch> with <Case dtmf> branches",
            hint='write <Switch><Case dtmf="1">…</Case>…<Default>…</Default></Switch>',
            fix=fix,
        )


@rule("CF319", "gather-mixed-sets", "<Gather> mixes attribute sets", Severity.WARNING)
def _mixed_sets(context: LintContext) -> Iterator[Finding]:
    for gather in context.named("Gather"):
        sets = _gather_sets(gather)
        if len(sets) < 2:
            continue
        described = "; ".join(f"{name}: {', '.join(used)}" for name, used in sets)
        yield Finding(
            "CF319",
            gather,
            f"<Gather> mixes attribute sets ({described}); which set the platform obeys is "
            "undefined",
            hint="use only the canonical set: numDigits, attempts, timeout, finishOnKey",
            attribute=sets[1][1][0],
        )


@rule("CF320", "absurd-repeat", "an absurd loop or attempts count", Severity.WARNING)
def _absurd_repeat(context: LintContext) -> Iterator[Finding]:
    limits = (("loop", context.config.max_loop), ("attempts", context.config.max_attempts))
    for element in context.document.iter_elements():
        for attribute, limit in limits:
            value = int_or_none(element.get(attribute))
            if value is None or value <= limit:
                continue
            yield Finding(
                "CF320",
                element,
                f'<{name_of(element)} {attribute}="{value}"> repeats {value} times; more than '
                f"{limit} is surely a mistake",
                hint=f"use a small count (the limit is {limit}; raise it with "
                f"max-{attribute} in [tool.callflow])",
                attribute=attribute,
            )
