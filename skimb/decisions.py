"""Choosing decisions: class offsets on log-probabilities, and per-label thresholds.

A classifier's probabilities say how likely each class is; the decision that
maximises macro-F1 is usually not ``argmax p``: rare classes are predicted too
seldom. This module chooses the decision rule

    ``predict = argmax_c (log p_c + b_c)``

with class-wise additive offsets ``b``:

* :func:`prior_offsets` — post-hoc logit adjustment, ``b = -tau * log pi``
  (Menon et al., ICLR 2021);
* :func:`tune_offsets` — the offsets maximising macro-F1 on held-out rows, by
  exact coordinate ascent (each one-dimensional step scans the sorted
  breakpoints where a row's decision changes, in O(n log n)); or any
  scikit-learn scorer, or minus the mean cost of a cost matrix, subject to
  per-class recall and precision floors (``skimb._decision_targets`` reads
  these objectives and checks the labels they name);
* :func:`tune_thresholds` — one threshold per label of a multi-label target,
  each maximising that label's F1 by an exact sweep;
* :func:`decide` — the class positions the rule picks;
* :func:`choose_offsets` — tune, then shrink: the offsets ``decision="tuned"``
  and :class:`~skimb.TunedDecisionClassifierCV` keep, and the score they reach.

The rules for small classes — ``min_count`` (classes with fewer held-out rows
keep their starting offset) and :func:`shrink_offsets` (the classifier's tuned
offsets shrink towards 0 with few held-out rows) — are measured in
``docs/user_guide/decisions.md``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._decision_targets import (DecisionConstraintWarning, Target, check_constraints_form,
                                check_cost_form, check_scoring_form)
from ._inputs.labels import check_labels, label_positions

__all__ = ["DECISIONS", "DecisionConstraintWarning", "choose_offsets", "decide",
           "prior_offsets", "shrink_offsets", "tune_offsets", "tune_thresholds"]

#: Values of ``ImbalancedTorchClassifier(decision=...)``.
DECISIONS = ("argmax", "prior", "tuned")

#: The ``decision__*`` parameters.
DECISION_PARAMS = ("tau", "exclude", "min_count", "shrinkage", "scoring", "constraints",
                   "cost_matrix")

#: Default minimum number of held-out rows of a class for its offset to be tuned.
MIN_COUNT = 5

#: Default of ``decision__shrinkage``: a tuned offset is scaled by ``n_c / (n_c + 40)``,
#: ``n_c`` the held-out rows of its class (measured in docs/user_guide/decisions.md).
SHRINKAGE = 40.0

_TINY = np.finfo(np.float64).tiny
#: Offset beyond the outermost breakpoint when the best interval is unbounded.
_END_MARGIN = 1.0
_TOL = 1e-12
#: Narrowest interval of offsets (in log-probability) a step may choose.
_MIN_WIDTH = 1e-9


def check_decision(decision, params: dict | None = None) -> str:
    """Return ``decision`` if it is one of :data:`DECISIONS` and its ``decision__*``
    parameters are known and valid, else raise ValueError (the labels they name are
    checked once ``y`` is known, by :func:`check_decision_labels`)."""
    if not isinstance(decision, str) or decision not in DECISIONS:
        raise ValueError(
            f"Unknown decision={decision!r}; use one of: {', '.join(DECISIONS)}."
        )
    params = params or {}
    unknown = set(params) - set(DECISION_PARAMS)
    if unknown:
        raise ValueError(
            f"Unknown decision parameters {sorted('decision__' + k for k in unknown)}; "
            f"valid: {', '.join('decision__' + k for k in DECISION_PARAMS)}."
        )
    _check_tau(params.get("tau", 1.0))
    _check_min_count(params.get("min_count", MIN_COUNT), "decision__min_count")
    _check_shrinkage(params.get("shrinkage", SHRINKAGE))
    check_scoring_form(params.get("scoring", "f1_macro"))
    check_constraints_form(params.get("constraints"), "decision__constraints")
    check_cost_form(params.get("cost_matrix"), "decision__cost_matrix")
    return decision


def check_decision_labels(decision, params: dict, *, classes, multilabel: bool) -> None:
    """ValueError for a ``decision__*`` parameter that names a label which is not a class,
    excludes every class, or asks a multi-label target for what only one label per row has.

    Run once the classes are known (the labels of ``y``), before any training.

    Parameters
    ----------
    decision : {"argmax", "prior", "tuned"}
    params : dict
        The ``decision__*`` parameters.
    classes : array-like of shape (n_classes,)
        The classes (for a multi-label target, its labels).
    multilabel : bool

    Examples
    --------
    >>> from skimb.decisions import check_decision_labels
    >>> check_decision_labels("tuned", {"exclude": "Chemical Wet"},
    ...                       classes=["Chemical Wet", "Dry", "Ice"], multilabel=False)
    >>> check_decision_labels("tuned", {"constraints": {"ice": {"recall": 0.8}}},
    ...                       classes=["Chemical Wet", "Dry", "Ice"], multilabel=False)
    Traceback (most recent call last):
    ...
    ValueError: decision__constraints names ['ice'], which is not among the classes ['Chemical Wet', 'Dry', 'Ice'].
    """
    classes = np.asarray(classes)
    if multilabel:
        excluded = check_labels(params.get("exclude"), classes, "decision__exclude")
        if len(set(label_positions(excluded, classes).tolist())) == len(classes):
            raise ValueError(f"decision__exclude names every label {classes.tolist()}.")
        asked = [f"decision__{key}" for key in ("scoring", "constraints", "cost_matrix")
                 if params.get(key) is not None and not (key == "scoring"
                                                         and params[key] == "f1_macro")]
        if asked:
            raise ValueError(f"{', '.join(asked)} need one label per row; a multi-label target "
                             "tunes each label's threshold for its own F1.")
        return
    Target(classes, scoring=params.get("scoring", "f1_macro"), exclude=params.get("exclude"),
           constraints=params.get("constraints"), cost_matrix=params.get("cost_matrix"),
           prefix="decision__")


def _log_proba(proba) -> np.ndarray:
    p = np.asarray(proba, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 2:
        raise ValueError(f"proba must be 2-D with a column per class; got shape {p.shape}.")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError("proba must hold finite, non-negative probabilities.")
    return np.log(np.maximum(p, _TINY))


def decide(proba, offsets) -> np.ndarray:
    """Positions of the classes ``argmax(log proba + offsets)`` picks, one per row.

    Zero offsets give ``proba.argmax(axis=1)`` exactly.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
    offsets : array-like of shape (n_classes,)

    Returns
    -------
    positions : ndarray of shape (n_samples,)

    Examples
    --------
    >>> from skimb.decisions import decide
    >>> decide([[0.7, 0.3], [0.9, 0.1]], [0.0, 1.0]).tolist()
    [1, 0]
    """
    offsets = np.asarray(offsets, dtype=np.float64)
    if not offsets.any():
        return np.asarray(proba).argmax(axis=1)
    return (_log_proba(proba) + offsets).argmax(axis=1)


def prior_offsets(class_counts, tau: float = 1.0) -> np.ndarray:
    """Post-hoc logit adjustment: ``-tau * log(pi)``, ``pi`` the class shares.

    A class with no rows gets the offset of a class with half a row, so it is
    not pushed to ``+inf``.

    Parameters
    ----------
    class_counts : array-like of shape (n_classes,)
        Training rows per class.
    tau : float, default=1.0
        Strength; 0 gives zero offsets.

    Returns
    -------
    offsets : ndarray of shape (n_classes,)

    Examples
    --------
    >>> from skimb.decisions import prior_offsets
    >>> prior_offsets([90, 10]).round(3).tolist()
    [0.105, 2.303]
    """
    counts = np.asarray(class_counts, dtype=np.float64)
    if counts.ndim != 1 or np.any(counts < 0) or counts.sum() <= 0:
        raise ValueError("class_counts must be 1-D, non-negative, with at least one row.")
    tau = _check_tau(tau)
    shares = np.maximum(counts, 0.5) / counts.sum()
    return -tau * np.log(shares)


def _check_tau(tau) -> float:
    if isinstance(tau, bool) or not isinstance(tau, (int, float, np.number)) or not np.isfinite(tau):
        raise ValueError(f"decision__tau must be a finite number, got {tau!r}.")
    return float(tau)


def _check_min_count(min_count, name: str = "min_count") -> None:
    if isinstance(min_count, bool) or not isinstance(min_count, (int, np.integer)) or min_count < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {min_count!r}.")


def _check_shrinkage(shrinkage) -> None:
    if (isinstance(shrinkage, bool) or not isinstance(shrinkage, (int, float, np.number))
            or not np.isfinite(shrinkage) or shrinkage < 0):
        raise ValueError(f"decision__shrinkage must be a finite number >= 0, got {shrinkage!r}.")


def _check_weights(sample_weight, n_samples: int):
    """``sample_weight`` as float64, or None; ValueError unless finite, >= 0, not all 0."""
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.ndim != 1 or len(w) != n_samples:
        raise ValueError(f"sample_weight must be 1-D with one weight per row ({n_samples}); "
                         f"got shape {w.shape}.")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("sample_weight must be finite and non-negative.")
    if not np.any(w > 0):
        raise ValueError("sample_weight is zero on every row: no row would count.")
    return w


def _encode(y, classes, n_classes):
    classes = np.arange(n_classes) if classes is None else np.asarray(classes)
    if len(classes) != n_classes:
        raise ValueError(f"classes has {len(classes)} entries; proba has {n_classes} columns.")
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {y.shape}.")
    positions = label_positions(y, classes)
    unknown = positions < 0
    if unknown.any():
        raise ValueError(f"y holds labels not in classes: {np.unique(y[unknown])[:5].tolist()}.")
    return positions, classes


def _f1(tp, pred, true):
    denominator = pred + true
    return np.divide(2.0 * tp, denominator, out=np.zeros(np.shape(tp)), where=denominator > 0)


def _macro_f1(y, pred, weights, counted) -> float:
    """Weighted macro-F1 of class positions ``pred`` against ``y`` (positive ``weights``).

    Each row adds its weight to the true, predicted and true-positive totals;
    the mean runs over the ``counted`` classes that some row holds or is
    predicted, as :func:`skimb.metrics.macro_f1` counts them.
    """
    n_classes = len(counted)
    hit = pred == y
    true = np.bincount(y, weights=weights, minlength=n_classes)
    predicted = np.bincount(pred, weights=weights, minlength=n_classes)
    tp = np.bincount(pred[hit], weights=weights[hit], minlength=n_classes)
    included = counted & ((np.bincount(y, minlength=n_classes) > 0)
                          | (np.bincount(pred, minlength=n_classes) > 0))
    return float(_f1(tp, predicted, true)[included].sum() / max(included.sum(), 1))


class _Moves(NamedTuple):
    """One step's rows sorted by breakpoint: interval ``m`` of ``b_c`` predicts ``c`` for the
    first ``m`` of them and their ``rival`` (the best other class) for the rest."""

    order: np.ndarray  # row positions, by breakpoint
    t: np.ndarray  # sorted breakpoints
    a: np.ndarray  # sorted rows' rivals
    y: np.ndarray  # sorted rows' classes
    w: np.ndarray  # sorted rows' weights
    rival: np.ndarray  # every row's rival, in row order


class _State:
    """Top-two scores per row of ``log p + b``, the counts and macro-F1 they give.

    ``weights`` (positive, one per row; ones when None) scale each row's part
    in the true, predicted and true-positive totals; whether a class is
    present or predicted is decided by its rows, not their total weight.
    """

    def __init__(self, scores, offsets, y, counted, weights=None):
        self.scores, self.offsets, self.y, self.counted = scores, offsets, y, counted
        self.n_classes = scores.shape[1]
        self.weights = np.ones(len(y)) if weights is None else weights
        self.present = np.bincount(y, minlength=self.n_classes) > 0
        self.true = np.bincount(y, weights=self.weights, minlength=self.n_classes)
        self._top_two(np.arange(len(y)))

    def _top_two(self, rows):
        if not hasattr(self, "first"):
            n = len(self.y)
            self.first, self.second = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
        z = self.scores[rows] + self.offsets
        first = z.argmax(axis=1)
        z[np.arange(len(rows)), first] = -np.inf
        self.first[rows], self.second[rows] = first, z.argmax(axis=1)

    def value(self, rows, classes):
        return self.scores[rows, classes] + self.offsets[classes]

    def set_offset(self, c, value):
        """Move ``b_c`` and update the top two of every row."""
        self.offsets[c] = value
        affected = np.flatnonzero((self.first == c) | (self.second == c))
        rest = np.setdiff1d(np.arange(len(self.y)), affected, assume_unique=True)
        v = self.scores[rest, c] + value
        f_val = self.value(rest, self.first[rest])
        s_val = self.value(rest, self.second[rest])
        beats_first = (v > f_val) | ((v == f_val) & (c < self.first[rest]))
        beats_second = ~beats_first & ((v > s_val) | ((v == s_val) & (c < self.second[rest])))
        up = rest[beats_first]
        self.second[up], self.first[up] = self.first[up], c
        self.second[rest[beats_second]] = c
        if len(affected):
            self._top_two(affected)

    def score(self) -> float:
        """Macro-F1 of the current decisions, as :func:`skimb.metrics.macro_f1` counts it."""
        return _macro_f1(self.y, self.first, self.weights, self.counted)

    def moves(self, c) -> _Moves:
        """The rows in the order a rising ``b_c`` moves them to class ``c``, from their rival."""
        rows = np.arange(len(self.y))
        rival = np.where(self.first == c, self.second, self.first)
        breakpoints = self.value(rows, rival) - self.scores[:, c]
        order = np.argsort(breakpoints, kind="stable")
        return _Moves(order, breakpoints[order], rival[order], self.y[order],
                      self.weights[order], rival)

    def sweep(self, c, moves):
        """Macro-F1 on every interval of ``b_c`` between breakpoints.

        Returns ``(scores, lower, upper)``: interval ``k`` has ``k`` rows moved
        to class ``c`` (those with the smallest breakpoints).
        """
        t, a, y, w = moves.t, moves.a, moves.y, moves.w
        K, true, present = self.n_classes, self.true, self.present
        # b_c = -inf: every row takes its rival.
        rows0 = np.bincount(a, minlength=K)
        pred0 = np.bincount(a, weights=w, minlength=K)
        hit = (a == y).astype(np.float64)
        tp0 = np.bincount(a, weights=hit * w, minlength=K)
        others = self.counted.copy()
        others[c] = False
        included0 = others & (present | (rows0 > 0))
        sum0 = _f1(tp0, pred0, true)[included0].sum()
        # Row k (in breakpoint order) leaves class a[k]: its previous leavers.
        by_rival = np.argsort(a, kind="stable")
        starts = np.searchsorted(a[by_rival], a[by_rival], side="left")
        rank = np.empty(len(a), dtype=np.int64)
        rank[by_rival] = np.arange(len(a)) - starts

        def before(values):
            """Sum of ``values`` over the previous leavers of each row's rival."""
            cumulative = np.cumsum(values[by_rival])
            out = np.empty(len(a))
            out[by_rival] = cumulative - values[by_rival] - np.concatenate(
                [[0.0], cumulative])[starts]
            return out

        pred_before, tp_before = pred0[a] - before(w), tp0[a] - before(hit * w)
        pred_after, tp_after = pred_before - w, tp_before - hit * w
        rows_before = rows0[a] - rank
        inc_before = others[a] & (present[a] | (rows_before > 0))
        inc_after = others[a] & (present[a] | (rows_before > 1))
        d_sum = (inc_after * _f1(tp_after, pred_after, true[a])
                 - inc_before * _f1(tp_before, pred_before, true[a]))
        d_count = inc_after.astype(np.float64) - inc_before
        zero = np.zeros(1)
        sums = sum0 + np.concatenate([zero, np.cumsum(d_sum)])
        counts = included0.sum() + np.concatenate([zero, np.cumsum(d_count)])
        pred_c = np.concatenate([zero, np.cumsum(w)])
        tp_c = np.concatenate([zero, np.cumsum(w * (y == c))])
        inc_c = self.counted[c] & (present[c] | (np.arange(len(a) + 1) > 0))
        sums = sums + inc_c * _f1(tp_c, pred_c, np.full_like(pred_c, true[c]))
        counts = counts + inc_c
        scores = sums / np.maximum(counts, 1)
        lower = np.concatenate([[-np.inf], t])
        upper = np.concatenate([t, [np.inf]])
        return scores, lower, upper


