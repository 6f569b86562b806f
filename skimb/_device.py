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
