"""Which lint rules can find anything in a document, decided in one walk of its tree.

Most flows are clean, and running a rule's check costs a Python loop over its elements
plus the machinery around it, twenty times over. The screen walks the tree once and asks
each element the cheap questions the checks would ask of it; only the rules it names are
then checked. It may name a rule whose check finds nothing after all (the check decides),
but it must never leave out a rule that would find something: the tests compare the
screened engine with running every check on random documents.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from lxml import etree

from callflow.lint.rules import (
    ACTION_TAGS,
    BLOCK_TAGS,
    DURATIONS,
    GATHER_CANONICAL,
    GATHER_LEGACY_A,
    GATHER_LEGACY_B,
    RULES,
    SECONDS_THRESHOLD,
    gather_digits,
    gather_finish_key,
    int_or_none,
    stripped_text,
)

if TYPE_CHECKING:
    from callflow.document import Document
    from callflow.lint.config import LintConfig

Element = etree._Element
#: Looks at one element and adds the codes of the rules that may fault it.
Inspector = Callable[[Element, set[str]], None]

#: The codes the inspectors below can name.
SCREENED_CODES = frozenset(f"CF{number}" for number in range(301, 321))
# A rule the screen knows nothing about (a new one, say) is named every time.
_UNSCREENED = frozenset(RULES) - SCREENED_CODES

_CANONICAL = frozenset(GATHER_CANONICAL)
_LEGACY_A = frozenset(GATHER_LEGACY_A)
_LEGACY_B = frozenset(GATHER_LEGACY_B)
_BRANCH_KEY_ATTRIBUTE: dict[object, str] = {"Case": "dtmf", "DTMF": "value"}
# Every loop and attempts value in a tree, gathered by libxml2 rather than a Python walk.
_REPEAT_COUNTS = etree.XPath(
    "descendant-or-self::*/@loop | descendant-or-self::*/@attempts",
    smart_strings=False,
    regexp=False,  # else lxml registers its regular-expression functions on every call
)


def suspected_codes(document: Document, config: LintConfig) -> set[str]:
    """The codes of the rules whose checks may find something in ``document``."""
    suspects = set(_UNSCREENED)
    inspector_for = _INSPECTORS.get
    for element in document.root.iter():
        inspect = inspector_for(element.tag)  # None for comments and untroubled tags
        if inspect is not None:
            inspect(element, suspects)
    # One limit for both counts: the smaller one trips whenever the check would.
    if _counts_over(document.root, min(config.max_loop, config.max_attempts)):
        suspects.add("CF320")
    return suspects


# ---------------------------------------------------------------- shared questions


def _in_seconds(value: str | None) -> bool:
    number = int_or_none(value)
    return number is not None and 0 < number < SECONDS_THRESHOLD


def _plain_http(url: str | None) -> bool:
    return (url or "").strip().lower().startswith("http://")


def _tags_and_keys(parent: Element) -> tuple[list[object], list[str]]:
    """The tags of ``parent``'s children, and the keys of its `<Case>`/`<DTMF>` branches."""
    tags: list[object] = []
    keys: list[str] = []
    for child in parent:
        tag = child.tag  # lxml builds a new string on every read: read it once
        tags.append(tag)
        attribute = _BRANCH_KEY_ATTRIBUTE.get(tag)
        if attribute is not None:
            keys.append((child.get(attribute) or "").strip())  # as `branch_value` reads it
    return tags, keys


def _repeated(keys: list[str]) -> bool:
    return len(set(keys)) < len(keys)


def _menu_keys(gather: Element, keys: list[str], suspects: set[str]) -> None:
    """Keys of branches whose `gather_of` is ``gather``: too long, or holding its finish key."""
    if not keys:
        return
    if max(map(len, keys)) > gather_digits(gather)[0]:
        suspects.add("CF303")
    # Joined, the keys can only hold the finish key more often than one by one.
    if gather_finish_key(gather)[0] in " ".join(keys):
        suspects.add("CF304")