def _interval_point(lower, upper):
    if np.isneginf(lower):
        return upper - _END_MARGIN
    if np.isposinf(upper):
        return lower + _END_MARGIN
    return lower + (upper - lower) / 2


def tune_offsets(
    proba,
    y,
    *,
    classes=None,
    exclude=None,
    init=None,
    min_count: int = MIN_COUNT,
    max_passes: int = 10,
    sample_weight=None,
    scoring="f1_macro",
    constraints: dict | None = None,
    cost_matrix=None,
) -> np.ndarray:
    """Class offsets ``b`` maximising macro-F1 (or ``scoring``, or minus a cost) of
    ``argmax(log proba + b)`` on these rows, subject to per-class ``constraints``.

    Coordinate ascent: each step moves one class's offset to the best value
    with the others fixed, found by sorting the breakpoints where a row's
    decision switches to or from that class, then sweeping them while
    counting true and false positives (O(n log n) per step, exact for
    macro-F1 and a cost matrix; another scorer is called on every interval
    when there are at most 100, else on 50 evenly spread over them, then on
    50 between the neighbours of the best of those). The chosen offset is the midpoint of the best interval; among
    equally good intervals, the one nearest the current offset. A move is
    made only when it raises the objective, so the result never scores below
    ``init`` on these rows. Passes over the classes repeat until none
    improves, at most ``max_passes`` times. The search is deterministic.

    With ``constraints``, a step first lowers their total *shortfall* (the
    sum over the constraints of how far each is below its floor), then, among
    the offsets of least shortfall, raises the objective: the result meets
    every constraint these rows allow the offsets to meet, and when none
    meets them all it is the one found closest to meeting them (the caller
    warns: see :func:`choose_offsets`).

    Macro-F1 is counted as :func:`skimb.metrics.macro_f1` counts it: over the
    classes present in ``y`` or predicted, minus ``exclude``. With
    ``sample_weight``, each row adds its weight (instead of 1) to the true,
    predicted and true-positive totals of the per-class F1 (and of the recall
    and precision of a constraint, and to the mean cost; a ``scoring`` scorer
    is called with ``sample_weight=``); a row of weight 0 is left out,
    exactly as if it were removed, and an integer weight ``k`` gives the
    offsets that ``k`` copies of the row give.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
        Held-out probabilities (validation or out-of-fold rows).
    y : array-like of shape (n_samples,)
        True labels, among ``classes``.
    classes : array-like of shape (n_classes,), optional
        Label of each column of ``proba``; default ``0 .. n_classes - 1``.
    exclude : label or list of labels, optional
        Classes left out of the macro-F1 being maximised (still predicted).
        Each must be one of ``classes``, and not all of them (ValueError).
    init : array-like of shape (n_classes,), optional
        Starting offsets, zeros by default (``argmax``).
    min_count : int, default=5
        Classes with fewer rows in ``y`` keep their starting offset: with so
        few rows their best offset is mostly noise (a class named in
        ``constraints`` is tuned whatever its rows). With ``sample_weight`` a
        class's rows are its total weight: weights are frequency weights (a
        row of weight 2 counts as two rows, one of weight 0.5 as half a row).
    max_passes : int, default=10
        Most passes over the classes.
    sample_weight : array-like of shape (n_samples,), optional
        Finite, non-negative weight of each row, not all 0; None weighs every
        row 1 (the same offsets as weights of 1).
    scoring : str or callable, default="f1_macro"
        The objective, as scikit-learn names it: a scorer name
        (``sklearn.metrics.get_scorer``, such as ``"balanced_accuracy"``), or
        a callable scorer ``scorer(estimator, X, y)`` (such as
        ``sklearn.metrics.make_scorer(metric)``), greater is better. It is
        called with an estimator standing for the classifier on these rows
        (its ``predict`` gives the decisions of the offsets tried,
        ``predict_proba`` returns ``proba``, ``classes_`` is ``classes``).
        ``"f1_macro"`` and :func:`skimb.metrics.macro_f1_scorer` (whose
        ``exclude`` adds to ``exclude``) run the exact macro-F1 sweep.
    constraints : dict, optional
        Floors on per-class quantities: ``{label: {"recall": r, "precision":
        p}}`` (either or both), each in [0, 1], such as ``{"Ice Warning":
        {"recall": 0.8}}``.
    cost_matrix : array-like of shape (n_classes, n_classes) or dict, optional
        The objective becomes minus the mean cost of the decisions:
        ``cost_matrix[i, j]`` is the cost of predicting class ``j`` for a row
        of class ``i`` (rows: true class, columns: predicted class, in the
        order of ``classes``); a dict ``{true_label: {predicted_label:
        cost}}`` leaves unnamed pairs at 0. Finite costs; ``scoring`` must
        stay ``"f1_macro"`` and ``exclude`` None.

    Returns
    -------
    offsets : ndarray of shape (n_classes,)

    Examples
    --------
    >>> import numpy as np
    >>> from skimb.decisions import decide, tune_offsets
    >>> proba = np.array([[0.8, 0.2], [0.7, 0.3], [0.6, 0.4], [0.9, 0.1]])
    >>> y = np.array([0, 1, 1, 0])
    >>> b = tune_offsets(proba, y, min_count=1)
    >>> decide(proba, b).tolist()
    [0, 1, 1, 0]

    With weights, the row of weight 0 does not count, and the one of weight 3
    counts as three rows:

    >>> w = np.array([1.0, 3.0, 0.0, 1.0])
    >>> decide(proba, tune_offsets(proba, y, min_count=1, sample_weight=w)).tolist()
    [0, 1, 1, 0]

    A recall floor on a class, and a cost matrix that makes missing class 1
    five times as costly as a false alarm:

    >>> proba = np.array([[0.9, 0.1], [0.6, 0.4], [0.7, 0.3], [0.8, 0.2], [0.4, 0.6]])
    >>> y = np.array([0, 1, 0, 1, 1])
    >>> b = tune_offsets(proba, y, min_count=1, constraints={1: {"recall": 1.0}})
    >>> decide(proba, b).tolist()
    [0, 1, 1, 1, 1]
    >>> b = tune_offsets(proba, y, min_count=1, cost_matrix=[[0, 1], [5, 0]])
    >>> decide(proba, b).tolist()
    [0, 1, 1, 1, 1]
    """
    scores = _log_proba(proba)
    n, n_classes = scores.shape
    y_pos, classes = _encode(y, classes, n_classes)
    if len(y_pos) != n:
        raise ValueError(f"y has {len(y_pos)} rows; proba has {n}.")
    weights = _check_weights(sample_weight, n)
    _check_min_count(min_count)
    if isinstance(max_passes, bool) or not isinstance(max_passes, (int, np.integer)) or max_passes < 1:
        raise ValueError(f"max_passes must be a positive integer, got {max_passes!r}.")
    target = Target(classes, scoring=scoring, exclude=exclude, constraints=constraints,
                    cost_matrix=cost_matrix)
    offsets = np.zeros(n_classes) if init is None else np.array(init, dtype=np.float64)
    if offsets.shape != (n_classes,) or not np.all(np.isfinite(offsets)):
        raise ValueError(f"init must hold {n_classes} finite offsets.")
    return _search(scores, np.asarray(proba), y_pos, weights, target, offsets, min_count,
                   max_passes)


