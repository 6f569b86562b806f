"""Bring your own network: any nn.Module class, configured with module__* parameters.

The module must return logits, one per class (skimb's losses and predict_proba
take it from there). Here: a residual MLP with layer normalisation, trained
with square-root class weights on the simulated RWIS table.

Run: python examples/custom_module.py [--max-epochs 20]
"""

import argparse

import torch
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.dataset import ValidSplit
from torch import nn

from skimb import ImbalancedTorchClassifier
from skimb.datasets import make_rwis
from skimb.metrics import macro_f1


class ResidualMLP(nn.Module):
    """An input projection, ``depth`` residual blocks, and a linear head returning logits."""

    def __init__(self, n_features: int, n_classes: int, width: int = 64, depth: int = 2):
        super().__init__()
        self.inp = nn.Linear(n_features, width)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.LayerNorm(width), nn.Linear(width, width), nn.GELU())
            for _ in range(depth))
        self.head = nn.Linear(width, n_classes)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        h = self.inp(X)
        for block in self.blocks:
            h = h + block(h)
        return self.head(h)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=6000)
    parser.add_argument("--max-epochs", type=int, default=20)
    args = parser.parse_args(argv)

    X, y = make_rwis(n_samples=args.n_samples, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0)
    clf = ImbalancedTorchClassifier(
        module=ResidualMLP, module__n_features=X.shape[1], module__n_classes=y.nunique(),
        module__width=64, module__depth=2,
        sampler="none", loss="weighted_ce", loss__weights="sqrt",
        max_epochs=args.max_epochs, random_state=0,
        train_split=ValidSplit(5, stratified=True),  # per-epoch validation scores
    )
    model = make_pipeline(StandardScaler(), clf).fit(X_train, y_train)
    y_pred = model.predict(X_test)
    print(f"ResidualMLP + weighted_ce(sqrt): "
          f"held-out macro-F1 = {macro_f1(y_test, y_pred):.3f}")
    print("validation macro-F1 per epoch:",
          [round(v, 3) for v in clf.history[:, "valid_f1_macro"]])


if __name__ == "__main__":
    main()
