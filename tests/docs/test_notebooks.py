"""Execute the example notebooks (small sizes) and check they are committed clean."""

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
NOTEBOOKS = ["rwis_strategies.ipynb", "rwis_iowa_real.ipynb", "imbalanced_images.ipynb"]
REAL_CSV = ROOT.parent / "shared" / "datasets" / "rwis_iowa_RTOI4_2019.csv.gz"


@pytest.fixture
def small_sizes(monkeypatch):
    # The kernel is started with a copy of this process's environment.
    monkeypatch.setenv("SKIMB_NB_N_SAMPLES", "1500")
    monkeypatch.setenv("SKIMB_NB_MAX_EPOCHS", "2")
    monkeypatch.setenv("SKIMB_NB_CV", "2")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    return monkeypatch


def execute(name):
    """Run an in-memory copy of the notebook with the examples folder as cwd; return its text output."""
    nb = nbformat.read(EXAMPLES / name, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(EXAMPLES)}})
    client.execute()  # raises CellExecutionError when a cell fails
    texts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":  # pragma: no cover - execute() raised already
                pytest.fail(f"{name}: cell errored: {out.get('ename')}: {out.get('evalue')}")
            if "text" in out:
                texts.append(out["text"])
            texts.append(out.get("data", {}).get("text/plain", ""))
    return nb, "\n".join(texts)


def n_images(nb):
    return sum("image/png" in out.get("data", {})
               for cell in nb.cells for out in cell.get("outputs", []))


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_committed_without_outputs(name):
    nb = nbformat.read(EXAMPLES / name, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    for cell in code:
        assert cell.outputs == [], f"{name}: a code cell has outputs"
        assert cell.execution_count is None, f"{name}: a code cell has an execution count"


def test_strategies_notebook_runs(small_sizes):
    nb, text = execute("rwis_strategies.ipynb")
    assert "N_SAMPLES=1500, MAX_EPOCHS=2, CV=2" in text
    assert "Held-out macro-F1 (all 7 classes):" in text
    assert "vs plain CE" in text
    assert "best strategy:" in text
    assert "Ice Warning" in text  # the classification reports
    assert n_images(nb) >= 4


def test_real_notebook_without_data_stops_cleanly(small_sizes, tmp_path):
    small_sizes.setenv("SKIMB_RWIS_CSV", str(tmp_path / "missing.csv.gz"))
    nb, text = execute("rwis_iowa_real.ipynb")
    assert "RWIS export not found" in text
    assert "Held-out macro-F1" not in text
    assert n_images(nb) == 0


def test_real_notebook_with_data(small_sizes):
    if not REAL_CSV.is_file():
        pytest.skip(f"real RWIS export not present: {REAL_CSV}")
    small_sizes.delenv("SKIMB_RWIS_CSV", raising=False)  # the notebook's default relative path
    nb, text = execute("rwis_iowa_real.ipynb")
    assert "RWIS export not found" not in text
    assert "Held-out macro-F1: best" in text
    assert "Chemically Wet" in text
    assert n_images(nb) >= 2
