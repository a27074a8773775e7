"""The loopback sandbox under load: 50 concurrent clients × 40 mixed requests, nothing lost."""

from __future__ import annotations

import threading
from pathlib import Path

from callflow.client import Client
from callflow.errors import CallflowError
from callflow.sandbox import SANDBOX_EMAIL, SANDBOX_PASSWORD, Sandbox

CLIENTS = 50
REQUESTS_EACH = 40
FLOW = b"<Response><Say>Load test</Say><Hangup/></Response>"


def test_fifty_clients_making_forty_mixed_requests_each_lose_nothing(tmp_path: Path) -> None:
    sandbox = Sandbox(tmp_path / "load.sqlite3")  # a real file, as `callflow sandbox serve` uses
    errors: list[BaseException] = []
    created: list[str] = []
    executed = [0] * CLIENTS
    deleted = [0] * CLIENTS
    start = threading.Barrier(CLIENTS)
    lock = threading.Lock()

    def work(index: int, url: str) -> None:
        try:
            with Client(url, email=SANDBOX_EMAIL, password=SANDBOX_PASSWORD, env={}) as client:
                start.wait(timeout=30)
                mine: list[str] = []
                for step in range(REQUESTS_EACH - 1):  # the login was the first request
                    kind = step % 5
                    if kind == 0 or not mine:
                        mine.append(client.create_app(f"c{index}-{step}").uuid)
                    elif kind == 1:
                        client.list_apps()
                    elif kind == 2:
                        client.execute(mine[-1], FLOW, validate=False)
                        executed[index] += 1
                    elif kind == 3:
                        client.update_app(mine[-1], name=f"c{index}-{step}-renamed")
                    elif len(mine) > 1:
                        client.delete_app(mine.pop(0))
                        deleted[index] += 1
                    else:
                        client.get_app(mine[-1])
                with lock:
                    created.extend(mine)
        except (CallflowError, threading.BrokenBarrierError) as error:
            errors.append(error)

    with sandbox.serve() as server:
        threads = [threading.Thread(target=work, args=(i, server.url)) for i in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

    assert errors == []
    assert sandbox.store.count("apps") == len(created) == len(set(created))
    assert sandbox.store.count("executions") == sum(executed) == CLIENTS * 8
    assert sandbox.store.count("tokens") == CLIENTS
    assert sum(deleted) > 0
    sandbox.close()
