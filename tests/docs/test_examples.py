"""The example scripts run end to end on small sizes."""

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("script, expected", [
    ("quickstart.py", "Held-out macro-F1"),
    ("smote_pipeline.py", "SMOTE every epoch"),
    ("custom_module.py", "held-out macro-F1"),
    ("multilabel_hazards.py", "Held-out F1 per hazard flag"),
    ("images_digits.py", "test macro-F1"),
    ("sequences_gru.py", "macro-F1"),
    ("multi_input.py", "held-out macro-F1"),
])
def test_example_runs(script, expected):
    small = ["--n-samples", "1500", "--max-epochs", "2"]
    result = subprocess.run([sys.executable, str(EXAMPLES / script), *small],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert expected in result.stdout
