"""ImbalancedTorchClassifier: a skorch classifier with pluggable imbalance strategies.

The fit path, top to bottom (``docs/architecture.md`` has the picture):

1. :func:`~skimb._strategies.make_strategies` validates every parameter and
   makes the call's sampler and augmentation;
2. :func:`~skimb._inputs.prepare.prepare_fit` checks and prepares the input
   (what a first fit records, the classifier applies);
3. ``_context``: skorch's ``train_split``, the strategies checked against the
   rows (:func:`~skimb._strategies.check_strategies`), then one
   :class:`~skimb._context.TrainingContext`;
4. a first fit fits a built-in network's front on the context (``front_``),
   then skorch's ``initialize`` builds the network on it;
5. skorch's training call on the context: ``on_train_begin`` fits the
   sampler, the loss statistics and the augmentation on it; ``get_iterator``
   batches the rows (:mod:`skimb._batches`); every epoch runs;
6. the decision is fitted from the weights the model kept.
"""

from __future__ import annotations

import numbers
import warnings
from contextlib import contextmanager
from functools import partial
from types import MappingProxyType

import numpy as np
import torch
from sklearn.utils import check_random_state
from skorch import NeuralNetClassifier
from skorch.callbacks import EpochTimer, GradientNormClipping, PassthroughScoring, PrintLog
from skorch.dataset import ValidSplit
from skorch.utils import to_numpy, to_tensor

from ._batches import (as_float, batch_size_of, batches_for, check_finite_epoch,
                       dataloader_for_training, epoch_seed, record_epoch_losses,
                       resident_path_applies, storage_of)
from ._context import build_context, split_rows
from ._data import WeightedTarget, feature_leaves, map_features
from ._device import resolve_device
from ._inputs.arrays import ids_in_a_table
from ._inputs.prepare import prepare_fit, prepare_predict
from ._seeding import seeded_torch
from ._skorch_params import check_loop_params, refuse_sklearn_names
from .calibration import check_calibration, check_class_priors, fit_prior_correction
from ._strategies import check_strategies, check_target, fit_strategies, make_strategies
from .callbacks import BestEpoch, CosineSchedule, MacroF1Scoring
from .decisions import decide, fit_decision
from .losses import (MixedTarget, as_skimb_loss, loss_class, make_loss, members_mean_loss,
                     output_log_probabilities, output_probabilities)
from .modules import CosineLinear
from .networks import check_network_input, choose_network
from .samplers import rarest_positive_label

__all__ = ["ImbalancedTorchClassifier"]

#: Gradient-norm cap of the default recipe.
GRADIENT_CLIP = 1.0
#: Epochs without a better validation macro-F1 before the default recipe stops
#: (None: never; on shuttle, stopping after 16 such epochs cost 0.2 macro-F1).
BEST_EPOCH_PATIENCE = None


