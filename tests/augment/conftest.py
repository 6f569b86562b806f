"""Fixtures the augmentation tests share."""

import pytest

from skimb.losses import ImbalanceLoss


@pytest.fixture
def mixed_calls(monkeypatch):
    """The sizes of the batches whose mixed targets reached a skimb loss."""
    calls = []
    original = ImbalanceLoss.mixed_per_sample

    def counted(self, logits, target):
        calls.append(len(target.lam))
        return original(self, logits, target)

    monkeypatch.setattr(ImbalanceLoss, "mixed_per_sample", counted)
    return calls
