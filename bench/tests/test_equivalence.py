"""Smoke test of bench/equivalence.py: a saved file compares equal to a rerun, and a
perturbed or erroring side is reported as a difference."""

import subprocess
import sys
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BENCH))
import equivalence  # noqa: E402


def test_matrix_keys_are_unique_and_cover_every_axis():
    keys = [c["key"] for c in equivalence.all_configs()]
    assert len(keys) == len(set(keys))
    for value in (*equivalence.SAMPLERS, *equivalence.NETWORKS, *equivalence.TARGETS,
                  *equivalence.INPUTS, *equivalence.AUGMENTATIONS,
                  *equivalence.USER_MODULES):
        assert any(f"/{value}/" in f"/{key}/" for key in keys), value


def test_every_input_kind_fits_and_a_refused_one_raises():
    by_key = {c["key"]: c for c in equivalence.all_configs()}
    kinds = {c["inputs"] for c in by_key.values() if not c["key"].startswith("error/")}
    assert kinds == set(equivalence.INPUTS) - {"ids_table"}  # a 2-D int table is floats
    first = {}
    for key, cfg in by_key.items():
        first.setdefault((cfg["inputs"], key.startswith("error/")), cfg)
    results = equivalence.run_matrix(list(first.values()), verbose=False)
    for (kind, must_raise), cfg in first.items():
        assert ("error" in results[cfg["key"]]) == must_raise, (cfg["key"], results[cfg["key"]])


def test_exact_comparison_wants_every_bit():
    configs = equivalence.select(equivalence.all_configs(), only=["inputs/images_uint8/"],
                                 limit=1)
    saved = equivalence.run_matrix(configs, verbose=False)
    key = configs[0]["key"]
    assert equivalence.compare(saved, saved, atol=0.0, exact=True) == 0
    nudged = saved[key]["proba"].copy()
    nudged[0, 0] = np.nextafter(nudged[0, 0], 2.0)
    assert equivalence.compare(saved, {key: {**saved[key], "proba": nudged}}, atol=1e-5,
                               exact=True) == 1
    as_float32 = {key: {**saved[key], "proba": saved[key]["proba"].astype(np.float32)}}
    assert equivalence.compare(saved, as_float32, atol=1e-5) == 0
    assert equivalence.compare(saved, as_float32, atol=1e-5, exact=True) == 1


def test_saved_file_compares_equal_to_a_rerun(tmp_path):
    configs = equivalence.select(equivalence.all_configs(), limit=2)
    path = tmp_path / "eq.npz"
    equivalence.save(path, equivalence.run_matrix(configs, verbose=False))
    saved, _ = equivalence.load(path)
    assert equivalence.compare(saved, equivalence.run_matrix(configs, verbose=False),
                               atol=0.0) == 0
    key = configs[0]["key"]
    perturbed = {**saved, key: {**saved[key], "proba": saved[key]["proba"] + 1e-3}}
    assert equivalence.compare(perturbed, saved, atol=1e-5) == 1
    errored = {**saved, key: {"error": "error: ValueError: boom"}}
    assert equivalence.compare(errored, saved, atol=1e-5) == 1
    # the same unexpected error on both sides is no agreement: that configuration must fit
    assert equivalence.compare(errored, errored, atol=1e-5) == 1
    assert np.isinf(equivalence.compare_one(key, None, saved[key])[0])


def test_running_the_matrix_leaves_the_thread_count_alone():
    import torch
    before = torch.get_num_threads()
    equivalence.run_matrix(equivalence.select(equivalence.all_configs(), limit=1),
                           verbose=False)
    assert torch.get_num_threads() == before


def test_cli_compare_exit_status(tmp_path):
    path = tmp_path / "eq.npz"
    run = [sys.executable, str(BENCH / "equivalence.py"), "--only", "error/", "--limit", "1"]
    assert subprocess.run([*run, "--save", str(path)], capture_output=True,
                          timeout=300).returncode == 0
    result = subprocess.run([*run, "--compare", str(path)], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1/1 configurations agree" in result.stdout


def test_predict_exact_allows_a_shifted_proba_but_no_moved_prediction():
    before = {"proba": np.array([[0.9, 0.1]], np.float32), "pred": np.array([0]),
              "train_loss": np.array([0.5])}
    shifted = {**before, "proba": np.array([[0.95, 0.05]], np.float32), "shift": True}
    unshifted = {**shifted, "shift": False}
    moved = {**shifted, "pred": np.array([1])}
    assert equivalence.compare({"k": before}, {"k": shifted}, 1e-5, predict_exact=True) == 0
    assert equivalence.compare({"k": before}, {"k": unshifted}, 1e-5, predict_exact=True) == 1
    assert equivalence.compare({"k": before}, {"k": moved}, 1e-5, predict_exact=True) == 1
