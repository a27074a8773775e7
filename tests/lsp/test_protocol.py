"""`callflow lsp` spoken to in raw JSON-RPC: malformed requests get errors, never a crash."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from queue import Empty, Queue
from typing import Any

import pytest


class RawClient:
    """Frames JSON-RPC messages by hand, so that anything can be sent."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "callflow", "lsp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.messages: Queue[dict[str, Any]] = Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            length = None
            while True:
                header = stream.readline()
                if not header:
                    return
                if header in (b"\r\n", b"\n"):
                    break
                if header.lower().startswith(b"content-length:"):
                    length = int(header.split(b":")[1])
            assert length is not None
            self.messages.put(json.loads(stream.read(length)))

    def send_bytes(self, body: bytes) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        stdin.flush()

    def send(self, message: dict[str, Any]) -> None:
        self.send_bytes(json.dumps({"jsonrpc": "2.0", **message}).encode())

    def response(self, request_id: int, timeout: float = 20) -> dict[str, Any]:
        while True:
            try:
                message = self.messages.get(timeout=timeout)
            except Empty:
                raise AssertionError(f"no response to request {request_id}") from None
            if message.get("id") == request_id and "method" not in message:
                return message

    def close(self) -> int:
        self.send({"id": 999, "method": "shutdown"})
        self.response(999)
        self.send({"method": "exit"})
        return self.process.wait(timeout=20)


@pytest.fixture
def raw(tmp_path: Path) -> Any:
    client = RawClient()
    client.send(
        {
            "id": 1,
            "method": "initialize",
            "params": {
                "capabilities": {},
                "processId": None,
                "initializationOptions": {"debounceMs": 300},
            },
        }
    )
    assert "capabilities" in client.response(1)["result"]
    client.send({"method": "initialized", "params": {}})
    yield client
    if client.process.poll() is None:
        client.process.kill()


def test_a_request_with_wrong_params_gets_an_error_response_and_the_server_lives_on(
    raw: RawClient,
) -> None:
    raw.send(
        {"id": 2, "method": "textDocument/completion", "params": {"textDocument": 42, "x": []}}
    )
    assert "error" in raw.response(2)
    raw.send({"id": 3, "method": "textDocument/hover", "params": None})
    assert "error" in raw.response(3)
    raw.send({"id": 4, "method": "no/such/method", "params": {}})
    assert raw.response(4)["error"]["code"] == -32601
    assert raw.close() == 0


def test_a_body_that_is_not_json_does_not_stop_the_server(raw: RawClient, tmp_path: Path) -> None:
    raw.send_bytes(b"{this is not json")
    raw.send_bytes(b"[1, 2, 3]")
    uri = (tmp_path / "flow.xml").as_uri()
    raw.send(
        {
            "method": "textDocument/didOpen",
            "params": {
                "textDocument": {
                    "uri": uri,
                    "languageId": "xml",
                    "version": 1,
                    "text": "<Response><Hangup/></Response>",
                }
            },
        }
    )
    raw.send(
        {
            "id": 5,
            "method": "textDocument/hover",
            "params": {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 12}},
        }
    )
    result = raw.response(5)["result"]
    assert "Hangup" in result["contents"]["value"]
    assert raw.close() == 0


def test_requests_about_positions_past_the_end_are_answered(raw: RawClient, tmp_path: Path) -> None:
    uri = (tmp_path / "flow.xml").as_uri()
    raw.send(
        {
            "method": "textDocument/didOpen",
            "params": {
                "textDocument": {
                    "uri": uri,
                    "languageId": "xml",
                    "version": 1,
                    "text": "<Response>\n",
                }
            },
        }
    )
    for number, method in enumerate(
        ["textDocument/hover", "textDocument/completion", "textDocument/definition"], start=10
    ):
        raw.send(
            {
                "id": number,
                "method": method,
                "params": {
                    "textDocument": {"uri": uri},
                    "position": {"line": 9999, "character": 9999},
                },
            }
        )
        assert "result" in raw.response(number) or "error" in raw.response(number)
    assert raw.close() == 0


def test_a_burst_of_edits_is_checked_once_at_its_newest_version(
    raw: RawClient, tmp_path: Path
) -> None:
    uri = (tmp_path / "flow.xml").as_uri()
    raw.send(
        {
            "method": "textDocument/didOpen",
            "params": {
                "textDocument": {
                    "uri": uri,
                    "languageId": "xml",
                    "version": 1,
                    "text": "<Response/>",
                }
            },
        }
    )
    for version in range(2, 7):
        text = f'<Response><Pause lenght{version}="1"/></Response>'
        raw.send(
            {
                "method": "textDocument/didChange",
                "params": {
                    "textDocument": {"uri": uri, "version": version},
                    "contentChanges": [{"text": text}],
                },
            }
        )
    published = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:  # until a quiet second after the check: a second check would publish in it
            message = raw.messages.get(timeout=1.0)
        except Empty:
            if len(published) >= 2:
                break
            continue
        if message.get("method") == "textDocument/publishDiagnostics":
            published.append(message["params"])
    messages = [[d["message"] for d in p["diagnostics"]] for p in published]
    assert messages[0] == []  # the open
    assert len(messages) == 2, messages
    assert "lenght6" in messages[1][0]
