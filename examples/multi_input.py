"""Several inputs: a dict {"image": ..., "meta": ...} into forward(image, meta), and a grid search.

The images are scikit-learn's 8x8 digits (uint8, shape (n, 1, 8, 8)), long-tailed
in the training rows (digits 5-9 kept at 10%). Each image comes with two
columns of metadata, shape (n, 2): a second source's guess whether the digit
is 5 or more (right 85% of the time) and a column of noise. The module takes
both as ``forward(image, meta)``: the dict's keys are its argument names.
``GridSearchCV(scoring="f1_macro")`` searches the loss and the sampler; the
dict goes in as skorch's ``SliceDict``, which scikit-learn can index by rows.
The best model is scored on balanced held-out rows.

Run: python examples/multi_input.py [--max-epochs 60]
"""

import argparse

import numpy as np
import pandas as pd
import torch
from sklearn.datasets import load_digits
from sklearn.metrics import f1_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from skorch.helper import SliceDict
from torch import nn

from skimb import ImbalancedTorchClassifier


class ImageAndMeta(nn.Module):
    """A small CNN for the image, a linear layer for the metadata, summed, then a head."""

    def __init__(self, n_classes: int = 10, n_meta: int = 2, width: int = 64):
        super().__init__()
        self.image = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(16 * 4 * 4, width))
        self.meta = nn.Linear(n_meta, width)
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(width, n_classes))

    def forward(self, image, meta):       # the dict's keys
        return self.head(self.image(image) + self.meta(meta))


def digits_with_meta(n_samples=None, keep=0.1, random_state=0):
    """``(X_train, X_test, y_train, y_test)``, X a dict of "image" (uint8) and "meta" (float32)."""
    digits = load_digits()
    y = digits.target
    rng = np.random.default_rng(random_state)
    guess = np.where(rng.random(len(y)) < 0.85, y >= 5, y < 5).astype(np.float32)
    X = {"image": np.round(digits.images * (255 / 16)).astype(np.uint8)[:, None],
         "meta": np.stack([guess, rng.normal(size=len(y))], axis=1).astype(np.float32)}
    rows = np.arange(len(y))
    if n_samples is not None and n_samples < len(y):
        rows, _ = train_test_split(rows, train_size=n_samples, stratify=y,
                                   random_state=random_state)
    train, test = train_test_split(rows, test_size=0.5, stratify=y[rows],
                                   random_state=random_state)
    train = np.concatenate([   # every image of digits 0-4, a tenth of those of 5-9
        rng.permutation(train[y[train] == c])[:max(1, round(keep * np.sum(y[train] == c)))]
        if c >= 5 else train[y[train] == c]
        for c in range(10)])
    X_train = SliceDict(**{key: value[train] for key, value in X.items()})
    X_test = {key: value[test] for key, value in X.items()}
    return X_train, X_test, y[train], y[test]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=None,
                        help="use this many of the 1797 images (default: all)")
    parser.add_argument("--max-epochs", type=int, default=60)
    args = parser.parse_args(argv)
    # Small networks on small batches: one CPU thread is the fastest (and gives the
    # same numbers), above all when other processes share the cores.
    torch.set_num_threads(1)

    X_train, X_test, y_train, y_test = digits_with_meta(args.n_samples)
    print(f"X_train: SliceDict of {len(X_train)} rows, "
          + ", ".join(f"{k} {v.shape} {v.dtype}" for k, v in X_train.items()))

    clf = ImbalancedTorchClassifier(module=ImageAndMeta, scale_uint8=True,
                                    max_epochs=args.max_epochs, batch_size=128, lr=5e-3,
                                    random_state=0)
    grid = {"loss": ["ce", "logit_adjusted"], "sampler": ["none", "sqrt"]}
    search = GridSearchCV(clf, grid, scoring="f1_macro",
                          cv=StratifiedKFold(3, shuffle=True, random_state=0))
    search.fit(X_train, y_train)

    ranked = pd.DataFrame(search.cv_results_).sort_values("rank_test_score")
    print("\nGridSearchCV(scoring='f1_macro'), 3 stratified folds:")
    for _, row in ranked.iterrows():
        params = row["params"]
        print(f"  loss={params['loss']:<15} sampler={params['sampler']:<5} "
              f"cv macro-F1 = {row['mean_test_score']:.3f} +- {row['std_test_score']:.3f}")
    best = search.best_estimator_
    y_pred = best.predict(X_test)    # a plain dict works outside scikit-learn's splitters
    print(f"\nbest {search.best_params_}: held-out macro-F1 = "
          f"{f1_score(y_test, y_pred, average='macro', zero_division=0):.3f}")
    print(f"input_shape_ = {best.input_shape_}")


if __name__ == "__main__":
    main()
