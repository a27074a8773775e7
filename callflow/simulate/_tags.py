"""The tags the simulator reads, taken from the schema (`callflow.vocabulary`).

A name written here that the schema does not have fails on import, so no handler can name a
tag the schema lost; the tag sets (prompts, dial targets, actions) are the schema's own.
"""

from __future__ import annotations

from callflow.vocabulary import load_vocabulary

_VOCABULARY = load_vocabulary()


def _known(name: str) -> str:
    if _VOCABULARY.element(name) is None:
        raise RuntimeError(f"the simulator reads <{name}>, which the schema does not have")
    return name


ROOT = _known("Response")
ERROR = _known("Error")
GATHER = _known("Gather")
SWITCH = _known("Switch")
CASE = _known("Case")
DTMF = _known("DTMF")
DEFAULT = _known("Default")
DIAL = _known("Dial")
CALLBACK = _known("Callback")
LEGACY_CALLBACK = _known("callback")

#: The tags that run one after another in a block.
ACTIONS = _VOCABULARY.members("Action")
#: What a `<Gather>` plays before it listens.
PROMPTS = _VOCABULARY.members("Prompt")
#: The targets a `<Dial>` rings: its children that hold text (`<To>`, `<Sip>`).
DIAL_TARGETS = frozenset(
    name
    for name in _VOCABULARY.elements[DIAL].children
    if _VOCABULARY.elements[name].text is not None
)