def _search(scores, proba, y_pos, weights, target, offsets, min_count, max_passes):
    """The coordinate ascent of :func:`tune_offsets` on checked inputs, from ``offsets``."""
    if weights is not None:
        kept = weights > 0
        scores, proba, y_pos, weights = scores[kept], proba[kept], y_pos[kept], weights[kept]
    start = offsets.copy()
    state = _State(scores, offsets, y_pos, target.counted, weights)
    target.bind(proba, y_pos, state.weights)
    constrained = np.zeros(len(offsets), dtype=bool)
    constrained[target.constrained_positions] = True
    tunable = np.flatnonzero((state.true >= min_count) | constrained)

    def objective():
        return state.score() if target.is_macro_f1 else target.score(state.first)

    best, short = objective(), target.shortfall(state.first)
    first_score, first_short = best, short
    for _ in range(max_passes):
        improved = False
        for c in tunable:
            moves = state.moves(c)
            lower = np.concatenate([[-np.inf], moves.t])
            upper = np.concatenate([moves.t, [np.inf]])
            # Empty (tied breakpoints) or too narrow to land in with rounding:
            allowed = upper - lower > _MIN_WIDTH
            forced = False
            if target.constraints:
                shortfalls = np.where(allowed, target.sweep_shortfall(c, moves), np.inf)
                least = shortfalls.min()
                forced = least < short - _TOL
                allowed &= shortfalls <= (least if forced else short) + _TOL
            if target.is_macro_f1:
                values = np.where(allowed, state.sweep(c, moves)[0], -np.inf)
            else:
                values = target.sweep_scores(c, moves, allowed)
            top = values.max()
            if not forced and top <= best + _TOL:
                continue
            candidates = np.flatnonzero(values >= top - _TOL)
            points = np.array([_interval_point(lower[k], upper[k]) for k in candidates])
            point = points[np.argmin(np.abs(points - offsets[c]))]
            state.set_offset(c, point)
            best, short = objective(), target.shortfall(state.first)
            improved = True
        if not improved:
            break
    if short < first_short - _TOL or (short <= first_short + _TOL and best >= first_score):
        return state.offsets
    return start


