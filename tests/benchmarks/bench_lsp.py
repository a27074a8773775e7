"""Benchmark: the language server's latency, beside a bare in-process check of the same text.

A pygls client drives ``python -m callflow lsp`` over stdio. For examples/ivr_menu.xml and a
generated 2,000-line flow it sends 200 edits, one at a time, and times each from
``didChange`` to the ``publishDiagnostics`` that follows; beside it, the same 200 texts
checked in this process the way ``callflow validate`` checks a buffer (front door, schema,
lint). Then 200 completion requests. The server runs with ``debounceMs: 0`` so that the
figure is the server's own work (an editor's default adds the 150 ms debounce on purpose;
one round with it is printed too). A second peer is the issue's own: ``callflow validate``
of the same text in-process (``callflow.cli.main`` reading the text from standard input, its
output discarded). Targets: p95 <= 50 ms for the IVR and <= 3x ``callflow validate`` in-process
(the ratio to the bare check is printed too); completion p95 <= 20 ms.

    python tests/benchmarks/bench_lsp.py [--edits 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from lsprotocol import types  # noqa: E402
from pygls.lsp.client import LanguageClient  # noqa: E402

from callflow.check import iter_document_diagnostics  # noqa: E402
from callflow.lint import config_for  # noqa: E402
from callflow.schema import load_schema  # noqa: E402
from callflow.sources import load_flows  # noqa: E402

CASE = """      <Case dtmf="{n}">
        <Say>Option {n}.</Say>
        <Dial>
          <To>+1555010{n:04d}</To>
          <Error>
            <Say>Nobody answered.</Say>
          </Error>
        </Dial>
      </Case>
"""


def big_flow(lines: int = 2000) -> str:
    head = (
        '<Response>\n  <Gather numDigits="4" timeout="8000">\n    <Say>Pick.</Say>\n    <Switch>\n'
    )
    tail = "      <Default><Hangup/></Default>\n    </Switch>\n  </Gather>\n</Response>\n"
    cases = []
    n = 1000
    while head.count("\n") + sum(c.count("\n") for c in cases) + tail.count("\n") < lines:
        cases.append(CASE.format(n=n))
        n += 1
    return head + "".join(cases) + tail


def edits(text: str, count: int) -> list[str]:
    """``count`` versions of ``text``, each a one-character edit (a Pause length typed)."""
    base = text.replace("<Response>", '<Response>\n  <Pause length="1"/>', 1)
    return [base.replace('length="1"', f'length="{i + 1}"', 1) for i in range(count)]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def cpu_of(pid: int) -> float:
    """User+system seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def validate_in_process(path: str, text: str) -> float:
    """``callflow validate -q --stdin-filename PATH -`` in this process, output discarded."""
    import contextlib
    import io
    import sys

    from callflow.cli import main as cli_main

    stdin = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(text.encode("utf-8")), encoding="utf-8")
    start = time.perf_counter()
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            cli_main(["validate", "-q", "--stdin-filename", path, "-"])
    finally:
        sys.stdin = stdin
    return time.perf_counter() - start


def bare_check(path: str, text: str) -> float:
    start = time.perf_counter()
    config = config_for(Path(path))
    for source in load_flows(text, filename=path):
        if source.document is not None:
            list(iter_document_diagnostics(source.document, schema=load_schema(), config=config))
    return time.perf_counter() - start


class Bench:
    def __init__(self) -> None:
        self.client = LanguageClient("bench", "1")
        self.published: asyncio.Queue[types.PublishDiagnosticsParams] = asyncio.Queue()

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_publish(params: types.PublishDiagnosticsParams) -> None:
            self.published.put_nowait(params)

    async def start(self, debounce_ms: int) -> None:
        await self.client.start_io(sys.executable, "-m", "callflow", "lsp")
        await self.client.initialize_async(
            types.InitializeParams(
                capabilities=types.ClientCapabilities(),
                initialization_options={"debounceMs": debounce_ms},
            )
        )
        self.client.initialized(types.InitializedParams())

    async def until_published(self, uri: str) -> None:
        while (await self.published.get()).uri != uri:
            pass

    async def edit_latencies(self, uri: str, texts: list[str]) -> list[float]:
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "xml", 1, texts[0]))
        )
        await self.until_published(uri)
        found = []
        for version, text in enumerate(texts[1:], start=2):
            start = time.perf_counter()
            self.client.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                    [types.TextDocumentContentChangeWholeDocument(text=text)],
                )
            )
            await self.until_published(uri)
            found.append(time.perf_counter() - start)
        return found

    async def completion_latencies(
        self, uri: str, position: types.Position, count: int
    ) -> list[float]:
        found = []
        for _ in range(count):
            start = time.perf_counter()
            await self.client.text_document_completion_async(
                types.CompletionParams(types.TextDocumentIdentifier(uri), position)
            )
            found.append(time.perf_counter() - start)
        return found

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()

    @property
    def pid(self) -> int:
        server = self.client._server  # the subprocess pygls started
        assert server is not None
        return int(server.pid)


