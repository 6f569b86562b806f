"""Augmentations: new training rows for every batch, on the training device, class-aware.

Chosen with ``ImbalancedTorchClassifier(augment=...)`` and ``augment__*``
parameters, searched like ``sampler`` and ``loss``. An augmentation runs on
every training batch after the sampler has drawn its rows, never on
validation rows, the rows a tuned decision is chosen on, or at predict.
Which rows are augmented depends on their class (``rate``, ``classes``; see
:class:`Augmentation`), measured on the training counts.

* ``"noise"`` (:class:`GaussianNoise`): Gaussian noise in units of each
  feature's spread;
* ``"mixup"`` (:class:`MixUp`) and ``"cutmix"`` (:class:`CutMix`, images):
  mixed rows with :class:`~skimb.losses.MixedTarget` targets;
* ``"smote"`` (:class:`SmoteOnTheFly`): SMOTE's same-class interpolation,
  with fresh points every epoch.

One file per augmentation; ``_base`` holds the protocol and ``registry`` the names.
"""

from ._base import Augmentation
from .cutmix import CutMix
from .function import FunctionAugmentation
from .mixup import MixUp
from .noise import GaussianNoise
from .registry import check_augmentation, list_augmentations, make_augmentation
from .smote import SmoteOnTheFly

__all__ = [
    "Augmentation",
    "CutMix",
    "FunctionAugmentation",
    "GaussianNoise",
    "MixUp",
    "SmoteOnTheFly",
    "check_augmentation",
    "list_augmentations",
    "make_augmentation",
]