def tune_thresholds(
    proba, Y, *, min_count: int = MIN_COUNT, default: float = 0.5,
) -> np.ndarray:
    """One threshold per label maximising that label's F1 of ``proba > threshold``.

    An exact sweep over each label's sorted probabilities; the threshold is
    the midpoint between the last probability predicted present and the next
    (above the highest, or below the lowest, by half the gap to 1 or 0).
    Among equally good thresholds, the one nearest ``default``. A label with
    fewer than ``min_count`` positive rows keeps ``default``.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_labels)
        Held-out per-label probabilities.
    Y : array-like of shape (n_samples, n_labels)
        0/1 indicator matrix.
    min_count : int, default=5
    default : float, default=0.5

    Returns
    -------
    thresholds : ndarray of shape (n_labels,)

    Examples
    --------
    >>> import numpy as np
    >>> from skimb.decisions import tune_thresholds
    >>> proba = np.array([[0.9, 0.2], [0.3, 0.6], [0.2, 0.1], [0.4, 0.3]])
    >>> Y = np.array([[1, 0], [1, 1], [0, 0], [0, 0]])
    >>> tune_thresholds(proba, Y, min_count=1).round(2).tolist()
    [0.25, 0.45]
    """
    p = np.asarray(proba, dtype=np.float64)
    Y = np.asarray(Y)
    if p.ndim != 2 or p.shape != Y.shape:
        raise ValueError(f"proba and Y must be 2-D of one shape; got {p.shape} and {Y.shape}.")
    if not np.all(np.isfinite(p)):
        raise ValueError("proba must hold finite probabilities.")
    if not np.isin(Y, (0, 1)).all():
        raise ValueError("Y must be a 0/1 indicator matrix.")
    thresholds = np.full(p.shape[1], float(default))
    for j in range(p.shape[1]):
        true = Y[:, j].sum()
        if true < max(min_count, 1):
            continue
        order = np.argsort(-p[:, j], kind="stable")
        values, hits = p[order, j], Y[order, j]
        k = np.arange(len(values) + 1)
        tp = np.concatenate([[0], np.cumsum(hits)])
        f1 = 2.0 * tp / (k + true)
        # Between distinct values only: k rows above the threshold.
        valid = np.ones(len(k), dtype=bool)
        valid[1:-1] = values[:-1] > values[1:]
        points = np.empty(len(k))
        points[0] = (values[0] + 1.0) / 2
        points[1:-1] = values[:-1] + (values[1:] - values[:-1]) / 2
        points[-1] = values[-1] / 2 if values[-1] > 0 else -0.5
        top = f1[valid].max()
        candidates = np.flatnonzero(valid & (f1 >= top - _TOL))
        thresholds[j] = points[candidates[np.argmin(np.abs(points[candidates] - default))]]
    return thresholds


