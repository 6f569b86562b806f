"""N-D arrays and dicts of arrays at the estimator's edge (inputs for your own module).

* N-D arrays and tensors (images ``(n, C, H, W)``, sequences ``(n, T, F)``)
  keep a signed integer dtype (int8 to int64: ids for an ``nn.Embedding``,
  passed as they are, as skorch passes them) and uint8 (4x less memory,
  converted one batch at a time by the classifier); every other number
  (bool, other unsigned, floating) becomes float32;
* a dict of arrays (skorch's convention for several inputs, ``SliceDict``
  included) is checked value by value by the same rule (a 2-D value too: it
  is a ``forward`` argument, not a table), every value with the same rows;
  its keys become ``forward`` arguments.
"""

from __future__ import annotations

import inspect

import numpy as np
import torch
from skorch.utils import to_numpy

__all__ = ["check_tensor", "check_dict", "item_shape", "check_item_shape", "ids_in_a_table"]


def check_tensor(X, name: str = "X") -> np.ndarray:
    """An N-D numeric array, C-contiguous, finite; else ValueError.

    Signed integers (int8 to int64: ids) and uint8 (images) keep their dtype;
    bool, other unsigned and floating arrays become float32. A torch tensor is
    checked as the array it holds.
    """
    array = to_numpy(X) if isinstance(X, torch.Tensor) else np.asarray(X)
    if array.ndim < 1 or len(array) == 0:
        raise ValueError(f"{name} is empty: it has no rows.")
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold numbers; got dtype {array.dtype}.")
    if array.dtype.kind == "i" or array.dtype == np.uint8:
        return np.ascontiguousarray(array)
    array = np.ascontiguousarray(array, dtype=np.float32)
    finite = np.isfinite(array)
    if not finite.all():
        position = np.unravel_index(int(np.argmin(finite)), array.shape)
        raise ValueError(
            f"{name} contains NaN or infinity (or a value too large for float32), first at "
            f"index {tuple(int(i) for i in position)}.")
    return array


def check_dict(X: dict) -> dict:
    """Every value checked as a 2-D or N-D array (:func:`check_tensor`: integer ids kept),
    all with the same number of rows."""
    if not X:
        raise ValueError("X is an empty dict: it needs one array per forward argument.")
    checked = {}
    for key, value in X.items():
        if not isinstance(key, str):
            raise ValueError(f"X's keys are forward arguments, so strings; got {key!r}.")
        array = check_tensor(value, name=f"X[{key!r}]")
        checked[key] = array[:, None] if array.ndim == 1 else array
    lengths = {key: len(value) for key, value in checked.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"X's arrays must have the same number of rows; got {lengths}.")
    return checked


def item_shape(features):
    """The shape of one row: a tuple, or ``{key: tuple}`` for a dict."""
    if isinstance(features, dict):
        return {key: tuple(value.shape[1:]) for key, value in features.items()}
    return tuple(features.shape[1:])


def check_item_shape(features, expected) -> None:
    """Raise a ValueError when rows do not have the shape the model was fitted on."""
    got = item_shape(features)
    if got != expected:
        raise ValueError(f"X has rows of shape {got}; the model was fitted on rows of "
                         f"shape {expected}.")


def ids_in_a_table(module, batch, error: RuntimeError) -> str | None:
    """What to say when ``module`` failed on a 2-D table because it expected ids.

    A 2-D array is a table, and a table reaches a module of your own as
    float32; an ``nn.Embedding`` or ``nn.EmbeddingBag`` then fails inside
    torch, asking for integer indices. Returns the message pointing at the
    dict form, which keeps ids as they are, or None when ``error`` is
    something else.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from skimb._inputs.arrays import ids_in_a_table
    >>> bag, batch = nn.EmbeddingBag(10, 4), torch.zeros(2, 3)
    >>> try:
    ...     bag(batch)
    ... except RuntimeError as error:
    ...     print(ids_in_a_table(bag, batch, error))  # doctest: +ELLIPSIS
    The module failed on X, a 2-D table...pass them as a dict, X={'input': ids}, ...
    """
    if not (isinstance(batch, torch.Tensor) and batch.ndim == 2 and batch.is_floating_point()
            and "'indices'" in str(error)):
        return None
    try:
        argument = next(iter(inspect.signature(module.forward).parameters))
    except (StopIteration, TypeError, ValueError):
        argument = "X"
    return (
        f"The module failed on X, a 2-D table, which a module of your own gets as float32 "
        f"({str(error).splitlines()[0]}). If X holds ids for an nn.Embedding, pass them as "
        f"a dict, X={{{argument!r}: ids}}, whose values keep their integer dtype "
        "(docs/user_guide/images_and_sequences.md).")
