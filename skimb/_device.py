"""Resolution of ``device="auto"``."""

from __future__ import annotations

from functools import lru_cache

import torch


@lru_cache(maxsize=1)
def _auto_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_device(device):
    """``"auto"`` becomes ``"cuda"`` when CUDA is available, else ``"cpu"``; others pass through."""
    return _auto_device() if isinstance(device, str) and device == "auto" else device


def check_device_placement(net) -> None:
    """Refuse skorch's ``AccelerateMixin``: the classifier places batches on ``device`` itself."""
    mixins = [cls for cls in type(net).__mro__
              if cls.__name__ == "AccelerateMixin" and cls.__module__.startswith("skorch")]
    if mixins:
        raise ValueError(
            f"{type(net).__name__} combines ImbalancedTorchClassifier with skorch's "
            "AccelerateMixin, which is not supported: the classifier keeps the training "
            "rows on `device` and gathers batches there, while the accelerator expects "
            "device=None and places batches itself. For mixed precision, wrap the "
            "module's forward in torch.autocast (e.g. a module whose forward runs under "
            "`with torch.autocast('cuda', dtype=torch.bfloat16):`), or use compile=True."
        )
