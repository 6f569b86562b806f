"""The network contract: what a built-in network declares and how it is built from a fit."""

from __future__ import annotations

import inspect
from typing import Any, ClassVar, Protocol

import numpy as np
from torch import nn

from .front import needs_rows as _front_needs_rows

__all__ = ["Network", "NetworkContext", "check_network_input", "TABLE", "RAW_COLUMNS", "TENSOR",
           "DICT", "INPUT_KINDS"]

#: A numeric 2-D float table, one row per sample (what every network takes today).
TABLE = "table"
#: The raw columns of a table (e.g. a DataFrame with categorical or text columns).
RAW_COLUMNS = "raw_columns"
#: N-D tensors, one per sample (images, sequences).
TENSOR = "tensor"
#: A dict of named inputs per sample.
DICT = "dict"

#: Every input kind a network can declare in ``accepts``, with its description.
INPUT_KINDS: dict[str, str] = {
    TABLE: "a numeric 2-D float table",
    RAW_COLUMNS: "raw table columns",
    TENSOR: "N-D tensors",
    DICT: "a dict of inputs",
}

#: Constructor arguments ``from_context`` fills in itself: not ``module__*`` parameters.
_BUILT_FROM_CONTEXT = frozenset({"n_features", "n_outputs", "X_train", "y_train", "columns"})


class NetworkContext(Protocol):
    """What :meth:`Network.from_context` reads from the fit under way.

    Attributes
    ----------
    n_features : int
        Width of the input table.
    front_X : ndarray of shape (n_rows, n_features), dtype float32, or None
        The dense training rows the network's front is fitted on (rows of
        ``sample_weight`` 0 removed); None when the rows are not in memory
        (a torch Dataset as ``X``).
    front_y : ndarray of shape (n_rows,) of int, or None
        Class index of each row of ``front_X``.
    columns : ColumnLayout or None
        Which columns of a table are numbers and which are category codes;
        None for other inputs.
    """

    n_features: int
    front_X: np.ndarray | None
    front_y: np.ndarray | None
    columns: Any


