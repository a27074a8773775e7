"""The builder benchmark script tells the user what it needs (it is not run here: too slow)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "benchmarks" / "bench_builder.py"


def test_without_twilio_the_benchmark_says_so_and_exits_2() -> None:
    code = (
        "import runpy, sys\n"
        "sys.modules['twilio'] = None  # as if twilio were not installed\n"
        f"sys.argv = [{str(SCRIPT)!r}]\n"
        f"runpy.run_path({str(SCRIPT)!r}, run_name='__main__')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.returncode == 2
    assert "twilio" in result.stderr and "pip install" in result.stderr
    assert result.stdout == ""
