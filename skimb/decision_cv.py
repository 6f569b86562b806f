"""TunedDecisionClassifierCV: class offsets tuned for any scorer, cost or per-class constraint,
for any probabilistic classifier."""

from __future__ import annotations

import numbers

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.model_selection import StratifiedKFold, StratifiedShuffleSplit, check_cv
from sklearn.utils import _safe_indexing, get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_array,
    check_is_fitted,
    column_or_1d,
    has_fit_parameter,
    indexable,
)

from ._decision_targets import Target, check_scoring_form
from ._inputs.labels import label_positions
from .decisions import MIN_COUNT, choose_offsets, decide

__all__ = ["TunedDecisionClassifierCV"]


def _fit_on_rows(estimator, X, y, rows, fit_params):
    """``estimator`` fitted on ``rows``; sample-aligned fit parameters are indexed too."""
    n_samples = len(y)
    params = {key: _safe_indexing(value, rows)
              if hasattr(value, "__len__") and not isinstance(value, str) and len(value) == n_samples
              else value for key, value in fit_params.items()}
    return estimator.fit(_safe_indexing(X, rows), y[rows], **params)


def _sample_weight_key(estimator) -> str | None:
    """The fit parameter that carries ``sample_weight`` to ``estimator`` (the last step's,
    ``"<step>__sample_weight"``, for a Pipeline), or None when its fit takes none."""
    steps = getattr(estimator, "steps", None)
    if steps:
        name, final = steps[-1]
        return f"{name}__sample_weight" if has_fit_parameter(final, "sample_weight") else None
    return "sample_weight" if has_fit_parameter(estimator, "sample_weight") else None


def _estimator_has(name):
    def check(self):
        return hasattr(self.estimator_ if hasattr(self, "estimator_") else self.estimator, name)
    return check


