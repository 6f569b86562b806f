"""Smoke test of bench/speed.py: it runs and prints its table. Nothing timed is asserted."""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "speed.py"
HEADER = ("| contender | batch size | median s/epoch | vs skorch | vs hand loop "
          "| vs skimb MLP |")


def _run(*args):
    result = subprocess.run([sys.executable, str(SCRIPT), "--device", "cpu", *args],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_speed_bench_quick_runs(tmp_path):
    out = tmp_path / "speed.md"
    stdout = _run("--quick", "--out", str(out))
    assert HEADER in stdout
    for name in ("| skorch |", "| skimb |", "| hand loop |"):
        assert name in stdout
    assert HEADER in out.read_text(encoding="utf-8")


def test_speed_bench_times_the_networks_against_the_plain_mlp():
    stdout = _run("--quick", "--rows", "1500", "--only", "skimb", "mlp+ple", "tabm k=8")
    for name in ("| skimb |", "| mlp+ple |", "| tabm k=8 |"):
        assert name in stdout
    assert "| skimb | 1024 |" in stdout and "| 1.00x |" in stdout


def test_speed_bench_times_a_cnn_on_images():
    stdout = _run("--quick", "--cnn", "8", "--rows", "600", "--batch-sizes", "128")
    assert "images 1x8x8" in stdout and "SmallCNN" in stdout
    for name in ("| skorch | 128 |", "| skimb | 128 |", "| hand loop | 128 |"):
        assert name in stdout


def test_speed_bench_floor_lists_the_products_and_times_the_trainers(tmp_path):
    out = tmp_path / "floor.md"
    stdout = _run("--floor", "--quick", "--out", str(out))
    assert "| network | phase | op | operands (ᵀ: stored transposed) | MFLOP |" in stdout
    # What autograd runs: the plain MLP's first layer computes no input gradient (its input
    # needs none), the embeddings' per-feature map (a bmm) makes the default's first layer
    # compute one and adds its own weight gradient.
    assert "| mlp | **step** | 8 calls |" in stdout
    assert "| default | **step** | 11 calls |" in stdout
    assert "| default | forward | bmm |" in stdout and "| default | backward | bmm |" in stdout
    assert "| tabm | forward | mm | [512, 64] · [64, 256]ᵀ |" in stdout  # 64 rows x k=8 members
    assert ("| network | threads | floor fwd ms | floor bwd ms | floor ms/step | fastest block ms "
            "| skimb ms/step | skimb / floor | skorch ms/step | skorch / floor "
            "| hand loop ms/step | hand loop / floor |") in stdout
    for name in ("default", "mlp", "tabm"):
        assert f"| {name} | 1 | " in stdout
    assert "| default | 1 | " in out.read_text(encoding="utf-8")
