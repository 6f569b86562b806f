"""The network contract: what a built-in network declares, and how it is built from a fit:
its front fitted on the training rows, then the network on that front."""

from __future__ import annotations

import copy
import inspect
from typing import Any, ClassVar, Protocol

import numpy as np
from torch import nn

from .._inputs.kinds import DICT, INPUT_KINDS, RAW_COLUMNS, TABLE, TENSOR
from .front import ColumnLayout, TableFront
from .front import needs_rows as _front_needs_rows
from .front.table_front import EMBEDS

__all__ = ["Network", "NetworkContext", "check_network_input", "TABLE", "RAW_COLUMNS", "TENSOR",
           "DICT", "INPUT_KINDS"]

#: Constructor arguments the builders fill in themselves: not ``module__*`` parameters.
_BUILT_FROM_CONTEXT = frozenset({"n_features", "n_outputs", "front", "columns", "X_train",
                                 "y_train"})

#: The front of a network that lacks these parameters neither scales nor embeds.
_FRONT_OFF = {"scaling": None, "num_embeddings": None}


class NetworkContext(Protocol):
    """What :meth:`Network.fit_front` reads from the fit under way.

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
    columns: ColumnLayout | None


class Network(nn.Module):
    """Base class of the built-in networks (``module="<name>"``): declarations and builders.

    A subclass declares, as class attributes, what the classifier needs to
    know before building it, and keeps the constructor signature
    ``(n_features, n_outputs, *, <parameters with defaults>, columns=None,
    X_train=None, y_train=None, front=None)``; its keyword parameters are the
    ``module__*`` parameters. Those named in :attr:`TableFront.PARAMETERS`
    are its front's: it passes them to :meth:`table_front`, which fits its
    :class:`~skimb.networks.TableFront` on ``X_train`` (or takes the fitted
    ``front``), and builds its body on that front.

    A fit builds a network in two steps, :meth:`fit_front` on the training
    rows, then :meth:`from_front` without them; :meth:`from_context` is the
    two in one.

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
    embeds : {"all", "many_valued"}
        Which numeric columns its front's numeric embeddings take: all, or
        those with more than two values on the training rows.

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
    embeds: ClassVar[str] = "all"

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
        if cls.embeds not in EMBEDS:
            raise TypeError(f"{cls.__name__}.embeds must be one of {EMBEDS}, got {cls.embeds!r}.")
        if cls.front_parameters() and "front" not in inspect.signature(cls).parameters:
            raise TypeError(f"{cls.__name__} takes front parameters "
                            f"({', '.join(cls.front_parameters())}), so its constructor must "
                            "take the fitted front as front=None.")

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
    def front_parameters(cls) -> dict[str, Any]:
        """The front's ``module__*`` parameters the network takes, with its defaults.

        Examples
        --------
        >>> from skimb.networks import LinearNetwork
        >>> sorted(LinearNetwork.front_parameters())[:3]
        ['categorical_features', 'd_cat_embedding', 'datetime_trend']
        """
        return {key: value for key, value in cls.parameter_defaults().items()
                if key in TableFront.PARAMETERS}

    @classmethod
    def needs_rows(cls, params: dict[str, Any]) -> bool:
        """Whether building the network with ``params`` fits statistics on training rows.

        ``params`` are ``module__*`` parameters without the prefix; the missing
        ones take their defaults. The front fits statistics when it scales
        (``scaling="robust"``) or cuts ``"ple"`` bins; a parameter the network
        lacks counts as None.

        Examples
        --------
        >>> from skimb.networks import MLPNetwork
        >>> MLPNetwork.needs_rows({}), MLPNetwork.needs_rows({"scaling": None})
        (True, False)
        >>> MLPNetwork.needs_rows({"scaling": None, "num_embeddings": "ple"})
        True
        """
        values = _front_values(cls, params)
        return _front_needs_rows(values["scaling"], values["num_embeddings"])

    @classmethod
    def fit_front(cls, context: NetworkContext, **params: Any) -> TableFront:
        """The network's front, fitted on the training rows of the fit described by ``context``.

        The first half of :meth:`from_context`: it reads the front's
        parameters among ``params`` (the others are checked, not used) and
        draws nothing from torch's random generator.

        Parameters
        ----------
        context : NetworkContext
            Any object with ``n_features``, ``front_X`` and ``front_y`` (and
            ``columns`` for a raw table).
        **params
            The ``module__*`` parameters without the prefix.

        Returns
        -------
        front : TableFront
            Fitted on ``context.front_X``; unfitted when the rows are not in
            memory and the front needs none.

        Raises
        ------
        ValueError
            A parameter the constructor lacks (the message lists those it
            takes), or a front that must fit statistics on training rows
            when ``context.front_X`` is None.

        Examples
        --------
        >>> import numpy as np
        >>> from types import SimpleNamespace
        >>> from skimb.networks import MLPNetwork
        >>> X = np.random.default_rng(0).normal(size=(50, 3)).astype(np.float32)
        >>> context = SimpleNamespace(n_features=3, front_X=X, front_y=(X[:, 0] > 0).astype(int))
        >>> front = MLPNetwork.fit_front(context, hidden_units=(8,), num_embeddings="ple")
        >>> front.fitted, front.params["num_embeddings"]
        (True, 'ple')
        """
        _check_parameters(cls, params)
        front_X = context.front_X
        if front_X is None and cls.needs_rows(params):
            off = ["module__scaling=None"]
            if "num_embeddings" in cls.front_parameters():
                off.append("module__num_embeddings=None or 'periodic'")
            raise ValueError(
                f"module={cls.name!r} fits its front on the training rows, which are not in "
                f"memory (e.g. a torch Dataset as X): pass {' and '.join(off)}, or your own "
                "nn.Module.")
        takes_columns = "columns" in inspect.signature(cls).parameters
        front = TableFront(context.n_features,
                           getattr(context, "columns", None) if takes_columns else None,
                           embed=cls.embeds, **_front_values(cls, params))
        return front if front_X is None else front.fit(front_X, context.front_y)

    @classmethod
    def from_front(cls, front: TableFront, n_outputs: int, **params: Any) -> Network:
        """Build the network on a fitted front, without the training rows.

        The second half of :meth:`from_context`: the network gets a copy of
        the front's modules, then draws the initial weights of its numeric
        embeddings, its categorical encoding and its body, in that order.

        Parameters
        ----------
        front : TableFront
            From :meth:`fit_front` (or restored from one's saved state).
        n_outputs : int
            Number of logits per row (per member for an ensemble).
        **params
            The ``module__*`` parameters without the prefix; the front's
            parameters among them must be those it was fitted with.

        Returns
        -------
        network : Network

        Raises
        ------
        ValueError
            A parameter the constructor lacks, or a front parameter other
            than the front's.

        Examples
        --------
        >>> import numpy as np, torch
        >>> from types import SimpleNamespace
        >>> from skimb.networks import MLPNetwork
        >>> X = np.random.default_rng(0).normal(size=(50, 3)).astype(np.float32)
        >>> context = SimpleNamespace(n_features=3, front_X=X, front_y=(X[:, 0] > 0).astype(int))
        >>> front = MLPNetwork.fit_front(context)
        >>> MLPNetwork.from_front(front, 2, hidden_units=(8,))(torch.from_numpy(X[:4])).shape
        torch.Size([4, 2])
        >>> MLPNetwork.from_front(front, 2, scaling=None)
        Traceback (most recent call last):
        ...
        ValueError: module__scaling=None, but the front was fitted with scaling='robust': ...
        """
        _check_parameters(cls, params)
        if not isinstance(front, TableFront):
            raise ValueError(f"module={cls.name!r} is built on a TableFront (from fit_front); "
                             f"got {type(front).__name__}.")
        for key in sorted(set(params) & set(TableFront.PARAMETERS)):
            if not _same(params[key], front.params[key]):
                raise ValueError(
                    f"module__{key}={params[key]!r}, but the front was fitted with "
                    f"{key}={front.params[key]!r}: fit a front with these parameters "
                    "(fit_front).")
        body = {key: value for key, value in params.items() if key not in TableFront.PARAMETERS}
        if "front" in inspect.signature(cls).parameters:
            body["front"] = front
        return cls(front.n_features, n_outputs, **body)

    @classmethod
    def from_context(cls, context: NetworkContext, n_outputs: int, **params: Any) -> Network:
        """Build the network for the fit described by ``context``, its front fitted on its rows.

        :meth:`fit_front` then :meth:`from_front`.

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
        return cls.from_front(cls.fit_front(context, **params), n_outputs, **params)

    def table_front(self, front: TableFront | None, n_features: int,
                    columns: ColumnLayout | None, X_train: np.ndarray | None,
                    y_train: np.ndarray | None, **front_params: Any) -> TableFront:
        """The front a constructor builds on: a copy of the fitted ``front``, or one built
        from ``front_params`` and fitted on ``X_train`` (unfitted without rows).

        Raises
        ------
        ValueError
            ``front`` with ``columns``, ``X_train`` or ``y_train``, or a front
            for another width or another choice of embedded columns.
        """
        if front is None:
            front = TableFront(n_features, columns, embed=self.embeds, **front_params)
            return front if X_train is None else front.fit(X_train, y_train)
        if columns is not None or X_train is not None or y_train is not None:
            raise ValueError(f"module={self.name!r} takes a fitted front or columns, X_train and "
                             "y_train to fit one on, not both.")
        if front.n_features != n_features or front.embed != self.embeds:
            raise ValueError(
                f"module={self.name!r} with n_features={n_features} needs a front of that width "
                f"embedding {self.embeds!r} columns; this one takes {front.n_features} columns "
                f"and embeds {front.embed!r} ones.")
        return copy.deepcopy(front)


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


def _check_parameters(cls: type, params: dict[str, Any]) -> None:
    """Refuse a ``module__*`` parameter the constructor lacks, listing those it takes."""
    parameters = _parameters(cls)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return
    accepted = [key for key, p in parameters.items() if p.kind is not p.VAR_KEYWORD]
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ValueError(
            f"module={cls.name!r} takes no parameter "
            f"{', '.join('module__' + key for key in unknown)}; it takes: "
            f"{', '.join('module__' + key for key in sorted(accepted))}.")


def _front_values(cls: type[Network], params: dict[str, Any]) -> dict[str, Any]:
    """The front parameters of ``cls`` with ``params``: the given ones over the network's
    defaults, and neither scaling nor embeddings for a network that lacks them."""
    given = {key: value for key, value in params.items() if key in TableFront.PARAMETERS}
    return {**_FRONT_OFF, **cls.front_parameters(), **given}


def _same(a: Any, b: Any) -> bool:
    """Whether two parameter values are equal (lists and arrays element by element)."""
    return bool(np.array_equal(np.asarray(a, dtype=object), np.asarray(b, dtype=object)))
