"""ImbalancedTorchClassifier: a skorch classifier with pluggable imbalance strategies."""

from __future__ import annotations

import inspect
import numbers
import warnings
from contextlib import contextmanager
from types import MappingProxyType

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_consistent_length, column_or_1d
from skorch import NeuralNetClassifier
from skorch.callbacks import EpochTimer, GradientNormClipping, PassthroughScoring, PrintLog
from skorch.dataset import ValidSplit
from skorch.utils import is_dataset, to_numpy, to_tensor
from torch.utils.data import DataLoader

from ._data import SparseRows, TensorTable, WeightedTarget, labels_of, table_and_rows
from ._device import check_device_placement, resolve_device
from ._seeding import seeded_torch
from ._training import EpochIndexSampler, ResidentBatches, storage_of
from ._validation import (
    check_features,
    check_loop_params,
    check_sample_weight,
    encode_indicator,
    encode_labels,
    is_multilabel,
)
from .decisions import NO_VALIDATION_SPLIT, check_decision, decide, fit_decision
from .losses import (ClassRectificationLoss, ImbalanceLoss, loss_class, make_loss,
                     output_probabilities)
from .metrics import MacroF1Scoring
from .networks import default_network, network_class
from .networks.front import needs_rows
from .recipe import BestEpoch, CosineSchedule, epoch_budget
from .samplers import (
    EpochSampler,
    ImblearnSampler,
    NoSampler,
    list_samplers,
    make_sampler,
    rarest_positive_label,
)

__all__ = ["ImbalancedTorchClassifier"]

#: ``module=None`` for a torch Dataset, whose rows are not in memory to fit a front on.
DATASET_NETWORK = {"scaling": None, "num_embeddings": None}
#: Gradient-norm cap of the default recipe.
GRADIENT_CLIP = 1.0
#: Epochs without a better validation macro-F1 before the default recipe stops
#: (None: never; on shuttle, stopping after 16 such epochs cost 0.2 macro-F1).
BEST_EPOCH_PATIENCE = None

class _FeatureProbe(BaseEstimator):
    """Receives the feature checks of a new fit, so a failed fit leaves no trace."""