def _counts_over(root: Element, limit: int) -> bool:
    values = _REPEAT_COUNTS(root)
    assert isinstance(values, list)
    for value in values:
        number = int_or_none(value if isinstance(value, str) else None)
        if number is not None and number > limit:
            return True
    return False


# ---------------------------------------------------------------- one inspector per tag
# Children are read in one Python loop: lxml's tag-filtered iterchildren costs more to set
# up than a short loop over a few children.


def _hangup(hangup: Element, suspects: set[str]) -> None:
    if hangup.getnext() is None:  # the usual place: last in its block
        return
    parent = hangup.getparent()
    if parent is None or parent.tag not in BLOCK_TAGS:
        return
    if any(sibling.tag in ACTION_TAGS for sibling in hangup.itersiblings()):
        suspects.add("CF301")


def _switch(switch: Element, suspects: set[str]) -> None:
    tags, keys = _tags_and_keys(switch)
    if _repeated(keys):
        suspects.add("CF302")
    if "Default" not in tags:
        suspects.add("CF313")
    parent = switch.getparent()
    if parent is not None and parent.tag == "Gather":
        _menu_keys(parent, keys, suspects)


def _gather(gather: Element, suspects: set[str]) -> None:
    written = gather.keys()
    canonical = not _CANONICAL.isdisjoint(written)
    legacy_a = not _LEGACY_A.isdisjoint(written)
    legacy_b = not _LEGACY_B.isdisjoint(written)
    if legacy_a:
        suspects.add("CF316")
    if legacy_b:
        suspects.add("CF317")
    if canonical + legacy_a + legacy_b > 1:
        suspects.add("CF319")
    if (legacy_a or legacy_b) and (
        _plain_http(gather.get("url")) or _plain_http(gather.get("callback"))
    ):
        suspects.add("CF308")
    if _in_seconds(gather.get("timeout")):
        suspects.add("CF305")
    tags, keys = _tags_and_keys(gather)
    if "Say" not in tags and "Play" not in tags:
        suspects.add("CF314")
    if "DTMF" in tags:
        suspects.add("CF318")
        if "Default" not in tags:
            suspects.add("CF313")
    if _repeated(keys):
        suspects.add("CF302")
    _menu_keys(gather, keys, suspects)  # the branches in its <Switch> are the Switch's


def _callback(callback: Element, suspects: set[str]) -> None:
    if callback.get("method") is None:
        suspects.add("CF306")
    if "Error" not in [child.tag for child in callback]:
        suspects.add("CF307")
    if _plain_http(callback.get("url")):
        suspects.add("CF308")
    if _in_seconds(callback.get("timeout")):
        suspects.add("CF305")


def _legacy_callback(callback: Element, suspects: set[str]) -> None:
    suspects.add("CF315")
    if _plain_http(callback.text):
        suspects.add("CF308")


def _say(say: Element, suspects: set[str]) -> None:
    text = stripped_text(say)
    attribute = say.get("text")
    if not text and not (attribute is not None and attribute.strip()):
        suspects.add("CF310")
    if text and attribute is not None:
        suspects.add("CF311")


def _play(play: Element, suspects: set[str]) -> None:
    has_url = play.get("url") is not None
    replays = play.get("record") is not None
    if replays:
        suspects.add("CF309")
    if bool(stripped_text(play)) + has_url + replays != 1:
        suspects.add("CF312")


def _duration(attribute: str) -> Inspector:
    def inspect(element: Element, suspects: set[str]) -> None:
        if _in_seconds(element.get(attribute)):
            suspects.add("CF305")

    return inspect


_INSPECTORS: dict[object, Inspector] = {tag: _duration(attribute) for tag, attribute in DURATIONS}
# Gather and Callback have more to answer for; their inspectors check their durations too.
_INSPECTORS.update(
    {
        "Hangup": _hangup,
        "Switch": _switch,
        "Gather": _gather,
        "Callback": _callback,
        "callback": _legacy_callback,
        "Say": _say,
        "Play": _play,
    }
)
