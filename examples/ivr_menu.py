"""Main support line (examples/ivr_menu.xml) written with the builder.

Run it to print the XML, or check it with `callflow validate examples/ivr_menu.py` and
print the validated XML with `callflow build examples/ivr_menu.py --pretty`.
"""

from datetime import timedelta

from callflow.dsl import (
    Answer,
    Callback,
    Case,
    Default,
    Dial,
    Error,
    Gather,
    Hangup,
    Response,
    Say,
    Sip,
    Switch,
    To,
)


def apologise_and_hang_up(apology: str, reason: str) -> Error:
    """A reusable fragment: what every failed step of this line does."""
    return Error(Say(apology), Hangup(tag=reason))


def build() -> Response:
    with Response() as flow:
        Answer(delay=timedelta(milliseconds=500))
        with Gather(num_digits=1, attempts=3, timeout=timedelta(seconds=8), finish_on_key="#"):
            Say("Welcome to Acme support.", lang="en-US", gender="FEMALE")
            Say(
                "For billing, press 1. For technical support, press 2. "
                "To reach an operator, press 0."
            )
            with Switch():
                with Case(dtmf="1"):
                    Say("Connecting you to billing.")
                    Dial(
                        To("+15550100001"),
                        apologise_and_hang_up(
                            "Billing is busy. Please try again later.", "billing-busy"
                        ),
                    )
                Case(
                    Callback(
                        apologise_and_hang_up(
                            "Sorry, support is unavailable right now.", "support-fetch-failed"
                        ),
                        url="https://ivr.example.com/support/menu",
                        method="POST",
                        body=True,
                        timeout=5000,
                    ),
                    dtmf="2",
                )
                Case(Dial(Sip("operator@pbx.example.com:5060")), dtmf="0")
                Default(Say("Sorry, I did not understand that."))
        Say("Goodbye.")
        Hangup(tag="menu-exhausted")
    return flow


if __name__ == "__main__":
    print(build().to_xml(pretty=True), end="")