NO_VALIDATION_SPLIT = (
    'decision="tuned" chooses its offsets on the internal validation split; with '
    "train_split=None (the default) there is none. Set train_split (e.g. "
    'skorch.dataset.ValidSplit(5, stratified=True)), use decision="prior", or wrap the '
    "classifier in skimb.TunedDecisionClassifierCV."
)


def _prior_thresholds(label_counts, n_rows, tau):
    """Multi-label ``"prior"``: each label's two-class logit adjustment, ``p > sigmoid(tau * logit(pi))``."""
    shares = np.clip(np.asarray(label_counts, dtype=np.float64), 0.5, n_rows - 0.5) / n_rows
    return 1.0 / (1.0 + np.exp(-tau * np.log(shares / (1.0 - shares))))


def shrink_offsets(offsets, held_out_counts, shrinkage: float = SHRINKAGE) -> np.ndarray:
    """Pull tuned offsets towards 0 (argmax) where few held-out rows chose them.

    ``b_c * n_c / (n_c + shrinkage)``, ``n_c`` the held-out rows of class c:
    an offset chosen on a handful of rows fits their noise, and macro-F1
    weighs that class as much as any other.

    Parameters
    ----------
    offsets : array-like of shape (n_classes,)
    held_out_counts : array-like of shape (n_classes,)
        Rows of each class among those the offsets were chosen on.
    shrinkage : float, default=40
        Held-out rows at which an offset keeps half its size; 0 keeps it whole.

    Returns
    -------
    offsets : ndarray of shape (n_classes,)

    Examples
    --------
    >>> from skimb.decisions import shrink_offsets
    >>> shrink_offsets([1.0, -2.0, 0.5], [40, 0, 360]).tolist()
    [0.5, -0.0, 0.45]
    """
    _check_shrinkage(shrinkage)
    counts = np.asarray(held_out_counts, dtype=np.float64)
    if shrinkage == 0:
        return np.asarray(offsets, dtype=np.float64).copy()
    return np.asarray(offsets, dtype=np.float64) * counts / (counts + shrinkage)


