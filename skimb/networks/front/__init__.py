"""The table front of the built-in networks: a table's columns as numbers a network learns on.

One pipeline, in the order the data goes through it:

1. :class:`TableColumns` (``table_columns.py``, pandas side): fitted on all the
   rows of the first ``fit``, before any split, it types each column of a raw
   table (numeric, categorical, datetime; ``categorical_features``) and turns
   every table into a float32 matrix with a :class:`ColumnLayout`
   (``layout.py``). :func:`fit_table_columns` is the classifier's call.
2. :class:`TableFront` (``table_front.py``, torch side), fitted on the
   training rows of every fit: a :class:`ColumnFront` (``column_front.py``:
   missing numbers filled with indicators, codes mapped to levels), the
   :class:`SmoothClipScaler` (``scaling.py``) and the bins of the numeric
   embeddings (``embeddings.py``). It draws no random weights; the network
   built on it draws those of the numeric embeddings and of the
   :class:`CategoricalEncoding` (``categorical.py``).

Every front that fits statistics on rows is a :class:`FittedFront`
(``fitted_front.py``). The front's ``module__*`` parameters are
:attr:`TableFront.PARAMETERS`.
"""

from .categorical import CategoricalEncoding
from .column_front import ColumnFront
from .embeddings import NUM_EMBEDDINGS, make_num_embeddings, tree_bins
from .fitted_front import FittedFront
from .front import (SCALINGS, categorical_encoding, check_scaling, many_valued_columns,
                    needs_rows)
from .layout import ColumnLayout
from .scaling import SmoothClipScaler
from .table_columns import DATETIME_FEATURES, TableColumns, fit_table_columns
from .table_front import TableFront

__all__ = ["TableFront", "TableColumns", "fit_table_columns", "ColumnLayout", "ColumnFront",
           "CategoricalEncoding", "SmoothClipScaler", "FittedFront",
           "make_num_embeddings", "tree_bins", "many_valued_columns", "needs_rows",
           "categorical_encoding",
           "check_scaling", "NUM_EMBEDDINGS", "SCALINGS", "DATETIME_FEATURES"]
