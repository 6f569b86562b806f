"""The built-in networks by name (``module="<name>"``) and ``module=None``'s defaults."""

from __future__ import annotations

from ._base import Network
from .linear import LinearNetwork
from .mlp import MLPNetwork
from .tabm import TabMNetwork

__all__ = ["list_modules", "network_class", "default_network", "choose_network"]

_NETWORKS: dict[str, type[Network]] = {
    cls.name: cls for cls in (LinearNetwork, MLPNetwork, TabMNetwork)}

#: ``module=None``: the network and the parameters it gets unless the user sets them,
#: chosen on 18 tables (docs/user_guide/networks.md has the evidence). Those runs were on
#: CPU and none has run on a GPU, so every device gets the same network; TabM stays one
#: parameter away (``module="tabm"``).
_DEFAULT = ("mlp", {"num_embeddings": "ple", "scaling_layer": True})


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


def default_network(device_type: str) -> tuple[str, dict]:
    """``(name, parameters)`` that ``module=None`` builds on a device of this kind.

    The same on every device: the MLP with piecewise-linear embeddings and
    RealMLP's scaling layer, the network chosen on the benchmark tables. A
    device gets a default of its own only once a benchmark run on it shows
    another network better.

    Parameters
    ----------
    device_type : str
        ``"cpu"``, ``"cuda"``, ...

    Examples
    --------
    >>> from skimb.networks import default_network
    >>> default_network("cpu")
    ('mlp', {'num_embeddings': 'ple', 'scaling_layer': True})
    >>> default_network("cuda") == default_network("cpu")
    True
    """
    name, params = _DEFAULT
    return name, dict(params)


def choose_network(module: str | None, params: dict, *, device_type: str,
                   cosine_head: bool = False, loss_name: str = "") -> tuple[str, type[Network],
                                                                        dict]:
    """``(name, class, parameters)`` of the built-in network ``module=`` asks for.

    ``None`` is the default network (:func:`default_network`), whose own
    parameters the ``module__*`` ones override. A loss that needs a cosine
    last layer (``cosine_head``) gets ``normalized_output=True``, or a
    ``ValueError`` naming the networks that have one.

    Parameters
    ----------
    module : str or None
    params : dict
        The ``module__*`` parameters, without the prefix.
    device_type : str
    cosine_head : bool, default=False
    loss_name : str, default=""
        How the error message names the loss.

    Examples
    --------
    >>> from skimb.networks import choose_network
    >>> name, cls, params = choose_network(None, {"dropout": 0.0}, device_type="cpu")
    >>> name, params["dropout"], params["scaling_layer"]
    ('mlp', 0.0, True)
    >>> choose_network("tabm", {}, device_type="cpu", cosine_head=True, loss_name="'ldam'")
    Traceback (most recent call last):
    ...
    ValueError: loss='ldam' needs a cosine last layer, which module='tabm' lacks; ...
    """
    if module is None:
        name, defaults = default_network(device_type)
    else:
        name, defaults = module, {}
    network = network_class(name)
    params = {**defaults, **params}
    if cosine_head:
        if not network.cosine_head:
            with_head = ", ".join(repr(n) for n in list_modules() if _NETWORKS[n].cosine_head)
            raise ValueError(
                f"loss={loss_name} needs a cosine last layer, which module={name!r} "
                f"lacks; use one of: {with_head}.")
        params.setdefault("normalized_output", True)
    return name, network, params
