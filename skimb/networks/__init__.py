"""Built-in networks, chosen by name: ``ImbalancedTorchClassifier(module="mlp" | "tabm")``.

Each network is built by ``fit`` from the training portion: a
:class:`SmoothClipScaler` and (optionally) numeric embeddings are fitted on
the training rows only, then the body (an MLP, or TabM's ensemble of ``k``
MLPs) learns on top. Parameters are set as ``module__<name>``.
"""

from __future__ import annotations

from torch import nn

from .mlp import MLPNetwork
from .scaling import SmoothClipScaler
from .tabm import TabMNetwork

__all__ = ["MLPNetwork", "TabMNetwork", "SmoothClipScaler", "list_modules", "network_class",
           "default_network"]

_NETWORKS: dict[str, type[nn.Module]] = {"mlp": MLPNetwork, "tabm": TabMNetwork}

#: ``module=None`` on each device kind: the network and the parameters it gets
#: unless the user sets them (docs/user_guide/networks.md has the evidence).
_DEFAULTS = {
    "cpu": ("mlp", {"num_embeddings": "ple"}),
    "cuda": ("tabm", {"k": 32, "hidden_units": (512, 512), "num_embeddings": "ple"}),
}


def list_modules() -> list[str]:
    """Names accepted by ``module=``.

    Examples
    --------
    >>> from skimb import list_modules
    >>> list_modules()
    ['mlp', 'tabm']
    """
    return sorted(_NETWORKS)


def network_class(name: str) -> type[nn.Module]:
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


#: ``module=None`` for a loss that needs a cosine last layer (``ldam``), on every device.
_COSINE_DEFAULT = ("mlp", {"num_embeddings": "ple"})


def default_network(device_type: str, cosine_head: bool = False) -> tuple[str, dict]:
    """``(name, parameters)`` that ``module=None`` builds on a device of this kind.

    Parameters
    ----------
    device_type : str
        ``"cpu"``, ``"cuda"``, ...
    cosine_head : bool, default=False
        The loss needs a cosine last layer, which only the MLP has.

    Examples
    --------
    >>> from skimb.networks import default_network
    >>> default_network("cpu")[0] in ("mlp", "tabm")
    True
    >>> default_network("cuda", cosine_head=True)[0]
    'mlp'
    """
    name, params = _COSINE_DEFAULT if cosine_head else _DEFAULTS.get(device_type,
                                                                      _DEFAULTS["cpu"])
    return name, dict(params)
