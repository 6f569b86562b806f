"""The default search space of imbalance strategies."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

__all__ = ["default_strategy_grid", "prefer_baseline"]

#: Values of parameters a grid candidate leaves unset (the classifier's defaults).
_UNSET = {"decision": "argmax"}
#: LDAM-DRW's re-weighting starts after this fraction of each fit call's epochs.
_DRW_FRACTION = 2 / 3


def default_strategy_grid(*, prefix: str = "") -> list[dict]:
    """Samplers x losses worth comparing first, as a ``GridSearchCV`` parameter grid.

    Ten settings: three losses with plain shuffling (``ce``, ``logit_adjusted``,
    ``focal``), ``ce`` with post-hoc logit adjustment (``decision="prior"``),
    ``weighted_ce`` with balanced and square-root weights, LDAM with deferred
    re-weighting from two thirds of each fit's epochs (``loss__drw_epoch=2/3``,
    a fraction of the fit call's epoch budget, whatever ``max_epochs`` is), and
    the ``sqrt``, ``over`` and ``under`` samplers with ``ce``.
    (``balanced_softmax`` is left out: it is ``logit_adjusted`` with tau=1 up
    to a constant, the same model.)

    The settings train for the estimator's ``max_epochs``. With
    ``max_epochs="auto"`` (the classifier's default) every sampler gets the
    optimizer steps of ``sampler="none"``; with an integer, ``under`` runs as
    many epochs as the others, and its epochs are shorter (``python -m skimb
    compare`` gives it more epochs, the same steps).

    Parameters
    ----------
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
        {"sampler": ["none"], "loss": ["ce", "logit_adjusted", "focal"]},
        {"sampler": ["none"], "loss": ["ce"], "decision": ["prior"]},
        {"sampler": ["none"], "loss": ["weighted_ce"], "loss__weights": ["balanced", "sqrt"]},
        {"sampler": ["none"], "loss": ["ldam"], "loss__drw_epoch": [_DRW_FRACTION]},
        {"sampler": ["sqrt", "over", "under"], "loss": ["ce"]},
    ]
    return [{prefix + key: values for key, values in part.items()} for part in grid]


def prefer_baseline(
    baseline: Mapping | None = None, n_std_errors: float = 1.0, prefix: str = "",
    metric: str = "score",
) -> Callable[[dict], int]:
    """A ``GridSearchCV(refit=...)`` rule: keep the plain setting unless another is clearly better.

    With few rows in the rare classes, cross-validated macro-F1 is noisy and
    the top-ranked strategy often wins by chance; picking it can then lose to
    plain training on new data. This rule (the "one standard error" rule of
    model selection, with the baseline as the simple model) refits the best
    candidate only when its mean score beats the baseline's by more than
    ``n_std_errors`` standard errors of their per-fold differences (folds are
    paired: both were scored on the same rows); otherwise it refits the
    baseline.

    Parameters
    ----------
    baseline : mapping, default={"sampler": "none", "loss": "ce", "decision": "argmax"}
        Parameter values (without ``prefix``) that identify the baseline
        candidates; the best-scoring of them is the baseline. A candidate
        that does not set ``decision`` has the classifier's ``"argmax"``.
    n_std_errors : float, default=1.0
        How many standard errors the gain must exceed; 0 picks the best
        candidate whenever its mean is higher.
    prefix : str, default=""
        Prefix of the parameter names in the grid, e.g. ``"clf__"``.
    metric : str, default="score"
        With several scorers (``scoring={"f1": ..., ...}``), the one to decide
        by; ``cv_results_`` then holds ``mean_test_<metric>``.

    Returns
    -------
    refit : callable ``refit(cv_results) -> int``
        The index of the candidate to refit. It pickles with the search.
        scikit-learn sets no ``best_score_`` when ``refit`` is a callable: the
        refitted candidate's score is
        ``search.cv_results_["mean_test_score"][search.best_index_]``.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.model_selection import GridSearchCV
    >>> from skimb import ImbalancedTorchClassifier
    >>> from skimb.grid import prefer_baseline
    >>> X, y = make_classification(n_samples=300, weights=[0.9], random_state=0)
    >>> search = GridSearchCV(
    ...     ImbalancedTorchClassifier(max_epochs=2, train_split=None, random_state=0),
    ...     {"sampler": ["none", "over"], "loss": ["ce"]},
    ...     scoring="f1_macro", cv=3, refit=prefer_baseline())
    >>> search.fit(X, y).best_params_["sampler"] in ("none", "over")
    True
    >>> score = search.cv_results_["mean_test_score"][search.best_index_]
    >>> import pickle; pickle.loads(pickle.dumps(search)).best_index_ == search.best_index_
    True
    """
    baseline = dict({"sampler": "none", "loss": "ce", "decision": "argmax"}
                    if baseline is None else baseline)
    if n_std_errors < 0:
        raise ValueError(f"n_std_errors must be >= 0, got {n_std_errors!r}.")
    return _PreferBaseline(baseline, n_std_errors, prefix, metric)


class _PreferBaseline:
    """The rule :func:`prefer_baseline` returns: an object, so a search holding it pickles."""

    def __init__(self, baseline: dict, n_std_errors: float, prefix: str, metric: str):
        self.baseline = baseline
        self.n_std_errors = n_std_errors
        self.prefix = prefix
        self.metric = metric

    def __repr__(self) -> str:
        return (f"prefer_baseline(baseline={self.baseline!r}, n_std_errors={self.n_std_errors!r}, "
                f"prefix={self.prefix!r}, metric={self.metric!r})")

    def __call__(self, cv_results: dict) -> int:
        suffix = f"_test_{self.metric}"
        if "mean" + suffix not in cv_results:
            scorers = sorted(k[len("mean_test_"):] for k in cv_results if k.startswith("mean_test_"))
            raise ValueError(
                f"prefer_baseline: cv_results_ has no 'mean{suffix}'; pass metric= one of "
                f"{scorers}."
            )
        means = np.asarray(cv_results["mean" + suffix], dtype=np.float64)
        params = cv_results["params"]
        matches = [i for i, p in enumerate(params)
                   if all(p.get(self.prefix + k, _UNSET.get(k)) == v
                          for k, v in self.baseline.items())]
        if not matches:
            raise ValueError(f"prefer_baseline: no candidate of the grid has {self.baseline}.")
        base = max(matches, key=lambda i: means[i])
        best = int(np.nanargmax(means))
        splits = [k for k in cv_results if k.startswith("split") and k.endswith(suffix)]
        if best == base or len(splits) < 2:
            return best
        per_fold = np.array([cv_results[k] for k in splits], dtype=np.float64)
        gains = per_fold[:, best] - per_fold[:, base]
        std_error = gains.std(ddof=1) / np.sqrt(len(gains))
        return best if gains.mean() > self.n_std_errors * std_error else base
