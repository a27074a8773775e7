"""TwiML → OpenTact call XML: one handler per TwiML verb, every unmapped part reported.

Each handler reads the attributes it maps from a working copy of the element's attributes;
whatever is left when it returns is reported as dropped, so no attribute can be lost
silently. Every TwiML element is either converted (and recorded in ``mapped``) or reported.
The converted tree keeps the TwiML document's order one verb to one tag (a verb with an
``action`` becomes its tag followed by a ``<Callback>``), which is what lets a template's
Jinja tags between verbs stay where they were.
"""

from __future__ import annotations

from lxml import etree

from callflow.diagnostics import Severity
from callflow.document import Document
from callflow.twiml import _codes as codes
from callflow.twiml._dial import dial
from callflow.twiml._gather import gather
from callflow.twiml._report import convert_children, stray_text
from callflow.twiml._state import Element, Handler, Origin, State
from callflow.twiml._values import Attributes
from callflow.twiml._verbs import hangup, pause, play, record, redirect, reject, say

#: TwiML verb -> its converter; any other element under <Response> is reported.
_VERBS: dict[str, Handler] = {
    "Say": say,
    "Play": play,
    "Pause": pause,
    "Gather": gather,
    "Dial": dial,
    "Record": record,
    "Hangup": hangup,
    "Redirect": redirect,
    "Reject": reject,
}


def convert_tree(source: Document, base_url: str | None) -> tuple[Element, State]:
    """The OpenTact tree for the TwiML ``source`` and what was reported while building it."""
    state = State(source, base_url)
    root = source.root
    out = etree.Element("Response")
    if root.tag != "Response":
        state.report(
            codes.NOT_TWIML,
            Severity.ERROR,
            root,
            f"the root element is <{root.tag!s}>; a TwiML document's root is <Response>",
            hint="convert TwiML documents: <Response> with verbs inside",
        )
        state.cover(root)
        return out, state
    state.origins[out] = Origin(root)
    state.mark(root)
    attributes = Attributes(state, root)
    attributes.finish()
    convert_children(state, root, out, _VERBS)
    stray_text(state, root)
    return out, state
