"""Augmentation names, construction from ``augment=`` values, and the fit-time checks."""

from __future__ import annotations

from sklearn.base import clone

from ._base import Augmentation
from .cutmix import CutMix
from .function import FunctionAugmentation
from .mixup import MixUp
from .noise import GaussianNoise
from .smote import SmoteOnTheFly

__all__ = ["check_augmentation", "list_augmentations", "make_augmentation"]

_REGISTRY = {cls.name: cls for cls in (GaussianNoise, MixUp, CutMix, SmoteOnTheFly)}


def list_augmentations() -> list[str]:
    """Names accepted by ``ImbalancedTorchClassifier(augment=...)``.

    Returns
    -------
    names : list of str

    Examples
    --------
    >>> from skimb import list_augmentations
    >>> list_augmentations()
    ['cutmix', 'mixup', 'noise', 'smote']
    """
    return sorted(_REGISTRY)


def make_augmentation(spec, params: dict) -> Augmentation | None:
    """A fresh augmentation from ``augment=`` and the ``augment__*`` parameters.

    Parameters
    ----------
    spec : None, str, Augmentation or callable
        What the user passed as ``augment=``; it is never modified.
    params : dict
        The ``augment__*`` parameters, without the prefix.

    Returns
    -------
    augmentation : Augmentation or None

    Examples
    --------
    >>> from skimb.augment import make_augmentation
    >>> make_augmentation("mixup", {"alpha": 0.4})
    MixUp(alpha=0.4)
    """
    if spec is None:
        if params:
            raise ValueError(f"augment__* parameters {sorted(params)} were given with "
                             "augment=None; choose an augmentation.")
        return None
    if isinstance(spec, str):
        if spec not in _REGISTRY:
            raise ValueError(f"Unknown augmentation {spec!r}. Valid names: "
                             f"{', '.join(list_augmentations())}; or pass an Augmentation "
                             "object or a callable func(X, y) -> (X, y).")
        augmentation = _REGISTRY[spec]()
    elif isinstance(spec, Augmentation):
        augmentation = clone(spec)
    elif callable(spec):
        augmentation = FunctionAugmentation(spec)
    else:
        raise ValueError(f"augment must be None, a name ({', '.join(list_augmentations())}), "
                         f"an Augmentation or a callable; got {spec!r}.")
    try:
        augmentation.set_params(**params)
    except ValueError as err:
        raise ValueError(f"augment={spec!r}: {err}") from None
    augmentation._check_params()
    return augmentation


def check_augmentation(augmentation, *, loss, multilabel: bool, input_kind: str,
                       rows_known: bool, why_rows_unknown: str = "") -> None:
    """Refuse an augmentation that cannot run on this fit, naming what clashes.

    Reads the declarations of the augmentation (``accepts``, ``mixes_targets``,
    ``needs_rows``, ``supports_multilabel``) and of the loss class
    (``supports_mixed_targets``).

    Parameters
    ----------
    augmentation : Augmentation or None
    loss : type
        The loss class of the fit.
    multilabel : bool
    input_kind : str
        ``"table"``, ``"tensor"`` or ``"dict"``.
    rows_known : bool
        Whether the training batches come with their rows' positions.
    why_rows_unknown : str
        Said when a ``needs_rows`` augmentation cannot have them.

    Examples
    --------
    >>> from skimb.augment import MixUp, check_augmentation
    >>> from skimb.losses import ClassRectificationLoss
    >>> try:
    ...     check_augmentation(MixUp(), loss=ClassRectificationLoss, multilabel=False,
    ...                        input_kind="table", rows_known=True)
    ... except ValueError as err:
    ...     print(str(err)[:55])
    augment='mixup' gives mixed targets, which loss='crl' c
    """
    if augmentation is None:
        return
    name = augmentation.name
    if augmentation.mixes_targets and not getattr(loss, "supports_mixed_targets", False):
        loss_name = getattr(loss, "name", "") or loss.__name__
        raise ValueError(
            f"augment={name!r} gives mixed targets, which loss={loss_name!r} cannot take "
            "(it does not declare supports_mixed_targets). Use augment='noise' or 'smote' "
            "(labels unchanged), or a loss such as 'ce', 'focal' or 'ldam'.")
    if multilabel and not augmentation.supports_multilabel:
        raise ValueError(f"augment={name!r} needs one label per row; with a multi-label y "
                         "use 'noise' or 'mixup'.")
    if input_kind not in augmentation.accepts:
        raise ValueError(f"augment={name!r} takes {' or '.join(sorted(augmentation.accepts))} "
                         f"inputs; these are {input_kind} inputs.")
    if augmentation.needs_rows and not rows_known:
        raise ValueError(f"augment={name!r} gathers each row's neighbours among the training "
                         f"rows, so it needs in-memory rows drawn by an index sampler; "
                         f"{why_rows_unknown}")
