"""skorch's parameters: how the classifier handles each one, and the iterators it builds.

:data:`SKORCH_PARAMETERS` is the table of ``NeuralNet.__init__``'s (and
``NeuralNetClassifier``'s) parameters with what
:class:`~skimb.ImbalancedTorchClassifier` does with each: every one is
honoured or refused, none is dropped. The docs print it and a parametrised
test checks it against skorch's signature.
"""

from __future__ import annotations

import math

import skorch.dataset
import torch
from torch.utils.data import DataLoader

from ._training import EpochIndexSampler
from .samplers import ImblearnSampler, NoSampler

__all__ = ["SKORCH_PARAMETERS", "RESIDENT_ITERATOR_KEYS", "check_skorch_params",
           "check_finite_epoch"]

#: ``{parameter: how it is handled}`` for every parameter of skorch's
#: ``NeuralNet.__init__`` and ``NeuralNetClassifier.__init__``.
SKORCH_PARAMETERS = {
    "module": "honoured: a built-in network by name, None (the device's default), or your "
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


def _plain_order(sampler) -> bool:
    """Whether ``sampler`` is ``"none"`` without a per-class cap: the order is free."""
    return isinstance(sampler, NoSampler) and sampler.max_per_class is None


def check_skorch_params(net, sampler) -> None:
    """Refuse skorch parameters the classifier cannot honour with ``sampler``, before any work."""
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
    if (ordered or custom) and not _plain_order(sampler):
        what = (f"iterator_train__{sorted(ordered)[0]}" if ordered
                else f"iterator_train={net.iterator_train.__name__}")
        raise ValueError(
            f"{what} decides the training order, and so does sampler={net.sampler!r}: use "
            "one of them (sampler='none' leaves the order to your iterator).")
    if train.get("shuffle") is False and not _plain_order(sampler):
        raise ValueError(
            f"iterator_train__shuffle=False keeps the rows in order, but sampler="
            f"{net.sampler!r} draws the order of every epoch: drop one of them.")


def resident_path_applies(net, kwargs: dict, training: bool) -> bool:
    """Whether the device-resident batches honour every iterator parameter given."""
    iterator = net.iterator_train if training else net.iterator_valid
    if iterator is not DataLoader or not set(kwargs) <= RESIDENT_ITERATOR_KEYS:
        return False
    return training or not kwargs.get("shuffle", False)


def dataloader_for_training(net, dataset, sampler, kwargs: dict, batch_size: int):
    """The training iterator for rows read through a DataLoader (or the user's iterator)."""
    if isinstance(sampler, ImblearnSampler):
        raise ValueError(
            f"sampler={net.sampler!r} resamples in-memory arrays every epoch: it needs X "
            "as an array or DataFrame and no iterator_train__* beyond "
            f"{', '.join(sorted(RESIDENT_ITERATOR_KEYS))}.")
    kwargs = {**kwargs, "batch_size": batch_size}
    if net.iterator_train is not DataLoader or {"sampler", "batch_sampler"} & set(kwargs) \
            or kwargs.get("shuffle") is False:
        if "batch_sampler" in kwargs:
            kwargs.pop("batch_size")
        return net.iterator_train(dataset, **kwargs)
    kwargs.pop("shuffle", None)
    generator = torch.Generator().manual_seed(net.sampling_seed_ + len(net.history))
    kwargs["sampler"] = EpochIndexSampler(sampler, batch_size, generator)
    return DataLoader(dataset, **kwargs)


def check_finite_epoch(net, losses: list, epoch: int) -> None:
    """Stop a fit whose training loss is not finite, naming the epoch and the remedies."""
    bad = [value for value in losses if not math.isfinite(value)]
    if bad:
        raise ValueError(
            f"The training loss is {bad[0]} at epoch {epoch} of this call: the fit "
            f"diverged, and no model is kept. Lower the learning rate (lr={net.lr!r}), keep "
            "gradient clipping on (callbacks__gradient_clipping, the default), or scale "
            "the features (the built-in networks do).")
