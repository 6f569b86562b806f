"""skorch's parameters: how the classifier handles each one, and the checks of them.

:data:`SKORCH_PARAMETERS` is the table of ``NeuralNet.__init__``'s (and
``NeuralNetClassifier``'s) parameters with what
:class:`~skimb.ImbalancedTorchClassifier` does with each: every one is
honoured or refused, none is dropped. The docs print it and a parametrised
test checks it against skorch's signature.
"""

from __future__ import annotations

import numpy as np
import skorch.dataset
from torch.utils.data import DataLoader

from .callbacks import BestEpoch

__all__ = ["SKORCH_PARAMETERS", "RESIDENT_ITERATOR_KEYS", "SKLEARN_NAMES", "check_skorch_params",
           "refuse_sklearn_names", "check_loop_params", "check_validation_monitors"]

#: ``{parameter: how it is handled}`` for every parameter of skorch's
#: ``NeuralNet.__init__`` and ``NeuralNetClassifier.__init__``.
SKORCH_PARAMETERS = {
    "module": "honoured: a built-in network by name, None (the default network), or your "
              "nn.Module class or instance",
    "criterion": "refused (TypeError), and so is every criterion__*: the loss is loss=, a "
                 "name, a skimb loss or an nn.Module class, with loss__* parameters",
    "optimizer": "honoured (default torch.optim.AdamW); optimizer__* too",
    "lr": "honoured (default 2e-3), the start of the cosine schedule",
    "max_epochs": "honoured: an integer keeps skorch's meaning; 'auto' (the default) sizes "
                  "the budget in optimizer steps",
    "batch_size": "honoured; -1 is the whole dataset in one batch",
    "iterator_train": "honoured: a class other than DataLoader trains through it (with "
                      "sampler='none'); iterator_train__* see RESIDENT_ITERATOR_KEYS",
    "iterator_valid": "honoured, as iterator_train",
    "dataset": "refused unless skorch's default: in-memory X becomes skimb's table; pass "
               "your own torch Dataset as X instead",
    "train_split": "honoured (default None: every row trains)",
    "callbacks": "honoured; the default recipe's callbacks are named and can be replaced "
                 "or switched off with callbacks__<name>=None",
    "predict_nonlinearity": "honoured: 'auto' is the loss's probabilities, None the raw "
                            "output, or a callable",
    "warm_start": "honoured: fit continues training, as partial_fit does",
    "verbose": "honoured",
    "device": "honoured; 'auto' (the default) is CUDA when available",
    "compile": "honoured (torch.compile of module and loss)",
    "use_caching": "honoured when True (the default: skorch's scoring callbacks reuse the "
                   "epoch's validation predictions); False is refused (ValueError): skorch "
                   "would then read the labels from its own Dataset class, which skimb's "
                   "device-resident table is not",
    "torch_load_kwargs": "honoured by load_params",
    "classes": "honoured: classes_ is the list and labels are encoded in its order; a "
               "label outside it, or a listed class y lacks, is a ValueError; [] opts out "
               "of classes_ as in skorch (predict then returns class positions)",
}

#: ``iterator_*__`` parameters the device-resident path honours itself; any
#: other one sends the rows through the DataLoader, with every parameter as given.
RESIDENT_ITERATOR_KEYS = frozenset({"batch_size", "drop_last", "shuffle"})


#: scikit-learn's names for what a strategy does here: ``{name: what to pass instead}``.
SKLEARN_NAMES = {
    "class_weight": "class weights are a loss here: loss='weighted_ce' with "
                    "loss__weights='balanced' (scikit-learn's rule), 'sqrt', 'effective' or a "
                    "dict {label: weight}",
}


def refuse_sklearn_names(names) -> None:
    """Raise a ValueError for a scikit-learn parameter name among ``names``, saying what
    to pass instead (:data:`SKLEARN_NAMES`)."""
    for name in sorted(SKLEARN_NAMES.keys() & set(names)):
        raise ValueError(
            f"ImbalancedTorchClassifier takes no {name}= (scikit-learn's name): "
            f"{SKLEARN_NAMES[name]}.")


