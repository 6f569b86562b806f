"""Sequences: a small GRU on synthetic imbalanced sequences, (n, T, F) float arrays.

Each sequence is 40 steps of two noisy channels. Most are plain noise
("normal", 94%); a rare "spike" class (3%) hides a short bump in channel 0 at a
random step, and a rare "dip" class (3%) a short dip in channel 1 (peak 3 noise
standard deviations, 5 steps wide). The float32 array of shape (n, 40, 2)
trains on the device-resident path like a table; the GRU reads it with
``batch_first=True``. The script
compares plain cross-entropy with the square-root sampler, class-balanced
batches and logit adjustment, by macro-F1 and per-class F1 on held-out
rows.

Run: python examples/sequences_gru.py [--n-samples 4000] [--max-epochs 20]
"""

import argparse

import numpy as np
import torch
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split
from torch import nn

from skimb import ImbalancedTorchClassifier

CLASSES = ["normal", "spike", "dip"]
SHARES = [0.94, 0.03, 0.03]


class GRUClassifier(nn.Module):
    """A one-layer GRU over the steps, max-pooled over time, then a linear head."""

    def __init__(self, n_channels: int = 2, n_classes: int = 3, hidden: int = 32):
        super().__init__()
        self.gru = nn.GRU(n_channels, hidden, batch_first=True)
        self.head = nn.Linear(hidden, n_classes)

    def forward(self, X):                 # X: (batch, T, F)
        out, _ = self.gru(X)              # out: (batch, T, hidden)
        return self.head(out.max(dim=1).values)


def make_sequences(n_samples=4000, length=40, random_state=0):
    """``(X, y)``: X float32 of shape (n, length, 2), y string labels with SHARES."""
    rng = np.random.default_rng(random_state)
    y = rng.choice(len(CLASSES), size=n_samples, p=SHARES)
    X = rng.normal(size=(n_samples, length, 2)).astype(np.float32)
    bump = 3.0 * np.hanning(7).astype(np.float32)   # a 7-point Hann window: 5 non-zero steps, peak 3 noise sds
    for i in np.flatnonzero(y > 0):
        start = rng.integers(0, length - len(bump))
        channel, sign = (0, 1.0) if y[i] == 1 else (1, -1.0)
        X[i, start:start + len(bump), channel] += sign * bump
    return X, np.array(CLASSES)[y]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=4000)
    parser.add_argument("--max-epochs", type=int, default=20)
    args = parser.parse_args(argv)

    # Small networks on small batches: one CPU thread is the fastest (and gives the
    # same numbers), above all when other processes share the cores.
    torch.set_num_threads(1)
    X, y = make_sequences(args.n_samples)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0)
    counts = dict(zip(*np.unique(y_train, return_counts=True)))
    print(f"X_train {X_train.shape} {X_train.dtype}, training rows per class: "
          f"{ {c: int(counts.get(c, 0)) for c in CLASSES} }")

    strategies = {
        "ce": {},
        "ce + sampler=sqrt": {"sampler": "sqrt"},
        "ce + balanced_batch": {"sampler": "balanced_batch"},
        "logit_adjusted": {"loss": "logit_adjusted"},
    }
    print(f"\n{'strategy':<20} macro-F1   " + "   ".join(f"{c:>6}" for c in CLASSES))
    for name, params in strategies.items():
        clf = ImbalancedTorchClassifier(module=GRUClassifier, max_epochs=args.max_epochs,
                                        lr=5e-3, random_state=0, **params)
        y_pred = clf.fit(X_train, y_train).predict(X_test)
        per_class = f1_score(y_test, y_pred, labels=CLASSES, average=None, zero_division=0)
        print(f"{name:<20} {f1_score(y_test, y_pred, average='macro', zero_division=0):>8.3f}   "
              + "   ".join(f"{v:>6.3f}" for v in per_class))
    print(f"\ninput_shape_ = {clf.input_shape_}, training_storage_ = {clf.training_storage_!r}")


if __name__ == "__main__":
    main()
