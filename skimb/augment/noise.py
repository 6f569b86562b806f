"""``augment="noise"``: Gaussian noise scaled to each feature's spread on the training rows."""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import torch

from .._data import SparseRows, map_features
from ._base import Augmentation, _rows

__all__ = ["GaussianNoise"]

#: The interquartile range of a normal distribution, in standard deviations.
_IQR_OF_NORMAL = 1.3489795


def feature_spread(values: np.ndarray) -> np.ndarray:
    """Each feature's spread over the rows (axis 0): IQR / 1.349, or the standard
    deviation where the IQR is 0 (a binary or mostly constant feature); missing
    values (NaN) are left out, and a feature missing everywhere has spread 0.

    Examples
    --------
    >>> import numpy as np
    >>> from skimb.augment.noise import feature_spread
    >>> rng = np.random.default_rng(0)
    >>> X = np.c_[rng.normal(0, 2, 20000), (rng.random(20000) < 0.1)]
    >>> feature_spread(X).round(1).tolist()
    [2.0, 0.3]
    """
    values = np.asarray(values, dtype=np.float64)
    with warnings.catch_warnings():  # a feature missing everywhere: spread 0
        warnings.simplefilter("ignore", RuntimeWarning)
        q25, q75 = np.nanpercentile(values, [25, 75], axis=0)
        iqr = (q75 - q25) / _IQR_OF_NORMAL
        spread = np.where(iqr > 0, iqr, np.nanstd(values, axis=0))
    return np.nan_to_num(spread)


class GaussianNoise(Augmentation):
    """Gaussian noise on the chosen rows: ``x_j + scale * s_j * e``, ``e ~ N(0, 1)``.

    ``s_j`` is feature ``j``'s spread on the training rows of the call (the
    interquartile range / 1.349, a standard deviation for normal data that
    outliers do not inflate; the standard deviation where the IQR is 0), so
    ``scale`` is in units of each feature's spread whatever its unit. Every
    floating value of a row is a feature: a table's columns, each pixel of an
    image, each key of a dict input. Integer inputs (token ids) and a
    table's code columns are left as they are. The label does not change.

    Parameters
    ----------
    scale : float, default=0.1
        Noise standard deviation, in units of each feature's spread.
    rate : float in [0, 1] or "rarity", default=1.0
    classes : str or list, default="all"
        Which rows are perturbed, by class (see :class:`Augmentation`).

    Attributes
    ----------
    spread_ : torch.Tensor or dict of torch.Tensor
        ``scale * s_j`` of every feature, on the training device.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from skimb import ImbalancedTorchClassifier
    >>> X, y = make_classification(n_samples=300, weights=[0.9], random_state=0)
    >>> clf = ImbalancedTorchClassifier(augment="noise", augment__scale=0.2,
    ...                                 augment__classes="minority", max_epochs=3,
    ...                                 random_state=0).fit(X, y)
    >>> clf.augment_.class_rates_.tolist()
    [0.0, 1.0]
    """

    name = "noise"

    def __init__(self, scale: float = 0.1, rate: float | str = 1.0, classes="all"):
        super().__init__(rate=rate, classes=classes)
        self.scale = scale

    def _check_params(self):
        super()._check_params()
        if (not isinstance(self.scale, numbers.Real) or isinstance(self.scale, bool)
                or not np.isfinite(self.scale) or self.scale < 0):
            raise ValueError(f"GaussianNoise: scale must be a finite number >= 0, got "
                             f"{self.scale!r}.")

    def _fit(self, context):
        X = context.train_columns[0]

        def spread(column):
            if isinstance(column, SparseRows):
                column = torch.from_numpy(column.to_scipy().toarray())
            column = self._as_batch(column)
            if not column.is_floating_point():
                return None
            flat = column.reshape(len(column), -1).numpy()
            if context.weighted_rows is not None:  # the spread of the rows that train
                flat = flat[context.weighted_rows]
            s = self.scale * feature_spread(flat).reshape(column.shape[1:])
            return torch.as_tensor(s, dtype=torch.float32, device=self.device_)

        self.spread_ = map_features(spread, X)
        if torch.is_tensor(self.spread_) and self.spread_.ndim == 1 and \
                self.discrete_columns_.numel():
            self.spread_[self.discrete_columns_] = 0.0

    def augment(self, X, y, sample_weight, chosen, rows):
        def perturb(column, spread):
            if spread is None:
                return column
            noise = torch.randn(column.shape, generator=self.generator_, device=self.device_)
            if chosen is not None:
                noise = noise * _rows(chosen, column).to(column.dtype)
            return torch.addcmul(column, noise, spread)

        if isinstance(X, dict):
            X = {key: perturb(X[key], self.spread_[key]) for key in X}
        else:
            X = perturb(X, self.spread_)
        return X, y, sample_weight
