"""SMOTE two ways: once per fit in an imblearn Pipeline, or once per epoch as the sampler.

In an ``imblearn.pipeline.Pipeline`` the SMOTE step runs once per ``fit`` (and
never at predict time). Passed as ``sampler=SMOTE()``, skimb re-runs it on the
training portion at every epoch with a fresh seed, so the network sees new
synthetic rows each epoch. Both are scored by macro-F1 on held-out rows.

Run: python examples/smote_pipeline.py [--max-epochs 20]
"""

import argparse

from imblearn.over_sampling import SMOTE
from imblearn.pipeline import Pipeline
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skimb import ImbalancedTorchClassifier
from skimb.datasets import make_rwis
from skimb.metrics import macro_f1


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=6000)
    parser.add_argument("--max-epochs", type=int, default=20)
    args = parser.parse_args(argv)

    X, y = make_rwis(n_samples=args.n_samples, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0)

    def network(**params):
        return ImbalancedTorchClassifier(max_epochs=args.max_epochs, random_state=0,
                                         module__hidden_units=(64, 64), **params)

    models = {
        "plain (no resampling)": Pipeline([("scale", StandardScaler()), ("clf", network())]),
        "SMOTE once per fit (Pipeline step)": Pipeline(
            [("scale", StandardScaler()), ("smote", SMOTE(k_neighbors=3, random_state=0)), ("clf", network())]),
        "SMOTE every epoch (sampler=SMOTE())": Pipeline(
            [("scale", StandardScaler()),
             ("clf", network(sampler=SMOTE(), sampler__k_neighbors=3))]),
    }
    for name, model in models.items():
        y_pred = model.fit(X_train, y_train).predict(X_test)
        print(f"{name:38s} held-out macro-F1 = {macro_f1(y_test, y_pred):.3f}")


if __name__ == "__main__":
    main()
