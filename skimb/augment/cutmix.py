"""``augment="cutmix"``: CutMix (Yun et al., ICCV 2019) for images, class-aware."""

from __future__ import annotations

import torch

from .._inputs.kinds import TENSOR
from .mixup import MixingAugmentation, mixed_target

__all__ = ["CutMix"]


def cut_boxes(lam: torch.Tensor, height: int, width: int, generator) -> torch.Tensor:
    """A box per row covering about ``1 - lam`` of an image, as a boolean mask.

    The box has sides ``H sqrt(1 - lam)`` and ``W sqrt(1 - lam)`` (rounded),
    a centre drawn uniformly over the image, and is clipped at its borders
    (Yun et al. 2019).

    Returns
    -------
    mask : torch.Tensor of shape (n_rows, height, width), bool
    """
    n, device = len(lam), lam.device
    side = torch.sqrt(1.0 - lam)
    cut_h, cut_w = (side * height).round().long(), (side * width).round().long()
    centre_y = torch.randint(height, (n,), generator=generator, device=device)
    centre_x = torch.randint(width, (n,), generator=generator, device=device)
    top = (centre_y - cut_h // 2).clamp(0, height)
    bottom = (centre_y + (cut_h + 1) // 2).clamp(0, height)
    left = (centre_x - cut_w // 2).clamp(0, width)
    right = (centre_x + (cut_w + 1) // 2).clamp(0, width)
    ys = torch.arange(height, device=device)
    xs = torch.arange(width, device=device)
    inside_y = (ys >= top[:, None]) & (ys < bottom[:, None])
    inside_x = (xs >= left[:, None]) & (xs < right[:, None])
    return inside_y[:, :, None] & inside_x[:, None, :]


class CutMix(MixingAugmentation):
    """CutMix: a box of a partner image is pasted into a chosen image.

    Yun, Han, Oh, Chun, Choe and Yoo, "CutMix: Regularization Strategy to
    Train Strong Classifiers with Localizable Features", ICCV 2019. Each
    chosen row draws ``lam ~ Beta(alpha, alpha)`` and a partner from the
    batch, and a box of side ``sqrt(1 - lam)`` times the image's (see
    :func:`cut_boxes`) is copied from the partner over the last two
    dimensions of the input (height, width; every channel). The row's share
    is then recomputed from the box as pasted, ``lam = 1 - box area / (H W)``,
    and its loss is ``lam * L(x~, y_i) + (1 - lam) * L(x~, y_j)``, its weight
    ``lam * w_i + (1 - lam) * w_j``.

    It takes N-D tensor inputs whose rows have at least two dimensions
    (images ``(C, H, W)`` or ``(H, W)``); a table is refused.

    Parameters
    ----------
    alpha : float, default=1.0
        The Beta distribution's parameter (1: ``lam`` uniform, as in the paper).
    partner : {"uniform", "balanced"}, default="uniform"
        As for :class:`MixUp`.
    rate : float in [0, 1] or "rarity", default=1.0
    classes : str or list, default="all"
        Which rows receive a box, by class (see :class:`Augmentation`).

    Examples
    --------
    >>> import torch
    >>> from skimb.augment.cutmix import cut_boxes
    >>> lam = torch.tensor([0.75])
    >>> cut_boxes(lam, 8, 8, torch.Generator().manual_seed(0)).sum().item() <= 16
    True
    """

    name = "cutmix"
    accepts = frozenset({TENSOR})

    def __init__(self, alpha: float = 1.0, partner: str = "uniform",
                 rate: float | str = 1.0, classes="all"):
        super().__init__(alpha=alpha, partner=partner, rate=rate, classes=classes)

    def augment(self, X, y, sample_weight, chosen, rows):
        height, width = X.shape[-2:]
        partner, lam = self.partners_and_shares(y, chosen, sample_weight)
        box = cut_boxes(lam, height, width, self.generator_)
        box = box.reshape((len(y),) + (1,) * (X.ndim - 3) + (height, width))
        X = torch.where(box, X[partner], X)
        lam = 1.0 - box.flatten(1).float().mean(dim=1)  # the share of the box as pasted
        target, sample_weight = mixed_target(y, sample_weight, partner, lam)
        return X, target, sample_weight
