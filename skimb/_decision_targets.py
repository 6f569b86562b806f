"""What the offset search maximises on held-out rows, and the per-class constraints it meets.

A *target* is read from the parameters ``scoring``, ``exclude``,
``constraints`` and ``cost_matrix`` (of ``decision="tuned"`` and of
:class:`~skimb.TunedDecisionClassifierCV`), with every label checked against
the classes. It scores the decisions of one 1-D step of the search on every
interval of the moving offset (:func:`skimb.decisions.tune_offsets` sweeps
them): macro-F1 and a cost matrix exactly, any other scorer through
scikit-learn's public scorer call ``scorer(estimator, X, y)`` on at most
:data:`SCORER_CANDIDATES` intervals, and per-class recall and precision floors
as a *shortfall* (how far they are from being met, 0 when they are).
"""

from __future__ import annotations

from collections.abc import Mapping
import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import get_scorer

from ._inputs.labels import as_label_list, check_labels, label_positions
from .metrics import MacroF1Scorer

#: The per-class quantities ``constraints`` may set a floor on.
CONSTRAINT_METRICS = ("recall", "precision")

#: Most intervals of one step at which a scorer other than macro-F1 or a cost is called
#: (half spread over the breakpoints, half around the best of those).
SCORER_CANDIDATES = 100

_TOL = 1e-12


def _spread(n: int, k: int) -> np.ndarray:
    """At most ``k`` positions evenly spread over ``0 .. n - 1``, both ends included."""
    return np.unique(np.linspace(0, n - 1, min(n, k)).round().astype(np.int64))


class DecisionConstraintWarning(UserWarning):
    """The tuned decision offsets do not meet every per-class constraint on the rows they
    were tuned on; the offsets closest to meeting them (least total shortfall) are kept.

    Examples
    --------
    Every row has the same probabilities, so every row gets the same class, and "ice"
    (3 rows in 10) cannot reach a precision of 0.9:

    >>> import warnings
    >>> import numpy as np
    >>> from skimb.decisions import DecisionConstraintWarning, choose_offsets
    >>> proba, y = np.tile([0.6, 0.4], (10, 1)), np.array([0] * 7 + [1] * 3)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     offsets, _ = choose_offsets(proba, y, np.array(["dry", "ice"]), min_count=1,
    ...                                 constraints={"ice": {"precision": 0.9}})
    >>> caught[0].category is DecisionConstraintWarning
    True
    >>> print(caught[0].message)  # doctest: +NORMALIZE_WHITESPACE
    The decision offsets cannot meet every constraint on the 10 held-out rows they were
    tuned on: precision of 'ice' is 0.300 < 0.9. The offsets closest to meeting them are kept.
    """


def _is_default(scoring) -> bool:
    return isinstance(scoring, str) and scoring == "f1_macro"


def check_scoring_form(scoring):
    """``scoring`` as the search reads it: ``("macro_f1", exclude)`` for ``"f1_macro"`` and
    :class:`~skimb.metrics.MacroF1Scorer`, else ``("scorer", scorer)``; ValueError otherwise."""
    if _is_default(scoring):
        return "macro_f1", []
    if isinstance(scoring, MacroF1Scorer):
        return "macro_f1", as_label_list(scoring.exclude)
    if isinstance(scoring, str):
        return "scorer", get_scorer(scoring)  # ValueError naming the valid names
    if callable(scoring):
        return "scorer", scoring
    raise ValueError(
        f"scoring={scoring!r} is not a scorer: use a scikit-learn scorer name (such as "
        "'f1_macro' or 'balanced_accuracy'), a callable scorer(estimator, X, y) (such as "
        "sklearn.metrics.make_scorer(metric)) or skimb.metrics.macro_f1_scorer(exclude=...)."
    )


