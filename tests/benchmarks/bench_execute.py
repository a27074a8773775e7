"""Benchmark: execute 1,000 valid flows on the loopback sandbox, callflow vs plain httpx.

callflow's AsyncClient (validating each flow locally first, multipart upload, envelope and
model parsing) against plain httpx posting the same bytes the same way, both at concurrency
20, against one `callflow sandbox serve` process (in-memory database, so the server's disk
does not dominate). Prints flows/s for both and the ratio of times (target: <= 1.2x).

    python tests/benchmarks/bench_execute.py [--flows 1000] [--concurrency 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from callflow.client import AsyncClient, wire_bytes  # noqa: E402
from callflow.document import Document  # noqa: E402
from callflow.sandbox import SANDBOX_EMAIL, SANDBOX_PASSWORD  # noqa: E402

TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <Answer delay="500"/>
  <Gather numDigits="1" attempts="3" timeout="8000" finishOnKey="#">
    <Say>Welcome to line {n}. For sales press 1, for support press 2.</Say>
    <Switch>
      <Case dtmf="1"><Dial><To>+1555010{n:04d}</To></Dial></Case>
      <Case dtmf="2"><Say>Please hold.</Say></Case>
      <Default><Say>Sorry.</Say></Default>
    </Switch>
  </Gather>
  <Hangup/>
</Response>
"""


def start_server() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "callflow",
            "sandbox",
            "serve",
            "-q",
            "--port",
            "0",
            "--db",
            ":memory:",
        ],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert process.stderr is not None
    line = process.stderr.readline()
    if "serving " not in line:
        process.kill()
        raise SystemExit(f"the sandbox did not start: {line}")
    return process, line.split("serving ")[1].split(" ")[0]


async def run_callflow(
    url: str, app: str, documents: list[Document], concurrency: int
) -> tuple[float, float]:
    async with AsyncClient(url, email=SANDBOX_EMAIL, password=SANDBOX_PASSWORD, env={}) as client:
        await client.list_apps()  # log in before the clock starts
        queue = list(documents)

        async def worker() -> None:
            while queue:
                document = queue.pop()
                await client.execute(app, document)

        return await timed(worker, concurrency)


async def timed(worker: Callable[[], Awaitable[None]], concurrency: int) -> tuple[float, float]:
    """Wall time, and this process's CPU time (the client's own cost; the server is apart)."""
    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, time.process_time() - cpu


async def run_plain(
    url: str, app: str, token: str, bodies: list[bytes], concurrency: int
) -> tuple[float, float]:
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
    async with httpx.AsyncClient(headers={"X-Auth-Token": token}, limits=limits) as http:
        queue = list(bodies)

        async def worker() -> None:
            while queue:
                body = queue.pop()
                response = await http.post(
                    f"{url}/sip/app/call/{app}",
                    files={"file": ("flow.xml", body, "application/xml")},
                )
                if not response.json()["success"]:
                    raise SystemExit(response.text)

        return await timed(worker, concurrency)


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--flows", type=int, default=1000)
    options.add_argument("--concurrency", type=int, default=20)
    options.add_argument("--rounds", type=int, default=3)
    args = options.parse_args()

    documents = [
        Document.from_text(TEMPLATE.format(n=n), f"flow{n}.xml") for n in range(args.flows)
    ]
    bodies = [wire_bytes(document) for document in documents]
    process, url = start_server()
    try:
        token = httpx.get(f"{url}/auth", auth=(SANDBOX_EMAIL, SANDBOX_PASSWORD)).json()["payload"][
            "token"
        ]
        app = httpx.post(f"{url}/sip/app", json={"name": "bench"}, headers={"X-Auth-Token": token})
        app_uuid = app.json()["payload"]["uuid"]
        ours: list[tuple[float, float]] = []
        plain: list[tuple[float, float]] = []
        for _ in range(args.rounds):  # alternate, so that drift in machine load hits both
            plain.append(asyncio.run(run_plain(url, app_uuid, token, bodies, args.concurrency)))
            ours.append(asyncio.run(run_callflow(url, app_uuid, documents, args.concurrency)))
    finally:
        process.terminate()
        process.wait(timeout=10)
    (ours_wall, ours_cpu), (plain_wall, plain_cpu) = min(ours), min(plain)
    n = args.flows
    print(
        f"{n} flows, concurrency {args.concurrency}, best of {args.rounds} rounds, "
        f"loopback sandbox at {url}"
    )
    print(
        f"  callflow AsyncClient.execute (validates first): {n / ours_wall:7.1f} flows/s "
        f"({ours_wall:.2f} s; client CPU {1e3 * ours_cpu / n:.2f} ms/flow)"
    )
    print(
        f"  plain httpx posting the same bytes:             {n / plain_wall:7.1f} flows/s "
        f"({plain_wall:.2f} s; client CPU {1e3 * plain_cpu / n:.2f} ms/flow)"
    )
    print(
        f"  ratio (callflow time / httpx time): {ours_wall / plain_wall:.2f}x  (target <= 1.2x); "
        f"client CPU ratio {ours_cpu / plain_cpu:.2f}x"
    )


if __name__ == "__main__":
    main()
