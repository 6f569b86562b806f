"""Epoch samplers: which training rows each epoch visits, and how often.

Every sampler is fit on the encoded labels of the *training portion* (after the
internal validation split, if any) and then asked for a fresh draw at the
start of every epoch. Every sampler derives from :class:`BaseSampler` and
declares what it does (``draws_indices``, ``needs_table``,
``supports_multilabel``, ``leaves_order_free``, its rows per epoch and its
epoch class shares); the classifier, the batching and the plots read those
declarations.

The index samplers (:class:`EpochSampler`) draw an *epoch*: a 1-D ``int64``
tensor of row positions into the labels they were fit on, already shuffled
(the classifier slices it into batches in order). Draws happen with torch on
the device of the ``generator`` they are given. The classifier hands them a
generator on the training device whether the training rows are kept there
or stream from host memory (CPU and CUDA generators draw different streams),
so a given ``random_state`` gives the same model wherever the rows are kept,
and a GPU fit draws on the GPU.

With a multi-label (indicator) target every row is given one *sampling
class*: its rarest positive label (the present label with the fewest
training rows), or one extra class for rows without any label; see
:func:`rarest_positive_label`. Every index sampler then works on those classes
as it does on single-label classes: ``over`` draws each rarest label equally
often, ``sqrt`` in proportion to the square root of its rows, and so on.

The imbalanced-learn adapter is different in kind: it creates rows (SMOTE's
synthetic ones included), so it resamples whole arrays instead of drawing
indices (``draws_indices`` is False). See :class:`ImblearnSampler`.

One file per family: ``none``, ``under``, ``power`` (``power``, ``sqrt``,
``over``), ``progressive``, ``balanced_batch``, ``imblearn_adapter``;
``_base`` holds the protocol, ``multilabel`` the sampling classes of
multi-label targets and ``registry`` the names.
"""

from ._base import BaseSampler, EpochSampler
from .balanced_batch import BalancedBatchSampler
from .imblearn_adapter import ImblearnSampler
from .multilabel import rarest_positive_label
from .none import NoSampler
from .power import OverSampler, PowerSampler, SqrtSampler
from .progressive import ProgressiveSampler
from .registry import list_samplers, make_sampler
from .under import UnderSampler

__all__ = [
    "BaseSampler",
    "EpochSampler",
    "NoSampler",
    "UnderSampler",
    "OverSampler",
    "PowerSampler",
    "SqrtSampler",
    "ProgressiveSampler",
    "BalancedBatchSampler",
    "ImblearnSampler",
    "list_samplers",
    "make_sampler",
    "rarest_positive_label",
]
