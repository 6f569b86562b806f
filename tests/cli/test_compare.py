"""The main job: ``python -m skimb compare``."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification

from skimb.cli import main
from skimb.cli._parser import build_parser


@pytest.fixture(scope="module")
def toy_csv(tmp_path_factory):
    X, y = make_classification(n_samples=400, n_classes=3, n_informative=4,
                               weights=[0.8, 0.15], random_state=0)
    frame = pd.DataFrame(X[:, :5], columns=list("abcde"))
    frame["color"] = np.where(X[:, 5] > 0, "red", "blue")
    frame["meta_id"] = np.arange(len(frame))
    frame["label"] = np.array(["Dry", "Wet", "Frost"])[y]
    path = tmp_path_factory.mktemp("data") / "toy.csv.gz"
    frame.to_csv(path, index=False)
    return path


def test_compare_on_a_csv_ranks_every_strategy(toy_csv, tmp_path, capsys):
    main(["compare", "--data", str(toy_csv), "--target", "label", "--max-epochs", "2",
          "--cv", "2", "--no-plots", "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    ranking = pd.read_csv(tmp_path / "ranking.csv")
    assert len(ranking) == 10
    assert ranking["cv_macro_f1"].is_monotonic_decreasing
    assert {"F1 Dry", "F1 Wet", "F1 Frost"} <= set(ranking.columns)
    assert ranking["strategy"].iloc[0] in printed
    assert ranking[["cv_macro_f1", "test_macro_f1"]].stack().between(0, 1).all()
    assert "none + ce (decision=prior)" in set(ranking["strategy"])
    assert max(map(len, printed.splitlines())) < 100  # the per-class F1 in a block of its own
    assert "Test F1 per class" in printed


def test_exclude_changes_the_scores(toy_csv, tmp_path):
    args = ["compare", "--data", str(toy_csv), "--max-epochs", "2", "--cv", "2", "--no-plots"]
    main(args + ["--out", str(tmp_path / "all")])
    main(args + ["--out", str(tmp_path / "excl"), "--exclude", "Frost"])
    full = pd.read_csv(tmp_path / "all" / "ranking.csv").set_index("strategy")
    part = pd.read_csv(tmp_path / "excl" / "ranking.csv").set_index("strategy")
    f1 = full.loc[:, ["F1 Dry", "F1 Wet"]]
    assert np.allclose(part.loc[f1.index, "test_macro_f1"], f1.mean(axis=1))


def test_module_help_describes_compare():
    result = subprocess.run([sys.executable, "-m", "skimb", "--help"],
                            capture_output=True, text=True, check=True)
    assert "compare" in result.stdout


def test_compare_on_the_simulated_rwis_data_writes_plots(tmp_path, capsys):
    main(["compare", "--n-samples", "700", "--max-epochs", "2", "--cv", "2",
          "--out", str(tmp_path)])
    ranking = pd.read_csv(tmp_path / "ranking.csv")
    assert {"F1 Dry", "F1 Frost", "F1 Ice Warning", "F1 Chemical Wet"} <= set(ranking.columns)
    # equal optimizer steps: a refit's 490 rows make 2 batches, an 'under' epoch (5 rows of
    # each of the 7 classes) one, so 'under' runs twice the epochs; every other setting 2
    epochs = ranking.set_index("strategy")["epochs"]
    assert epochs.pop("under + ce") == 4
    assert (epochs == 2).all()
    for name in ("class_distribution.png", "confusion_matrix.png", "history.png",
                 "per_class_f1.png", "strategies.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Best:" in capsys.readouterr().out


def test_max_epochs_is_auto_or_an_integer():
    parse = build_parser().parse_args
    assert parse(["compare"]).max_epochs == 16
    assert parse(["compare", "--max-epochs", "auto"]).max_epochs == "auto"
    assert parse(["compare", "--max-epochs", "7"]).max_epochs == 7


def test_auto_budget_leaves_the_epochs_to_the_classifier(toy_csv, tmp_path, capsys, monkeypatch):
    import skimb.recipe

    monkeypatch.setattr(skimb.recipe, "AUTO_MIN_EPOCHS", 2)  # read at call time: cheap fits
    monkeypatch.setattr(skimb.recipe, "AUTO_MAX_EPOCHS", 2)
    main(["compare", "--data", str(toy_csv), "--target", "label", "--max-epochs", "auto",
          "--cv", "2", "--no-plots", "--out", str(tmp_path)])
    assert "max_epochs='auto'" in capsys.readouterr().out
    ranking = pd.read_csv(tmp_path / "ranking.csv")
    assert len(ranking) == 10
    assert (ranking["epochs"] >= 2).all()