class ImbalancedTorchClassifier(NeuralNetClassifier):
    """A PyTorch classifier for class-imbalanced tables, in scikit-learn's shape.

    A skorch ``NeuralNetClassifier`` whose imbalance handling is chosen with
    ``sampler=`` (which rows each epoch visits) and ``loss=`` (how each row's
    error counts). Strategy hyper-parameters are set as ``sampler__<name>`` and
    ``loss__<name>``, so ``GridSearchCV`` can search them. Strategy state (class
    counts, sampling weights, loss weights) is computed at every fit from the
    training portion only: after the internal validation split, when
    ``train_split`` sets one.

    In-memory data is moved to the training device once per fit; batches are
    gathered there by index and no batch waits for the host.

    A 2-D 0/1 indicator ``y`` (array, DataFrame or scipy sparse matrix) is a
    multi-label target: the module gets one output per label, ``predict``
    returns the indicator matrix and ``predict_proba`` each label's sigmoid
    probability. The losses ``ce``, ``bce``, ``focal``, ``asl`` and ``crl``
    accept it, and the index samplers weight each row by its rarest positive
    label (see :func:`~skimb.samplers.rarest_positive_label`).

    Parameters
    ----------
    module : str, nn.Module class or instance, or None, default=None
        A built-in network by name (:func:`~skimb.list_modules`: ``"mlp"``,
        ``"tabm"``), built by ``fit`` with its robust scaling and numeric
        embedding bins fitted on the training portion only; ``None`` is the
        default network for the device (CPU: ``"mlp"`` with piecewise-linear
        embeddings; CUDA: ``"tabm"`` with k=32 members, see
        ``docs/user_guide/networks.md``). Set its parameters as
        ``module__<name>``. Or your own module, which must return logits
        (shape ``(batch, n_outputs)``, or ``(batch, k, n_outputs)`` for an
        ensemble of k members).
    sampler : str, EpochSampler or imblearn sampler, default="none"
        One of :func:`~skimb.list_samplers`, a skimb sampler object, or an
        imbalanced-learn sampler instance (run on the training portion every
        epoch with a fresh seed).
    loss : str, ImbalanceLoss or nn.Module class, default="ce"
        One of :func:`~skimb.list_losses`, a skimb loss object, or an
        ``nn.Module`` class called as ``loss(logits, target)``.
    optimizer : torch optimizer class, default=torch.optim.AdamW
    lr : float, default=2e-3
        The starting learning rate; the default recipe decays it to 0 over
        the epochs of every ``fit`` or ``partial_fit`` on a cosine
        (callback ``lr_scheduler``).
    max_epochs : int or "auto", default="auto"
        Epochs of each ``fit`` or ``partial_fit`` call. ``"auto"`` is 60 epochs,
        more on small tables: about 1.3 million row visits over the rows
        passed, at most 240 epochs (:func:`skimb.recipe.epoch_budget`); the
        fitted ``max_epochs_`` says what the last call ran for. With a
        validation split, the weights of the epoch with the best
        ``valid_f1_macro`` are kept (callback ``best_epoch``). Gradients are
        clipped to norm 1 (callback ``gradient_clipping``). Each piece is
        turned off with ``callbacks__<name>=None``.
    batch_size : int, default=256
    train_split : callable or None, default=None
        skorch's internal validation split. ``None`` trains on all rows for
        the whole budget and keeps the last epoch's weights (the cosine
        schedule has decayed the learning rate to 0 by then): on the
        benchmark tables this beats holding out a fifth of the rows to pick
        the best epoch (``docs/user_guide/networks.md``). A split such as
        ``skorch.dataset.ValidSplit(5, stratified=True)`` adds the per-epoch
        ``valid_loss`` and ``valid_f1_macro``, the ``best_epoch`` restore and
        ``decision="tuned"``.
    device : str or None, default="auto"
        ``"auto"`` is ``"cuda"`` when available, else ``"cpu"``.
    random_state : int, RandomState or None, default=None
        Makes a fit reproducible: weight initialisation, dropout and sampling.
    threshold : float, default=0.5
        Multi-label targets only: ``predict`` marks a label present where its
        probability exceeds this, in [0, 1] (with ``decision="argmax"``).
    decision : {"argmax", "prior", "tuned"}, default="argmax"
        How ``predict`` turns probabilities into labels:
        ``classes_[argmax(log p + decision_offsets_)]``. ``"argmax"``: zero
        offsets. ``"prior"``: post-hoc logit adjustment, offsets
        ``-decision__tau * log(class share)``. ``"tuned"``: the offsets that
        maximise macro-F1 on the internal validation split, so it needs a
        ``train_split`` (with the default ``None``, ``fit`` raises
        ``ValueError``); classes in ``decision__exclude`` are left out and
        classes with fewer than ``decision__min_count`` validation rows keep
        offset 0; the offsets are chosen after
        training on the weights the model keeps, then shrunk towards 0 by
        ``n_c / (n_c + decision__shrinkage)`` (default 40; ``n_c`` the
        class's validation rows). Multi-label: ``"prior"`` and
        ``"tuned"`` set per-label thresholds instead. See the user guide's
        *Decisions* page. The epoch scorer ``valid_f1_macro`` always scores
        the ``argmax`` decision.
    verbose : int, default=0
        skorch's per-epoch log when 1.
    **kwargs
        Every other skorch ``NeuralNet`` parameter, with its skorch meaning,
        plus ``module__*``, ``sampler__*``, ``loss__*`` and ``decision__*``
        parameters.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Sorted unique labels seen in ``fit``; for a multi-label target the
        label names (a DataFrame's columns) or ``0 .. n_labels - 1``.
    class_counts_ : ndarray of shape (n_classes,)
        Rows per class in the training portion the strategies were fit on;
        for a multi-label target, the rows where each label is present.
    multilabel_ : bool
        Whether ``y`` was a multi-label indicator matrix.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` was a DataFrame with string column names.
    sampler_ : EpochSampler or ImblearnSampler
        The fitted sampler.
    training_storage_ : {"device", "host", "dataloader"}
        Where the last training epoch kept its rows: on the training device,
        in host memory with each batch copied over (when they do not fit in
        the device memory), or read through a DataLoader (a torch Dataset).
        Every epoch's history row records it as ``event_storage``.
    max_epochs_ : int
        Epochs the last ``fit`` or ``partial_fit`` call was given (``max_epochs``
        resolved; fewer ran if the ``best_epoch`` callback stopped early).
    decision_offsets_ : ndarray of shape (n_classes,)
        Single-label targets: the offsets ``predict`` adds to ``log p``.
    decision_thresholds_ : ndarray of shape (n_labels,)
        Multi-label targets with ``decision="prior"`` or ``"tuned"``: each
        label is predicted where its probability exceeds its threshold.
    history : skorch History
        With a validation split, every epoch records ``valid_f1_macro``
        computed once over the whole validation set.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from skimb import ImbalancedTorchClassifier
    >>> X, y = make_classification(n_samples=400, weights=[0.9], random_state=0)
    >>> clf = ImbalancedTorchClassifier(sampler="under", loss="weighted_ce",
    ...                                 max_epochs=5, random_state=0)
    >>> clf.fit(X, y).predict(X[:3]).shape
    (3,)
    >>> clf.predict_proba(X[:2]).sum(axis=1).round(6).tolist()
    [1.0, 1.0]
    """

    prefixes_ = NeuralNetClassifier.prefixes_ + ["sampler", "loss", "decision"]
    # skorch's __init__ stores these; scikit-learn wants only parameters set there.
    # Class-level defaults give skorch the same values until it initializes.
    history_ = None
    initialized_ = False
    virtual_params_ = MappingProxyType({})

    def __init__(
        self,
        module=None,
        *,
        sampler="none",
        loss="ce",
        optimizer=torch.optim.AdamW,
        lr: float = 2e-3,
        max_epochs: int | str = "auto",
        batch_size: int = 256,
        train_split=None,
        device: str | None = "auto",
        random_state=None,
        threshold: float = 0.5,
        decision: str = "argmax",
        verbose: int = 0,
        **kwargs,
    ):
        if "criterion" in kwargs:
            raise TypeError("ImbalancedTorchClassifier takes the loss as loss=, not criterion=.")
        super().__init__(
            None,  # set below: skorch's __setattr__ would treat a module instance as fitted
            criterion=None,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            train_split=train_split,
            device=device,
            verbose=verbose,
            **kwargs,
        )
        state = vars(self)
        for name, unset in (("history_", None), ("initialized_", False), ("virtual_params_", {})):
            if type(state[name]) is type(unset) and state[name] == unset:
                del state[name]
        del state["criterion"]  # not through skorch's __delattr__, which copies prefixes_
        state["module"] = module
        self.sampler = sampler
        self.loss = loss
        self.random_state = random_state
        self.threshold = threshold
        self.decision = decision

    # -- device: the parameter keeps "auto"; skorch's internals see the resolved one

    @property
    def device(self):
        return resolve_device(self.__dict__["device"])

    @device.setter
    def device(self, value):
        self.__dict__["device"] = value

    def _get_param_names(self):
        # skorch lists every public attribute; its private bookkeeping is no parameter
        return [name for name in super()._get_param_names() if not name.startswith("_")]

    def get_params(self, deep=True, **kwargs):
        params = super().get_params(deep=deep, **kwargs)
        params["device"] = self.__dict__["device"]
        # Explicit sampler__*/loss__* values win over the expansion of an
        # estimator passed as sampler= (e.g. SMOTE's own k_neighbors).
        params.update({key: value for key, value in vars(self).items()
                       if key.startswith(("sampler__", "loss__", "decision__"))})
        return params

    def __setstate__(self, state):
        requested = state["device"]
        state["device"] = resolve_device(requested)
        super().__setstate__(state)
        if requested == "auto":
            self.__dict__["device"] = requested

    def set_params(self, **params):
        strategy_keys = [
            key for key in params
            if key in ("sampler", "loss", "decision")
            or key.startswith(("sampler__", "loss__", "decision__"))
        ]
        for key in strategy_keys:
            setattr(self, key, params.pop(key))
        return super().set_params(**params) if params else self

    @property
    def _default_callbacks(self):
        return [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
            ("valid_loss", PassthroughScoring(name="valid_loss")),
            ("valid_f1_macro", MacroF1Scoring()),
            ("lr_scheduler", CosineSchedule()),
            ("gradient_clipping", GradientNormClipping(gradient_clip_value=GRADIENT_CLIP)),
            ("print_log", PrintLog()),
            ("best_epoch", BestEpoch(patience=BEST_EPOCH_PATIENCE)),
        ]

    # -- fitting ------------------------------------------------------------------

    def fit(self, X, y, sample_weight=None, **fit_params):
        """Fit the network and the imbalance strategies.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), DataFrame, scipy sparse, or torch Dataset
            Numeric features; a sparse matrix stays sparse and is densified
            one batch at a time. A torch ``Dataset`` must yield ``(x, class_index)``
            (or ``(x, indicator_row)`` for a multi-label target), and then ``y``
            gives the class index (or indicator row) of every row.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Labels of any hashable kind, or a 0/1 multi-label indicator matrix
            (array, DataFrame or scipy sparse).
        sample_weight : array-like of shape (n_samples,), optional
            Per-row weights; they follow their rows through the validation
            split (if any), the sampler and the batches, and multiply the row's
            loss.
        **fit_params
            Passed to the module's ``forward``, as in skorch.

        Returns
        -------
        self : ImbalancedTorchClassifier
        """
        check_device_placement(self)
        if self.warm_start and self.initialized_:
            return self.partial_fit(X, y, sample_weight=sample_weight, **fit_params)
        try:
            data, y_encoded = self._prepare(X, y, sample_weight, first_fit=True)
            with self._seeded():
                # Split before initialising: the built-in networks fit their scaling and
                # bins on the training rows, and get_split_datasets reuses this split.
                self._presplit = (data, y_encoded, self._split(data, y_encoded, **fit_params))
                return super().fit(data, y_encoded, **fit_params)
        except Exception:
            self._forget_fit()
            raise
        finally:
            self.__dict__.pop("_presplit", None)

    _FITTED = ("n_features_in_", "feature_names_in_", "classes_inferred_", "multilabel_",
               "class_counts_", "sampler_", "sampling_seed_", "module_", "criterion_",
               "optimizer_", "training_storage_", "max_epochs_", "decision_offsets_",
               "decision_thresholds_", "_decision_rows_")

    def _forget_fit(self):
        """Drop everything a failed fit may have set, so no half-fitted model remains."""
        for name in self._FITTED:
            if name in vars(self):
                delattr(self, name)
        self.initialized_ = False

    def partial_fit(self, X, y=None, classes=None, sample_weight=None, **fit_params):
        """Train for ``max_epochs`` more epochs (resolved on these rows), keeping the module.

        Parameters
        ----------
        X, y, sample_weight
            As in :meth:`fit`; once fitted, the labels must be among ``classes_``
            (a multi-label target must have the same labels).
        classes : ignored
            Kept for scikit-learn's signature.
        **fit_params
            Passed to the module's ``forward``.

        Returns
        -------
        self : ImbalancedTorchClassifier
        """
        if not self.initialized_:
            return self.fit(X, y, sample_weight=sample_weight, **fit_params)
        if not getattr(self.module_, "front_fitted", True):
            raise ValueError(
                "The network was rebuilt without training rows (set_params on a module__* "
                "parameter re-initialises it), so its scaling and bins are not fitted: "
                "call fit, not partial_fit or a warm-start fit.")
        if not isinstance(X, TensorTable):
            X, y = self._prepare(X, y, sample_weight, first_fit=False)
        try:
            super().partial_fit(X, y, classes, **fit_params)
            self._fit_decision()
        finally:
            vars(self).pop("_decision_rows_", None)
        return self

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        """Resolve this call's epoch budget on its rows (``max_epochs_``), before the
        callbacks (the schedule) read it."""
        super().on_train_begin(net, X=X, y=y, **kwargs)
        self.max_epochs_ = epoch_budget(self.max_epochs, len(X))

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        """skorch's training loop, for ``epochs`` or else the budget ``max_epochs`` gives
        on these rows (as ``on_train_begin`` resolved it)."""
        self.max_epochs_ = epoch_budget(self.max_epochs, len(X)) if epochs is None else epochs
        return super().fit_loop(X, y, epochs=self.max_epochs_, **fit_params)

    def _fit_decision(self):
        """Set the decision attributes from the weights the model kept (after every callback)."""
        valid, y_valid, n_rows = self._decision_rows_
        held_out = None if valid is None else lambda: (self.predict_proba(valid), y_valid)
        fitted = fit_decision(
            self.decision, self.get_params_for("decision"), classes=self.classes_,
            class_counts=self.class_counts_, n_rows=n_rows, multilabel=self.multilabel_,
            held_out=held_out, threshold=self._check_threshold() if self.multilabel_ else 0.5)
        for name in ("decision_offsets_", "decision_thresholds_"):
            vars(self).pop(name, None)
        vars(self).update(fitted)

    def _prepare(self, X, y, sample_weight, first_fit):
        """Validate the input; return the dataset and encoded labels skorch trains on."""
        check_loop_params(self)
        multilabel = is_multilabel(y)
        encode = encode_indicator if multilabel else encode_labels
        if is_dataset(X):
            if sample_weight is not None:
                raise ValueError("sample_weight is not supported with a torch Dataset as X.")
            if not first_fit:
                return X, self._encode_for_fitted(y, len(X))
            classes, y_encoded = encode(y, len(X))
            if not multilabel and not np.array_equal(classes, np.arange(len(classes))):
                raise ValueError(
                    "With a torch Dataset as X, y must hold each row's class index "
                    f"0 .. n_classes - 1; got labels {classes[:10].tolist()}."
                )
            n_features = int(np.prod(X[0][0].shape))
            data = X
        elif first_fit:
            probe = _FeatureProbe()
            features = check_features(probe, X, reset=True, name=type(self).__name__)
            classes, y_encoded = encode(y, len(features))
            weights = check_sample_weight(sample_weight, len(features))
            n_features = probe.n_features_in_
            if hasattr(probe, "feature_names_in_"):
                self.feature_names_in_ = probe.feature_names_in_
            elif hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
            data = TensorTable(features, y_encoded, weights)
        else:
            features = check_features(self, X, reset=False)
            y_encoded = self._encode_for_fitted(y, len(features))
            weights = check_sample_weight(sample_weight, len(features))
            return TensorTable(features, y_encoded, weights), y_encoded
        if multilabel:
            self._check_threshold()
        self.n_features_in_ = n_features
        self.classes_inferred_ = classes
        self.multilabel_ = multilabel
        return data, y_encoded

    def _encode_for_fitted(self, y, n_samples):
        """Encode the ``y`` of a continued fit against what the first fit saw."""
        if y is None:
            raise ValueError("y is required: ImbalancedTorchClassifier is a supervised classifier.")
        multilabel = is_multilabel(y)
        if multilabel != self.multilabel_:
            raise ValueError(
                "y must have the form it had in fit: "
                + ("a multi-label indicator matrix." if self.multilabel_ else "one label per row.")
            )
        if not multilabel:
            return self._encode_known_labels(y, n_samples)
        _, y_encoded = encode_indicator(y, n_samples)
        if y_encoded.shape[1] != len(self.classes_):
            raise ValueError(f"y has {y_encoded.shape[1]} labels; fit saw {len(self.classes_)}.")
        return y_encoded

    def _encode_known_labels(self, y, n_samples):
        labels = column_or_1d(np.asarray(y, dtype=object), warn=True)
        check_consistent_length(np.empty(n_samples), labels)
        unknown = ~np.isin(labels, self.classes_)
        if unknown.any():
            raise ValueError(f"y holds labels not seen in fit: {np.unique(labels[unknown])[:5].tolist()}.")
        return np.searchsorted(self.classes_, labels)

    @contextmanager
    def _seeded(self):
        """Seed torch for the fit (restoring the global RNG after) when random_state is set."""
        if self.random_state is None:
            self.sampling_seed_ = int(torch.randint(2**31 - 1, (1,)))
            yield
            return
        seed = int(check_random_state(self.random_state).randint(0, 2**31 - 1))
        with seeded_torch(seed, torch.device(self.device or "cpu")):
            self.sampling_seed_ = seed
            yield

    def check_data(self, X, y=None):
        """Input is validated in :meth:`fit`; nothing left to check here."""

    def initialize_module(self):
        """Build the module: a built-in network by name (``None``: the default for the
        device), fitted on the training rows, or the user's ``nn.Module``."""
        loss = loss_class(self.loss)
        needs_cosine = getattr(loss, "needs_normalized_output", False)
        if self.module is not None and not isinstance(self.module, str):
            if needs_cosine:
                warnings.warn(
                    f"loss={self.loss!r} expects cosine logits from a normalised last "
                    "layer (e.g. skimb.modules.CosineLinear); check that your module "
                    "has one.", UserWarning, stacklevel=2)
            return super().initialize_module()
        if not hasattr(self, "n_features_in_"):
            raise ValueError(f"module={self.module!r} sizes the network from the data: call fit first.")
        name, network, kwargs = self._network_choice()
        n_outputs = len(self.classes_)
        width = getattr(loss, "output_width", None)
        if width is not None and not self.multilabel_:
            n_outputs = width(n_outputs)
        if needs_cosine:
            if name != "mlp":
                raise ValueError(
                    f"loss={self.loss!r} needs a cosine last layer, which module={name!r} "
                    "lacks; use module='mlp'.")
            kwargs.setdefault("normalized_output", True)
        accepted = set(inspect.signature(network).parameters) - {
            "n_features", "n_outputs", "X_train", "y_train"}
        unknown = sorted(set(kwargs) - accepted)
        if unknown:
            raise ValueError(
                f"module={name!r} takes no parameter {', '.join('module__' + u for u in unknown)}; "
                f"it takes: {', '.join('module__' + a for a in sorted(accepted))}.")
        defaults = {key: p.default for key, p in inspect.signature(network).parameters.items()}
        X_train, y_train = self._training_rows({**defaults, **kwargs})
        self.module_ = network(self.n_features_in_, n_outputs, X_train=X_train, y_train=y_train,
                               **kwargs)
        return self

    def _network_choice(self):
        """``(name, class, parameters)`` of the built-in network to build."""
        if self.module is None and self._fitting_a_dataset():
            name, defaults = "mlp", dict(DATASET_NETWORK)
        elif self.module is None:
            name, defaults = default_network(
                torch.device(self.device or "cpu").type,
                cosine_head=getattr(loss_class(self.loss), "needs_normalized_output", False))
        else:
            name, defaults = self.module, {}
        return name, network_class(name), {**defaults, **self.get_params_for("module")}

    def _fitting_a_dataset(self):
        """True while fitting a torch Dataset, whose rows are not in memory: ``module=None``
        then builds its network without a fitted front."""
        presplit = self.__dict__.get("_presplit")
        return presplit is not None and table_and_rows(presplit[2][0]) is None

    def _training_rows(self, network_params):
        """Features and class indices of the training portion of the fit under way (for
        the networks' scaling and bins), or ``(None, None)`` outside of fit, where the
        network is built unfitted (skorch re-initialises it on ``set_params``).
        ``network_params``: every parameter the network will get, defaults included."""
        presplit = self.__dict__.get("_presplit")
        if presplit is None:
            return None, None
        data, y, (dataset_train, _) = presplit
        located = table_and_rows(dataset_train)
        if located is None:
            if needs_rows(network_params["scaling"], network_params["num_embeddings"]):
                raise ValueError(
                    "With a torch Dataset as X the training rows are not in memory, so the "
                    "network cannot fit its scaling or bins: pass module__scaling=None and "
                    "module__num_embeddings=None or 'periodic' (module=None does), or your "
                    "own nn.Module.")
            return None, None
        X_train, _, weights = located[0].take(located[1])
        X_train = (X_train.to_scipy().toarray() if isinstance(X_train, SparseRows)
                   else X_train.numpy())
        y_train = labels_of(dataset_train, y, data)
        if self.multilabel_:
            y_train = rarest_positive_label(y_train)
        if weights is not None:  # rows of weight 0 must not shape the fit
            kept = (weights > 0).numpy()
            return X_train[kept], y_train[kept]
        return X_train, y_train

    @property
    def loss_(self):
        """The fitted loss module (unwrapped from ``torch.compile`` when ``compile=True``)."""
        return getattr(self.criterion_, "_orig_mod", self.criterion_)

    def initialize_criterion(self):
        """Build the loss strategy from ``loss`` and the ``loss__*`` parameters."""
        self.criterion_ = make_loss(self.loss, self.get_params_for("loss"))
        return self

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        """Start a history row and tell the loss which epoch begins (for DRW)."""
        super().on_epoch_begin(net, dataset_train=dataset_train, dataset_valid=dataset_valid, **kwargs)
        if isinstance(self.loss_, ImbalanceLoss):
            self.loss_.set_epoch(len(self.history) - 1)

    def get_split_datasets(self, X, y=None, **fit_params):
        """Split off the validation rows, then fit the strategies on the rest.

        This is where class counts, the sampler and the loss statistics are
        computed, from the training portion alone, at every fit. A stratified
        ``ValidSplit`` stratifies a multi-label target by each row's rarest
        positive label.
        """
        y = None if y is None else np.asarray(y)
        presplit = self.__dict__.pop("_presplit", None)
        check_decision(self.decision, self.get_params_for("decision"))
        if presplit is not None and presplit[0] is X:
            dataset_train, dataset_valid = presplit[2]
        else:
            dataset_train, dataset_valid = self._split(X, y, **fit_params)
        if self.decision == "tuned" and dataset_valid is None:
            raise ValueError(NO_VALIDATION_SPLIT)
        y_train = labels_of(dataset_train, y, X)
        self._decision_rows_ = (dataset_valid, None if dataset_valid is None
                                else labels_of(dataset_valid, y, X), len(y_train))
        n_classes = len(self.classes_)
        if self.multilabel_:
            self.class_counts_ = y_train.sum(axis=0).astype(np.int64)
            sampling_classes, n_sampling_classes = rarest_positive_label(y_train), n_classes + 1
        else:
            self.class_counts_ = np.bincount(y_train, minlength=n_classes)
            sampling_classes, n_sampling_classes = y_train, n_classes
        self.sampler_ = make_sampler(self.sampler, self.get_params_for("sampler"))
        if self.multilabel_ and isinstance(self.sampler_, ImblearnSampler):
            raise ValueError(
                "imbalanced-learn samplers need one label per row; with a multi-label y "
                f"use one of: {', '.join(list_samplers())}."
            )
        if isinstance(self.sampler_, EpochSampler):
            self.sampler_.fit(torch.from_numpy(sampling_classes), n_sampling_classes,
                              n_epochs=self.max_epochs_)
        located = table_and_rows(dataset_train)
        weighted = located is not None and located[0].sample_weight is not None
        counts = torch.from_numpy(self.class_counts_)
        if isinstance(self.loss_, ImbalanceLoss) and self.multilabel_:
            self.loss_.set_label_counts(counts, len(y_train), self.classes_)
        elif isinstance(self.loss_, ImbalanceLoss):
            self.loss_.set_class_counts(counts, self.classes_)
        elif weighted:
            raise ValueError(
                f"sample_weight needs a skimb loss; {type(self.loss_).__name__} "
                "cannot weight rows."
            )
        return dataset_train, dataset_valid

    def _split(self, X, y, **fit_params):
        """skorch's internal split; a multi-label y is stratified by rarest label."""
        y = None if y is None else np.asarray(y)
        split_y = y
        stratified = isinstance(self.train_split, ValidSplit) and self.train_split.stratified
        if self.multilabel_ and y is not None and stratified:
            split_y = rarest_positive_label(y)
        try:
            return super().get_split_datasets(X, split_y, **fit_params)
        except ValueError as err:
            split = self.train_split
            if isinstance(split, ValidSplit):
                split = f"ValidSplit({split.cv!r}, stratified={split.stratified})"
            raise ValueError(
                f"The internal validation split train_split={split} cannot "
                f"split these {len(X)} rows: {err} Pass train_split=None (no validation "
                "split) or a split that suits the data."
            ) from None

    # -- batching -----------------------------------------------------------------

    def _batch_size(self, training):
        kwargs = self.get_params_for("iterator_train" if training else "iterator_valid")
        return kwargs.get("batch_size", self.batch_size)

    def get_iterator(self, dataset, training=False):
        """Device-resident batches for in-memory data, a DataLoader otherwise."""
        batch_size = self._batch_size(training)
        if batch_size == -1:
            batch_size = len(dataset)
        located = table_and_rows(dataset)
        iterator = self.iterator_train if training else self.iterator_valid
        sampler = self.sampler_ if training else None
        if located is not None and iterator is DataLoader:
            X, y, w = located[0].take(located[1])
            return ResidentBatches(
                X, y, w, torch.device(self.device or "cpu"), batch_size, sampler=sampler,
                seed=self.sampling_seed_ + len(self.history) if training else 0,
                first_epoch=len(self.history),
            )
        if isinstance(sampler, ImblearnSampler) or (
            iterator is not DataLoader and sampler is not None
            and not isinstance(sampler, NoSampler)
        ):
            raise ValueError(
                f"sampler={self.sampler!r} needs skorch's default iterator_train "
                "(DataLoader), and imbalanced-learn samplers need in-memory arrays."
            )
        if sampler is None or iterator is not DataLoader:
            return super().get_iterator(dataset, training=training)
        kwargs = self.get_params_for("iterator_train")
        kwargs.pop("shuffle", None)
        kwargs["batch_size"] = batch_size
        generator = torch.Generator().manual_seed(self.sampling_seed_ + len(self.history))
        kwargs["sampler"] = EpochIndexSampler(sampler, batch_size, generator,
                                              first_epoch=len(self.history))
        return DataLoader(dataset, **kwargs)

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """Run one epoch, recording batch losses at its end (one host sync per epoch)."""
        if iterator is None:
            return
        losses, sizes = [], []
        for batch in iterator:
            self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            losses.append(step["loss"].detach())
            sizes.append(len(batch[0]))
            self.notify("on_batch_end", batch=batch, training=training, **step)
        batches = self.history[-1]["batches"][-len(losses):] if losses else []
        values = torch.stack(losses).float().cpu().tolist() if losses else []
        for row, value, size in zip(batches, values, sizes):
            row[prefix + "_loss"] = value
            row[prefix + "_batch_size"] = size
        self.history.record(prefix + "_batch_count", len(losses))
        if training:
            self.training_storage_ = storage_of(iterator)
            self.history.record("event_storage", self.training_storage_)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        """Drop the sampler's index-table copies, so a fitted model holds none on the device."""
        super().on_train_end(net, X=X, y=y, **kwargs)
        if isinstance(getattr(self, "sampler_", None), EpochSampler):
            self.sampler_.clear_cache()

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """Loss of a batch; sample weights arrive with the targets."""
        sample_weight = None
        if isinstance(y_true, WeightedTarget):
            y_true, sample_weight = y_true
        y_true = to_tensor(y_true, device=y_pred.device)
        if sample_weight is not None:
            sample_weight = to_tensor(sample_weight, device=y_pred.device)
        if y_pred.ndim == 3:
            return self._ensemble_loss(y_pred, y_true, sample_weight)
        return self._member_loss(y_pred, y_true, sample_weight)

    def _member_loss(self, y_pred, y_true, sample_weight):
        if isinstance(self.loss_, ImbalanceLoss):
            return self.criterion_(y_pred, y_true, sample_weight=sample_weight)
        return self.criterion_(y_pred, y_true)

    def _ensemble_loss(self, y_pred, y_true, sample_weight):
        """Mean of the members' losses, for an output of shape (batch, k, n_outputs).

        A loss of independent rows takes all members' rows at once: with every
        row repeated k times, its (weighted) mean is the mean of the members'
        means. CRL mines hard examples within a batch, so it runs per member.
        """
        k = y_pred.shape[1]
        if isinstance(self.loss_, ClassRectificationLoss):
            return torch.stack([self._member_loss(y_pred[:, j], y_true, sample_weight)
                                for j in range(k)]).mean()
        repeat = lambda t: None if t is None else t.repeat_interleave(k, dim=0)  # noqa: E731
        return self._member_loss(y_pred.flatten(0, 1), repeat(y_true), repeat(sample_weight))

    # -- prediction ---------------------------------------------------------------

    def _as_prediction_data(self, X):
        check_loop_params(self)
        if is_dataset(X):
            return X
        return TensorTable(check_features(self, X, reset=False))

    def _to_probabilities(self, output):
        """Probabilities of the raw output; an ensemble's (batch, k, C) output gives the
        mean over its members of whatever ``predict_nonlinearity`` makes of each."""
        if output.ndim == 3:
            members = self._to_probabilities(output.flatten(0, 1))
            return members.unflatten(0, output.shape[:2]).mean(dim=1)
        nonlinearity = self.predict_nonlinearity
        if nonlinearity is None:
            return output
        if callable(nonlinearity):
            return nonlinearity(output)
        return output_probabilities(self.loss_, output, multilabel=self.multilabel_)

    def _check_threshold(self):
        if (not isinstance(self.threshold, numbers.Real) or isinstance(self.threshold, bool)
                or not 0.0 <= self.threshold <= 1.0):
            raise ValueError(f"threshold must be a number in [0, 1], got {self.threshold!r}.")
        return float(self.threshold)

    def _decisions(self, output):
        """Encoded predictions from the module's raw output, on its device: class
        indices, or the 0/1 indicator matrix for a multi-label target."""
        proba = self._to_probabilities(output)
        if self.multilabel_:
            return (proba > self._check_threshold()).long()
        return proba.argmax(dim=1)

    def predict_proba(self, X):
        """Class probabilities of the model's raw output, whatever the loss.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), DataFrame or torch Dataset

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Rows sum to 1; columns follow ``classes_``. For a multi-label
            target, each label's probability (rows need not sum to 1).
        """
        self.check_is_fitted()
        output = self.forward(self._as_prediction_data(X), training=False,
                              device=torch.device(self.device or "cpu"))
        if isinstance(output, tuple):
            output = output[0]
        return to_numpy(self._to_probabilities(output.float()))

    def predict(self, X):
        """Predicted labels, of the same kind as the ``y`` given to ``fit``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), DataFrame or torch Dataset

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_labels)
            ``classes_[argmax(log p + decision_offsets_)]``. For a multi-label
            target, the 0/1 indicator matrix: 1 where a label's probability
            exceeds ``decision_thresholds_`` (or ``threshold`` with
            ``decision="argmax"``).
        """
        proba = self.predict_proba(X)
        if self.multilabel_:
            thresholds = getattr(self, "decision_thresholds_", None)
            return (proba > (self._check_threshold() if thresholds is None else thresholds)
                    ).astype(np.int64)
        return self.classes_[decide(proba, self.decision_offsets_)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        tags.input_tags.sparse = True
        return tags
