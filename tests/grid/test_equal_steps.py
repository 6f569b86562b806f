"""equal_step_grid gives every setting the optimizer steps of sampler="none";
rank_strategies ranks a search's settings."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skimb import ImbalancedTorchClassifier
from skimb.grid import default_strategy_grid, equal_step_grid, rank_strategies


def _labels(counts):
    return np.repeat(np.array(list(counts)), list(counts.values()))


def _epochs(points, prefix=""):
    return {p[prefix + "sampler"][0] + ("/cap" if prefix + "sampler__max_per_class" in p else ""):
            p[prefix + "max_epochs"][0] for p in points}


def test_every_setting_gets_the_steps_of_sampler_none():
    y = _labels({"a": 1600, "b": 480, "c": 32})  # 2112 rows: 9 batches of 256
    grid = [{"sampler": ["none", "sqrt", "over", "under"]},
            {"sampler": ["none"], "sampler__max_per_class": [100]}]  # 32 + 100 + 100: 1 batch
    epochs = _epochs(equal_step_grid(grid, ImbalancedTorchClassifier(), y, max_epochs=20))
    steps = {"none": 9, "sqrt": 9, "over": 9, "under": 1, "none/cap": 1}
    assert {name: epochs[name] * per_epoch for name, per_epoch in steps.items()} == dict.fromkeys(
        steps, 180)


def test_a_setting_s_batch_size_and_a_pipeline_prefix_are_read():
    y = _labels({"a": 1600, "b": 480, "c": 32})
    pipe = Pipeline([("scale", StandardScaler()), ("clf", ImbalancedTorchClassifier(
        batch_size=512))])
    points = equal_step_grid({"clf__sampler": ["none", "under"]}, pipe, y, max_epochs=20,
                             prefix="clf__")
    assert _epochs(points, "clf__") == {"none": 20, "under": 100}  # 5 batches of 512 vs 1
    point = equal_step_grid({"sampler": ["under"], "batch_size": [32]},
                            ImbalancedTorchClassifier(), y, max_epochs=20)[0]
    assert point["max_epochs"] == [20 * 66 // 3]  # 66 batches of 32 vs 3


def test_the_folds_budget_is_the_mean_over_their_training_parts():
    y = _labels({"a": 1600, "b": 480, "c": 32})
    cv = StratifiedKFold(2, shuffle=True, random_state=0)  # 1056 rows: 5 batches; under: 1
    points = equal_step_grid({"sampler": ["none", "under"]}, ImbalancedTorchClassifier(), y,
                             max_epochs=20, cv=cv)
    assert _epochs(points) == {"none": 20, "under": 100}
    assert len(equal_step_grid(default_strategy_grid(), ImbalancedTorchClassifier(), y,
                               max_epochs=3, cv=3)) == 10


@pytest.mark.parametrize("bad", [0, -3, 2.5, "auto", True])
def test_max_epochs_must_be_a_positive_integer(bad):
    with pytest.raises(ValueError, match="max_epochs must be a positive integer"):
        equal_step_grid({"sampler": ["none"]}, ImbalancedTorchClassifier(), ["a", "b"],
                        max_epochs=bad)


def test_rank_strategies_ranks_a_search_and_scores_held_out_predictions():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3)).astype(np.float32)
    y = np.where(X[:, 0] > 0.8, "rare", "common")
    search = GridSearchCV(ImbalancedTorchClassifier(max_epochs=2, random_state=0),
                          {"sampler": ["none", "over"], "loss": ["ce"]}, cv=2,
                          scoring="f1_macro").fit(X, y)
    predictions = [np.full(len(y), "common"), y]
    table = rank_strategies(search, y_test=y, test_predictions=predictions)
    assert table.index.tolist() == [1, 2]
    assert table["cv_mean"].is_monotonic_decreasing
    assert set(table["strategy"]) == {"none + ce", "over + ce"}
    by_candidate = table.set_index("candidate")
    assert by_candidate.loc[1, "test_macro_f1"] == 1.0
    assert by_candidate.loc[0, "F1 rare"] == 0.0
    assert by_candidate.loc[0, "test_macro_f1"] == pytest.approx(
        by_candidate.loc[0, ["F1 common", "F1 rare"]].mean())
    excluded = rank_strategies(search, y_test=y, test_predictions=predictions,
                               exclude=["rare"]).set_index("candidate")
    assert excluded.loc[0, "test_macro_f1"] == by_candidate.loc[0, "F1 common"]
    with pytest.raises(ValueError, match="pass both or neither"):
        rank_strategies(search, y_test=y)
