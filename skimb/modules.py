"""Layers for your own modules: the MLP body, the cosine head, RealMLP's scaling layer.

The public home of the layers the built-in networks are made of (defined in
:mod:`skimb.networks.layers`): ``module=TabularMLP``, or ``CosineLinear`` as the
last layer of your own network for ``loss="ldam"``.
"""

from .networks.layers import (CosineLinear, FeatureScale, TabularMLP, check_dropout,
                              check_hidden_units)

__all__ = ["TabularMLP", "CosineLinear", "FeatureScale", "check_dropout", "check_hidden_units"]
