"""Benchmark: `callflow validate` against `xmllint --schema` (C, the practical floor).

    python tests/benchmarks/bench_validate.py [--files 10000] [--runs 3] [--cold-runs 30]

1. Batch: one `callflow validate` run over N generated flow files, against one
   `xmllint --noout --schema schemas/callflow.xsd` run over the same files. Target ≤ 1.5×.
2. Cold start: `callflow validate one.xml` against `python -c "import lxml.etree"`. Target ≤ 2×.

Prints the median wall times side by side with the ratio. Needs `xmllint` (Debian:
libxml2-utils) and an installed `callflow` command in the same environment as this Python.
Compiled bytecode is allowed to be cached, as on a user's machine.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "schemas" / "callflow.xsd"


def generate_flow(rng: random.Random, index: int) -> str:
    """A realistic, clean flow: greeting, a menu with a few branches, dial and callback steps."""
    cases = []
    for key in rng.sample("0123456789*", rng.randint(2, 6)):
        action = rng.choice(
            [
                f"<Say>Option {key} selected for caller {index}.</Say>",
                f"<Dial><To>+1555{rng.randint(1000000, 9999999)}</To>"
                "<Error><Say>Busy.</Say></Error></Dial>",
                f'<Callback url="https://app.example.com/step/{index}" method="POST" '
                'timeout="5000"><Error><Hangup/></Error></Callback>',
                f'<Play loop="2">https://media.example.com/{index}.wav</Play>',
            ]
        )
        cases.append(f'      <Case dtmf="{key}">\n        {action}\n      </Case>')
    body = "\n".join(cases)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Response>\n'
        f'  <Answer delay="{rng.choice([0, 250, 500, 1000, 2000])}"/>\n'
        f'  <Gather numDigits="1" attempts="{rng.randint(1, 3)}" timeout="8000" finishOnKey="#">\n'
        f'    <Say lang="en-US">Welcome, flow {index}. Choose an option.</Say>\n'
        f"    <Switch>\n{body}\n      <Default><Say>Sorry.</Say></Default>\n    </Switch>\n"
        "  </Gather>\n  <Hangup/>\n</Response>\n"
    )


def timed(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cold-runs", type=int, default=30)
    args = parser.parse_args()
    callflow = shutil.which("callflow", path=os.path.dirname(sys.executable)) or shutil.which(
        "callflow"
    )
    xmllint = shutil.which("xmllint")
    if callflow is None or xmllint is None:
        print("needs the `callflow` command (pip install -e .) and xmllint (libxml2-utils)")
        return 2
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ.clear()
    os.environ.update(env)
    rng = random.Random(20261127)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "flows"
        folder.mkdir()
        files = []
        for index in range(args.files):
            path = folder / f"flow{index:05d}.xml"
            path.write_text(generate_flow(rng, index), encoding="utf-8")
            files.append(str(path))
        # Warm-up: bytecode caches, page cache.
        subprocess.run([callflow, "validate", "-q", files[0]], check=True)
        check = subprocess.run([callflow, "validate", "-q", str(folder)], capture_output=True)
        if check.returncode != 0 or check.stdout:
            print("the generated flows are not clean:", check.stdout[:500].decode())
            return 1
        ours = timed([callflow, "validate", "-q", str(folder)], args.runs)
        schema_only = timed([callflow, "validate", "-q", "--no-lint", str(folder)], args.runs)
        peer = timed([xmllint, "--noout", "--schema", str(SCHEMA), *files], args.runs)
        print(f"batch of {args.files} files (median of {args.runs})")
        print(f"  callflow validate      {ours:8.3f} s   (schema + lint)")
        print(f"  ... --no-lint          {schema_only:8.3f} s   (schema only, as xmllint)")
        print(f"  xmllint --schema       {peer:8.3f} s")
        print(f"  ratio                  {ours / peer:8.2f}x   (target <= 1.5x)")
        print(f"  ratio, --no-lint       {schema_only / peer:8.2f}x")
        one = files[0]
        cold = timed([callflow, "validate", "-q", one], args.cold_runs)
        floor = timed([sys.executable, "-c", "import lxml.etree"], args.cold_runs)
        print(f"cold start (median of {args.cold_runs})")
        print(f"  callflow validate one  {cold * 1000:8.1f} ms")
        print(f"  python -c 'import lxml.etree' {floor * 1000:8.1f} ms")
        print(f"  ratio                  {cold / floor:8.2f}x   (target <= 2x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
