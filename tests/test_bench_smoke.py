"""Smoke test of bench/speed.py: it runs and prints its table. Nothing timed is asserted."""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "speed.py"


def test_speed_bench_quick_runs(tmp_path):
    out = tmp_path / "speed.md"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--device", "cpu", "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    header = "| contender | batch size | median s/epoch | vs skorch | vs hand loop |"
    assert header in result.stdout
    for name in ("| skorch |", "| skimb |", "| hand loop |"):
        assert name in result.stdout
    assert header in out.read_text(encoding="utf-8")
