"""Multi-label road hazards: several flags per RWIS reading, each with its own imbalance.

A road-weather operator wants more than one surface class: a reading can be
moist *and* freezing *and* an ice warning at once. This example turns the
simulated RWIS surface conditions (``make_rwis``) into five hazard flags,

    moisture     anything but Dry                      (about 38% of rows)
    freezing     Ice Watch, Ice Warning or Frost        (about 12%)
    ice_warning  Ice Warning                            (about 1%)
    frost        Frost                                  (about 1%)
    chemical     Chemical Wet                           (about 1%)

fits one ImbalancedTorchClassifier per loss on the 0/1 indicator matrix, and
prints the held-out F1 of every flag and their macro mean.

Run: python examples/multilabel_hazards.py [--n-samples 12000] [--max-epochs 30]
"""

import argparse

import pandas as pd
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skimb import ImbalancedTorchClassifier
from skimb.datasets import make_rwis
from skimb.samplers import rarest_positive_label

HAZARDS = {
    "moisture": ["Wet", "Trace Moisture", "Chemical Wet", "Ice Watch", "Ice Warning", "Frost"],
    "freezing": ["Ice Watch", "Ice Warning", "Frost"],
    "ice_warning": ["Ice Warning"],
    "frost": ["Frost"],
    "chemical": ["Chemical Wet"],
}

STRATEGIES = {
    "ce (plain sigmoid BCE)": dict(loss="ce"),
    "bce pos_weight=auto": dict(loss="bce"),
    "bce label_weights=sqrt": dict(loss="bce", loss__pos_weight=None, loss__label_weights="sqrt"),
    "focal gamma=2": dict(loss="focal"),
    "asl": dict(loss="asl"),
    "crl": dict(loss="crl"),
    "ce + sqrt sampler": dict(loss="ce", sampler="sqrt"),
}


def hazard_flags(surface_condition: pd.Series) -> pd.DataFrame:
    """The 0/1 hazard indicator matrix of a series of surface conditions."""
    return pd.DataFrame({name: surface_condition.isin(conditions).astype(int)
                         for name, conditions in HAZARDS.items()})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=12000)
    parser.add_argument("--max-epochs", type=int, default=30)
    args = parser.parse_args(argv)

    X, surface = make_rwis(n_samples=args.n_samples, random_state=0)
    Y = hazard_flags(surface)
    X_train, X_test, Y_train, Y_test = train_test_split(
        X, Y, test_size=0.3, stratify=rarest_positive_label(Y.to_numpy()), random_state=0)
    print("positive share per flag:", Y.mean().round(3).to_dict())

    rows = {}
    for name, strategy in STRATEGIES.items():
        model = Pipeline([
            ("scale", StandardScaler()),
            ("clf", ImbalancedTorchClassifier(max_epochs=args.max_epochs, lr=3e-3,
                                              module__hidden_units=(64, 64), random_state=0,
                                              **strategy)),
        ])
        Y_pred = model.fit(X_train, Y_train).predict(X_test)
        per_flag = f1_score(Y_test, Y_pred, average=None, zero_division=0)
        rows[name] = {**dict(zip(Y.columns, per_flag)), "macro": per_flag.mean()}

    table = pd.DataFrame(rows).T
    print("\nHeld-out F1 per hazard flag (rows: strategy)")
    print(table.to_string(float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
