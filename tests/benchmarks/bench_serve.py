"""Flow server cost: a served template reply (render + validate) next to a plain Starlette route
returning the same XML string, both on uvicorn on loopback; and, beside them, the floor of any
server that checks its replies.

Run: ``python tests/benchmarks/bench_serve.py [REQUESTS_PER_ROUND]``.

Each server runs in its own process (``uvicorn``, one worker, then two); the client is a
small asyncio HTTP/1.1 keep-alive client in this process, so that the client's own cost is
the same for all. The servers are measured in alternating rounds so that a burst of load on a
shared machine hits all alike; the figure is the median round. Printed: p50 latency at
concurrency 1 and 20, the ratio of each to the plain route, requests per second, and CPU time
(user+sys) of the server processes and of the client beside wall time.

Each figure is printed twice: ``same``, every request the same (the served reply is the same
text each time, so its checks are remembered after the first), and ``distinct``, every request
from another caller (every reply a text never seen before: rendered, parsed and checked each
time). The plain route answers the same string to both.

Two more servers are the floor of any server that renders its replies: raw ASGI apps (no
routing) that do nothing else (no lint, no typed request, no located diagnostics, no memory of
replies). One renders the same template with Jinja2 for each request; the other renders it
and parses and validates the reply with lxml against the same schema. What they add to the
plain route is what rendering (and validating) costs whoever does it; what the served template
adds to them is callflow's own.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

ROUNDS = 5
SERVED = "served template"
RENDER_FLOOR = "render floor"
FLOOR = "render+XSD floor"
PLAIN = "plain Starlette"
TEMPLATE = """\
<Response>
  <Gather numDigits="1" attempts="2" timeout="8000">
    <Say>Thanks for calling, {{ request.from }}. You pressed {{ request.dtmf }}.</Say>
    <Switch>
      <Case dtmf="1">
        <Say>Sales</Say>
        <Callback url="https://example.com/sales?from={{ request.from }}" method="POST">
          <Error><Hangup/></Error>
        </Callback>
      </Case>
      <Case dtmf="2"><Say>Support</Say><Dial><To>+15550001111</To></Dial></Case>
      <Default><Say>Goodbye</Say><Hangup/></Default>
    </Switch>
  </Gather>
