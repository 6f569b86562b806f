"""Epoch time of skimb against plain skorch and a hand-written device-resident loop.

Usage::

    python bench/speed.py                        # defaults for the detected device
    python bench/speed.py --device cpu --epochs 3 --out speed.md
    python bench/speed.py --quick --device cpu   # smoke run, a few seconds

All three contenders train the same module (``skimb.modules.TabularMLP``,
32-256-256-7, ReLU, no dropout) with Adam (lr 1e-3) and cross-entropy on the
same synthetic imbalanced data, one after the other in this process, with every
training row visited once per epoch in shuffled order:

* ``skorch``: a plain ``skorch.NeuralNetClassifier`` fed float32 ``X`` and
  int64 ``y`` (a DataLoader over a skorch Dataset, per-batch ``loss.item()``);
* ``skimb``: ``ImbalancedTorchClassifier(sampler="none", loss="ce")`` with today's
  MLP (``module="mlp"`` without scaling, embeddings or the recipe's callbacks);
* ``hand loop``: ``X`` and ``y`` moved to the device once, a ``randperm`` per
  epoch drawn on the device, each batch gathered by index, batch losses kept on
  the device and read once at the end of the epoch.

skorch and skimb epoch times are read from ``net.history[:, "dur"]`` (skorch's
``EpochTimer``); the hand loop is timed with ``time.perf_counter`` around each
epoch (after a ``torch.cuda.synchronize()`` on CUDA). The first epoch of each
run is a warm-up and is not counted; the median of the remaining ones is
reported (with ``--repeats R``, the contenders run R times interleaved and the
fastest of each one's medians is kept, which damps other load on the machine).

``--networks`` also times the built-in networks with the default recipe
(``mlp+ple``, ``tabm k=8``, ``tabm k=32``), reported against skimb's plain MLP.

``--augment`` also times skimb's plain MLP (or the CNN) with an augmentation on
every training batch: ``skimb+noise``, ``skimb+mixup`` and ``skimb+smote`` on
tables (``augment__classes="all"``, ``augment__rate=1``: every row augmented,
the costliest setting), ``skimb+mixup`` and ``skimb+cutmix`` on images,
reported against skimb without one.

``--floor`` times something else: each built-in network's training step (skimb,
skorch and a hand loop on the same module) against the time of its matrix
products alone at the same shapes, at 1 and 2 threads on CPU; its options and
method are in ``bench/floor.py`` (``python bench/speed.py --floor --help``).

``--cnn SIDE`` times the three contenders on images instead: the same
``SmallCNN`` (two 3x3 convolutions with 8 and 16 channels, max-pooling, a
linear head) on ``--rows`` single-channel ``SIDE x SIDE`` images; skimb gets the
images as an N-D array (device-resident), skorch as a DataLoader over them.

Targets (from the issue; reported, never enforced — the exit code is 0):

* CPU, 200,000 x 32, batch 1024: skimb <= 0.6 x plain skorch's epoch time.
* CPU, a CNN on images (``--cnn``): skimb <= 0.6 x plain skorch's epoch time.
* GPU, 1,000,000 x 32, batch 1024 and 8192: skimb <= 1.3 x the hand loop.
* CPU, ``--augment``: ``noise`` and ``mixup`` add at most 10% to skimb's epoch time.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np
import torch
from torch import nn

import skorch
from skorch import NeuralNetClassifier

from skimb import ImbalancedTorchClassifier
from skimb.modules import TabularMLP

#: Class proportions of the synthetic data (7 classes, heavily imbalanced).
CLASS_PROPORTIONS = (0.62, 0.15, 0.10, 0.10, 0.01, 0.01, 0.01)
HIDDEN_UNITS = (256, 256)
LR = 1e-3
CPU_TARGET = 0.6   # skimb / skorch
CUDA_TARGET = 1.3  # skimb / hand loop
AUGMENT_TARGET = 1.10  # skimb with noise or mixup / skimb, on the CPU
TABLE_HEADER = ("| contender | batch size | median s/epoch | vs skorch | vs hand loop "
                "| vs skimb MLP |")


def make_data(n_rows, n_features, n_classes, seed=0):
    """Imbalanced Gaussian-blob data: float32 ``X``, int64 ``y``."""
    rng = np.random.default_rng(seed)
    props = np.asarray(CLASS_PROPORTIONS[:n_classes], dtype=np.float64)
    if len(props) < n_classes:  # more classes than listed: spread the rest evenly
        props = np.full(n_classes, 1.0 / n_classes)
    props = props / props.sum()
    y = rng.choice(n_classes, size=n_rows, p=props).astype(np.int64)
    centers = rng.normal(scale=0.75, size=(n_classes, n_features)).astype(np.float32)
    X = rng.standard_normal((n_rows, n_features), dtype=np.float32)
    X += centers[y]
    return X, y


class SmallCNN(nn.Module):
    """The ``--cnn`` model: two 3x3 convolutions (8 and 16 channels), max-pooling, a linear head."""

    def __init__(self, in_channels: int, side: int, n_outputs: int):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten())
        self.head = nn.Linear(16 * (side // 4) ** 2, n_outputs)

    def forward(self, X):
        return self.head(self.features(X))


def make_images(n_rows, side, n_classes, seed=0):
    """Imbalanced single-channel ``side x side`` images: noise plus a class template."""
    X, y = make_data(n_rows, side * side, n_classes, seed=seed)
    return X.reshape(n_rows, 1, side, side), y


def model_of(X, n_classes):
    """``(module class, its keyword arguments)`` for the data: the MLP, or the CNN for images."""
    if X.ndim == 4:
        return SmallCNN, dict(in_channels=X.shape[1], side=X.shape[2], n_outputs=n_classes)
    return TabularMLP, dict(n_features=X.shape[1], n_outputs=n_classes,
                            hidden_units=HIDDEN_UNITS, dropout=0.0)


def _median_measured(durations, warmup):
    measured = list(durations)[warmup:]
    return statistics.median(measured)


def time_skorch(X, y, n_classes, batch_size, device, warmup, epochs):
    torch.manual_seed(0)
    module, module_kwargs = model_of(X, n_classes)
    net = NeuralNetClassifier(
        module,
        **{f"module__{key}": value for key, value in module_kwargs.items()},
        criterion=nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=LR,
        max_epochs=warmup + epochs,
        batch_size=batch_size,
        train_split=None,
        iterator_train__shuffle=True,
        device=device,
        verbose=0,
    )
    net.fit(X, y)
    return _median_measured(net.history[:, "dur"], warmup)


#: Today's MLP, the same model as the skorch and hand-loop contenders: no scaling, no
#: embeddings, plain Adam, none of the recipe's callbacks.
PLAIN_MLP = dict(module="mlp", module__hidden_units=HIDDEN_UNITS, module__dropout=0.0,
                 module__scaling=None, module__num_embeddings=None, optimizer=torch.optim.Adam,
                 callbacks__lr_scheduler=None, callbacks__gradient_clipping=None,
                 callbacks__best_epoch=None)

#: The built-in networks with the default recipe, timed against today's MLP.
NETWORKS = {
    "mlp+ple": dict(module="mlp", module__hidden_units=HIDDEN_UNITS, module__num_embeddings="ple"),
    "tabm k=8": dict(module="tabm", module__k=8, module__hidden_units=HIDDEN_UNITS),
    "tabm k=32": dict(module="tabm", module__k=32, module__hidden_units=(512, 512)),
}


def _time_classifier(params, X, y, batch_size, device, warmup, epochs):
    net = ImbalancedTorchClassifier(
        sampler="none", loss="ce", lr=LR, max_epochs=warmup + epochs, batch_size=batch_size,
        train_split=None, device=device, random_state=0, verbose=0, **params)
    net.fit(X, y)
    return _median_measured(net.history[:, "dur"], warmup)


def time_skimb(X, y, n_classes, batch_size, device, warmup, epochs, extra=None):
    extra = extra or {}
    if X.ndim == 2:
        return _time_classifier({**PLAIN_MLP, **extra}, X, y, batch_size, device, warmup,
                                epochs)
    module, module_kwargs = model_of(X, n_classes)
    params = dict(module=module, optimizer=torch.optim.Adam, callbacks__lr_scheduler=None,
                  callbacks__gradient_clipping=None, callbacks__best_epoch=None,
                  **{f"module__{key}": value for key, value in module_kwargs.items()}, **extra)
    return _time_classifier(params, X, y, batch_size, device, warmup, epochs)


#: ``--augment``: every row of every batch augmented (rate 1, all classes).
AUGMENTATIONS = {"noise": dict(augment="noise"),
                 "mixup": dict(augment="mixup"),
                 "smote": dict(augment="smote", augment__rate=1.0),
                 "cutmix": dict(augment="cutmix")}
TABLE_AUGMENTATIONS = ("noise", "mixup", "smote")
IMAGE_AUGMENTATIONS = ("mixup", "cutmix")


def _augmented_timer(name):
    def timer(X, y, n_classes, batch_size, device, warmup, epochs):
        return time_skimb(X, y, n_classes, batch_size, device, warmup, epochs,
                          extra=AUGMENTATIONS[name])
    return timer


def _network_timer(name):
    def timer(X, y, n_classes, batch_size, device, warmup, epochs):
        return _time_classifier(NETWORKS[name], X, y, batch_size, device, warmup, epochs)
    return timer


def _sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def time_hand_loop(X, y, n_classes, batch_size, device, warmup, epochs):
    dev = torch.device(device)
    torch.manual_seed(0)
    module_cls, module_kwargs = model_of(X, n_classes)
    module = module_cls(**module_kwargs).to(dev)
    optimizer = torch.optim.Adam(module.parameters(), lr=LR)
    criterion = nn.CrossEntropyLoss()
    Xd = torch.from_numpy(X).to(dev)
    yd = torch.from_numpy(y).to(dev)
    n = len(yd)
    module.train()
    durations = []
    for _ in range(warmup + epochs):
        _sync(dev)
        start = time.perf_counter()
        perm = torch.randperm(n, device=dev)
        losses = []
        for i in range(0, n, batch_size):
            idx = perm[i:i + batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss = criterion(module(Xd[idx]), yd[idx])
            loss.backward()
            optimizer.step()
            losses.append(loss.detach())
        torch.stack(losses).cpu()  # the one host sync of the epoch
        _sync(dev)
        durations.append(time.perf_counter() - start)
    return _median_measured(durations, warmup)


CONTENDERS = (
    ("skorch", time_skorch),
    ("skimb", time_skimb),
    ("hand loop", time_hand_loop),
) + tuple((name, _network_timer(name)) for name in NETWORKS) + tuple(
    (f"skimb+{name}", _augmented_timer(name)) for name in AUGMENTATIONS)
#: Run unless --only or --networks says otherwise.
DEFAULT_CONTENDERS = ("skorch", "skimb", "hand loop")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=None,
                        help="rows of synthetic data (default: 200000 on CPU, 1000000 on CUDA)")
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--classes", type=int, default=7)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=None,
                        help="default: 1024 on CPU, 1024 8192 on CUDA")
    parser.add_argument("--epochs", type=int, default=None,
                        help="measured epochs per run, after one warm-up epoch (default 3)")
    parser.add_argument("--warmup", type=int, default=1, help="warm-up epochs per run (default 1)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="run every contender this many times, interleaved, and keep "
                             "each one's fastest median (default 1)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch.set_num_threads before timing (default: torch's own default)")
    parser.add_argument("--only", nargs="+", choices=[name for name, _ in CONTENDERS],
                        default=None, help="run only these contenders")
    parser.add_argument("--networks", action="store_true",
                        help="also time the built-in networks (default recipe) against skimb's "
                             "plain MLP")
    parser.add_argument("--augment", action="store_true",
                        help="also time skimb with augmentations (noise, mixup, smote; "
                             "mixup, cutmix with --cnn)")
    parser.add_argument("--cnn", type=int, default=None, metavar="SIDE",
                        help="time a small CNN (SmallCNN) on --rows single-channel SIDE x SIDE "
                             "images instead of the MLP on a table (e.g. --cnn 16)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 20000 rows, 1 measured epoch")
    parser.add_argument("--floor", action="store_true",
                        help="instead: each built-in network's step against its matrix-product "
                             "floor (bench/floor.py; the other arguments are then floor.py's, "
                             "see --floor --help)")
    parser.add_argument("--out", default=None, help="also write the report to this markdown file")
    args = parser.parse_args(argv)
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: CUDA is not available")
    cuda = args.device == "cuda"
    if args.rows is None:
        args.rows = 20_000 if args.quick else (1_000_000 if cuda else 200_000)
    if args.batch_sizes is None:
        args.batch_sizes = [1024, 8192] if cuda else [1024]
    if args.epochs is None:
        args.epochs = 1 if args.quick else 3
    if args.threads is not None and args.threads < 1:
        parser.error("--threads must be >= 1")
    if args.epochs < 1 or args.warmup < 0 or args.repeats < 1:
        parser.error("--epochs and --repeats must be >= 1, --warmup >= 0")
    if args.cnn is not None and (args.cnn < 4 or args.cnn % 4 or args.networks):
        parser.error("--cnn SIDE needs a multiple of 4 (two 2x2 poolings), without --networks")
    return args


def _loadavg():
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except (AttributeError, OSError):
        return "n/a"


def _fmt_ratio(value):
    return "—" if value is None else f"{value:.2f}x"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--floor" in argv:
        import floor  # bench/floor.py, next to this script

        return floor.main([arg for arg in argv if arg != "--floor"])
    args = parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    augmented = [f"skimb+{name}" for name in
                 (IMAGE_AUGMENTATIONS if args.cnn else TABLE_AUGMENTATIONS)]
    names = args.only or (list(DEFAULT_CONTENDERS) + (list(NETWORKS) if args.networks else [])
                          + (augmented if args.augment else []))
    header = [
        "# skimb epoch-time benchmark",
        "",
        f"- device: {args.device}"
        + (f" ({torch.cuda.get_device_name(0)})" if args.device == "cuda" else
           f" ({platform.processor() or platform.machine()})"),
        f"- torch {torch.__version__}, skorch {skorch.__version__}, "
        f"python {platform.python_version()}, torch threads {torch.get_num_threads()}",
        (f"- data: {args.rows:,} images 1x{args.cnn}x{args.cnn}, {args.classes} classes "
         f"(imbalanced), SmallCNN (conv 8, conv 16, linear), " if args.cnn else
         f"- data: {args.rows:,} rows x {args.features} features, {args.classes} classes "
         f"(imbalanced), MLP {args.features}-{'-'.join(map(str, HIDDEN_UNITS))}-{args.classes}, ")
        + f"Adam lr {LR}, cross-entropy, shuffled epochs",
        f"- {args.warmup} warm-up + {args.epochs} measured epoch(s) per run; median of measured"
        + (f"; best of {args.repeats} interleaved runs" if args.repeats > 1 else ""),
        f"- load average at start: {_loadavg()}",
        "",
    ]
    print("\n".join(header), flush=True)

    X, y = (make_images(args.rows, args.cnn, args.classes) if args.cnn else
            make_data(args.rows, args.features, args.classes))
    results = {}  # (name, batch_size) -> fastest median seconds over the repeats
    for batch_size in args.batch_sizes:
        for repeat in range(args.repeats):
            for name, fn in CONTENDERS:
                if name not in names:
                    continue
                seconds = fn(X, y, args.classes, batch_size, args.device,
                             args.warmup, args.epochs)
                key = (name, batch_size)
                results[key] = min(seconds, results.get(key, float("inf")))
                print(f"  {name:<9} batch {batch_size:>5} run {repeat + 1}: "
                      f"{seconds:.3f} s/epoch", flush=True)

    lines = ["", TABLE_HEADER, "|---|---:|---:|---:|---:|---:|"]
    for batch_size in args.batch_sizes:
        base_skorch = results.get(("skorch", batch_size))
        base_hand = results.get(("hand loop", batch_size))
        base_skimb = results.get(("skimb", batch_size))
        for name in names:
            seconds = results[name, batch_size]
            ratios = [None if base is None else seconds / base
                      for base in (base_skorch, base_hand, base_skimb)]
            lines.append(f"| {name} | {batch_size} | {seconds:.3f} | "
                         + " | ".join(map(_fmt_ratio, ratios)) + " |")
    lines.append("")
    for batch_size in args.batch_sizes:
        skimb_s = results.get(("skimb", batch_size))
        if skimb_s is None:
            continue
        if args.device == "cpu" and ("skorch", batch_size) in results:
            ratio = skimb_s / results["skorch", batch_size]
            verdict = "PASS" if ratio <= CPU_TARGET else "FAIL"
            lines.append(f"- target (CPU) batch {batch_size}: skimb/skorch = {ratio:.2f} "
                         f"<= {CPU_TARGET}: {verdict}")
        if args.device == "cuda" and not args.cnn and ("hand loop", batch_size) in results:
            ratio = skimb_s / results["hand loop", batch_size]
            verdict = "PASS" if ratio <= CUDA_TARGET else "FAIL"
            lines.append(f"- target (CUDA, MLP) batch {batch_size}: skimb/hand loop = {ratio:.2f} "
                         f"<= {CUDA_TARGET}: {verdict}")
        for name in ("skimb+noise", "skimb+mixup"):
            if args.device == "cpu" and (name, batch_size) in results:
                ratio = results[name, batch_size] / skimb_s
                verdict = "PASS" if ratio <= AUGMENT_TARGET else "FAIL"
                lines.append(f"- target (CPU, augment) batch {batch_size}: {name}/skimb = "
                             f"{ratio:.2f} <= {AUGMENT_TARGET}: {verdict}")
    if args.quick:
        lines.append("- (--quick smoke run: sizes too small for the targets to mean anything)")
    report = "\n".join(lines)
    print(report, flush=True)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write("\n".join(header) + report + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
