"""Voicemail with transcription (examples/voicemail.xml) written with the builder."""

from datetime import timedelta

from callflow.dsl import Hangup, Play, Record, Response, Say

flow = Response(
    Say(
        "You have reached Jordan. Please leave a message after the tone.",
        lang="en-GB",
        type="WaveNet",
    ),
    Play("https://media.example.com/tones/beep.wav"),
    Record(tag="voicemail", asr=True, timeout=timedelta(seconds=45)),
    Say("Thank you. Your message has been recorded."),
    Hangup(tag="voicemail-done"),
)

if __name__ == "__main__":
    print(flow.to_xml(pretty=True), end="")