class Network(nn.Module):
    """Base class of the built-in networks (``module="<name>"``): declarations and a builder.

    A subclass declares, as class attributes, what the classifier needs to
    know before building it, and keeps the constructor signature
    ``(n_features, n_outputs, *, <parameters with defaults>, X_train=None,
    y_train=None)``; its keyword parameters are the ``module__*`` parameters.

    Attributes
    ----------
    name : str
        The name it is registered under (``module=name``).
    accepts : frozenset of str
        The input kinds it takes: :data:`TABLE` (a numeric 2-D float table),
        :data:`RAW_COLUMNS`, :data:`TENSOR` (N-D tensors), :data:`DICT`.
    cosine_head : bool
        It builds a cosine last layer when given ``normalized_output=True``
        (the losses that need one, such as ``ldam``, can use it).
    ensemble : bool
        Its output is ``(batch, k, n_outputs)``, one row of logits per member,
        instead of ``(batch, n_outputs)``.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from skimb.networks import Network, TABLE
    >>> class Affine(Network):
    ...     name, accepts = "affine", frozenset({TABLE})
    ...     def __init__(self, n_features, n_outputs, *, bias=True, X_train=None, y_train=None):
    ...         super().__init__()
    ...         self.linear = nn.Linear(n_features, n_outputs, bias=bias)
    ...     def forward(self, X):
    ...         return self.linear(X)
    >>> Affine.parameter_defaults(), Affine.needs_rows({})
    ({'bias': True}, False)
    >>> from types import SimpleNamespace
    >>> context = SimpleNamespace(n_features=3, front_X=None, front_y=None)
    >>> Affine.from_context(context, 2, bias=False)(torch.zeros(4, 3)).shape
    torch.Size([4, 2])
    """

    name: ClassVar[str] = ""
    accepts: ClassVar[frozenset[str]] = frozenset({TABLE})
    cosine_head: ClassVar[bool] = False
    ensemble: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not isinstance(cls.name, str):
            raise TypeError(f"{cls.__name__}.name must be a str, got {cls.name!r}.")
        if not isinstance(cls.accepts, frozenset) or not cls.accepts <= set(INPUT_KINDS):
            raise TypeError(f"{cls.__name__}.accepts must be a frozenset of "
                            f"{sorted(INPUT_KINDS)}, got {cls.accepts!r}.")
        for flag in ("cosine_head", "ensemble"):
            if not isinstance(getattr(cls, flag), bool):
                raise TypeError(f"{cls.__name__}.{flag} must be a bool.")

    @classmethod
    def parameter_defaults(cls) -> dict[str, Any]:
        """The ``module__*`` parameters of the constructor that have a default, with it.

        Examples
        --------
        >>> from skimb.networks import TabMNetwork
        >>> TabMNetwork.parameter_defaults()["k"]
        8
        """
        return {key: p.default for key, p in _parameters(cls).items()
                if p.default is not inspect.Parameter.empty}

    @classmethod
    def needs_rows(cls, params: dict[str, Any]) -> bool:
        """Whether building the network with ``params`` fits statistics on training rows.

        ``params`` are ``module__*`` parameters without the prefix; the missing
        ones take their defaults. The default reads the built-in front's
        parameters: robust ``scaling`` or ``"ple"`` ``num_embeddings`` (one the
        network lacks counts as None). Override it for a network that fits
        other statistics.

        Examples
        --------
        >>> from skimb.networks import MLPNetwork
        >>> MLPNetwork.needs_rows({}), MLPNetwork.needs_rows({"scaling": None})
        (True, False)
        >>> MLPNetwork.needs_rows({"scaling": None, "num_embeddings": "ple"})
        True
        """
        params = {**cls.parameter_defaults(), **params}
        return _front_needs_rows(params.get("scaling"), params.get("num_embeddings"))

    @classmethod
    def from_context(cls, context: NetworkContext, n_outputs: int, **params: Any) -> Network:
        """Build the network for the fit described by ``context``, fitted on its rows.

        Parameters
        ----------
        context : NetworkContext
            Any object with ``n_features``, ``front_X`` and ``front_y``.
        n_outputs : int
            Number of logits per row (per member for an ensemble).
        **params
            The ``module__*`` parameters without the prefix.

        Returns
        -------
        network : Network

        Raises
        ------
        ValueError
            A parameter the constructor lacks (the message lists those it
            takes), or a network that must fit statistics on training rows
            when ``context.front_X`` is None.

        Examples
        --------
        >>> import numpy as np
        >>> from types import SimpleNamespace
        >>> from skimb.networks import MLPNetwork
        >>> X = np.random.default_rng(0).normal(size=(50, 3)).astype(np.float32)
        >>> context = SimpleNamespace(n_features=3, front_X=X, front_y=(X[:, 0] > 0).astype(int))
        >>> MLPNetwork.from_context(context, 2, hidden_units=(8,)).front_fitted
        True
        >>> MLPNetwork.from_context(context, 2, k=4)
        Traceback (most recent call last):
        ...
        ValueError: module='mlp' takes no parameter module__k; it takes: module__batch_norm, ...
        """
        parameters = _parameters(cls)
        takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
        accepted = [key for key, p in parameters.items() if p.kind is not p.VAR_KEYWORD]
        unknown = sorted(set(params) - set(accepted))
        if unknown and not takes_any:
            raise ValueError(
                f"module={cls.name!r} takes no parameter "
                f"{', '.join('module__' + key for key in unknown)}; it takes: "
                f"{', '.join('module__' + key for key in sorted(accepted))}.")
        front_X = context.front_X
        if front_X is None and cls.needs_rows(params):
            off = ["module__scaling=None"]
            if "num_embeddings" in accepted:
                off.append("module__num_embeddings=None or 'periodic'")
            raise ValueError(
                f"module={cls.name!r} fits its front on the training rows, which are not in "
                f"memory (e.g. a torch Dataset as X): pass {' and '.join(off)}, or your own "
                "nn.Module.")
        columns = getattr(context, "columns", None)
        if columns is not None and "columns" in inspect.signature(cls).parameters:
            params = {**params, "columns": columns}
        return cls(context.n_features, n_outputs, X_train=front_X,
                   y_train=context.front_y, **params)


def check_network_input(network_cls: type[Network], kind: str) -> None:
    """Refuse an input kind the network does not declare in ``accepts``.

    Parameters
    ----------
    network_cls : subclass of Network
    kind : {"table", "raw_columns", "tensor", "dict"}
        The kind of ``X`` passed to ``fit``.

    Raises
    ------
    ValueError
        ``kind`` is not one of :data:`INPUT_KINDS`, or not one ``network_cls``
        accepts.

    Examples
    --------
    >>> from skimb.networks import TabMNetwork, check_network_input, TABLE, TENSOR
    >>> check_network_input(TabMNetwork, TABLE)
    >>> check_network_input(TabMNetwork, TENSOR)
    Traceback (most recent call last):
    ...
    ValueError: module='tabm' takes raw_columns or table inputs (...); got tensor ...
    """
    if kind not in INPUT_KINDS:
        raise ValueError(f"Unknown input kind {kind!r}; use one of {', '.join(INPUT_KINDS)}.")
    if kind not in network_cls.accepts:
        kinds = sorted(network_cls.accepts)
        raise ValueError(
            f"module={network_cls.name!r} takes {' or '.join(kinds)} inputs "
            f"({'; '.join(INPUT_KINDS[k] for k in kinds)}); got {kind} ({INPUT_KINDS[kind]}).")


def _parameters(cls: type) -> dict[str, inspect.Parameter]:
    """The constructor's parameters that are ``module__*`` parameters."""
    return {key: p for key, p in inspect.signature(cls).parameters.items()
            if key not in _BUILT_FROM_CONTEXT and p.kind is not inspect.Parameter.VAR_POSITIONAL}