def check_constraints_form(constraints, name: str = "constraints") -> list:
    """``[(label, metric, floor), ...]`` of ``{label: {metric: floor}}``; ValueError for
    another form, an unknown metric or a floor outside [0, 1]."""
    if constraints is None:
        return []
    if not isinstance(constraints, Mapping):
        raise ValueError(
            f"{name} must be a dict {{label: {{'recall' or 'precision': floor}}}}, such as "
            f"{{'Ice Warning': {{'recall': 0.8}}}}; got {constraints!r}.")
    out = []
    for label, floors in constraints.items():
        if not isinstance(floors, Mapping) or not floors:
            raise ValueError(
                f"{name}[{label!r}] must be a non-empty dict {{metric: floor}} with "
                f"metric one of {CONSTRAINT_METRICS}; got {floors!r}.")
        for metric, floor in floors.items():
            if metric not in CONSTRAINT_METRICS:
                raise ValueError(f"{name}[{label!r}] names metric {metric!r}; use one of "
                                 f"{CONSTRAINT_METRICS}.")
            if (isinstance(floor, bool) or not isinstance(floor, numbers.Real)
                    or not 0.0 <= floor <= 1.0):
                raise ValueError(f"{name}[{label!r}][{metric!r}] must be a number in "
                                 f"[0, 1], got {floor!r}.")
            out.append((label, metric, float(floor)))
    return out


def check_cost_form(cost, name: str = "cost_matrix") -> None:
    """ValueError unless ``cost`` is None, a square array of finite costs, or a dict
    ``{true_label: {predicted_label: cost}}`` of finite costs."""
    if cost is None:
        return
    if isinstance(cost, Mapping):
        for true, row in cost.items():
            if not isinstance(row, Mapping):
                raise ValueError(
                    f"{name} given as a dict maps each true label to a dict "
                    f"{{predicted_label: cost}}; got {row!r} for {true!r}.")
            for predicted, value in row.items():
                if (isinstance(value, bool) or not isinstance(value, numbers.Real)
                        or not np.isfinite(value)):
                    raise ValueError(f"{name}[{true!r}][{predicted!r}] must be a finite "
                                     f"number, got {value!r}.")
        return
    try:
        matrix = np.asarray(cost, dtype=np.float64)
    except (TypeError, ValueError):
        matrix = None
    if matrix is None or matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(
            f"{name} must be a square array (rows: true class, columns: predicted class, "
            "in the order of classes_) or a dict {true_label: {predicted_label: cost}}; got "
            f"{cost!r}.")
    if not np.all(np.isfinite(matrix)):
        raise ValueError(f"{name} must hold finite costs.")


def _cost_matrix(cost, classes, name: str) -> np.ndarray:
    """The ``(n_classes, n_classes)`` matrix of ``cost``, its labels checked."""
    check_cost_form(cost, name)
    n = len(classes)
    if not isinstance(cost, Mapping):
        matrix = np.array(cost, dtype=np.float64)
        if matrix.shape != (n, n):
            raise ValueError(f"{name} has shape {matrix.shape}; there are {n} classes, so "
                             f"it must be ({n}, {n}), in the order of classes_.")
        return matrix
    matrix = np.zeros((n, n))
    rows = check_labels(list(cost), classes, name)
    for true, i in zip(rows, label_positions(rows, classes)):
        columns = check_labels(list(cost[true]), classes, f"{name}[{true!r}]")
        for predicted, j in zip(columns, label_positions(columns, classes)):
            matrix[i, j] = cost[true][predicted]
    return matrix


class _HeldOut(ClassifierMixin, BaseEstimator):
    """The classifier on the held-out rows, for a scorer's public call ``scorer(self, X, y)``:
    ``X`` holds row positions; ``predict`` gives the decisions under test."""

    def __init__(self, classes=None, proba=None):
        self.classes = classes
        self.proba = proba

    def predict(self, X):
        return self.classes_[self.decisions_[np.asarray(X).ravel()]]

    def predict_proba(self, X):
        return self.proba[np.asarray(X).ravel()]


