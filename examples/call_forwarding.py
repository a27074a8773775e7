"""Forward to the on-call phones (examples/call_forwarding.xml) written with the builder."""

from callflow.dsl import Dial, Error, Hangup, Record, Response, Say, Sip, To

ON_CALL = ["+15550100123", "sip:oncall@pbx.example.com"]

flow = Response(
    Say("Please hold while we connect you."),
    Dial(
        [To(number) for number in ON_CALL],
        Sip("backup@pbx.example.com:5080"),
        Error(
            Say("Nobody is available. Please leave a message."),
            Record(tag="missed-call", asr=False, timeout=60_000),
        ),
    ),
    Hangup(),
)

if __name__ == "__main__":
    print(flow.to_xml(pretty=True), end="")
