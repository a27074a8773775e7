"""The cost of `--fix`'s safe write, next to a plain atomic write of the same bytes.

callflow's write locks the file, reads it, checks it again (identity and every byte) just
before the replace, keeps owner and mode, flushes the file and its folder, and sweeps the
folder once for leftovers. The peer is the plain atomic write most tools use
(``tempfile.mkstemp`` + write + ``fsync`` + ``os.replace``), with none of those checks.
Both are timed at several file sizes (the cost should grow with the bytes, no faster) and
over folders of many files (the sweep is once per folder, so the cost per file should stay
flat). Run: ``python tests/benchmarks/bench_fix_write.py``.
"""

from __future__ import annotations

import functools
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from callflow._files import LeftoverCleaner, rewriting
from callflow.document import Document
from callflow.fix import fix_document, fix_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_lint import flow


def plain_atomic_write(path: Path, data: bytes) -> None:
    """The peer: what an atomic writer without checks does."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".peer-")
    with os.fdopen(handle, "wb") as stream:
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temporary, path)


def safe_write(path: Path, data: bytes, cleaner: LeftoverCleaner) -> None:
    with rewriting(path) as handle:
        cleaner.clean(path.parent)
        handle.replace(data)


def timed(action: Callable[[], object]) -> tuple[float, float]:
    """(wall, CPU user+sys of this process) seconds of one call."""
    cpu, wall = time.process_time(), time.perf_counter()
    action()
    return time.perf_counter() - wall, time.process_time() - cpu


def median_of(runs: int, action: Callable[[], object]) -> tuple[float, float]:
    figures = [timed(action) for _ in range(runs)]
    return statistics.median(w for w, _ in figures), statistics.median(c for _, c in figures)


def by_size(folder: Path) -> None:
    print("one file, by size (median of 15; wall / CPU user+sys, ms)")
    for menus in (20, 200, 2000):
        data = flow(menus).encode()
        path = folder / f"size{menus}.xml"
        path.write_bytes(data)
        peer = median_of(15, functools.partial(plain_atomic_write, path, data))
        ours = median_of(15, lambda p=path, d=data: safe_write(p, d, LeftoverCleaner()))
        print(
            f"  {len(data) / 1024:7.0f} KiB  callflow {ours[0] * 1e3:7.2f} / {ours[1] * 1e3:6.2f}"
            f"   plain atomic write (peer) {peer[0] * 1e3:7.2f} / {peer[1] * 1e3:6.2f}"
            f"   ratio {ours[0] / peer[0]:4.2f}x"
        )
    data = flow(200).encode()
    document = Document.from_text(data.decode(), "bench.xml")
    copies = [folder / f"whole{i}.xml" for i in range(5)]
    for copy in copies:
        copy.write_bytes(data)
    remaining = iter(copies)
    compute = median_of(5, functools.partial(fix_document, document))
    whole = median_of(5, lambda: fix_file(next(remaining)))
    print(
        f"  fix_file on {len(data) / 1024:.0f} KiB: {whole[0] * 1e3:.1f} ms wall, "
        f"{whole[1] * 1e3:.1f} ms CPU; fix_document alone {compute[0] * 1e3:.1f} ms wall, "
        f"{compute[1] * 1e3:.1f} ms CPU"
    )


def write_all(paths: list[Path], data: bytes, cleaner: LeftoverCleaner | None) -> None:
    for path in paths:
        if cleaner is None:
            plain_atomic_write(path, data)
        else:
            safe_write(path, data, cleaner)


def by_folder(folder: Path) -> None:
    print("many files in one folder, one cleaner per run (per file; wall / CPU, µs)")
    data = flow(2).encode()
    for count in (100, 500, 2000):
        batch = folder / f"batch{count}"
        batch.mkdir()
        paths = [batch / f"flow{i:05d}.xml" for i in range(count)]
        for path in paths:
            path.write_bytes(data)
        ours = timed(functools.partial(write_all, paths, data, LeftoverCleaner()))
        peer = timed(functools.partial(write_all, paths, data, None))
        scale = 1e6 / count
        print(
            f"  {count:5} files  callflow {ours[0] * scale:7.0f} / {ours[1] * scale:5.0f}"
            f"   plain atomic write (peer) {peer[0] * scale:7.0f} / {peer[1] * scale:5.0f}"
            f"   ratio {ours[0] / peer[0]:4.2f}x (CPU {ours[1] / peer[1]:4.2f}x)"
        )


def main() -> None:
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as scratch:
        by_size(Path(scratch))
        by_folder(Path(scratch))


if __name__ == "__main__":
    main()