class Target:
    """The objective and constraints of one offset search, on its held-out rows.

    Parameters
    ----------
    classes : ndarray of shape (n_classes,)
    scoring, exclude, constraints, cost_matrix
        As :func:`skimb.decisions.tune_offsets` takes them; every label is
        checked against ``classes`` (ValueError).
    prefix : str, default=""
        Put before the parameter names in messages (``"decision__"``).
    """

    def __init__(self, classes, *, scoring="f1_macro", exclude=None, constraints=None,
                 cost_matrix=None, prefix: str = ""):
        classes = np.asarray(classes)
        kind, value = check_scoring_form(scoring)
        p = prefix
        named = check_labels(as_label_list(exclude), classes, f"{p}exclude")
        if kind == "macro_f1":
            named = named + check_labels(value, classes, f"{p}scoring={scoring!r}: exclude")
        if cost_matrix is not None and not _is_default(scoring):
            raise ValueError(f"{p}cost_matrix is the objective; {p}scoring={scoring!r} would "
                             f"be another: leave {p}scoring at 'f1_macro'.")
        if named and (kind != "macro_f1" or cost_matrix is not None):
            raise ValueError(
                f"{p}exclude={named!r} leaves classes out of macro-F1, but the objective is "
                + (f"{p}cost_matrix." if cost_matrix is not None else f"{p}scoring={scoring!r}."))
        self.classes = classes
        self.counted = np.ones(len(classes), dtype=bool)
        self.counted[label_positions(named, classes)] = False
        if not self.counted.any():
            raise ValueError(f"{p}exclude names every class {classes.tolist()}: every class is "
                             "excluded, so macro-F1 would average over none.")
        self.cost = None if cost_matrix is None else _cost_matrix(cost_matrix, classes,
                                                                  f"{p}cost_matrix")
        self.scorer = value if kind == "scorer" else None
        listed = check_constraints_form(constraints, f"{p}constraints")
        check_labels([label for label, _, _ in listed], classes, f"{p}constraints")
        self.constraints = [(label, int(label_positions([label], classes)[0]), metric, floor)
                            for label, metric, floor in listed]

    @property
    def is_macro_f1(self) -> bool:
        """Whether the objective is macro-F1 (over the ``counted`` classes)."""
        return self.cost is None and self.scorer is None

    @property
    def constrained_positions(self) -> np.ndarray:
        """Positions of the classes a constraint names."""
        return np.unique([c[1] for c in self.constraints]).astype(np.int64)

    def restricted(self, kept) -> dict:
        """``scoring``, ``exclude``, ``constraints`` and ``cost_matrix`` of this target on the
        classes at positions ``kept`` (what names the others is dropped), as
        :func:`skimb.decisions.choose_offsets` takes them."""
        kept_set = set(np.asarray(kept).tolist())
        constraints = {}
        for label, k, metric, floor in self.constraints:
            if k in kept_set:
                constraints.setdefault(label, {})[metric] = floor
        return {"scoring": "f1_macro" if self.scorer is None else self.scorer,
                "exclude": [self.classes[k] for k in np.flatnonzero(~self.counted)
                            if k in kept_set],
                "constraints": constraints or None,
                "cost_matrix": None if self.cost is None else self.cost[np.ix_(kept, kept)]}

    # -- on the rows of one search -------------------------------------------------

    def bind(self, proba, y, weights):
        """Fix the held-out rows: ``proba`` (n, K), ``y`` positions, ``weights`` (positive)."""
        self.y, self.weights = y, weights
        self.true = np.bincount(y, weights=weights, minlength=len(self.classes))
        if self.scorer is not None:
            self._model = _HeldOut(self.classes, np.asarray(proba))
            self._model.classes_ = self.classes
            self._rows = np.arange(len(y))[:, None]
            self._labels = self.classes[y]
        return self

    def score(self, pred) -> float:
        """The objective of class positions ``pred`` (higher is better); not macro-F1."""
        if self.cost is not None:
            return -float(np.sum(self.weights * self.cost[self.y, pred]) / self.weights.sum())
        self._model.decisions_ = pred
        kwargs = {} if np.all(self.weights == 1.0) else {"sample_weight": self.weights}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            try:
                value = self.scorer(self._model, self._rows, self._labels, **kwargs)
            except TypeError as exc:
                raise ValueError(
                    f"scoring={self.scorer!r} failed when called as a scorer "
                    f"scorer(estimator, X, y{', sample_weight=' if kwargs else ''}): {exc}. A "
                    "metric metric(y_true, y_pred) becomes a scorer through "
                    "sklearn.metrics.make_scorer(metric).") from exc
        return float(value)

    def shortfall(self, pred) -> float:
        """Sum over the constraints of how far class positions ``pred`` fall below each floor."""
        if not self.constraints:
            return 0.0
        hit = pred == self.y
        K = len(self.classes)
        tp = np.bincount(pred[hit], weights=self.weights[hit], minlength=K)
        predicted = np.bincount(pred, weights=self.weights, minlength=K)
        return float(sum(max(0.0, floor - self._metric(metric, tp[k], predicted[k], self.true[k]))
                         for _, k, metric, floor in self.constraints))

    @staticmethod
    def _metric(metric, tp, predicted, true):
        denominator = true if metric == "recall" else predicted
        return np.divide(tp, denominator, out=np.zeros(np.shape(tp)), where=denominator > 0)

    def sweep_shortfall(self, c, moves) -> np.ndarray:
        """The shortfall on each interval of a step moving class ``c`` (see ``_State.moves``)."""
        out = np.zeros(len(moves.a) + 1)
        if not self.constraints:
            return out
        a, y, w = moves.a, moves.y, moves.w
        zero = np.zeros(1)
        for _, k, metric, floor in self.constraints:
            if k == c:
                tp = np.concatenate([zero, np.cumsum(w * (y == c))])
                predicted = np.concatenate([zero, np.cumsum(w)])
            else:
                # at b_c = -inf every row takes its rival; the first m rows then leave it
                leaves, hits = w * (a == k), w * ((a == k) & (y == k))
                tp = hits.sum() - np.concatenate([zero, np.cumsum(hits)])
                predicted = leaves.sum() - np.concatenate([zero, np.cumsum(leaves)])
            out += np.maximum(0.0, floor - self._metric(metric, tp, predicted, self.true[k]))
        return out

    def sweep_scores(self, c, moves, allowed) -> np.ndarray:
        """The objective on each ``allowed`` interval of a step moving class ``c``; -inf on
        the others. A scorer is called on every allowed interval when there are at most
        :data:`SCORER_CANDIDATES`, else on half that many evenly spread over them, then on as
        many between the neighbours of the best of those."""
        a, y, w = moves.a, moves.y, moves.w
        if self.cost is not None:
            base = np.sum(w * self.cost[y, a])
            total = base + np.concatenate([np.zeros(1),
                                           np.cumsum(w * (self.cost[y, c] - self.cost[y, a]))])
            return np.where(allowed, -total / self.weights.sum(), -np.inf)
        values = np.full(len(a) + 1, np.nan)

        def evaluate(intervals):
            for m in intervals[np.isnan(values[intervals])]:
                pred = moves.rival.copy()
                pred[moves.order[:m]] = c
                values[m] = self.score(pred)

        candidates = np.flatnonzero(allowed)
        half = SCORER_CANDIDATES // 2
        if len(candidates) <= SCORER_CANDIDATES:
            evaluate(candidates)
        else:  # coarse, then fine between the neighbours of the best coarse interval
            coarse = candidates[_spread(len(candidates), half)]
            evaluate(coarse)
            best = int(np.argmax(values[coarse]))
            lo = np.searchsorted(candidates, coarse[max(best - 1, 0)])
            hi = np.searchsorted(candidates, coarse[min(best + 1, len(coarse) - 1)])
            fine = candidates[lo:hi + 1]
            evaluate(fine[_spread(len(fine), half)])
        return np.where(np.isnan(values), -np.inf, values)

    def warn_unmet(self, pred) -> None:
        """Warn (:class:`DecisionConstraintWarning`) naming each constraint ``pred`` misses."""
        if self.shortfall(pred) <= _TOL:
            return
        hit = pred == self.y
        K = len(self.classes)
        tp = np.bincount(pred[hit], weights=self.weights[hit], minlength=K)
        predicted = np.bincount(pred, weights=self.weights, minlength=K)
        missed = [f"{metric} of {label!r} is {float(self._metric(metric, tp[k], predicted[k], self.true[k])):.3f} < {floor}"
                  for label, k, metric, floor in self.constraints
                  if self._metric(metric, tp[k], predicted[k], self.true[k]) < floor - _TOL]
        warnings.warn(
            f"The decision offsets cannot meet every constraint on the {len(self.y)} held-out "
            f"rows they were tuned on: {'; '.join(missed)}. The offsets closest to meeting "
            "them are kept.", DecisionConstraintWarning, stacklevel=4)
