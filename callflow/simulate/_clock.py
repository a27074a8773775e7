"""The simulator's documented numbers: how long each thing takes, and the defaults it assumes.

Every number here is listed, with its reason, in the `callflow.simulate` docstring (and on
the simulator's explanation page, which a test holds to these values).
"""

from __future__ import annotations

from callflow.simulate._model import DialOutcome

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
#: How much of a reply body a callback event keeps.
REPLY_SHOWN_CHARS = 2_000
