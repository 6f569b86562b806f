"""The imbalanced-learn adapter: any imblearn sampler, re-run on the training rows every epoch."""

from __future__ import annotations

import copy

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import clone

from ._base import BaseSampler, check_cap

__all__ = ["ImblearnSampler"]


class ImblearnSampler(BaseSampler):
    """Adapter running an imbalanced-learn sampler once per epoch.

    At every epoch a copy of the sampler, re-seeded from the fit's random
    state, runs ``fit_resample`` on the training portion; the epoch visits the
    resampled rows (synthetic ones included) once each, shuffled. It makes
    rows rather than drawing positions (``draws_indices`` is False), so it
    needs the training rows as an in-memory 2-D table and one label per row.

    Parameters
    ----------
    sampler : imblearn sampler instance
        Anything with ``fit_resample(X, y)``; it is never modified.
    max_per_class : int or None, default=None
        Upper bound on how many rows of one class a single epoch keeps.

    Attributes
    ----------
    class_counts_ : ndarray of shape (n_classes,)
        Rows per class in the labels the adapter was fit on.
    resampled_counts_ : ndarray of shape (n_classes,)
        Rows per class of the last epoch resampled.

    Examples
    --------
    >>> import numpy as np
    >>> from imblearn.over_sampling import RandomOverSampler
    >>> from skimb.samplers import ImblearnSampler
    >>> X = np.arange(12, dtype=np.float32).reshape(6, 2)
    >>> y = np.array([0, 0, 0, 0, 1, 1])
    >>> adapter = ImblearnSampler(RandomOverSampler()).fit(y, n_classes=2)
    >>> X_epoch, y_epoch, _ = adapter.resample(X, y, None, seed=0)
    >>> np.bincount(y_epoch).tolist(), adapter.epoch_class_shares(0).tolist()
    ([4, 4], [0.5, 0.5])
    """

    draws_indices = False
    needs_table = True
    supports_multilabel = False

    def __init__(self, sampler, max_per_class: int | None = None):
        self.sampler = sampler
        self.max_per_class = max_per_class

    @property
    def display_name(self) -> str:
        return type(self.sampler).__name__

    @property
    def keeps_class_conditionals(self) -> bool:
        """True for imbalanced-learn's random under- and over-sampler (without
        ``shrinkage``); a sampler that makes synthetic rows or cleans class borders changes
        what a class looks like."""
        uniform = {"RandomUnderSampler", "RandomOverSampler"}
        return (type(self.sampler).__name__ in uniform
                and getattr(self.sampler, "shrinkage", None) is None)

    def fit(self, y, n_classes, n_epochs=None):
        """Record the class layout of the training labels (the resampling runs every epoch)."""
        check_cap(self.max_per_class, "ImblearnSampler")
        self.class_counts_ = np.bincount(np.asarray(y, dtype=np.int64), minlength=n_classes)
        return self

    def rows_per_epoch(self, class_counts) -> None:
        """None: how many rows an epoch holds is known once the sampler has run."""
        return None

    def epoch_class_shares(self, epoch):
        """Each class's share of the last epoch resampled (None before the first)."""
        counts = getattr(self, "resampled_counts_", None)
        if counts is None:
            return None
        counts = torch.as_tensor(counts, dtype=torch.float64)
        return counts / counts.sum()

    def resample(self, X, y, sample_weight, seed: int):
        """Resample the training rows for one epoch.

        Parameters
        ----------
        X : ndarray or scipy sparse matrix of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,)
            Encoded labels.
        sample_weight : ndarray of shape (n_samples,) or None
            Kept aligned when the sampler reports ``sample_indices_`` (pure
            under/over-samplers); otherwise it must be None.
        seed : int
            Seed for this epoch's copy of the sampler.

        Returns
        -------
        X_epoch, y_epoch, sample_weight_epoch
        """
        cap = check_cap(self.max_per_class, "ImblearnSampler")
        sampler = fresh_copy(self.sampler)
        if "random_state" in getattr(sampler, "get_params", dict)():
            sampler.set_params(random_state=seed)
        X_epoch, y_epoch = sampler.fit_resample(X, y)
        w_epoch = None
        if sample_weight is not None:
            indices = getattr(sampler, "sample_indices_", None)
            if indices is None:
                raise ValueError(
                    f"sample_weight cannot be used with {type(sampler).__name__}: it "
                    "creates synthetic rows that have no weight. Drop sample_weight "
                    "or use a sampler that only selects rows."
                )
            w_epoch = np.asarray(sample_weight)[indices]
        X_epoch = (X_epoch.astype(np.float32) if sp.issparse(X_epoch)
                   else np.asarray(X_epoch, dtype=np.float32))
        y_epoch = np.asarray(y_epoch, dtype=np.int64)
        if cap is not None:
            keep = _rows_under_cap(y_epoch, cap, np.random.default_rng(seed))
            X_epoch, y_epoch = X_epoch[keep], y_epoch[keep]
            w_epoch = None if w_epoch is None else w_epoch[keep]
        n_classes = len(getattr(self, "class_counts_", ()))
        self.resampled_counts_ = np.bincount(y_epoch, minlength=n_classes)
        return X_epoch, y_epoch, w_epoch

    def epoch_class_counts(self, y, n_classes, n_epochs, batch_size, generator, X=None):
        """Rows per class of the first ``n_epochs`` epochs resampled from ``X, y``.

        Examples
        --------
        >>> import numpy as np, torch
        >>> from imblearn.under_sampling import RandomUnderSampler
        >>> from skimb.samplers import ImblearnSampler
        >>> X, y = np.arange(8.0).reshape(4, 2), np.array([0, 0, 0, 1])
        >>> ImblearnSampler(RandomUnderSampler()).epoch_class_counts(
        ...     y, 2, 1, 4, torch.Generator().manual_seed(0), X=X)
        array([[1, 1]])
        """
        self.fit(y, n_classes)
        counts = np.zeros((n_epochs, n_classes), dtype=np.int64)
        for epoch in range(n_epochs):
            epoch_seed = int(torch.randint(2**31 - 1, (1,), generator=generator))
            self.resample(X, y, None, seed=epoch_seed)
            counts[epoch] = self.resampled_counts_
        return counts

    def check_raw_table(self, names, categorical, X):
        """Refuse a raw table this sampler cannot take, naming why.

        It cannot take missing values; and one that interpolates (SMOTE and
        the like) would make up category codes between two codes.

        Examples
        --------
        >>> import numpy as np
        >>> from imblearn.over_sampling import SMOTE
        >>> from skimb.samplers import ImblearnSampler
        >>> try:
        ...     ImblearnSampler(SMOTE()).check_raw_table(["x", "road"], [1], np.zeros((2, 2)))
        ... except ValueError as err:
        ...     print(str(err)[:60])
        sampler=SMOTE() would interpolate the codes of the categoric
        """
        missing = np.isnan(X).any(axis=0)
        if missing.any():
            raise ValueError(
                f"sampler={self.sampler!r} cannot take missing values, and X has some in "
                f"column {names[int(np.argmax(missing))]!r}: use an index sampler (the "
                "built-in networks fill them, fitted on the training rows), or impute them "
                "first.")
        if len(categorical) and _interpolates(self.sampler):
            raise ValueError(
                f"sampler={self.sampler!r} would interpolate the codes of the categorical "
                f"columns {[names[j] for j in categorical]}. Use imblearn's SMOTENC("
                f"categorical_features={list(categorical)}) (positions in the encoded table) "
                "or SMOTEN, an index sampler such as 'over', or augment='smote' (which keeps "
                "every code).")


def _interpolates(resampler) -> bool:
    """Whether an imbalanced-learn sampler makes rows between rows (SMOTE, ADASYN and the
    samplers that run one), which would mix category codes; SMOTENC and SMOTEN do not."""
    names = {cls.__name__ for cls in type(resampler).__mro__}
    if names & {"SMOTENC", "SMOTEN"}:
        return False
    if names & {"BaseSMOTE", "ADASYN"}:
        return True
    inner = getattr(resampler, "smote", None)  # SMOTEENN, SMOTETomek
    return "smote" in vars(resampler) and (inner is None or _interpolates(inner))


def fresh_copy(sampler):
    """An unfitted copy of an imblearn-style sampler; the original is never touched."""
    return clone(sampler) if hasattr(sampler, "get_params") else copy.deepcopy(sampler)



def _rows_under_cap(y, cap, rng):
    """Boolean mask keeping at most ``cap`` random rows of each class."""
    keys = rng.random(len(y))
    order = np.lexsort((keys, y))
    sorted_y = y[order]
    first = np.searchsorted(sorted_y, sorted_y, side="left")
    keep = np.zeros(len(y), dtype=bool)
    keep[order[np.arange(len(y)) - first < cap]] = True
    return keep
