"""Inputs of ``fit``, ``partial_fit`` and ``predict``: checked at the edge, then prepared.

:func:`prepare_fit` turns what a user passes to a training call into the
dataset skorch trains on, the encoded labels and the network input kind, and
says what a first fit records about the input (``input_shape_``,
``n_features_in_``, ``feature_names_in_``, ``columns_``, ``classes_inferred_``,
``multilabel_``); a continued fit is checked against what the estimator
recorded. :func:`prepare_predict` does the same for the rows to predict.
Nothing here changes the estimator: the classifier applies the record.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator

from .._data import TensorTable, feature_leaves, table_and_rows
from ..networks.front import fit_table_columns
from .arrays import check_dict, check_item_shape, check_tensor, item_shape
from .datasets import LabeledDataset, UnlabeledItems, dataset_labels
from .kinds import DATASET, TABLE, TENSOR, input_kind
from .labels import check_sample_weight, encode_continued_fit, encode_first_fit, is_multilabel
from .tables import check_features

__all__ = ["FitInputs", "prepare_fit", "prepare_predict"]


class FitInputs(NamedTuple):
    """What a training call trains on, prepared from the user's ``X, y, sample_weight``.

    Attributes
    ----------
    data : Dataset
        A :class:`~skimb._data.TensorTable` of in-memory rows, or the user's
        Dataset wrapped to carry the encoded labels.
    y : ndarray
        The encoded labels (class positions, or the indicator matrix).
    kind : str
        What a network is given (:mod:`skimb._inputs.kinds`): ``"table"``,
        ``"raw_columns"``, ``"tensor"`` or ``"dict"``.
    record : dict
        What a first fit records about the input, by attribute name (None:
        the attribute is removed); empty for a continued fit.
    in_memory : bool
        Whether the rows are an in-memory table (not the user's Dataset).
    """

    data: object
    y: np.ndarray
    kind: str
    record: dict
    in_memory: bool


class _FeatureProbe(BaseEstimator):
    """Receives the feature checks of a new fit, so a failed fit leaves no trace."""


def _one_row(x):
    """A Dataset item's input as a batch of one row (for its shape)."""
    if isinstance(x, dict):
        return {key: np.asarray(value)[None] for key, value in x.items()}
    return np.asarray(x)[None]


def _built_in(net) -> bool:
    """Whether ``net`` builds one of skimb's networks, whose front takes raw tables."""
    return net.module is None or isinstance(net.module, str)


def prepare_fit(net, X, y, sample_weight, *, first_fit: bool, classes=None) -> FitInputs:
    """Validate the input of a training call; return what skorch trains on.

    Parameters
    ----------
    net : ImbalancedTorchClassifier
        Read only: its ``module`` parameters and, for a continued fit
        (``first_fit=False``), what the first fit recorded.
    X, y, sample_weight
        As given to ``fit`` / ``partial_fit``.
    first_fit : bool
        Whether this call records the input (a new fit) or is checked
        against the record (a continued fit).
    classes : array-like, optional
        A first fit's labels in the order to encode them.

    Returns
    -------
    inputs : FitInputs
    """
    kind = input_kind(X)
    if kind == DATASET:
        return _prepare_dataset(net, X, y, sample_weight, first_fit, classes)
    record = {}
    if kind == TABLE:
        features, record = _table_features(net, X, first_fit)
    else:
        features = check_tensor(X) if kind == TENSOR else check_dict(X)
        if not first_fit:
            check_item_shape(features, net.input_shape_)
    n_rows = len(feature_leaves(features)[0])
    if first_fit:
        multilabel = is_multilabel(y)
        classes, y_encoded = encode_first_fit(y, n_rows, multilabel, classes)
        columns = record.get("columns_")
        record = {"columns_": None, "feature_names_in_": None, **record,
                  **_input_record(features, classes, multilabel, kind == TABLE, columns)}
    else:
        columns = vars(net).get("columns_")
        y_encoded = encode_continued_fit(y, n_rows, net.classes_inferred_, net.multilabel_)
    weights = check_sample_weight(sample_weight, n_rows)
    data = TensorTable(features, y_encoded, weights)
    raw = kind == TABLE and columns is not None and (
        columns.is_raw or bool(np.isnan(features).any()))
    return FitInputs(data, y_encoded, input_kind(features, raw=raw), record, True)


def _table_features(net, X, first_fit):
    """``(features, record)`` of a 2-D table, checked (and its columns typed on a first fit).

    A built-in network takes a dense table as it comes (text, categories,
    datetimes, missing values): its columns become numbers through
    ``columns_`` (:class:`~skimb.networks.front.TableColumns`, fitted here on a
    first fit). Your own module gets a numeric, finite table.
    """
    built_in = _built_in(net)
    raw = built_in and not sp.issparse(X)
    categorical = net.get_params_for("module").get("categorical_features", "from_dtype")
    if built_in and not raw and categorical not in ("from_dtype", None):
        raise ValueError(
            f"module__categorical_features={categorical!r} needs a dense table; X is a "
            "scipy sparse matrix, whose columns are all numbers. Pass X dense (a "
            "DataFrame or an array) or leave module__categorical_features unset.")
    if not first_fit:
        return _table_for_fitted(net, X), {}
    probe = _FeatureProbe()
    features = check_features(probe, X, reset=True, name=type(net).__name__, raw=raw)
    record = {"feature_names_in_": getattr(probe, "feature_names_in_", None),
              "columns_": None}
    if not raw:
        return features, record
    record["columns_"] = fit_table_columns(features, net.get_params_for("module"))
    return record["columns_"].transform(features), record


def _table_for_fitted(net, X):
    """A table checked against the fitted columns (names, number), as numbers."""
    columns = vars(net).get("columns_")
    if columns is None or sp.issparse(X):
        return check_features(net, X, reset=False)
    return columns.transform(check_features(net, X, reset=False, raw=True))


def _prepare_dataset(net, X, y, sample_weight, first_fit, classes):
    """A torch Dataset, its items wrapped to carry the encoded labels (and weights)."""
    if y is None:
        y = dataset_labels(X)
    if y is None:
        raise ValueError(
            "y is required: this Dataset carries no labels skimb can read (a `targets` "
            "attribute, a TensorDataset or skorch Dataset); pass y, one label per item.")
    if first_fit:
        multilabel = is_multilabel(y)
        classes, y_encoded = encode_first_fit(y, len(X), multilabel, classes)
    else:
        y_encoded = encode_continued_fit(y, len(X), net.classes_inferred_, net.multilabel_)
    data = LabeledDataset(X, y_encoded, check_sample_weight(sample_weight, len(X)))
    row = _one_row(data[0][0])
    record = {}
    if first_fit:
        table = not isinstance(row, dict) and row.ndim == 2
        record = {"columns_": None, **_input_record(row, classes, multilabel, table, None)}
    else:
        check_item_shape(row, net.input_shape_)
    return FitInputs(data, y_encoded, input_kind(row), record, False)


def _input_record(features, classes, multilabel, table, columns) -> dict:
    """What a first fit saw: the row shape (and width of a table), the labels."""
    shape = item_shape(features)
    record = {"input_shape_": shape, "classes_inferred_": classes, "multilabel_": multilabel}
    if table:
        record["n_features_in_"] = shape[0] if columns is None else columns.n_columns_
    else:
        record.update(n_features_in_=None, feature_names_in_=None)
    return record


def prepare_predict(net, X):
    """The rows to predict as a dataset, checked against what the fit recorded.

    skimb's own rows (the validation split) pass as they are.
    """
    if table_and_rows(X) is not None:
        return X
    kind = input_kind(X)
    fitted = vars(net)
    if kind == DATASET:
        items = UnlabeledItems(X)
        if "input_shape_" in fitted and len(items):
            check_item_shape(_one_row(items[0][0]), net.input_shape_)
        return items
    if kind == TABLE:
        if "n_features_in_" not in fitted and "input_shape_" in fitted:
            raise ValueError(f"X is a 2-D table; the model was fitted on rows of shape "
                             f"{net.input_shape_}.")
        return TensorTable(_table_for_fitted(net, X))
    features = check_tensor(X) if kind == TENSOR else check_dict(X)
    if "input_shape_" in fitted:
        check_item_shape(features, net.input_shape_)
    return TensorTable(features)