def check_skorch_params(net, sampler) -> None:
    """Refuse skorch parameters the classifier cannot honour with ``sampler``, before any work."""
    refuse_sklearn_names(vars(net))
    if net.dataset is not skorch.dataset.Dataset or net.get_params_for("dataset"):
        raise ValueError(
            "dataset= is not used by ImbalancedTorchClassifier: in-memory X becomes its "
            "own device-resident table. Pass your torch Dataset as X instead.")
    if net.use_caching is False:
        raise ValueError(
            "use_caching=False is not supported: skorch's scoring callbacks would read the "
            "validation labels from its own Dataset class, which skimb's device-resident "
            "table is not. Keep use_caching=True (the default).")
    train = net.get_params_for("iterator_train")
    ordered = {"sampler", "batch_sampler"} & set(train)
    custom = net.iterator_train is not DataLoader
    if (ordered or custom) and not sampler.leaves_order_free:
        what = (f"iterator_train__{sorted(ordered)[0]}" if ordered
                else f"iterator_train={net.iterator_train.__name__}")
        raise ValueError(
            f"{what} decides the training order, and so does sampler={net.sampler!r}: use "
            "one of them (sampler='none' leaves the order to your iterator).")
    if train.get("shuffle") is False and not sampler.leaves_order_free:
        raise ValueError(
            f"iterator_train__shuffle=False keeps the rows in order, but sampler="
            f"{net.sampler!r} draws the order of every epoch: drop one of them.")


def check_loop_params(estimator) -> None:
    """Raise a ValueError for a ``max_epochs`` or batch size the training loop cannot use.

    ``batch_size`` (and ``iterator_train__batch_size`` /
    ``iterator_valid__batch_size`` when set) must be a positive integer, or -1
    for the whole dataset in one batch; ``max_epochs`` a non-negative integer or ``"auto"``.
    """
    params = vars(estimator)
    for key in ("batch_size", "iterator_train__batch_size", "iterator_valid__batch_size"):
        value = params.get(key, 1)
        if not _is_int(value) or (value < 1 and value != -1):
            raise ValueError(
                f"{key} must be a positive integer, or -1 for the whole dataset in one "
                f"batch; got {value!r}."
            )
    max_epochs = estimator.max_epochs
    if not (isinstance(max_epochs, str) and max_epochs == "auto") and (
            not _is_int(max_epochs) or max_epochs < 0):
        raise ValueError(
            f"max_epochs must be a non-negative integer or 'auto'; got {max_epochs!r}.")


def check_validation_monitors(net, has_valid: bool) -> None:
    """Refuse a callback of the user's that monitors a validation score no epoch will record.

    skorch's ``Checkpoint()`` monitors ``"valid_loss_best"`` and
    ``EarlyStopping()`` ``"valid_loss"`` by default; with the default
    ``train_split=None`` every row trains, no epoch is scored on validation
    rows, and skorch would fail after the first epoch. Refused before training,
    naming the callback and what to monitor instead. skimb's own
    :class:`~skimb.callbacks.BestEpoch` stays idle without validation rows and
    is not refused.
    """
    if has_valid:
        return
    for entry in net.callbacks if isinstance(net.callbacks, (list, tuple)) else ():
        name, callback = entry if isinstance(entry, tuple) else (type(entry).__name__, entry)
        monitor = getattr(callback, "monitor", None)
        if (isinstance(monitor, str) and monitor.startswith("valid_")
                and not isinstance(callback, BestEpoch)):
            raise ValueError(
                f"callback {name!r} monitors {monitor!r}, a validation score, but "
                f"train_split={net.train_split!r} keeps no validation rows. Monitor a "
                f"training score (for example monitor={'train' + monitor[len('valid'):]!r}) "
                "or set train_split, e.g. skorch.dataset.ValidSplit(5, stratified=True).")


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)