def _refuse_criterion(params):
    """skorch's ``criterion`` and ``criterion__*`` would reach nothing: the loss is ``loss=``."""
    keys = [key for key in params if key == "criterion" or key.startswith("criterion__")]
    if keys:
        raise TypeError(
            f"ImbalancedTorchClassifier takes the loss as loss= and its parameters as "
            f"loss__*, not {', '.join(keys)}.")


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
        default network, the same on every device: ``"mlp"`` with
        piecewise-linear embeddings and RealMLP's scaling layer, chosen on the
        benchmark tables (``docs/user_guide/networks.md``). Set its parameters as
        ``module__<name>``. Or your own module, which must return logits
        (shape ``(batch, n_outputs)``, or ``(batch, k, n_outputs)`` for an
        ensemble of k members).
    sampler : str, BaseSampler or imblearn sampler, default="none"
        One of :func:`~skimb.list_samplers`, a skimb sampler object, or an
        imbalanced-learn sampler instance (run on the training portion every
        epoch with a fresh seed).
    loss : str, ImbalanceLoss or nn.Module class, default="ce"
        One of :func:`~skimb.list_losses`, a skimb loss object, or an
        ``nn.Module`` class called as ``loss(logits, target)`` (wrapped in
        :class:`~skimb.losses.ForeignLoss`).
    augment : None, str, Augmentation or callable, default=None
        New training rows for every batch, on the training device, after the
        sampler has drawn them: one of :func:`~skimb.list_augmentations`
        (``"noise"``, ``"mixup"``, ``"cutmix"`` for images, ``"smote"``), a
        :class:`~skimb.augment.Augmentation` object, or a callable
        ``func(X, y) -> (X, y)``. Which rows are augmented depends on their
        class (``augment__rate``, ``augment__classes``). Never applied to
        validation rows or at predict. See the user guide's *Augmentation* page.
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
        ``"auto"`` is ``"cuda"`` when available, else ``"cpu"``; a device
        this machine lacks is a ``ValueError`` at ``fit``.
    random_state : int, RandomState or None, default=None
        Makes a fit reproducible: weight initialisation, dropout and sampling.
    threshold : float, default=0.5
        Multi-label targets only: ``predict`` marks a label present where its
        probability exceeds this, in [0, 1] (with ``decision="argmax"``).
    decision : {"argmax", "prior", "tuned"}, default="argmax"
        How ``predict`` turns probabilities into labels:
        ``classes_[argmax(log p + decision_offsets_)]``. ``"argmax"``: zero
        offsets. ``"prior"``: post-hoc logit adjustment, offsets
        ``-decision__tau * log(class share)`` (a class whose training rows all
        weigh 0 is never predicted). ``"tuned"``: the offsets that
        maximise macro-F1 on the internal validation split, so it needs a
        ``train_split`` (with the default ``None``, ``fit`` raises
        ``ValueError``); classes in ``decision__exclude`` are left out and
        classes with fewer than ``decision__min_count`` validation rows keep
        offset 0; the offsets are chosen after
        training on the weights the model keeps, then shrunk towards 0 by
        ``n_c / (n_c + decision__shrinkage)`` (default 40; ``n_c`` the
        class's validation rows), unless that breaks a constraint.
        ``decision__scoring`` (any scikit-learn scorer name or callable
        scorer), ``decision__cost_matrix`` (minimise the mean cost) and
        ``decision__constraints`` (``{label: {"recall": 0.8}}``, floors met on
        the validation rows or a ``DecisionConstraintWarning``) change what
        is maximised. Every label these parameters name must be a class: a
        ValueError before the first epoch otherwise. Multi-label: ``"prior"``
        and ``"tuned"`` set per-label thresholds instead. See the user guide's
        *Decisions* page. The epoch scorer ``valid_f1_macro`` always scores
        the ``argmax`` decision. The decision is the model's own, taken on
        its raw output (``calibration`` does not move it): with a
        rebalancing strategy, ``"argmax"`` is the argmax of the raw output,
        not of the corrected ``predict_proba``.
    calibration : {"prior", None}, default="prior"
        What ``predict_proba`` means. ``"prior"``: estimates of ``P(class |
        x)`` for data like the training data (with its ``sample_weight``),
        the prior shift of the sampler and the loss (class weights,
        ``pos_weight``, logit adjustment, balanced softmax, VS) undone in
        closed form (:mod:`skimb.calibration`; the fitted correction is
        ``calibration_``). ``None``: the network's raw output, as before
        round 4 (and what a ``predict_nonlinearity`` of your own gets).
        ``predict`` is the same either way. Read at predict time:
        ``set_params(calibration=None)`` on a fitted model needs no refit.
        See the user guide's *Probabilities* page.
    class_priors : None, array-like of shape (n_classes,) or dict, default=None
        Deployment priors: the class shares where the model is used
        (``{label: share}`` naming every class, or an array in the order of
        ``classes_``; normalised to sum to 1). ``predict_proba`` follows that
        label shift (Saerens et al. 2002) without a refit; ``predict`` does
        not change. For a multi-label target, each label's chance of being
        present. Needs ``calibration="prior"``; read at predict time.
    scale_uint8 : bool, default=False
        uint8 inputs (images) stay uint8 in memory, four times smaller than
        float32, and each batch is converted to float32 on the training
        device: as they are (0..255), or divided by 255 (0..1) when True.
        Inputs of any other dtype are never rescaled.
    verbose : int, default=0
        skorch's per-epoch log when 1.
    **kwargs
        Every other skorch ``NeuralNet`` parameter, with its skorch meaning,
        plus ``module__*``, ``sampler__*``, ``loss__*``, ``augment__*`` and
        ``decision__*`` parameters.

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
    sampler_ : BaseSampler
        The sampler of the last training call, fitted on its training rows.
    front_ : TableFront
        A built-in network's front (column encoding, scaling, embedding bins)
        as fitted on the first fit's training rows; the network holds a copy.
    augment_ : Augmentation or None
        The augmentation of the last training call, fitted on its training
        rows (``class_rates_``: each class's chance of being augmented).
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
        Offsets and thresholds apply to the raw output (as with
        ``calibration=None``), so ``predict`` never depends on
        ``calibration``; ``calibration_.log_shift`` states the strategy's
        effective shift in log-probability units.
    calibration_ : PriorCorrection
        The closed-form prior correction of the last training call
        (:class:`~skimb.calibration.PriorCorrection`): its ``log_shift``
        (loss and sampler), ``train_priors``, and whether it is ``exact``.
    history : skorch History
        With a validation split, every epoch records ``valid_f1_macro``
        computed once over the whole validation set.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from skimb import ImbalancedTorchClassifier
    >>> X, y = make_classification(n_samples=400, weights=[0.9], random_state=0)
    >>> clf = ImbalancedTorchClassifier(max_epochs=5, random_state=0)
    >>> clf.fit(X, y).predict(X[:3]).shape
    (3,)
    >>> clf.predict_proba(X[:2]).sum(axis=1).round(6).tolist()
    [1.0, 1.0]
    """

    #: Strategy parameters set as ``<prefix>__<name>``, stored as given and read by
    #: ``get_params_for(<prefix>)`` (one mechanism for every strategy).
    strategy_prefixes = ("sampler", "loss", "augment", "decision")
    prefixes_ = NeuralNetClassifier.prefixes_ + list(strategy_prefixes)
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
        augment=None,
        optimizer=torch.optim.AdamW,
        lr: float = 2e-3,
        max_epochs: int | str = "auto",
        batch_size: int = 256,
        train_split=None,
        device: str | None = "auto",
        random_state=None,
        threshold: float = 0.5,
        decision: str = "argmax",
        calibration: str | None = "prior",
        class_priors=None,
        scale_uint8: bool = False,
        verbose: int = 0,
        **kwargs,
    ):
        _refuse_criterion(kwargs)
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
        self.augment = augment
        self.random_state = random_state
        self.threshold = threshold
        self.decision = decision
        self.calibration = calibration
        self.class_priors = class_priors
        self.scale_uint8 = scale_uint8

    def __repr__(self) -> str:
        """skorch's repr (the module), then the strategies the model trains with."""
        strategies = "".join(f"  {name}={getattr(self, name)!r},\n"
                             for name in ("sampler", "loss", "augment", "decision", "calibration"))
        return super().__repr__()[:-1] + strategies + ")"  # skorch's ends with a ")" line

    # -- parameters ---------------------------------------------------------------

    @property
    def device(self):
        """The device skorch's internals see: ``"auto"`` resolved (the parameter keeps it)."""
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
                       if self._is_strategy_key(key) and "__" in key})
        return params

    @classmethod
    def _is_strategy_key(cls, key: str) -> bool:
        return key.split("__", 1)[0] in cls.strategy_prefixes

    def __setstate__(self, state):
        # a model pickled before round 4 has no calibration: it keeps its raw output
        state.setdefault("calibration", None)
        state.setdefault("class_priors", None)
        requested = state["device"]
        state["device"] = resolve_device(requested)
        super().__setstate__(state)
        if requested == "auto":
            self.__dict__["device"] = requested

    def set_params(self, **params):
        """Set parameters; a changed network (``module``, ``module__*``) unfits the model.

        Strategy parameters (``sampler``, ``loss``, ``decision`` and their
        ``<prefix>__*``) are stored and take effect at the next ``fit`` or
        ``partial_fit`` (the loss is rebuilt at every call, under ``warm_start``
        too). A fitted model whose network changes would answer from an
        untrained one, so it becomes unfitted: ``predict`` raises
        ``NotFittedError`` until the next ``fit``.
        """
        _refuse_criterion(params)
        refuse_sklearn_names(params)
        strategy_keys = [key for key in params if self._is_strategy_key(key)]
        for key in strategy_keys:
            setattr(self, key, params.pop(key))
        if self.initialized_ and any(key == "module" or key.startswith("module__")
                                     for key in params):
            self._forget_fit()
        if self.initialized_ and any(key.split("__")[0] == "loss" for key in strategy_keys):
            self._rebuild_loss()
        return super().set_params(**params) if params else self

    def _rebuild_loss(self):
        """A changed ``loss``/``loss__*`` on an initialized net: a new loss (its class
        statistics are set at the next call), and a new optimizer if it has weights."""
        self._initialize_criterion(reason="Re-initializing the loss: loss parameters changed.")
        if any(True for _ in self.criterion_.parameters()):
            self._initialize_optimizer()

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

    def fit(self, X, y=None, sample_weight=None, **fit_params):
        """Fit the network and the imbalance strategies.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), DataFrame, scipy sparse, or torch Dataset
            Numeric features; a sparse matrix stays sparse and is densified
            one batch at a time. An N-D array or a dict of arrays (one per
            ``forward`` argument) is for your own module: signed integers
            (ids) keep their dtype, uint8 becomes float32 one batch at a time
            (``scale_uint8``), other numbers become float32. A torch
            ``Dataset`` must yield ``(x, class_index)``
            (or ``(x, indicator_row)`` for a multi-label target), and then ``y``
            gives the class index (or indicator row) of every row.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Labels of any hashable kind, or a 0/1 multi-label indicator matrix
            (array, DataFrame or scipy sparse).
        sample_weight : array-like of shape (n_samples,), optional
            Per-row weights; they follow their rows through the validation
            split (if any), the sampler and the batches, and multiply the row's
            loss. Class priors and class weights count a row of weight 2 like
            two rows.
        **fit_params
            Passed to the module's ``forward``, as in skorch.

        Returns
        -------
        self : ImbalancedTorchClassifier
        """
        if self.warm_start and self.initialized_:
            return self.partial_fit(X, y, sample_weight=sample_weight, **fit_params)
        return self._fit_new(X, y, sample_weight, fit_params, classes=self.classes,
                             strategies=make_strategies(self))

    def _fit_new(self, X, y, sample_weight, fit_params, classes, strategies):
        """A fresh fit: ``classes`` orders the encoding (``classes=`` or partial_fit's)."""
        try:
            inputs = prepare_fit(self, X, y, sample_weight, first_fit=True, classes=classes)
            self._record(inputs.record)
            with self._seeded():
                context = self._context(inputs, strategies, fit_params, first_epoch=0)
                self._fit_front(context)
                self.initialize()
                self._train(context, fit_params)
        except Exception:
            self._forget_fit()
            raise
        return self

    def partial_fit(self, X, y=None, classes=None, sample_weight=None, **fit_params):
        """Train for ``max_epochs`` more epochs (resolved on these rows), keeping the module.

        A ``loss`` or ``loss__*`` changed with ``set_params`` takes effect (the
        loss is rebuilt then); every strategy's statistics are fitted again on
        these rows; every per-epoch strategy (the cosine schedule, the
        progressive sampler, DRW) counts the epochs of this call from 0.

        Parameters
        ----------
        X, y, sample_weight
            As in :meth:`fit`; once fitted, the labels must be among ``classes_``
            (a multi-label target must have the same labels).
        classes : array-like, optional
            On the first call, the labels in the order to encode them (as the
            ``classes`` parameter, which it overrides); later calls must give
            the fitted ``classes_`` or nothing.
        **fit_params
            Passed to the module's ``forward``.

        Returns
        -------
        self : ImbalancedTorchClassifier
        """
        strategies = make_strategies(self)
        if classes is None:
            classes = self.classes
        if not self.initialized_:
            return self._fit_new(X, y, sample_weight, fit_params, classes=classes,
                                 strategies=strategies)
        # A net the user initialized (skorch's restore pattern) has seen no data yet.
        first_fit = "classes_inferred_" not in vars(self)
        if not first_fit and classes is not None and len(classes) and not np.array_equal(
                np.asarray(classes, dtype=object), self.classes_inferred_.astype(object)):
            raise ValueError(
                f"partial_fit got classes={list(classes)}, but the model was fitted with "
                f"classes {self.classes_inferred_.tolist()}.")
        inputs = prepare_fit(self, X, y, sample_weight, first_fit=first_fit, classes=classes)
        self._record(inputs.record)
        context = self._context(inputs, strategies, fit_params, first_epoch=len(self.history))
        try:  # bad input leaves the model as it was; a failure in training unfits it
            if "sampling_seed_" not in vars(self):
                self.sampling_seed_ = self._fresh_seed()
            self._train(context, fit_params)
        except Exception:
            self._forget_fit()
            raise
        return self

    def _record(self, record: dict) -> None:
        """Apply what a first fit records about its input (None removes an attribute)."""
        for name, value in record.items():
            if value is None:
                vars(self).pop(name, None)
            else:
                setattr(self, name, value)
        if record and self._multilabel:
            self._check_threshold()

    def _context(self, inputs, strategies, fit_params, first_epoch):
        """Split, check the strategies against the rows, then gather, count and size the
        call once (see ``_context``)."""
        check_target(self)
        split = split_rows(lambda X, y: NeuralNetClassifier.get_split_datasets(
            self, X, y, **fit_params), inputs, self.train_split, self._multilabel)
        resident = inputs.in_memory and resident_path_applies(self, training=True)
        check_strategies(self, strategies, inputs, has_valid=split[1] is not None,
                         resident=resident)
        columns = vars(self).get("columns_")
        return build_context(
            inputs=inputs, split=split, classes=self.classes_inferred_,
            multilabel=self._multilabel, strategies=strategies,
            max_epochs=self.max_epochs, batch_size=batch_size_of(self, training=True),
            drop_last=bool(self.get_params_for("iterator_train").get("drop_last", False)),
            first_epoch=first_epoch,
            columns=None if columns is None else columns.layout_, resident=resident)

    def _train(self, context, fit_params):
        """skorch's training call on ``context`` (its ``fit_loop`` gets the context as
        ``X``), then the decision from the weights the model kept."""
        NeuralNetClassifier.partial_fit(self, context, None, **fit_params)
        self._fit_decision(context)
        self._fit_calibration(context)

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        """Fit the call's strategies on its training context ``X``, in one place
        (:func:`~skimb._strategies.fit_strategies`), and start the call's epoch clock."""
        super().on_train_begin(net, X=X, y=y, **kwargs)
        context = X
        self.max_epochs_, self.first_epoch_ = context.epochs, context.first_epoch
        self.class_counts_ = context.class_counts
        self.sampler_, self.augment_ = fit_strategies(
            context, loss=self.loss_, device=torch.device(self.device or "cpu"),
            discrete_columns=getattr(self.module_, "discrete_columns", ()),
            as_batch=self._as_float)

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        """skorch's training loop over the context ``X``, for its epoch budget."""
        return super().fit_loop(X, y, epochs=X.epochs if epochs is None else epochs,
                                **fit_params)

    def get_split_datasets(self, X, y=None, **fit_params):
        """The training and validation rows of the context ``X`` (split when it was built)."""
        return X.train, X.valid

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        """Start a history row and tell the loss which epoch of the call begins (DRW)."""
        super().on_epoch_begin(net, dataset_train=dataset_train, dataset_valid=dataset_valid,
                               **kwargs)
        self.loss_.set_epoch(len(self.history) - 1 - self.first_epoch_)
        if self.augment_ is not None:
            self.augment_.start_epoch(epoch_seed(self, stream=1))

    def _fit_decision(self, context):
        """Set the decision attributes from the weights the model kept (after every callback)."""
        valid = context.valid
        held_out = None if valid is None else lambda: (self._raw_proba(valid),
                                                       context.y_valid)
        fitted = fit_decision(
            self.decision, self.get_params_for("decision"), classes=context.classes,
            class_counts=context.class_mass, n_rows=context.total_mass,
            multilabel=self._multilabel, held_out=held_out,
            threshold=self._check_threshold() if self._multilabel else 0.5,
            class_rows=context.class_counts)
        for name in ("decision_offsets_", "decision_thresholds_"):
            vars(self).pop(name, None)
        vars(self).update(fitted)

    def _fit_calibration(self, context):
        """``calibration_``: the closed-form prior correction of the loss and the sampler as
        they were at the call's last epoch (:func:`~skimb.calibration.fit_prior_correction`)."""
        weights = None
        if context.multilabel and context.in_memory:
            weights = context.train_columns[2]
            weights = None if weights is None else to_numpy(weights)
        self.calibration_ = fit_prior_correction(
            self.loss_, self.sampler_, epoch=max(len(self.history) - self.first_epoch_ - 1, 0),
            class_mass=context.class_mass, total_mass=context.total_mass,
            multilabel=self._multilabel, y=context.y_train,
            sampling_classes=context.sampling_classes, sample_weight=weights,
            augmentation=self.augment_)

    #: What a fit learns besides the torch modules: saved by ``save_params(f_fitted=...)``.
    _FITTED_STATE = ("input_shape_", "n_features_in_", "feature_names_in_", "columns_",
                     "front_", "classes_inferred_",
                     "multilabel_", "class_counts_", "sampler_", "sampling_seed_",
                     "training_storage_", "max_epochs_", "first_epoch_", "augment_",
                     "decision_offsets_", "decision_thresholds_", "calibration_")

    def _forget_fit(self):
        """Drop everything a fit sets, so no half-fitted (or stale) model remains."""
        for name in self._FITTED_STATE + ("module_", "criterion_", "optimizer_"):
            vars(self).pop(name, None)
        self.initialized_ = False

    def _fresh_seed(self) -> int:
        if self.random_state is None:
            return int(torch.randint(2**31 - 1, (1,)))
        return int(check_random_state(self.random_state).randint(0, 2**31 - 1))

    @contextmanager
    def _seeded(self):
        """Seed torch for the fit (restoring the global RNG after) when random_state is set."""
        self.sampling_seed_ = self._fresh_seed()
        if self.random_state is None:
            yield
            return
        with seeded_torch(self.sampling_seed_, torch.device(self.device or "cpu")):
            yield

    def check_data(self, X, y=None):
        """Input is validated in :meth:`fit`; nothing left to check here."""

    # -- saving -------------------------------------------------------------------
    def save_params(self, f_params=None, f_optimizer=None, f_criterion=None, f_history=None,
                    use_safetensors=False, f_fitted=None, **kwargs):
        """skorch's ``save_params``, plus ``f_fitted``: skimb's own fitted state.

        ``f_fitted`` (a path or file object) receives what a fit learns besides
        the torch modules: the classes, the multi-label flag, the class counts,
        the fitted sampler and the decision offsets or thresholds. The
        network's fitted front travels in ``f_params`` with the module. See
        :meth:`load_params`.

        Examples
        --------
        >>> import tempfile, os
        >>> from sklearn.datasets import make_classification
        >>> from torch import nn
        >>> from skimb import ImbalancedTorchClassifier
        >>> X, y = make_classification(n_samples=100, random_state=0)
        >>> X = X.astype("float32")
        >>> params = dict(module=nn.Linear, module__in_features=20, module__out_features=2,
        ...               max_epochs=2, device="cpu", random_state=0)
        >>> clf = ImbalancedTorchClassifier(decision="prior", **params).fit(X, y)
        >>> folder = tempfile.mkdtemp()
        >>> clf.save_params(f_params=os.path.join(folder, "params.pt"),
        ...                 f_fitted=os.path.join(folder, "fitted.pt"))
        >>> restored = ImbalancedTorchClassifier(**params).initialize()
        >>> restored.load_params(f_params=os.path.join(folder, "params.pt"),
        ...                      f_fitted=os.path.join(folder, "fitted.pt"))
        >>> bool((restored.predict(X) == clf.predict(X)).all())
        True
        """
        if use_safetensors and f_params is not None and any(
                not torch.is_tensor(value) for value in self.module_.state_dict().values()):
            raise ValueError(
                "The network's fitted front holds state that is not a tensor (e.g. its "
                "'fitted' flag), which safetensors cannot store: save with "
                "use_safetensors=False (torch's format), or pickle the classifier.")
        if f_fitted is not None:
            self.check_is_fitted()
            state = {name: vars(self)[name] for name in self._FITTED_STATE if name in vars(self)}
            torch.save(state, f_fitted)
        return super().save_params(f_params=f_params, f_optimizer=f_optimizer,
                                   f_criterion=f_criterion, f_history=f_history,
                                   use_safetensors=use_safetensors, **kwargs)

    def load_params(self, f_params=None, f_optimizer=None, f_criterion=None, f_history=None,
                    checkpoint=None, use_safetensors=False, f_fitted=None, **kwargs):
        """skorch's ``load_params``, plus ``f_fitted`` from :meth:`save_params`.

        skorch's restore pattern — a new estimator, ``initialize()``, then
        ``load_params`` — works for your own ``nn.Module``; with ``f_fitted`` the
        restored model also has the fitted classes, class counts, multi-label
        flag and decision. A built-in network (``module="mlp"`` ...) is built
        from the training rows, so it cannot be initialized without data:
        pickle the fitted classifier instead.
        """
        if f_fitted is not None:
            state = torch.load(f_fitted, weights_only=False)
            unknown = sorted(set(state) - set(self._FITTED_STATE))
            if unknown:
                raise ValueError(f"f_fitted holds no skimb fitted state (keys {unknown[:3]}).")
            if "calibration_" not in state:  # saved before round 4: the raw output, as then
                vars(self).pop("calibration_", None)
            vars(self).update(state)
        return super().load_params(f_params=f_params, f_optimizer=f_optimizer,
                                   f_criterion=f_criterion, f_history=f_history,
                                   checkpoint=checkpoint, use_safetensors=use_safetensors,
                                   **kwargs)

    # -- building -----------------------------------------------------------------

    def _fit_front(self, context) -> None:
        """A built-in network's front (``front_``), fitted on the context's training rows:
        what ``initialize_module`` builds the network on. Your own module has none."""
        vars(self).pop("front_", None)
        if self.module is not None and not isinstance(self.module, str):
            return
        if self.module is None and (not context.in_memory
                                    or context.input_kind not in ("table", "raw_columns")):
            raise ValueError(
                "module=None builds a network for tables, and these inputs are "
                f"{'a torch Dataset' if not context.in_memory else context.input_kind + 's'}: "
                "pass your own nn.Module as module= (a CNN for images, a GRU for sequences; "
                "for loss='ldam' end it with skimb.modules.CosineLinear).")
        name, network, kwargs = self._network_choice()
        check_network_input(network, context.input_kind)
        # Fitted statistics of the training rows, not a component skorch trains or moves
        # (the network gets its own copy): kept out of skorch's registry of modules.
        vars(self)["front_"] = network.fit_front(context, **kwargs)

    def _network_choice(self):
        """``(name, class, parameters)`` of the built-in network (:func:`choose_network`)."""
        return choose_network(
            self.module, self.get_params_for("module"),
            device_type=torch.device(self.device or "cpu").type,
            cosine_head=getattr(loss_class(self.loss), "needs_cosine_head", False),
            loss_name=repr(self.loss))

    def initialize_module(self):
        """Build the module: a built-in network by name (``None``: the default for the
        device) on the front fitted on the training rows (``front_``), or the user's
        ``nn.Module``."""
        if self.module is not None and not isinstance(self.module, str):
            super().initialize_module()
            if getattr(loss_class(self.loss), "needs_cosine_head", False) and not any(
                    isinstance(m, CosineLinear) for m in self.module_.modules()):
                warnings.warn(
                    f"loss={self.loss!r} expects cosine logits from a normalised last "
                    "layer (e.g. skimb.modules.CosineLinear); check that your module "
                    "has one.", UserWarning, stacklevel=2)
            return self
        if "front_" not in vars(self):
            raise ValueError(
                f"module={self.module!r} is built by fit from the training rows (its size, "
                "scaling and bins); call fit. To restore a fitted model, unpickle it.")
        _, network, kwargs = self._network_choice()
        n_outputs = len(self.classes_inferred_)
        width = getattr(loss_class(self.loss), "output_width", None)
        if width is not None and not self._multilabel:
            n_outputs = width(n_outputs)
        self.module_ = network.from_front(self.front_, n_outputs, **kwargs)
        return self

    def initialize_criterion(self):
        """Build the loss strategy from ``loss`` and the ``loss__*`` parameters (a loss of
        your own wrapped once, in :class:`~skimb.losses.ForeignLoss`)."""
        self.criterion_ = as_skimb_loss(make_loss(self.loss, self.get_params_for("loss")))
        return self

    @property
    def _multilabel(self) -> bool:
        """``multilabel_``; False for a net initialized without data (skorch's restore)."""
        return vars(self).get("multilabel_", False)

    @property
    def loss_(self):
        """The fitted loss module (unwrapped from ``torch.compile`` when ``compile=True``)."""
        return getattr(self.criterion_, "_orig_mod", self.criterion_)

    # -- batching -----------------------------------------------------------------

    def get_iterator(self, dataset, training=False):
        """Device-resident batches for in-memory data, a DataLoader otherwise.

        The resident path honours ``iterator_*__batch_size``, ``drop_last`` and
        (for training) ``shuffle``; any other ``iterator_*__`` parameter, or an
        ``iterator_train``/``iterator_valid`` of your own, sends the rows through
        that DataLoader instead, with every parameter as given.
        """
        batches = batches_for(self, dataset, training)
        if batches is not None:
            return batches
        if not training:
            return super().get_iterator(dataset, training=False)
        return dataloader_for_training(self, dataset)

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """Run one epoch, recording batch losses at its end (one host sync per epoch).

        A training epoch whose loss is not finite stops the fit with a
        ``ValueError``: a diverged model is no model.
        """
        if iterator is None:
            return
        losses, sizes = [], []
        for batch in iterator:
            if training:
                batch = self.transform_batch(batch, rows=getattr(iterator, "batch_rows", None))
            self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            losses.append(step["loss"].detach())
            sizes.append(len(feature_leaves(batch[0])[0]))
            self.notify("on_batch_end", batch=batch, training=training, **step)
        values = record_epoch_losses(self.history, losses, sizes, prefix)
        if training:
            check_finite_epoch(self, values, len(self.history) - self.first_epoch_)
            self.training_storage_ = storage_of(iterator)
            self.history.record("event_storage", self.training_storage_)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        """Let the strategies drop their device copies, so a fitted model holds none."""
        super().on_train_end(net, X=X, y=y, **kwargs)
        if getattr(self, "sampler_", None) is not None:
            self.sampler_.clear_cache()
        if getattr(self, "augment_", None) is not None:
            self.augment_.release()

    def infer(self, x, **fit_params):
        """The module's output on a batch; uint8 (``scale_uint8``) and float64 inputs become
        float32 here, integer ids pass as they are."""
        x = map_features(self._as_float, x)
        try:
            return super().infer(x, **fit_params)
        except RuntimeError as error:
            message = ids_in_a_table(self.module_, x, error)
            if message is None:
                raise
            raise ValueError(message) from error

    @property
    def _as_float(self):
        """What a batch column becomes before the module: :func:`~skimb._batches.as_float`."""
        return partial(as_float, scale_uint8=self.scale_uint8)

    def transform_batch(self, batch, rows=None):
        """The per-batch hook: every training batch passes through it, and only those.

        It runs on the training device after the sampler has drawn the rows,
        on the device-resident path and the DataLoader path alike, never on
        validation rows or at predict. ``batch`` is ``(X, y)``: ``X`` a tensor
        or a dict of tensors (one per ``forward`` argument), ``y`` the encoded
        targets, or a ``WeightedTarget(y, sample_weight)``. The fitted
        augmentation (``augment_``, from ``augment=``) returns new rows and may
        return a :class:`~skimb.losses.MixedTarget` as ``y`` for mixed rows;
        without one the batch is returned unchanged. A subclass may override
        it.

        Parameters
        ----------
        batch : tuple
        rows : torch.Tensor or None
            The batch rows' positions among the call's training rows, where
            the training path knows them (device-resident rows drawn by an
            index sampler).

        Returns
        -------
        batch : tuple
        """
        augmentation = getattr(self, "augment_", None)
        if augmentation is None:
            return batch
        X, target = batch
        y, weight = target if isinstance(target, WeightedTarget) else (target, None)
        device = torch.device(self.device or "cpu")
        move = lambda t: self._as_float(to_tensor(t, device=device))  # noqa: E731
        X, y, weight = augmentation(map_features(move, X), to_tensor(y, device=device),
                                    None if weight is None else to_tensor(weight, device=device),
                                    rows=rows)
        return X, (y if weight is None else WeightedTarget(y, weight))

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """Loss of a batch; sample weights arrive with the targets, mixed rows as a
        :class:`~skimb.losses.MixedTarget`."""
        sample_weight = None
        if isinstance(y_true, WeightedTarget):
            y_true, sample_weight = y_true
        if isinstance(y_true, MixedTarget):
            y_true = y_true.to(y_pred.device)
        else:
            y_true = to_tensor(y_true, device=y_pred.device)
        if sample_weight is not None:
            sample_weight = to_tensor(sample_weight, device=y_pred.device)
        self.loss_.check_output_width(y_pred.shape[-1])  # before the loss reads the targets
        if y_pred.ndim == 3:
            return members_mean_loss(self.criterion_, y_pred, y_true, sample_weight,
                                     per_member=self.loss_.per_member)
        return self.criterion_(y_pred, y_true, sample_weight=sample_weight)

    # -- prediction ---------------------------------------------------------------

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
        return output_probabilities(self.loss_, output, multilabel=self._multilabel)

    def _check_threshold(self):
        if (not isinstance(self.threshold, numbers.Real) or isinstance(self.threshold, bool)
                or not 0.0 <= self.threshold <= 1.0):
            raise ValueError(f"threshold must be a number in [0, 1], got {self.threshold!r}.")
        return float(self.threshold)

    def _decisions(self, output):
        """Encoded predictions from the module's raw output, on its device: class
        indices, or the 0/1 indicator matrix for a multi-label target."""
        proba = self._to_probabilities(output)
        if self._multilabel:
            return (proba > self._check_threshold()).long()
        return proba.argmax(dim=1)

    def _output(self, X) -> torch.Tensor:
        """The module's raw output on ``X`` (float32)."""
        self.check_is_fitted()
        check_loop_params(self)
        output = self.forward(prepare_predict(self, X), training=False,
                              device=torch.device(self.device or "cpu"))
        if isinstance(output, tuple):
            output = output[0]
        return output.float()

    def _raw_proba(self, X) -> np.ndarray:
        """Probabilities of the raw output (``calibration=None``): what the decision uses."""
        return to_numpy(self._to_probabilities(self._output(X)))

    def _correction(self):
        """``(correction, class_priors)``: the fitted prior correction that applies (None:
        the raw output) and the deployment priors checked against ``classes_``."""
        self.check_is_fitted()
        check_calibration(self.calibration)
        classes = vars(self).get("classes_inferred_")  # none on a net restored without data
        priors = None if classes is None else check_class_priors(
            self.class_priors, classes, self._multilabel)
        correction = None
        if self.calibration is not None and self.predict_nonlinearity == "auto":
            correction = vars(self).get("calibration_")
        if self.class_priors is not None and correction is None:
            raise ValueError(
                "class_priors moves the corrected probabilities, so it needs "
                "calibration='prior', predict_nonlinearity='auto' and a model fitted with "
                f"them (calibration={self.calibration!r}).")
        if correction is not None and priors is None and correction.is_identity:
            correction = None
        return correction, priors

    def predict_proba(self, X):
        """Class probabilities: ``P(class | x)`` for data like the training data.

        With ``calibration="prior"`` (the default) the prior shift of the
        sampler and the loss is undone (``calibration_``), and ``class_priors``
        moves the probabilities to the deployment priors; with
        ``calibration=None`` they are the network's raw output. Computed in
        float64 log space and returned as float32. A model restored without
        its fitted correction (unpickled from before round 4, or
        ``load_params`` without ``f_fitted``) gives its raw output.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), DataFrame or torch Dataset

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Rows sum to 1; columns follow ``classes_``. For a multi-label
            target, each label's probability (rows need not sum to 1).
        """
        correction, priors = self._correction()  # its errors before the forward pass
        output = self._output(X)
        if correction is None:
            return to_numpy(self._to_probabilities(output))
        return correction.proba(output, priors).astype(np.float32)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, computed in log space (float64).

        Finite for any finite output, where ``np.log(predict_proba(X))``
        would give ``-inf`` for probabilities below float32's range.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), DataFrame or torch Dataset

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes), float64
        """
        correction, priors = self._correction()
        output = self._output(X)
        if correction is not None:
            return to_numpy(correction.log_proba(output, priors))
        if self.predict_nonlinearity != "auto":
            with np.errstate(divide="ignore"):
                return np.log(to_numpy(self._to_probabilities(output)).astype(np.float64))
        log_p = output_log_probabilities(self.loss_, output.double(),
                                         multilabel=self._multilabel)
        return to_numpy(log_p)

    def predict(self, X):
        """Predicted labels, of the same kind as the ``y`` given to ``fit``.

        The model's own decision, taken on its raw output: the same whatever
        ``calibration`` and ``class_priors`` say.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), DataFrame or torch Dataset

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_labels)
            ``classes_[argmax(log p + decision_offsets_)]``, ``p`` the raw
            output's probabilities (``calibration=None``). For a multi-label
            target, the 0/1 indicator matrix: 1 where a label's raw
            probability exceeds ``decision_thresholds_`` (or ``threshold``
            with ``decision="argmax"``).
        """
        proba = self._raw_proba(X)
        if self._multilabel:
            thresholds = getattr(self, "decision_thresholds_", None)
            return (proba > (self._check_threshold() if thresholds is None else thresholds)
                    ).astype(np.int64)
        offsets = vars(self).get("decision_offsets_")
        positions = decide(proba, np.zeros(proba.shape[1]) if offsets is None else offsets)
        if self.classes is not None and not len(self.classes):
            return positions  # classes=[]: skorch's opt-out of classes_
        return self.classes_[positions]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        tags.input_tags.sparse = True
        built_in = self.module is None or isinstance(self.module, str)
        # the built-in networks' front takes tables as they come (text, categories, NaN)
        tags.input_tags.allow_nan = tags.input_tags.categorical = tags.input_tags.string = built_in
        return tags
