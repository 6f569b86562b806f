"""The default search space of imbalance strategies."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

__all__ = ["default_strategy_grid", "equal_step_grid", "prefer_baseline", "rank_strategies"]

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


def equal_step_grid(grid, estimator, y, *, max_epochs: int, cv=None, prefix: str = "") -> list[dict]:
    """A grid whose every setting trains for the optimizer steps of ``sampler="none"``.

    An integer ``max_epochs`` keeps skorch's meaning, so a sampler whose
    epochs draw fewer rows (``under``: the smallest class's count from every
    class; ``sampler__max_per_class``) gets fewer optimizer steps than the
    others. This gives each setting of ``grid`` its own ``max_epochs``: the
    epochs that make as many steps as ``max_epochs`` epochs of
    ``sampler="none"`` on the rows it trains on
    (:func:`skimb.recipe.equal_step_epochs`), the mean over the training
    parts of ``cv``'s folds, or on all of ``y`` without ``cv`` (for a refit).
    An imbalanced-learn sampler, whose epoch length is known only once drawn,
    keeps ``max_epochs``. (``max_epochs="auto"`` makes the same correction
    inside every fit.)

    Parameters
    ----------
    grid : dict or list of dict
        A ``GridSearchCV`` parameter grid, e.g. :func:`default_strategy_grid`.
    estimator : ImbalancedTorchClassifier, or a pipeline ending in one
        Gives the defaults a setting leaves unset (sampler, its parameters,
        ``batch_size``); a pipeline's step is found through ``prefix``.
    y : array-like of shape (n_samples,)
        The labels that will be searched over.
    max_epochs : int
        Epochs of a ``sampler="none"`` fit.
    cv : int or cross-validation splitter, optional
        The folds of the search (an int is ``StratifiedKFold``, as in
        ``GridSearchCV``); None: every setting is fitted on all of ``y``.
    prefix : str, default=""
        Prefix of the grid's keys, e.g. ``"clf__"`` for a pipeline step.

    Returns
    -------
    grid : list of dict
        One point per setting of ``grid`` (each value a one-item list), with
        ``prefix + "max_epochs"``.

    Examples
    --------
    >>> import numpy as np
    >>> from skimb import ImbalancedTorchClassifier
    >>> from skimb.grid import equal_step_grid
    >>> y = np.repeat(["a", "b", "c"], [1600, 480, 32])  # 9 batches of 256; 'under': 96 rows
    >>> points = equal_step_grid({"sampler": ["none", "under"]}, ImbalancedTorchClassifier(),
    ...                          y, max_epochs=20)
    >>> [(p["sampler"][0], p["max_epochs"][0]) for p in points]
    [('none', 20), ('under', 180)]
    """
    import torch
    from sklearn.base import is_classifier
    from sklearn.model_selection import ParameterGrid, check_cv

    from .recipe import equal_step_epochs, steps_per_epoch
    from .samplers import make_sampler

    if isinstance(max_epochs, bool) or not isinstance(max_epochs, (int, np.integer)) \
            or max_epochs < 1:
        raise ValueError(f"max_epochs must be a positive integer, got {max_epochs!r}.")
    y = np.asarray(y)
    if cv is None:
        fold_labels = [y]
    else:
        splitter = check_cv(cv, y, classifier=is_classifier(estimator))
        fold_labels = [y[rows] for rows, _ in splitter.split(np.zeros((len(y), 1)), y)]
    clf = estimator.get_params()[prefix.removesuffix("__")] if prefix else estimator
    counts_of = [np.unique(labels, return_counts=True)[1] for labels in fold_labels]

    def epochs(params: dict) -> int:
        own = {key.removeprefix(prefix): value for key, value in params.items()}
        sampler_params = {**clf.get_params_for("sampler"),
                          **{key.removeprefix("sampler__"): value for key, value in own.items()
                             if key.startswith("sampler__")}}
        batch_size = own.get("batch_size", clf.batch_size)
        per_fold = []
        for counts in counts_of:
            rows = make_sampler(own.get("sampler", clf.sampler), sampler_params).rows_per_epoch(
                torch.as_tensor(counts))
            per_fold.append(max_epochs if rows is None else equal_step_epochs(
                max_epochs, epoch_steps=steps_per_epoch(rows, batch_size),
                full_steps=steps_per_epoch(int(counts.sum()), batch_size)))
        return int(round(np.mean(per_fold)))

    return [{**{key: [value] for key, value in params.items()},
             prefix + "max_epochs": [epochs(params)]} for params in ParameterGrid(grid)]


def rank_strategies(cv_results, *, names=None, y_test=None, test_predictions=None,
                    exclude=None, labels=None, prefix: str = "") -> pd.DataFrame:
    """The settings of a search as a table, best cross-validated score first.

    Parameters
    ----------
    cv_results : dict or fitted search
        ``GridSearchCV.cv_results_`` of a single metric (or the search).
    names : list of str, optional
        A name per setting, in the order of ``cv_results["params"]``; by
        default ``"sampler + loss (other=value, ...)"`` for skimb's strategy
        parameters (``max_epochs`` left out), else ``"key=value, ..."``.
    y_test : array-like of shape (n_test,), optional
        True labels of held-out rows, with ``test_predictions``.
    test_predictions : list of array-like, optional
        Each setting's predictions of the held-out rows (in ``params`` order),
        e.g. of a refit on all the searched rows.
    exclude : list, optional
        Classes left out of the held-out macro-F1 (as in
        :func:`skimb.metrics.macro_f1`); their F1 is still shown.
    labels : array-like, optional
        All the classes (such as a model's ``classes_``), which ``exclude``
        may name even where the held-out rows hold none of their rows.
    prefix : str, default=""
        Prefix of the parameter names, e.g. ``"clf__"``; left out of the names.

    Returns
    -------
    table : DataFrame
        Indexed by ``rank`` from 1: ``strategy``, ``candidate`` (its position
        in ``cv_results["params"]``), ``cv_mean`` and ``cv_std`` (over the
        folds) and, with held-out predictions, ``test_macro_f1`` and
        ``F1 <class>`` for every class of ``y_test`` and the predictions.

    Examples
    --------
    >>> from skimb.grid import rank_strategies
    >>> cv_results = {"params": [{"sampler": "none", "loss": "ce"},
    ...                          {"sampler": "none", "loss": "ce", "decision": "prior"}],
    ...               "mean_test_score": [0.61, 0.66], "std_test_score": [0.02, 0.03]}
    >>> table = rank_strategies(cv_results, y_test=["a", "a", "b"],
    ...                         test_predictions=[["a", "a", "a"], ["a", "b", "b"]])
    >>> table["strategy"].tolist()
    ['none + ce (decision=prior)', 'none + ce']
    >>> table[["cv_mean", "test_macro_f1", "F1 a", "F1 b"]].round(2).to_numpy().tolist()
    [[0.66, 0.67, 0.67, 0.67], [0.61, 0.4, 0.8, 0.0]]
    """
    from sklearn.metrics import f1_score
    from sklearn.utils.multiclass import unique_labels

    from .metrics import macro_f1

    cv_results = getattr(cv_results, "cv_results_", cv_results)
    if "mean_test_score" not in cv_results:
        raise ValueError("cv_results has no 'mean_test_score': pass the cv_results_ of a search "
                         "with a single scoring.")
    params = cv_results["params"]
    names = [_strategy_name(p, prefix) for p in params] if names is None else list(names)
    if len(names) != len(params):
        raise ValueError(f"names has {len(names)} entries for {len(params)} settings.")
    table = pd.DataFrame({"strategy": names, "candidate": np.arange(len(params)),
                          "cv_mean": cv_results["mean_test_score"],
                          "cv_std": cv_results["std_test_score"]})
    if (y_test is None) != (test_predictions is None):
        raise ValueError("y_test and test_predictions go together: pass both or neither.")
    if test_predictions is not None:
        if len(test_predictions) != len(params):
            raise ValueError(f"test_predictions has {len(test_predictions)} entries for "
                             f"{len(params)} settings.")
        y_test = np.asarray(y_test)
        classes = unique_labels(y_test, *test_predictions)
        table["test_macro_f1"] = [macro_f1(y_test, pred, exclude=exclude, labels=labels)
                                  for pred in test_predictions]
        per_class = np.array([f1_score(y_test, pred, labels=classes, average=None,
                                       zero_division=0) for pred in test_predictions])
        for j, c in enumerate(classes):
            table[f"F1 {c}"] = per_class[:, j]
    table = table.sort_values("cv_mean", ascending=False, kind="stable")
    table.index = pd.RangeIndex(1, len(table) + 1, name="rank")
    return table


def _strategy_name(params: dict, prefix: str) -> str:
    """``"sampler + loss (other=value, ...)"`` for skimb's settings, else ``"key=value, ..."``."""
    own = {key.removeprefix(prefix): value for key, value in params.items()}
    if not {"sampler", "loss"} <= set(own):
        return ", ".join(f"{key}={value}" for key, value in own.items())
    extras = ", ".join(f"{key.split('__', 1)[-1]}={value:.3g}" if isinstance(value, float)
                       else f"{key.split('__', 1)[-1]}={value}"
                       for key, value in own.items()
                       if key not in ("sampler", "loss", "max_epochs"))
    text = f"{own['sampler']} + {own['loss']}"
    return f"{text} ({extras})" if extras else text