def line(name: str, values: list[float]) -> str:
    return (
        f"{name:<44} p50 {statistics.median(values) * 1000:7.1f} ms   "
        f"p95 {percentile(values, 0.95) * 1000:7.1f} ms"
    )


async def main(count: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="callflow-bench-lsp-"))
    corpora = {
        "examples/ivr_menu.xml": (ROOT / "examples" / "ivr_menu.xml").read_text(),
        "2,000-line flow": big_flow(),
    }
    one, five, _ = os.getloadavg()
    print(f"load: {one:.2f} {five:.2f} (1 and 5 min), {os.cpu_count()} cores")
    bench = Bench()
    await bench.start(debounce_ms=0)
    for number, (name, text) in enumerate(corpora.items()):
        path = folder / f"flow{number}.xml"
        texts = edits(text, count + 1)
        cpu_server, cpu_client, wall = cpu_of(bench.pid), own_cpu(), time.perf_counter()
        latencies = await bench.edit_latencies(path.as_uri(), texts)
        wall = time.perf_counter() - wall
        cpu = cpu_of(bench.pid) - cpu_server + own_cpu() - cpu_client
        bare = [bare_check(str(path), t) for t in texts[1:]]
        validate = [validate_in_process(str(path), t) for t in texts[1:]]
        lines = text.count("\n")
        print(f"\n{name} ({lines} lines, {count} edits)")
        print(line("  didChange -> publishDiagnostics (server)", latencies))
        print(line("  bare in-process check of the same text", bare))
        print(line("  callflow validate of the same text, in-process", validate))
        print(
            "  ratio server / callflow validate: "
            f"p95 {percentile(latencies, 0.95) / percentile(validate, 0.95):.2f}x, "
            f"p50 {statistics.median(latencies) / statistics.median(validate):.2f}x"
        )
        ratio = percentile(latencies, 0.95) / percentile(bare, 0.95)
        median = statistics.median(latencies) / statistics.median(bare)
        print(
            f"  ratio server / bare: p95 {ratio:.2f}x, p50 {median:.2f}x   "
            f"(CPU user+sys, both processes: "
            f"{cpu:.2f} s over {wall:.2f} s wall)"
        )
    ivr = folder / "flow0.xml"
    ivr_text = corpora["examples/ivr_menu.xml"]
    offset = ivr_text.index("<Case")
    position = types.Position(
        ivr_text.count("\n", 0, offset), offset - ivr_text.rfind("\n", 0, offset)
    )
    cpu_server, cpu_client, wall = cpu_of(bench.pid), own_cpu(), time.perf_counter()
    completions = await bench.completion_latencies(ivr.as_uri(), position, count)
    wall = time.perf_counter() - wall
    cpu = cpu_of(bench.pid) - cpu_server + own_cpu() - cpu_client
    print(f"\ncompletion inside <Switch> of the IVR ({count} requests)")
    print(line("  textDocument/completion round trip", completions))
    print(f"  (CPU user+sys, both processes: {cpu:.2f} s over {wall:.2f} s wall)")
    await bench.stop()

    slow = Bench()
    await slow.start(debounce_ms=150)
    texts = edits(ivr_text, 21)
    latencies = await slow.edit_latencies((folder / "debounced.xml").as_uri(), texts)
    print("\nwith the editor default debounce (150 ms), IVR, 20 edits")
    print(line("  didChange -> publishDiagnostics", latencies))
    await slow.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--edits", type=int, default=200)
    asyncio.run(main(parser.parse_args().edits))