class TunedDecisionClassifierCV(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Class offsets maximising macro-F1 (or any scorer, or minus a cost), under per-class
    constraints, chosen on out-of-fold probabilities, for any classifier.

    ``fit`` collects out-of-fold probabilities of ``estimator`` (cross-fitting:
    every row is predicted by a model that did not train on it), chooses
    class-wise additive offsets ``offsets_`` on the log-probabilities that
    maximise ``scoring`` on them (:func:`skimb.decisions.tune_offsets`), or
    minimise the mean cost of ``cost_matrix``, among the offsets meeting
    ``constraints`` (such as a recall of at least 0.8 on the class that
    matters), then refits ``estimator`` on all rows. ``predict`` returns
    ``classes_[argmax(log predict_proba + offsets_)]``; ``predict_proba`` is
    the estimator's, unchanged.

    Unlike scikit-learn's ``TunedThresholdClassifierCV`` it handles any number
    of classes. Single-label targets only.

    With ``sample_weight``, every fit of ``estimator`` receives the weights
    of its rows, and the offsets maximise the *weighted* out-of-fold
    macro-F1: each row adds its weight, not 1, to the true-positive, false
    positive and false negative totals (a row of weight 0 is left out of the
    search, an integer weight ``k`` counts as ``k`` copies of the row). A
    class whose rows all weigh 0 is absent from the weighted data: its offset
    is ``-inf``, so it is never predicted.

    Parameters
    ----------
    estimator : classifier with ``predict_proba``
        Cloned; never fitted in place.
    scoring : str or callable, default="f1_macro"
        The metric the offsets maximise: a scikit-learn scorer name (such as
        ``"balanced_accuracy"``) or a callable scorer ``scorer(estimator, X,
        y)`` (``sklearn.metrics.make_scorer(metric)``), called through that
        public call on the out-of-fold rows (see
        :func:`~skimb.decisions.tune_offsets`). ``"f1_macro"`` and
        :func:`skimb.metrics.macro_f1_scorer` (whose ``exclude`` is used) run
        the exact macro-F1 search.
    cv : int, float, cross-validation splitter or iterable, default=5
        An int is a ``StratifiedKFold`` (shuffled when ``random_state`` is
        set); a float in (0, 1) is one stratified split holding out that
        share of the rows.
    exclude : label or list of labels, optional
        Classes left out of the macro-F1 being maximised (still predicted).
        Every label ``exclude``, ``constraints``, ``cost_matrix`` or the
        scorer names must be a class of ``y``: otherwise ``fit`` raises a
        ValueError before fitting anything.
    refit : bool, default=True
        Refit ``estimator`` on all rows after choosing the offsets. With
        ``False``, ``cv`` must make a single split (e.g. ``cv=0.2``): the model
        trained on its training part is kept, and the offsets are chosen on
        its held-out part — one fit instead of ``n_splits + 1``.
    n_jobs : int, optional
        Parallel fits of the folds (joblib).
    random_state : int, RandomState or None, default=None
        Shuffles the folds of an int or float ``cv``.
    min_count : int, default=5
        Classes with fewer held-out rows keep offset 0 (see
        :func:`~skimb.decisions.tune_offsets`). With ``sample_weight``, a
        class's rows are its total held-out weight: the weights are read as
        frequency weights (weight 2 counts as two rows, 0.5 as half a row), so
        their scale matters here, unlike in the F1 values themselves.
    shrinkage : float, default=0.0
        Scale each offset by ``n_c / (n_c + shrinkage)``, ``n_c`` the rows of
        its class (:func:`~skimb.decisions.shrink_offsets`); with
        ``sample_weight``, its total held-out weight. 0 keeps the exact
        offsets: every training row is held out once here, and the benchmark
        measured the gradient-boosting gains without shrinkage.
    constraints : dict, optional
        Floors ``{label: {"recall": r, "precision": p}}`` (either or both, in
        [0, 1]) the out-of-fold decisions must meet; when no offsets meet them
        all, ``fit`` warns (:class:`~skimb.decisions.DecisionConstraintWarning`)
        and keeps those closest to meeting them.
    cost_matrix : array-like of shape (n_classes, n_classes) or dict, optional
        Makes the objective minus the mean cost of the decisions:
        ``cost_matrix[i, j]`` is the cost of predicting ``classes_[j]`` for a
        row of ``classes_[i]``; a dict ``{true_label: {predicted_label:
        cost}}`` leaves unnamed pairs at 0. ``scoring`` must then stay
        ``"f1_macro"``.

    Attributes
    ----------
    estimator_ : classifier
        The fitted estimator ``predict`` uses.
    offsets_ : ndarray of shape (n_classes,)
        ``-inf`` for a class whose ``sample_weight`` sums to 0.
    best_score_ : float
        ``scoring`` (minus the mean cost, with ``cost_matrix``) of the tuned
        decisions on the held-out probabilities (weighted by
        ``sample_weight`` when given).
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
        From ``estimator_``.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skimb import TunedDecisionClassifierCV
    >>> X, y = make_classification(n_samples=600, n_classes=3, n_informative=4,
    ...                            weights=[0.85, 0.1], random_state=0)
    >>> model = TunedDecisionClassifierCV(LogisticRegression(), cv=3, random_state=0)
    >>> model.fit(X, y).offsets_.shape
    (3,)
    >>> model.predict(X[:4]).shape
    (4,)

    Balanced accuracy, with a recall of at least 0.7 on class 2 on the
    out-of-fold rows:

    >>> model = TunedDecisionClassifierCV(LogisticRegression(), scoring="balanced_accuracy",
    ...                                   constraints={2: {"recall": 0.7}}, cv=3,
    ...                                   random_state=0).fit(X, y)
    >>> from sklearn.metrics import recall_score
    >>> bool(recall_score(y, model.predict(X), labels=[2], average=None)[0] > 0.6)
    True
    """

    def __init__(self, estimator, *, scoring="f1_macro", cv=5, exclude=None, refit: bool = True,
                 n_jobs: int | None = None, random_state=None, min_count: int = MIN_COUNT,
                 shrinkage: float = 0.0, constraints: dict | None = None, cost_matrix=None):
        self.estimator = estimator
        self.scoring = scoring
        self.cv = cv
        self.exclude = exclude
        self.refit = refit
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.min_count = min_count
        self.shrinkage = shrinkage
        self.constraints = constraints
        self.cost_matrix = cost_matrix

    def _splitter(self, y):
        cv = self.cv
        if isinstance(cv, numbers.Real) and not isinstance(cv, (bool, numbers.Integral)):
            if not 0.0 < cv < 1.0:
                raise ValueError(f"A float cv is the held-out share, in (0, 1); got {cv!r}.")
            return StratifiedShuffleSplit(1, test_size=cv, random_state=self.random_state)
        if isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
            shuffle = self.random_state is not None
            return StratifiedKFold(cv, shuffle=shuffle,
                                   random_state=self.random_state if shuffle else None)
        return check_cv(cv, y, classifier=True)

    def fit(self, X, y, sample_weight=None, **fit_params) -> TunedDecisionClassifierCV:
        """Choose the offsets on out-of-fold probabilities, then refit on all rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Anything ``estimator`` accepts.
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative row weights, not all 0. Passed (the rows' part) to
            every ``estimator.fit`` — a TypeError if it takes no
            ``sample_weight`` — and used in the macro-F1 the offsets maximise.
        **fit_params
            Passed to every ``estimator.fit``.

        Returns
        -------
        self : TunedDecisionClassifierCV
        """
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        check_scoring_form(self.scoring)  # an unsupported scoring fails before any fit
        if not hasattr(self.estimator, "predict_proba"):
            raise ValueError(
                f"estimator {type(self.estimator).__name__} has no predict_proba; offsets "
                "need class probabilities."
            )
        if not isinstance(self.refit, (bool, np.bool_)):
            raise ValueError(f"refit must be True or False, got {self.refit!r}.")
        X, y = indexable(X, y)
        y = column_or_1d(check_array(y, ensure_2d=False, dtype=None, input_name="y"), warn=True)
        check_classification_targets(y)
        classes, y_encoded = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(f"y holds one class only ({classes[0]!r}); a classifier needs "
                             "at least two.")
        target = Target(classes, scoring=self.scoring, exclude=self.exclude,
                        constraints=self.constraints, cost_matrix=self.cost_matrix)
        weights = None
        if sample_weight is not None:
            weights = _check_sample_weight(sample_weight, X, dtype=np.float64,
                                           ensure_non_negative=True)
            key = _sample_weight_key(self.estimator)
            if key is None:
                raise TypeError(
                    f"{type(self.estimator).__name__}.fit does not accept sample_weight "
                    "(nor does a Pipeline's last step), so the fits could not honour it."
                )
            fit_params = {**fit_params, key: weights}
        splitter = self._splitter(y)
        folds = list(splitter.split(X, y))
        if len(folds) > 1 and not self.refit:
            raise ValueError(
                f"refit=False keeps the model of a single split, but cv makes {len(folds)}; "
                "use refit=True or a single split such as cv=0.2."
            )
        # Each fold's model is fitted on the original labels, so label-keyed parameters
        # (class_weight dicts, decision__exclude, loss__* dicts) mean the same in every fit.
        models = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit_on_rows)(clone(self.estimator), X, y, train, fit_params)
            for train, _ in folds)
        tested = np.concatenate([test for _, test in folds])
        proba = np.zeros((len(y), len(classes)))
        for fold_model, (_, test) in zip(models, folds):
            proba[test] = self._aligned(fold_model, _safe_indexing(X, test), classes)
        self.classes_ = classes
        self.offsets_, self.best_score_ = self._offsets(
            proba[tested], y_encoded[tested], None if weights is None else weights[tested],
            np.bincount(y_encoded, weights=weights, minlength=len(classes)) > 0, target)
        model = models[0]
        if self.refit:
            model = clone(self.estimator).fit(X, y, **fit_params)
        self.estimator_ = model
        return self

    def _offsets(self, proba, held_out, weights, present, target):
        """Offsets maximising the (weighted) objective of the held-out rows, and its score.

        ``present`` marks the classes of positive total weight (every class without
        ``sample_weight``); the others get ``-inf`` and the search runs over the present
        classes' columns and rows only, with the parts of ``target`` that name them.
        """
        if weights is not None and not np.any(weights > 0):
            raise ValueError("sample_weight is 0 on every held-out row: no row can choose "
                             "the offsets.")
        kept = np.flatnonzero(present)
        rows = present[held_out]  # the other rows all weigh 0
        offsets = np.full(len(present), -np.inf)
        offsets[kept], score = choose_offsets(
            proba[rows][:, kept], np.searchsorted(kept, held_out[rows]), self.classes_[kept],
            sample_weight=None if weights is None else weights[rows],
            min_count=self.min_count, shrinkage=self.shrinkage, **target.restricted(kept))
        return offsets, score

    @staticmethod
    def _aligned(model, X, classes):
        """``model.predict_proba(X)`` with a column per class of ``classes`` (0 if unseen)."""
        proba = model.predict_proba(X)
        out = np.zeros((proba.shape[0], len(classes)))
        out[:, label_positions(model.classes_, classes)] = proba
        return out

    @property
    def n_features_in_(self):
        """Number of features of the fitted estimator."""
        check_is_fitted(self, "estimator_")
        return self.estimator_.n_features_in_

    def predict_proba(self, X):
        """The estimator's class probabilities, unchanged.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self, "estimator_")
        return self._aligned(self.estimator_, X, self.classes_)

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """Labels ``classes_[argmax(log predict_proba + offsets_)]``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "estimator_")
        return self.classes_[decide(self.predict_proba(X), self.offsets_)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.input_tags.sparse = inner.input_tags.sparse
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        tags.input_tags.string = inner.input_tags.string
        return tags
