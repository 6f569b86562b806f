"""Sampler names, and construction from ``sampler=`` values."""

from __future__ import annotations

from sklearn.base import clone

from ._base import BaseSampler
from .balanced_batch import BalancedBatchSampler
from .imblearn_adapter import ImblearnSampler, fresh_copy
from .none import NoSampler
from .power import OverSampler, PowerSampler, SqrtSampler
from .progressive import ProgressiveSampler
from .under import UnderSampler

__all__ = ["list_samplers", "make_sampler"]

_REGISTRY = {cls.name: cls for cls in (NoSampler, UnderSampler, OverSampler, SqrtSampler,
                                       PowerSampler, ProgressiveSampler, BalancedBatchSampler)}


def list_samplers() -> list[str]:
    """Names accepted by ``ImbalancedTorchClassifier(sampler=...)``.

    Returns
    -------
    names : list of str

    Examples
    --------
    >>> from skimb import list_samplers
    >>> "under" in list_samplers()
    True
    """
    return sorted(_REGISTRY)


def make_sampler(spec, params: dict) -> BaseSampler:
    """Build a fresh sampler from a name, a skimb sampler or an imblearn sampler.

    Parameters
    ----------
    spec : str, BaseSampler or object with ``fit_resample``
        What the user passed as ``sampler=``. It is never modified.
    params : dict
        The ``sampler__*`` parameters, without the prefix.

    Returns
    -------
    sampler : BaseSampler
        Unfitted.

    Examples
    --------
    >>> from skimb.samplers import make_sampler
    >>> make_sampler("power", {"q": 0.25})
    PowerSampler(q=0.25)
    """
    if spec is None:
        spec = "none"
    if isinstance(spec, str):
        if spec not in _REGISTRY:
            raise ValueError(
                f"Unknown sampler {spec!r}. Valid names: {', '.join(list_samplers())}; "
                "or pass an imbalanced-learn sampler instance."
            )
        return _REGISTRY[spec]().set_params(**params)
    if isinstance(spec, ImblearnSampler):
        params = {"max_per_class": spec.max_per_class, **params}
        spec = spec.sampler
    elif isinstance(spec, BaseSampler):
        return clone(spec).set_params(**params)
    if hasattr(spec, "fit_resample"):
        params = dict(params)
        cap = params.pop("max_per_class", None)
        inner = fresh_copy(spec)
        if params:
            inner.set_params(**params)
        return ImblearnSampler(inner, max_per_class=cap)
    raise ValueError(
        f"sampler must be one of {', '.join(list_samplers())}, a skimb EpochSampler "
        f"or an imbalanced-learn sampler instance; got {type(spec).__name__}."
    )