def choose_offsets(proba, y, classes, *, scoring="f1_macro", exclude=None, sample_weight=None,
                   min_count: int = MIN_COUNT, shrinkage: float = SHRINKAGE,
                   constraints: dict | None = None,
                   cost_matrix=None) -> tuple[np.ndarray, float]:
    """Tune, then shrink: the class offsets a fit keeps, and the score they reach.

    :func:`tune_offsets` chooses the offsets maximising ``scoring`` (or minus
    the mean cost of ``cost_matrix``) under ``constraints`` on these held-out
    rows, :func:`shrink_offsets` pulls each towards 0 by its class's held-out
    rows (their total weight with ``sample_weight``) unless that breaks a
    constraint the unshrunk offsets meet, and the score is ``scoring`` (minus
    the mean cost) of the kept offsets' decisions on the rows of positive
    weight, counted as the search counts it. When the kept offsets miss a
    constraint on these rows, a :class:`DecisionConstraintWarning` names it.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
        Held-out probabilities, a column per class of ``classes``.
    y : ndarray of int, shape (n_samples,)
        Position in ``classes`` of each row's class.
    classes : ndarray of shape (n_classes,)
        The labels, which ``scoring``, ``exclude``, ``constraints`` and
        ``cost_matrix`` name (a label that is not a class is a ValueError).
    scoring : str or callable, default="f1_macro"
        See :func:`tune_offsets`.
    exclude : label or list of labels, optional
        Classes left out of the macro-F1 (still predicted).
    sample_weight : ndarray of shape (n_samples,), optional
        Frequency weights of the rows (see :func:`tune_offsets`).
    min_count : int, default=5
        See :func:`tune_offsets`; with fewer than two classes nothing is tuned.
    shrinkage : float, default=40
        See :func:`shrink_offsets`.
    constraints : dict, optional
        ``{label: {"recall" or "precision": floor}}``; see :func:`tune_offsets`.
    cost_matrix : array-like of shape (n_classes, n_classes) or dict, optional
        See :func:`tune_offsets`; the score is then minus the mean cost.

    Returns
    -------
    offsets : ndarray of shape (n_classes,)
    score : float

    Examples
    --------
    >>> import numpy as np
    >>> from skimb.decisions import choose_offsets
    >>> proba = np.array([[0.8, 0.2], [0.7, 0.3], [0.6, 0.4], [0.9, 0.1]])
    >>> offsets, score = choose_offsets(proba, np.array([0, 1, 1, 0]), np.array(["a", "b"]),
    ...                                 min_count=1, shrinkage=0)
    >>> score
    1.0
    >>> offsets, score = choose_offsets(proba, np.array([0, 1, 1, 0]), np.array(["a", "b"]),
    ...                                 min_count=1, shrinkage=0, scoring="balanced_accuracy")
    >>> score
    1.0
    """
    target = Target(classes, scoring=scoring, exclude=exclude, constraints=constraints,
                    cost_matrix=cost_matrix)
    y = np.asarray(y)
    proba = np.asarray(proba)
    offsets = np.zeros(len(classes))
    if len(classes) > 1:
        offsets = tune_offsets(proba, np.asarray(classes)[y], classes=classes,
                               min_count=min_count, sample_weight=sample_weight,
                               scoring=scoring, exclude=exclude, constraints=constraints,
                               cost_matrix=cost_matrix)
    shrunk = shrink_offsets(offsets, np.bincount(y, weights=sample_weight,
                                                 minlength=len(classes)), shrinkage)
    weights = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight)
    rows = weights > 0
    target.bind(proba[rows], y[rows], weights[rows])
    pred = decide(proba[rows], shrunk)
    if target.constraints:
        unshrunk = decide(proba[rows], offsets)
        if target.shortfall(pred) > target.shortfall(unshrunk) + _TOL:
            shrunk, pred = offsets, unshrunk
        target.warn_unmet(pred)
    if target.is_macro_f1:
        return shrunk, _macro_f1(y[rows], pred, weights[rows], target.counted)
    return shrunk, target.score(pred)


