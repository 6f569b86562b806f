"""Images: a small CNN on long-tailed digits, uint8 pixels, four imbalance strategies.

scikit-learn's 8x8 digit images (``load_digits``) are split in half, stratified;
the test half stays balanced, while the training half keeps every image of
digits 0-4 and a tenth of those of digits 5-9 (a long tail of 10:1). The images
go in as a uint8 array of shape (n, 1, 8, 8), kept uint8 in memory and divided
by 255 per batch (``scale_uint8=True``). The script compares plain
cross-entropy with the square-root sampler, logit adjustment, and LDAM-DRW
(whose network ends with ``skimb.modules.CosineLinear``), by macro-F1 and by
the F1 of the rare digits on the balanced test rows.

Run: python examples/images_digits.py [--max-epochs 60]
"""

import argparse

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split
from torch import nn

from skimb import ImbalancedTorchClassifier
from skimb.modules import CosineLinear

RARE = [5, 6, 7, 8, 9]   # digits kept at 10% in the training rows


class SmallCNN(nn.Module):
    """Two 3x3 convolutions, a 2x2 pooling, and a linear (or cosine) head returning logits."""

    def __init__(self, n_classes: int = 10, channels: int = 16, cosine: bool = False):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, channels, 3, padding=1), nn.ReLU(),
            nn.Conv2d(channels, 2 * channels, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2), nn.Flatten())                      # (batch, 2C * 4 * 4)
        width = 2 * channels * 4 * 4
        self.head = CosineLinear(width, n_classes) if cosine else nn.Linear(width, n_classes)

    def forward(self, X):
        return self.head(self.features(X))


def long_tailed_digits(n_samples=None, keep=0.1, random_state=0):
    """``(X_train, X_test, y_train, y_test)``: uint8 images of shape (n, 1, 8, 8).

    The test half is balanced; the training half keeps every image of digits
    0-4 and a fraction ``keep`` of those of each digit in RARE.
    """
    digits = load_digits()
    images = np.round(digits.images * (255 / 16)).astype(np.uint8)[:, None]   # 0..16 -> 0..255
    y = digits.target
    if n_samples is not None and n_samples < len(y):
        images, _, y, _ = train_test_split(images, y, train_size=n_samples, stratify=y,
                                           random_state=random_state)
    X_train, X_test, y_train, y_test = train_test_split(
        images, y, test_size=0.5, stratify=y, random_state=random_state)
    rng = np.random.default_rng(random_state)
    kept = np.concatenate([
        rng.permutation(np.flatnonzero(y_train == c))[:max(1, round(keep * np.sum(y_train == c)))]
        if c in RARE else np.flatnonzero(y_train == c)
        for c in range(10)])
    return X_train[kept], X_test, y_train[kept], y_test


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=None,
                        help="use this many of the 1797 images (default: all)")
    parser.add_argument("--max-epochs", type=int, default=60)
    args = parser.parse_args(argv)

    # Small networks on small batches: one CPU thread is the fastest (and gives the
    # same numbers), above all when other processes share the cores.
    torch.set_num_threads(1)
    X_train, X_test, y_train, y_test = long_tailed_digits(args.n_samples)
    print(f"training images per digit: {np.bincount(y_train, minlength=10).tolist()}")
    print(f"test images per digit:     {np.bincount(y_test, minlength=10).tolist()}")

    strategies = {
        "ce": {},
        "ce + sampler=sqrt": {"sampler": "sqrt"},
        "logit_adjusted": {"loss": "logit_adjusted"},
        "ldam (DRW at 1/2)": {"loss": "ldam", "loss__drw_epoch": 0.5,
                              "module__cosine": True},
    }
    print(f"\n{'strategy':<20} test macro-F1   F1 of digits 5-9")
    for name, params in strategies.items():
        clf = ImbalancedTorchClassifier(
            module=SmallCNN, module__n_classes=10, scale_uint8=True,
            max_epochs=args.max_epochs, batch_size=128, random_state=0, **params)
        clf.fit(X_train, y_train)
        y_pred = clf.predict(X_test)
        macro = f1_score(y_test, y_pred, average="macro", zero_division=0)
        rare = f1_score(y_test, y_pred, labels=RARE, average="macro", zero_division=0)
        print(f"{name:<20} {macro:>13.3f}   {rare:>16.3f}")
    print(f"\nstored as {X_train.dtype}, input_shape_ = {clf.input_shape_}, "
          f"training_storage_ = {clf.training_storage_!r}")


if __name__ == "__main__":
    main()
