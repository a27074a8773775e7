"""The migration report's diagnostic codes (CF10xx: converting TwiML), registered once."""

from __future__ import annotations

from callflow.diagnostics import register_code

DROPPED_VERB = "CF1001"
DROPPED_ATTRIBUTE = "CF1002"
APPROXIMATED = "CF1003"
RELATIVE_URL = "CF1004"
NOT_TWIML = "CF1005"
BAD_VALUE = "CF1006"
TEMPLATE = "CF1007"
OUTPUT_INVALID = "CF1008"

TITLES = {
    DROPPED_VERB: "TwiML verb or noun with no OpenTact equivalent, dropped",
    DROPPED_ATTRIBUTE: "TwiML attribute with no OpenTact equivalent, dropped",
    APPROXIMATED: "TwiML construct converted with a change in behaviour",
    RELATIVE_URL: "relative TwiML URL with no base URL to resolve it",
    NOT_TWIML: "not a TwiML document",
    BAD_VALUE: "TwiML attribute or text value not understood",
    TEMPLATE: "Jinja construct the TwiML conversion cannot carry over",
    OUTPUT_INVALID: "converted document does not validate",
}

for _code, _title in TITLES.items():
    register_code(_code, _title)