</Response>
"""
QUERY = "dtmf=1&from=%2B15550001234&tn=%2B15550100000&state=live&sca=s-1&call=c-1"


# ---------------------------------------------------------------- the two servers


def served_app() -> object:
    import logging

    from callflow.web import create_app

    logging.getLogger("callflow.web").setLevel(logging.INFO)
    return create_app(os.environ["BENCH_SERVE_FOLDER"])


def plain_app() -> object:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    body = Path(os.environ["BENCH_SERVE_FOLDER"], "reply.xml").read_bytes()

    async def menu(request: Request) -> Response:
        return Response(body, media_type="text/xml; charset=utf-8")

    return Starlette(routes=[Route("/menu", menu)])


def _floor(validate: bool) -> object:
    """A raw ASGI app (no Starlette Request or Response: cheaper than the plain route itself)
    rendering the menu template with Jinja2 (autoescaped, not even sandboxed: the cheapest
    render there is) for each request and, with ``validate``, parsing and validating the
    reply with lxml against callflow's schema; nothing else."""
    from urllib.parse import parse_qsl

    from jinja2 import Environment
    from lxml import etree

    folder = Path(os.environ["BENCH_SERVE_FOLDER"])
    template = Environment(autoescape=True).from_string(
        (folder / "menu.xml.j2").read_text(encoding="utf-8")
    )
    schema = etree.XMLSchema(etree.parse(str(ROOT / "schemas" / "callflow.xsd")))
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    fallback = b"<Response><Hangup/></Response>\n"  # the client refuses it: no "Thanks"

    async def app(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
        if scope["type"] != "http":
            return
        query = dict(parse_qsl(scope["query_string"].decode("latin-1")))
        body = template.render(request=query).encode("utf-8")
        if validate and not schema.validate(etree.fromstring(body, parser)):
            body = fallback
        headers = [
            (b"content-type", b"text/xml; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": body})  # type: ignore[operator]

    return app


def render_floor_app() -> object:
    return _floor(validate=False)


def validate_floor_app() -> object:
    return _floor(validate=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    def __init__(self, factory: str, folder: Path, workers: int) -> None:
        self.port = _free_port()
        environment = dict(os.environ, BENCH_SERVE_FOLDER=str(folder))
        environment["PYTHONPATH"] = str(ROOT)
        # Both servers run the same way: uvicorn as `callflow serve` runs it.
        code = (
            "from callflow.web._asgi import run_uvicorn; "
            f"run_uvicorn('tests.benchmarks.bench_serve:{factory}', factory=True, "
            f"host='127.0.0.1', port={self.port}, workers={workers}, log_level='warning', "
            "access_log=False, lifespan='off')"
        )
        self.process = subprocess.Popen(
            [sys.executable, "-c", code], env=environment, cwd=ROOT, start_new_session=True
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("server did not start")

    def cpu(self) -> float:
        """User+sys seconds of every process of the server's group (workers too)."""
        total = 0.0
        ticks = os.sysconf("SC_CLK_TCK")
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                fields = Path("/proc", entry, "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == self.process.pid:  # pgid
                total += (int(fields[11]) + int(fields[12])) / ticks
        return total

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(30)


# ---------------------------------------------------------------- the client


#: Numbers for requests that must each be different (never two the same in one run).
_NUMBERS = itertools.count(1_000_000)


def _request(distinct: bool) -> bytes:
    query = QUERY
    if distinct:  # another caller each time: every reply is a text never seen before
        query = QUERY.replace("from=%2B15550001234", f"from=%2B1555{next(_NUMBERS):07d}")
    return f"GET /menu?{query} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()


async def _connection(port: int, count: int, latencies: list[float], distinct: bool) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    same = _request(False)
    for _ in range(count):
        request = _request(True) if distinct else same
        started = time.perf_counter()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        body = await reader.readexactly(length)
        latencies.append(time.perf_counter() - started)
        assert head.startswith(b"HTTP/1.1 200") and b"Thanks for calling" in body, body
    writer.close()


def measure(
    server: Server, requests: int, concurrency: int, distinct: bool = False
) -> dict[str, float]:
    latencies: list[float] = []

    async def run() -> None:
        per = requests // concurrency
        await asyncio.gather(
            *(_connection(server.port, per, latencies, distinct) for _ in range(concurrency))
        )

    cpu_before, client_before, started = server.cpu(), time.process_time(), time.perf_counter()
    asyncio.run(run())
    wall = time.perf_counter() - started
    return {
        "p50_ms": statistics.median(latencies) * 1000,
        "rps": len(latencies) / wall,
        "wall": wall,
        "server_cpu": server.cpu() - cpu_before,
        "client_cpu": time.process_time() - client_before,
    }


def _compare(
    servers: dict[str, Server], workers: int, concurrency: int, requests: int, distinct: bool
) -> None:
    rounds: dict[str, list[dict[str, float]]] = {name: [] for name in servers}
    for _ in range(ROUNDS):
        for name, server in servers.items():
            rounds[name].append(measure(server, requests, concurrency, distinct))
    label = "distinct" if distinct else "same    "
    figures = {}
    for name, results in rounds.items():
        figures[name] = {key: statistics.median(r[key] for r in results) for key in results[0]}
        f = figures[name]
        print(
            f"workers {workers}  concurrency {concurrency:>2}  {label}  {name:<16} "
            f"p50 {f['p50_ms']:6.3f} ms  {f['rps']:7.0f} req/s  wall {f['wall']:5.2f} s  "
            f"server CPU {f['server_cpu']:5.2f} s ({f['server_cpu'] / requests * 1e6:4.0f} us/req)"
            f"  client CPU {f['client_cpu']:5.2f} s"
        )
    plain = figures[PLAIN]
    for name, shown in ((SERVED, "served"), (RENDER_FLOOR, "render floor"), (FLOOR, "render+XSD")):
        ratio = figures[name]["p50_ms"] / plain["p50_ms"]
        cpu = figures[name]["server_cpu"] / plain["server_cpu"]
        print(
            f"workers {workers}  concurrency {concurrency:>2}  {label}  "
            f"p50 ratio {shown:>12}/plain {ratio:.2f}x  (server CPU {cpu:.2f}x)"
        )


def main() -> None:
    requests = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        (folder / "menu.xml.j2").write_text(TEMPLATE)
        from callflow.web import FlowService, parse_request

        reply = FlowService(folder).respond("/menu", parse_request("GET", QUERY.encode()))
        assert not reply.fallback, reply.diagnostics
        (folder / "reply.xml").write_bytes(reply.body)
        # A server trusts what it read from a file only once the file has been still for a
        # second (a change within the same tick of the file system's clock would go unseen);
        # a deployed app's files are older than that.
        settled_at = time.monotonic() + 1.5
        print(f"load: {os.getloadavg()[0]:.2f} (1-minute average), {os.cpu_count()} cores")
        print(f"reply: {len(reply.body)} bytes; {requests} requests per round, {ROUNDS} rounds")
        for workers in (1, 2):
            servers = {
                SERVED: Server("served_app", folder, workers),
                RENDER_FLOOR: Server("render_floor_app", folder, workers),
                FLOOR: Server("validate_floor_app", folder, workers),
                PLAIN: Server("plain_app", folder, workers),
            }
            try:
                time.sleep(max(0.0, settled_at - time.monotonic()))
                for server in servers.values():
                    measure(server, 200, 4)  # warm up: compile, caches, connections
                for concurrency in (1, 20):
                    for distinct in (False, True):
                        _compare(servers, workers, concurrency, requests, distinct)
            finally:
                for server in servers.values():
                    server.stop()
        print(f"load: {os.getloadavg()[0]:.2f} (1-minute average) at the end")


if __name__ == "__main__":
    main()
