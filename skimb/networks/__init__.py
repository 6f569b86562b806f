"""Built-in networks, chosen by name: ``module="linear" | "mlp" | "tabm"``.

Each network is built by ``fit`` from the training portion: a
:class:`SmoothClipScaler` and (optionally) numeric embeddings are fitted on
the training rows only, then the body (one linear layer, an MLP, or TabM's
ensemble of ``k`` MLPs) learns on top. Parameters are set as
``module__<name>``. Every network derives from :class:`Network`, whose class
attributes declare what it takes and builds; the registry is built from them.
"""

from __future__ import annotations

from ._base import (
    DICT,
    INPUT_KINDS,
    RAW_COLUMNS,
    TABLE,
    TENSOR,
    Network,
    NetworkContext,
    check_network_input,
)
from .columns import CategoricalEncoding, ColumnFront, ColumnLayout
from .fitted_front import FittedFront
from .linear import LinearNetwork
from .mlp import MLPNetwork
from .scaling import SmoothClipScaler
from .tabm import TabMNetwork

__all__ = ["Network", "NetworkContext", "LinearNetwork", "MLPNetwork", "TabMNetwork",
           "FittedFront", "SmoothClipScaler", "ColumnFront", "ColumnLayout", "CategoricalEncoding",
           "list_modules", "network_class", "default_network",
           "check_network_input", "TABLE", "RAW_COLUMNS", "TENSOR", "DICT", "INPUT_KINDS"]

_NETWORKS: dict[str, type[Network]] = {
    cls.name: cls for cls in (LinearNetwork, MLPNetwork, TabMNetwork)}

#: ``module=None`` on each device kind: the network and the parameters it gets
#: unless the user sets them (docs/user_guide/networks.md has the evidence).
_DEFAULTS = {
    "cpu": ("mlp", {"num_embeddings": "ple", "scaling_layer": True}),
    "cuda": ("tabm", {"k": 32, "hidden_units": (512, 512), "num_embeddings": "ple"}),
}


def list_modules() -> list[str]:
    """Names accepted by ``module=``.

    Examples
    --------
    >>> from skimb import list_modules
    >>> list_modules()
    ['linear', 'mlp', 'tabm']
    """
    return sorted(_NETWORKS)


def network_class(name: str) -> type[Network]:
    """The network class registered under ``name``.

    Examples
    --------
    >>> from skimb.networks import network_class
    >>> network_class("tabm").__name__
    'TabMNetwork'
    """
    try:
        return _NETWORKS[name]
    except KeyError:
        raise ValueError(
            f"Unknown module={name!r}; use one of {', '.join(list_modules())}, None, "
            "or an nn.Module class or instance."
        ) from None


def default_network(device_type: str, cosine_head: bool = False) -> tuple[str, dict]:
    """``(name, parameters)`` that ``module=None`` builds on a device of this kind.

    Parameters
    ----------
    device_type : str
        ``"cpu"``, ``"cuda"``, ...
    cosine_head : bool, default=False
        The loss needs a cosine last layer: when the device's default network
        does not declare ``cosine_head``, the first entry of the defaults
        table whose network does (today the CPU default, the MLP with PLE and its scaling layer).

    Examples
    --------
    >>> from skimb.networks import default_network
    >>> default_network("cpu")[0] in ("mlp", "tabm")
    True
    >>> default_network("cuda", cosine_head=True)[0]
    'mlp'
    """
    name, params = _DEFAULTS.get(device_type, _DEFAULTS["cpu"])
    if cosine_head and not _NETWORKS[name].cosine_head:
        name, params = next((name, params) for name, params in _DEFAULTS.values()
                            if _NETWORKS[name].cosine_head)
    return name, dict(params)
