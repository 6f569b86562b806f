"""The default search space of imbalance strategies."""

from __future__ import annotations

__all__ = ["default_strategy_grid"]


def default_strategy_grid(max_epochs: int = 20, prefix: str = "") -> list[dict]:
    """Samplers x losses worth comparing first, as a ``GridSearchCV`` parameter grid.

    Ten settings: four losses with plain shuffling (``ce``, ``logit_adjusted``,
    ``focal``, ``balanced_softmax``), ``weighted_ce`` with balanced and
    square-root weights, LDAM with deferred re-weighting from two thirds of
    the epochs, and the ``sqrt``, ``over`` and ``under`` samplers with ``ce``.

    Parameters
    ----------
    max_epochs : int, default=20
        Epochs of the fits, to place LDAM's re-weighting epoch.
    prefix : str, default=""
        Prepended to every key, e.g. ``"clf__"`` for a pipeline step.

    Returns
    -------
    grid : list of dict

    Examples
    --------
    >>> from sklearn.model_selection import ParameterGrid
    >>> from skimb.grid import default_strategy_grid
    >>> len(ParameterGrid(default_strategy_grid()))
    10
    >>> default_strategy_grid(prefix="clf__")[0]["clf__sampler"]
    ['none']
    """
    grid = [
        {"sampler": ["none"], "loss": ["ce", "logit_adjusted", "focal", "balanced_softmax"]},
        {"sampler": ["none"], "loss": ["weighted_ce"], "loss__weights": ["balanced", "sqrt"]},
        {"sampler": ["none"], "loss": ["ldam"], "loss__drw_epoch": [max_epochs * 2 // 3]},
        {"sampler": ["sqrt", "over", "under"], "loss": ["ce"]},
    ]
    return [{prefix + key: values for key, values in part.items()} for part in grid]
