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


def check_device_available(device) -> None:
    """Raise a ValueError for a ``device`` torch cannot name or this machine does not have.

    ``None`` (skorch's "leave the tensors where they are") and ``"auto"`` always pass.

    Examples
    --------
    >>> from skimb._device import check_device_available
    >>> check_device_available("cpu")
    >>> check_device_available("gpu")
    Traceback (most recent call last):
    ...
    ValueError: device='gpu' is not a torch device: use 'auto', 'cpu', 'cuda' or 'cuda:<index>'.
    """
    if device is None or (isinstance(device, str) and device == "auto"):
        return
    try:
        kind = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(f"device={device!r} is not a torch device: use 'auto', 'cpu', 'cuda' "
                         "or 'cuda:<index>'.") from None
    if kind.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device={device!r}, but torch finds no CUDA device here: use "
                             "device='auto' (CUDA when there is one, else the CPU) or 'cpu'.")
        if kind.index is not None and kind.index >= torch.cuda.device_count():
            raise ValueError(f"device={device!r}, but torch finds {torch.cuda.device_count()} "
                             "CUDA device(s) here.")


def check_device_placement(net) -> None:
    """Refuse skorch's ``AccelerateMixin``: the classifier places batches on ``device`` itself;
    refuse a device this machine does not have (:func:`check_device_available`)."""
    check_device_available(net.__dict__["device"])
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
