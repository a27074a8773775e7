"""The web app behind examples/ivr_menu.xml: the support menu its `<Callback>` fetches.

A plain WSGI app (no framework), so it runs anywhere: in-process under the simulator
(``callflow simulate examples/ivr_menu.xml --press 2 --press 4 --app examples/ivr_app.py:app``),
or under any WSGI server. Routes:

* ``POST /support/menu`` — the support menu (the call object arrives as JSON);
* ``POST /support/balance`` — says the caller's balance, looked up by their number.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any
from xml.sax.saxutils import escape

BASE = "https://ivr.example.com"

#: Account balances by caller number (a stand-in for a real account lookup).
BALANCES = {"+15550001234": "42 dollars and 17 cents"}

SUPPORT_MENU = f"""<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <Gather numDigits="1" attempts="2" timeout="6000">
    <Say>For your account balance, press 4. For a technician, press 5.</Say>
    <Switch>
      <Case dtmf="4">
        <Callback url="{BASE}/support/balance" method="POST" body="true" timeout="3000"/>
      </Case>
      <Case dtmf="5">
        <Dial>
          <To>+15550100002</To>
          <Error>
            <Say>All technicians are busy.</Say>
          </Error>
        </Dial>
      </Case>
      <Default>
        <Say>That is not an option.</Say>
      </Default>
    </Switch>
  </Gather>
  <Say>Goodbye from support.</Say>
  <Hangup tag="support-done"/>
</Response>
"""


def balance_reply(caller_number: str) -> str:
    balance = BALANCES.get(caller_number)
    words = f"Your balance is {balance}." if balance else "We could not find your account."
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<Response>\n"
        f"  <Say>{escape(words)}</Say>\n"
        '  <Hangup tag="balance-told"/>\n'
        "</Response>\n"
    )


StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """WSGI entry point."""
    path = environ.get("PATH_INFO", "")
    if environ.get("REQUEST_METHOD") != "POST":
        return _reply(start_response, "405 Method Not Allowed", "POST only\n", "text/plain")
    if path == "/support/menu":
        return _reply(start_response, "200 OK", SUPPORT_MENU)
    if path == "/support/balance":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b"{}"
        call = json.loads(body or b"{}")
        return _reply(start_response, "200 OK", balance_reply(str(call.get("from", ""))))
    return _reply(start_response, "404 Not Found", f"no route {path}\n", "text/plain")


def _reply(
    start_response: StartResponse, status: str, text: str, content_type: str = "text/xml"
) -> list[bytes]:
    data = text.encode("utf-8")
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(data)))])
    return [data]