def fit_decision(decision, params: dict, *, classes, class_counts, n_rows: int, multilabel: bool,
                 held_out=None, threshold: float = 0.5, class_rows=None) -> dict:
    """The fitted decision attributes of :class:`~skimb.ImbalancedTorchClassifier`.

    Parameters
    ----------
    decision : {"argmax", "prior", "tuned"}
    params : dict
        The ``decision__*`` parameters: ``tau``, ``exclude``, ``min_count``, and
        for a single-label ``"tuned"`` ``shrinkage`` (see :func:`shrink_offsets`),
        ``scoring``, ``constraints`` and ``cost_matrix`` (see :func:`tune_offsets`).
    classes, class_counts : ndarray of shape (n_classes,)
        Labels and training rows per class (per label: rows where present).
    n_rows : int
        Training rows.
    multilabel : bool
    held_out : callable or None
        ``held_out() -> (proba, y_encoded)`` on the validation rows; None
        without a validation split.
    threshold : float
        The classifier's multi-label ``threshold``.
    class_rows : ndarray of shape (n_classes,), optional
        Training rows per class when ``class_counts`` are masses (sums of
        sample weights): with ``"prior"``, a class whose rows all weigh 0 is
        never predicted (offset ``-inf``), as in
        :class:`~skimb.TunedDecisionClassifierCV`, instead of getting the
        largest offset.

    Returns
    -------
    attributes : dict
        ``{"decision_offsets_": ...}``, or ``{"decision_thresholds_": ...}``
        for a multi-label target (empty for ``"argmax"``: ``threshold`` rules).
    """
    check_decision(decision, params)
    tau = _check_tau(params.get("tau", 1.0))
    min_count = params.get("min_count", MIN_COUNT)
    if decision == "argmax":
        return {} if multilabel else {"decision_offsets_": np.zeros(len(classes))}
    if decision == "prior":
        if multilabel:
            return {"decision_thresholds_": _prior_thresholds(class_counts, n_rows, tau)}
        offsets = prior_offsets(class_counts, tau)
        if class_rows is not None:
            offsets[(np.asarray(class_rows) > 0) & (np.asarray(class_counts) == 0)] = -np.inf
        return {"decision_offsets_": offsets}
    if held_out is None:
        raise ValueError(NO_VALIDATION_SPLIT)
    proba, y = held_out()
    if multilabel:
        thresholds = tune_thresholds(proba, y, min_count=min_count, default=threshold)
        excluded = check_labels(params.get("exclude"), classes, "decision__exclude")
        thresholds[label_positions(excluded, classes)] = threshold
        return {"decision_thresholds_": thresholds}
    offsets, _ = choose_offsets(proba, y, np.asarray(classes), exclude=params.get("exclude"),
                                min_count=min_count,
                                shrinkage=params.get("shrinkage", SHRINKAGE),
                                scoring=params.get("scoring", "f1_macro"),
                                constraints=params.get("constraints"),
                                cost_matrix=params.get("cost_matrix"))
    return {"decision_offsets_": offsets}
