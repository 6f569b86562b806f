"""Equal budgets in optimizer steps for the settings of a strategy grid.

The rule is :func:`skimb.recipe.equal_step_epochs`: a sampler whose epochs draw
fewer rows (``under``, ``sampler__max_per_class``) runs as many more epochs as it
takes to make the steps of ``max_epochs`` epochs of ``sampler="none"``.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.model_selection import ParameterGrid

from ..recipe import equal_step_epochs, steps_per_epoch
from ..samplers import make_sampler


def equal_steps(params: dict, clf, y_fit, max_epochs: int) -> int:
    """Epochs that give the setting ``params`` of ``clf`` the optimizer steps of
    ``max_epochs`` epochs of ``sampler="none"`` on the training labels ``y_fit``."""
    sampler_params = {**clf.get_params_for("sampler"),
                      **{key.removeprefix("sampler__"): value for key, value in params.items()
                         if key.startswith("sampler__")}}
    sampler = make_sampler(params.get("sampler", clf.sampler), sampler_params)
    counts = np.unique(np.asarray(y_fit), return_counts=True)[1]
    rows = sampler.rows_per_epoch(torch.as_tensor(counts))
    if rows is None:  # an imblearn sampler: its epoch length is known once drawn
        return max_epochs
    return equal_step_epochs(max_epochs, epoch_steps=steps_per_epoch(rows, clf.batch_size),
                             full_steps=steps_per_epoch(len(y_fit), clf.batch_size))


def equal_step_grid(grid, clf, fold_labels, max_epochs: int) -> list[dict]:
    """One grid point per setting, each with the ``max_epochs`` that gives it the optimizer
    steps of ``max_epochs`` epochs of ``sampler="none"`` in a CV fold (the mean over the
    folds' training labels ``fold_labels``)."""
    points = []
    for params in ParameterGrid(grid):
        epochs = [equal_steps(params, clf, y_fit, max_epochs) for y_fit in fold_labels]
        points.append({**{key: [value] for key, value in params.items()},
                       "max_epochs": [int(round(np.mean(epochs)))]})
    return points
