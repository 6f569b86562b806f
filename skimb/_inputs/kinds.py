"""What kind of input this is: the input kinds and the one detector.

The kinds a network or an augmentation declares it takes (``accepts``):

* :data:`TABLE`: a numeric 2-D float table, one row per sample;
* :data:`RAW_COLUMNS`: a table with categorical, text or datetime columns or
  missing values, as the built-in networks' front takes it;
* :data:`TENSOR`: N-D rows (images ``(n, C, H, W)``, sequences ``(n, T, F)``);
* :data:`DICT`: a dict of arrays, one per ``forward`` argument;

and :data:`DATASET`, a torch ``Dataset`` passed as ``X`` (its items are one of
the above). :func:`input_kind` tells them apart; a new input kind is a new
constant here, a branch of :func:`input_kind` and its preparation in
:mod:`skimb._inputs.prepare`.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from skorch.helper import SliceDataset
from skorch.utils import is_dataset

__all__ = ["TABLE", "RAW_COLUMNS", "TENSOR", "DICT", "DATASET", "INPUT_KINDS", "input_kind"]

#: A numeric 2-D float table, one row per sample.
TABLE = "table"
#: The raw columns of a table (e.g. a DataFrame with categorical or text columns).
RAW_COLUMNS = "raw_columns"
#: N-D tensors, one per sample (images, sequences).
TENSOR = "tensor"
#: A dict of named inputs per sample.
DICT = "dict"
#: A torch Dataset passed as ``X``.
DATASET = "dataset"

#: Every input kind a network can declare in ``accepts``, with its description.
INPUT_KINDS: dict[str, str] = {
    TABLE: "a numeric 2-D float table",
    RAW_COLUMNS: "raw table columns",
    TENSOR: "N-D tensors",
    DICT: "a dict of inputs",
}


def input_kind(X, raw: bool = False) -> str:
    """The kind of ``X``: a torch Dataset, a dict of arrays, N-D rows or a table.

    Parameters
    ----------
    X : object
        What was passed as ``X`` (or a batch of rows of it).
    raw : bool, default=False
        A table is :data:`RAW_COLUMNS` rather than :data:`TABLE` (its columns
        hold categories, datetimes or missing values).

    Returns
    -------
    kind : str
        One of :data:`DATASET`, :data:`DICT`, :data:`TENSOR`, :data:`RAW_COLUMNS`,
        :data:`TABLE` (everything else: arrays, DataFrames, lists, sparse).

    Examples
    --------
    >>> import numpy as np
    >>> from skimb._inputs.kinds import input_kind
    >>> input_kind(np.zeros((4, 3))), input_kind(np.zeros((4, 1, 8, 8))), input_kind({"a": [1]})
    ('table', 'tensor', 'dict')
    """
    if is_dataset(X) or isinstance(X, SliceDataset):
        return DATASET
    if isinstance(X, dict) and not sp.issparse(X):  # scipy's dok format is a dict
        return DICT
    if isinstance(X, (np.ndarray, torch.Tensor)) and X.ndim > 2:
        return TENSOR
    return RAW_COLUMNS if raw else TABLE
