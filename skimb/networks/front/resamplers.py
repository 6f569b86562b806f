"""Imbalanced-learn samplers on a raw table: refused when they cannot take its columns."""

from __future__ import annotations

import numpy as np

from .table_columns import TableColumns

__all__ = ["check_resampler_columns"]


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


def check_resampler_columns(resampler, columns: TableColumns, X: np.ndarray) -> None:
    """Refuse an imbalanced-learn sampler that cannot take this raw table, naming why.

    It cannot take missing values; and one that interpolates (SMOTE and the
    like) would make up category codes between two codes.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from imblearn.over_sampling import SMOTE
    >>> from skimb.networks.front import TableColumns, check_resampler_columns
    >>> frame = pd.DataFrame({"x": [0.0, 1.0], "road": ["dry", "wet"]})
    >>> columns = TableColumns().fit(frame)
    >>> try:
    ...     check_resampler_columns(SMOTE(), columns, columns.transform(frame))
    ... except ValueError as err:
    ...     print(str(err)[:60])
    sampler=SMOTE() would interpolate the codes of the categoric
    """
    layout = columns.layout_
    missing = np.isnan(X).any(axis=0)
    if missing.any():
        raise ValueError(
            f"sampler={resampler!r} cannot take missing values, and X has some in column "
            f"{layout.names[int(np.argmax(missing))]!r}: use an index sampler (the built-in "
            "networks fill them, fitted on the training rows), or impute them first.")
    if layout.categorical and _interpolates(resampler):
        names = [layout.names[j] for j in layout.categorical]
        raise ValueError(
            f"sampler={resampler!r} would interpolate the codes of the categorical columns "
            f"{names}. Use imblearn's SMOTENC(categorical_features={list(layout.categorical)}) "
            "(positions in the encoded table) or SMOTEN, an index sampler such as 'over', or "
            "augment='smote' (which keeps every code).")
