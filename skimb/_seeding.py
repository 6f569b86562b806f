"""Seeding torch for one fit, and restoring every generator it touched."""

from __future__ import annotations

from contextlib import contextmanager

import torch


@contextmanager
def seeded_torch(seed: int, device: torch.device):
    """Seed the CPU generator, and ``device``'s when it is a GPU; restore both after.

    ``torch.manual_seed`` would reseed every CUDA device, while forking (saving
    and restoring) all of them costs a state copy per GPU; this seeds only the
    generators the fit draws from, and forks exactly those.
    """
    gpus = []
    if device.type == "cuda":
        gpus = [device.index if device.index is not None else torch.cuda.current_device()]
    with torch.random.fork_rng(devices=gpus):
        torch.random.default_generator.manual_seed(seed)
        for index in gpus:
            torch.cuda.default_generators[index].manual_seed(seed)
        yield
