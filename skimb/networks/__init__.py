"""Built-in networks, chosen by name: ``module="linear" | "mlp" | "tabm"``.

Each network is built by ``fit`` in two steps: its :class:`TableFront` (the
raw columns' front, a :class:`SmoothClipScaler` and the bins of the optional
numeric embeddings; package :mod:`skimb.networks.front`) is fitted on the
training rows only, then the body (one linear layer, an MLP, or TabM's
ensemble of ``k`` MLPs; layers in :mod:`skimb.networks.layers`) is built on
it. Parameters are set as ``module__<name>``. Every network derives from
:class:`Network`, whose class attributes declare what it takes and builds;
the registry (``registry.py``) is built from them.
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
from .front import (CategoricalEncoding, ColumnFront, ColumnLayout, FittedFront, SmoothClipScaler,
                    TableFront)
from .linear import LinearNetwork
from .mlp import MLPNetwork
from .registry import choose_network, default_network, list_modules, network_class
from .tabm import TabMNetwork

__all__ = ["Network", "NetworkContext", "LinearNetwork", "MLPNetwork", "TabMNetwork",
           "FittedFront", "SmoothClipScaler", "ColumnFront", "ColumnLayout", "CategoricalEncoding",
           "TableFront", "list_modules", "choose_network", "network_class", "default_network",
           "check_network_input", "TABLE", "RAW_COLUMNS", "TENSOR", "DICT", "INPUT_KINDS"]
