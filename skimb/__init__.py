"""skimb: PyTorch classifiers that are good at class-imbalanced data, for scikit-learn."""

from .augment import list_augmentations
from .classifier import ImbalancedTorchClassifier
from .decision_cv import TunedDecisionClassifierCV
from .losses import list_losses
from .networks import list_modules
from .samplers import list_samplers
from ._moved_paths import register as _register_moved_paths

_register_moved_paths()  # round 3 module paths, for its pickles

__all__ = ["ImbalancedTorchClassifier", "TunedDecisionClassifierCV", "list_augmentations",
           "list_losses", "list_modules", "list_samplers"]
__version__ = "0.1.0"
