"""Labels a user names (``exclude``, ``classes=``, dict keys), and their positions among the classes.

A label is matched as a dict key is: by ``==`` and hash, so ``1``, ``1.0`` and
``np.int64(1)`` are one label, and ``"a"`` and ``np.str_("a")`` another.
"""

from __future__ import annotations

import numpy as np


def as_label_list(labels) -> list:
    """``labels`` as a list: None is no label; a list, tuple, set or array holds labels;
    anything else is one label.

    Examples
    --------
    >>> from skimb._labels import as_label_list
    >>> as_label_list("Frost"), as_label_list(("Frost", "Ice")), as_label_list(None)
    (['Frost'], ['Frost', 'Ice'], [])
    """
    if labels is None:
        return []
    if isinstance(labels, (list, tuple, set, frozenset, np.ndarray)):
        return np.asarray(list(labels), dtype=object).tolist()
    return [labels]


def label_positions(labels, classes) -> np.ndarray:
    """The position among ``classes`` of each of ``labels``; -1 for a label not among them.

    Parameters
    ----------
    labels : label, list, tuple, set or array of labels, or None
        Read by :func:`as_label_list`.
    classes : array-like of shape (n_classes,)
        Distinct labels, in the order that gives the positions.

    Returns
    -------
    positions : ndarray of int64, one per label

    Examples
    --------
    >>> from skimb._labels import label_positions
    >>> label_positions(["wet", "snow", "dry"], ["dry", "wet"]).tolist()
    [1, -1, 0]
    """
    index = {label: j for j, label in enumerate(np.asarray(classes).tolist())}
    wanted = as_label_list(labels)
    return np.fromiter((index.get(label, -1) for label in wanted), dtype=np.int64,
                       count=len(wanted))
