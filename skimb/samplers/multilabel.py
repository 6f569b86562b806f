"""Sampling classes for multi-label targets: each row's rarest positive label."""

from __future__ import annotations

import numpy as np

__all__ = ["rarest_positive_label"]


def rarest_positive_label(indicator: np.ndarray) -> np.ndarray:
    """Sampling class of every row of a multi-label target: its rarest positive label.

    A row's rarest positive label is, among the labels present in the row,
    the one with the fewest positive rows in ``indicator`` (ties go to the
    lower label index). Rows without any label get the extra class
    ``n_labels``. The samplers weight rows through these classes, so a row
    is drawn as often as its rarest label asks for.

    Parameters
    ----------
    indicator : ndarray of shape (n_samples, n_labels)
        0/1 multi-label target.

    Returns
    -------
    classes : ndarray of shape (n_samples,), int64
        Values in ``0 .. n_labels`` (``n_labels``: no label present).

    Examples
    --------
    >>> import numpy as np
    >>> from skimb.samplers import rarest_positive_label
    >>> Y = np.array([[1, 0, 0], [1, 1, 0], [1, 1, 1], [0, 0, 0]])
    >>> rarest_positive_label(Y).tolist()
    [0, 1, 2, 3]
    """
    present = np.asarray(indicator) > 0
    n_labels = present.shape[1]
    by_rarity = np.argsort(present.sum(axis=0), kind="stable")
    rarity_rank = np.empty(n_labels, dtype=np.int64)
    rarity_rank[by_rarity] = np.arange(n_labels)
    best_rank = np.where(present, rarity_rank[None, :], n_labels).min(axis=1)
    return np.append(by_rarity, n_labels)[best_rank].astype(np.int64)
