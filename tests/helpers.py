"""Small shared pieces of the estimator tests: tiny data and a fast classifier."""

from sklearn.datasets import make_classification

from skimb import ImbalancedTorchClassifier

N_FEATURES = 6
FAST = dict(max_epochs=2, module__hidden_units=(16,), device="cpu", random_state=0)


def make_data(n=300, seed=0):
    """A 3-class table with class shares 70/20/10."""
    return make_classification(
        n_samples=n, n_features=N_FEATURES, n_informative=4, n_redundant=0,
        n_classes=3, weights=[0.7, 0.2, 0.1], class_sep=1.5, random_state=seed,
    )


def clf_(**params):
    """An ImbalancedTorchClassifier with the fast settings, overridable."""
    return ImbalancedTorchClassifier(**{**FAST, **params})
