"""Benchmark: the loopback sandbox server, keep-alive latency and requests per second.

Starts ``callflow sandbox serve`` (in-memory database) from this checkout and, with
``--before PATH``, from another checkout too (e.g. the code before waitress), then for each:

* keep-alive latency: `Client.get_app` on one connection against a fresh connection per
  request (the medians and their ratio; a Nagle stall makes the first about 40 ms);
* requests per second at concurrency 1, 10 and 50 (asyncio tasks, one keep-alive httpx
  connection each, ``GET /rest/sip/app/{uuid}``), with p50 and p99 latency.

Wall time, and CPU time (user+sys) of this process and of the server process, are printed
for each run. Every loop is bounded by a count and by ``--seconds``.

    python tests/benchmarks/bench_sandbox.py [--requests 1000] [--before /path/to/checkout]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from callflow.client import Client  # noqa: E402
from callflow.sandbox import SANDBOX_EMAIL, SANDBOX_PASSWORD  # noqa: E402


def server_cpu(pid: int) -> float:
    """User+sys seconds used so far by process ``pid`` (and its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def start_server(root: Path) -> tuple[subprocess.Popen[str], str]:
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
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert process.stderr is not None
    line = process.stderr.readline()
    if "serving " not in line:
        process.kill()
        raise SystemExit(f"the sandbox at {root} did not start: {line}")
    return process, line.split("serving ")[1].split(" ")[0]


def keep_alive(url: str, app: str, count: int, seconds: float) -> tuple[float, float]:
    """Median latency of get_app on one connection, and on a fresh connection each time."""
    kept: list[float] = []
    fresh: list[float] = []
    stop = time.monotonic() + seconds
    with Client(url, email=SANDBOX_EMAIL, password=SANDBOX_PASSWORD, env={}) as one:
        one.get_app(app)
        while len(kept) < count and time.monotonic() < stop:
            started = time.perf_counter()
            one.get_app(app)
            kept.append(time.perf_counter() - started)
    with Client(url, email=SANDBOX_EMAIL, password=SANDBOX_PASSWORD, env={}) as logged:
        logged.login()
        token = logged._settings.token
    stop = time.monotonic() + seconds
    while len(fresh) < count and time.monotonic() < stop:
        with Client(url, token=token, env={}) as client:
            started = time.perf_counter()
            client.get_app(app)
            fresh.append(time.perf_counter() - started)
    return statistics.median(kept), statistics.median(fresh)


def load(
    url: str, token: str, app: str, concurrency: int, total: int, seconds: float
) -> dict[str, float]:
    """``total`` requests from ``concurrency`` asyncio tasks, each on its own connection
    (asyncio rather than threads: 50 Python threads contending for the GIL would measure the
    load generator, not the server)."""
    return asyncio.run(_load(url, token, app, concurrency, total, seconds))


async def _load(
    url: str, token: str, app: str, concurrency: int, total: int, seconds: float
) -> dict[str, float]:
    latencies: list[float] = []
    left = [total]
    stop = time.monotonic() + seconds

    # Clients are made and connected before the clock starts: making one costs milliseconds
    # of CPU (its TLS context), which would otherwise land in other tasks' latencies.
    clients = [
        httpx.AsyncClient(headers={"X-Auth-Token": token}, timeout=30) for _ in range(concurrency)
    ]
    await asyncio.gather(*(http.get(f"{url}/sip/app/{app}") for http in clients))

    async def worker(http: httpx.AsyncClient) -> None:
        while time.monotonic() < stop and left[0] > 0:
            left[0] -= 1
            started = time.perf_counter()
            response = await http.get(f"{url}/sip/app/{app}")
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise SystemExit(response.text)
            latencies.append(elapsed)

    started, cpu = time.perf_counter(), own_cpu()
    await asyncio.gather(*(worker(http) for http in clients))
    wall = time.perf_counter() - started
    for http in clients:
        await http.aclose()
    latencies.sort()
    return {
        "requests": len(latencies),
        "wall": wall,
        "rps": len(latencies) / wall,
        "p50": latencies[len(latencies) // 2],
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "client_cpu": own_cpu() - cpu,
    }


def measure(label: str, root: Path, args: argparse.Namespace) -> None:
    process, url = start_server(root)
    try:
        token = httpx.get(f"{url}/auth", auth=(SANDBOX_EMAIL, SANDBOX_PASSWORD)).json()["payload"][
            "token"
        ]
        app = httpx.post(f"{url}/sip/app", json={"name": "bench"}, headers={"X-Auth-Token": token})
        app_uuid = app.json()["payload"]["uuid"]
        print(f"{label}: {root} ({url})")
        kept, fresh = keep_alive(url, app_uuid, args.latency_requests, args.seconds)
        print(
            f"  keep-alive get_app median {kept * 1e3:7.2f} ms; "
            f"fresh connection {fresh * 1e3:7.2f} ms; "
            f"ratio {kept / fresh:.2f}x (target <= 1.2x)"
        )
        for concurrency in (1, 10, 50):
            server_before = server_cpu(process.pid)
            figures = load(url, token, app_uuid, concurrency, args.requests, args.seconds)
            server = server_cpu(process.pid) - server_before
            print(
                f"  concurrency {concurrency:2d}: {figures['rps']:7.1f} req/s, "
                f"p50 {figures['p50'] * 1e3:6.2f} ms, "
                f"p99 {figures['p99'] * 1e3:7.2f} ms ({int(figures['requests'])} requests, "
                f"wall {figures['wall']:.2f} s, CPU client {figures['client_cpu']:.2f} s + "
                f"server {server:.2f} s)"
            )
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--requests", type=int, default=1000, help="per concurrency level")
    options.add_argument("--latency-requests", type=int, default=100)
    options.add_argument("--seconds", type=float, default=60.0, help="time bound per run")
    options.add_argument("--before", type=Path, help="another checkout to measure first")
    args = options.parse_args()
    print(f"load: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} cores")
    if args.before is not None:
        measure("before", args.before.resolve(), args)
    measure("after", ROOT, args)


if __name__ == "__main__":
    main()
