"""The matrix-product floor of a training step, and how far each trainer is from it (issue 32).

Usage::

    python bench/speed.py --floor                  # CPU: 1 and 2 threads; CUDA when there
    python bench/speed.py --floor --repeats 5 --out floor.md
    python bench/speed.py --floor --quick          # smoke run, a few seconds

(``python bench/floor.py`` takes the same options.) For each built-in network
(``module=None``, ``"mlp"``, ``"tabm"``), as ``ImbalancedTorchClassifier``
builds it for a synthetic table (``bench/speed.py``'s data: 8,000 rows x 20
features, 7 imbalanced classes), at batch 256:

**The products.** One training step of the network runs under
``torch.profiler`` (``record_shapes``): the forward (module and loss) in one
profile, ``loss.backward()`` in another. Every ``aten::mm``, ``addmm``,
``bmm`` and ``baddbmm`` call that is not nested in another product is
recorded with its operands' shapes, strides and dtypes. These are the
products autograd really runs: the backward of ``y = x @ W`` is two products
(``dX`` and ``dW``) only where ``x`` needs a gradient, so the first layer of
a network fed the scaled table computes ``dW`` alone, while the piecewise-
linear embeddings' per-feature linear map (a ``bmm``) makes the first layer
compute ``dX`` too and contributes only its own ``dW``.

**The floor.** Those calls are replayed alone, on operands of the recorded
shapes *and strides* (an operand autograd passes transposed stays
transposed) filled with normal noise, each writing into a preallocated output
(``out=``). This times the arithmetic the step asks for and nothing else.
A small autograd graph made of products at these shapes was the alternative;
it was not chosen because it would add what the floor must leave out (the
autograd engine's bookkeeping, output allocation, the bias gradients' sums,
gradient accumulation) and would have to reproduce which operands need a
gradient to run the same products. The forward calls are timed in blocks of
``--floor-steps`` consecutive steps, then the backward calls likewise
(``perf_counter``; on CUDA a ``synchronize`` before and after each block),
``--floor-blocks`` blocks of each per run; the floor is the median forward
block's time per step plus the median backward block's. The fastest block
(forward plus backward) is reported beside it.

**The steps**, in the same process, on the same data, at the same batch size:

* ``skimb``: ``ImbalancedTorchClassifier(module=..., random_state=0)`` with
  its default recipe (AdamW at the default ``lr``, gradients clipped to norm
  1, a cosine schedule over the fit, ``train_split=None``). Time per step is
  read from skimb's history: each epoch's ``dur`` (skorch's ``EpochTimer``,
  the whole epoch with its callbacks) divided by its number of batches.
* ``skorch``: a plain ``skorch.NeuralNetClassifier`` given a copy of the
  very module skimb built for this table (its fitted front included), with
  the same recipe from skorch's own pieces (``torch.optim.AdamW``,
  ``GradientNormClipping(1.0)``, ``LRScheduler("CosineAnnealingLR")``),
  cross-entropy (for TabM's ``(batch, k, classes)`` output, over all members'
  rows: the mean of the members' losses, as skimb trains it), float32 ``X``,
  int64 ``y``, a shuffled DataLoader. Per step as for skimb, from its history.
* ``hand loop``: a copy of the same module; ``X`` and ``y`` on the device
  once, a ``randperm`` per epoch, each batch gathered by index, AdamW,
  ``clip_grad_norm_``, the cosine schedule stepped per epoch, batch losses
  read once per epoch; ``perf_counter`` around each epoch divided by its
  steps.

The first epoch of every fit is a warm-up and is not counted; a fit's figure
is the median of its measured epochs. An epoch of 8,000 rows is 31 steps of
256 rows and one of 64: that last, cheaper step counts as a step, which
flatters the trainers by less than 1/32 (that much if it cost nothing).

The contenders run interleaved: every repeat times, for each thread count
(``torch.set_num_threads``) and each network, the floor, skimb, skorch and the
hand loop in turn, and each figure keeps its fastest run (as ``bench/speed.py
--repeats`` does), which damps other load on the machine. The report is
markdown, ready to paste into ``docs/benchmarks/speed.md``.
"""

from __future__ import annotations

import argparse
import copy
import platform
import statistics
import sys
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from skorch import NeuralNetClassifier
from skorch.callbacks import GradientNormClipping, LRScheduler
from torch import nn
from torch.profiler import ProfilerActivity, profile

import skorch
from skimb import ImbalancedTorchClassifier
from skimb.classifier import GRADIENT_CLIP
from skimb.networks import default_network
from speed import _loadavg, make_data

#: The networks, by the ``module=`` that builds them.
NETWORKS = {"default": None, "mlp": "mlp", "tabm": "tabm"}
#: The products the floor is made of (aten op names as the profiler records them).
PRODUCTS = {"aten::mm": torch.mm, "aten::addmm": torch.addmm,
            "aten::bmm": torch.bmm, "aten::baddbmm": torch.baddbmm}
DTYPES = {"float": torch.float32, "double": torch.float64,
          "c10::Half": torch.float16, "c10::BFloat16": torch.bfloat16}
#: skimb's default learning rate, which the skorch and hand-loop contenders use too.
LR = ImbalancedTorchClassifier().lr


@dataclass(frozen=True)
class Product:
    """One matrix-product call of a training step, as the profiler recorded it."""

    op: str                 # "aten::mm", ...
    phase: str              # "forward" or "backward"
    shapes: tuple           # tensor operands' shapes
    strides: tuple          # and strides
    dtypes: tuple

    @property
    def flops(self) -> int:
        """Multiply-adds x 2 of the product (the addend of addmm / baddbmm not counted)."""
        a, b = self.shapes[-2:]
        batch = a[0] if len(a) == 3 else 1
        return 2 * batch * a[-2] * a[-1] * b[-1]

    def operands(self, device) -> list[torch.Tensor]:
        """Tensors of the recorded shapes, strides and dtypes, filled with normal noise."""
        tensors = []
        for shape, stride, dtype in zip(self.shapes, self.strides, self.dtypes):
            span = 1 + sum((size - 1) * step for size, step in zip(shape, stride) if size)
            base = torch.randn(span, dtype=DTYPES[dtype], device=device)
            tensors.append(base.as_strided(shape, stride))
        return tensors

    def describe(self) -> str:
        """``[256, 320] · [320, 128]ᵀ``: the matrix operands (ᵀ: stored transposed)."""
        def one(shape, stride):
            transposed = len(shape) >= 2 and stride[-2] == 1 and stride[-1] != 1 and shape[-1] > 1
            return f"{list(shape)}{'ᵀ' if transposed else ''}"
        pairs = list(zip(self.shapes, self.strides))[-2:]
        return " · ".join(one(*pair) for pair in pairs)


def _products_of(events, phase) -> list[Product]:
    found = []
    for event in events:
        if event.name not in PRODUCTS:
            continue
        parent = event.cpu_parent
        while parent is not None and parent.name not in PRODUCTS:
            parent = parent.cpu_parent
        if parent is not None:  # a product inside another (counted once, as the outer one)
            continue
        tensors = [i for i, dtype in enumerate(event.input_dtypes) if dtype in DTYPES]
        found.append(Product(
            event.name, phase,
            tuple(tuple(event.input_shapes[i]) for i in tensors),
            tuple(tuple(event.structured_input_strides[i]) for i in tensors),
            tuple(event.input_dtypes[i] for i in tensors)))
    return found


def capture_products(module, X, y, batch_size, device) -> list[Product]:
    """The matrix products of one training step of ``module`` on the first ``batch_size`` rows."""
    module = copy.deepcopy(module).to(device).train()
    criterion = MemberCrossEntropy()
    xb = torch.from_numpy(X[:batch_size]).to(device)
    yb = torch.from_numpy(y[:batch_size]).to(device)
    criterion(module(xb), yb).backward()  # a first step off the record (lazy initialisations)
    module.zero_grad(set_to_none=True)
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as forward:
        loss = criterion(module(xb), yb)
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as backward:
        loss.backward()
    return (_products_of(forward.events(), "forward")
            + _products_of(backward.events(), "backward"))


def _sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def time_floor(products, device, steps, blocks) -> dict[str, list[float]]:
    """Seconds per step of every timed block of the replayed products, by phase.

    Returns ``{"forward": [...], "backward": [...]}``, one figure per block.
    """
    calls = {"forward": [], "backward": []}
    for product in products:
        fn = PRODUCTS[product.op]
        operands = product.operands(device)
        out = torch.empty_like(fn(*operands), memory_format=torch.contiguous_format)
        calls[product.phase].append((fn, operands, out))
    times = {phase: [] for phase in calls}
    for block in range(blocks + 1):  # the first block of each phase warms up
        for phase, phase_calls in calls.items():
            _sync(device)
            start = time.perf_counter()
            for _ in range(steps):
                for fn, operands, out in phase_calls:
                    fn(*operands, out=out)
            _sync(device)
            if block:
                times[phase].append((time.perf_counter() - start) / steps)
    return times


class MemberCrossEntropy(nn.Module):
    """Cross-entropy; for an ensemble's ``(batch, k, classes)`` output, over all members' rows."""

    def forward(self, y_pred, y_true):
        if y_pred.ndim == 3:
            return F.cross_entropy(y_pred.flatten(0, 1), y_true.repeat_interleave(y_pred.shape[1]))
        return F.cross_entropy(y_pred, y_true)


def _seconds_per_step(history, warmup) -> float:
    steps = [dur / len(batches)
             for dur, batches in zip(history[:, "dur"], history[:, "batches"])]
    return statistics.median(steps[warmup:])


def build_module(module, X, y, device):
    """The network ``ImbalancedTorchClassifier(module=module)`` builds for ``(X, y)``, untrained."""
    clf = ImbalancedTorchClassifier(module=module, device=device, max_epochs=0, random_state=0)
    return clf.fit(X, y).module_


def time_skimb(module, built, X, y, batch_size, device, warmup, epochs) -> float:
    clf = ImbalancedTorchClassifier(module=module, batch_size=batch_size, device=device,
                                    max_epochs=warmup + epochs, random_state=0)
    return _seconds_per_step(clf.fit(X, y).history, warmup)


def time_skorch(module, built, X, y, batch_size, device, warmup, epochs) -> float:
    torch.manual_seed(0)
    net = NeuralNetClassifier(
        copy.deepcopy(built), criterion=MemberCrossEntropy, optimizer=torch.optim.AdamW, lr=LR,
        max_epochs=warmup + epochs, batch_size=batch_size, train_split=None,
        iterator_train__shuffle=True, device=device, verbose=0,
        callbacks=[("gradient_clipping", GradientNormClipping(GRADIENT_CLIP)),
                   ("lr_scheduler", LRScheduler("CosineAnnealingLR", T_max=warmup + epochs))])
    return _seconds_per_step(net.fit(X, y).history, warmup)


def time_hand_loop(module, built, X, y, batch_size, device, warmup, epochs) -> float:
    torch.manual_seed(0)
    dev = torch.device(device)
    net = copy.deepcopy(built).to(dev).train()
    optimizer = torch.optim.AdamW(net.parameters(), lr=LR)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=warmup + epochs)
    criterion = MemberCrossEntropy()
    Xd, yd = torch.from_numpy(X).to(dev), torch.from_numpy(y).to(dev)
    n = len(yd)
    steps = []
    for _ in range(warmup + epochs):
        _sync(dev)
        start = time.perf_counter()
        order = torch.randperm(n, device=dev)
        losses = []
        for i in range(0, n, batch_size):
            rows = order[i:i + batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss = criterion(net(Xd[rows]), yd[rows])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), GRADIENT_CLIP)
            optimizer.step()
            losses.append(loss.detach())
        torch.stack(losses).cpu()  # the one host sync of the epoch
        schedule.step()
        _sync(dev)
        steps.append((time.perf_counter() - start) / len(losses))
    return statistics.median(steps[warmup:])


TRAINERS = (("skimb", time_skimb), ("skorch", time_skorch), ("hand loop", time_hand_loop))


def network_legend(name, built, device) -> str:
    """What a network row is: the ``module=`` that builds it and its size on this table."""
    size = f"{sum(p.numel() for p in built.parameters()):,} parameters"
    if NETWORKS[name] is not None:
        return f"`{name}`: `module={name!r}` with its defaults, {size}"
    default, params = default_network(torch.device(device).type)
    given = ", ".join(f"{key}={value!r}" for key, value in params.items())
    return f"`{name}`: `module=None` on {device}, i.e. `{default!r}` with {given}, {size}"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="bench/speed.py --floor", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=None, help="default 8000")
    parser.add_argument("--features", type=int, default=None, help="default 20")
    parser.add_argument("--classes", type=int, default=7)
    parser.add_argument("--batch-size", type=int, default=None, help="default 256")
    parser.add_argument("--networks", nargs="+", choices=list(NETWORKS), default=list(NETWORKS))
    parser.add_argument("--threads", type=int, nargs="+", default=None,
                        help="torch thread counts, each timed in turn (default: 1 2 on CPU; "
                             "torch's own on CUDA)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="measured epochs per fit, after the warm-up (default 3)")
    parser.add_argument("--warmup", type=int, default=1, help="warm-up epochs per fit (default 1)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="interleaved runs of every contender; each keeps its fastest "
                             "(default 3)")
    parser.add_argument("--floor-steps", type=int, default=None,
                        help="steps per timed block of the replayed products (default 10)")
    parser.add_argument("--floor-blocks", type=int, default=None,
                        help="timed blocks per phase and run (default 15)")
    parser.add_argument("--only-floor", action="store_true",
                        help="the shapes and the floor only, no trainer")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 600 rows x 4 features, batch 64, one thread, one "
                             "measured epoch, tiny floor blocks")
    parser.add_argument("--out", default=None, help="also write the report to this markdown file")
    args = parser.parse_args(argv)
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: CUDA is not available")
    quick = args.quick
    defaults = dict(rows=(600, 8000), features=(4, 20), batch_size=(64, 256), epochs=(1, 3),
                    repeats=(1, 3), floor_steps=(2, 10), floor_blocks=(3, 15))
    for name, (small, full) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, small if quick else full)
    if args.threads is None:
        args.threads = [1] if quick else ([1, 2] if args.device == "cpu"
                                          else [torch.get_num_threads()])
    if min(args.threads) < 1 or args.batch_size < 1 or args.rows < args.batch_size:
        parser.error("--threads and --batch-size must be >= 1, --rows >= --batch-size")
    if min(args.epochs, args.repeats, args.floor_steps, args.floor_blocks) < 1 or args.warmup < 0:
        parser.error("--epochs, --repeats, --floor-steps and --floor-blocks must be >= 1, "
                     "--warmup >= 0")
    return args


def _without_out(argv) -> list[str]:
    """The arguments less ``--out FILE`` (where the report goes is no part of the setting)."""
    kept, skip = [], False
    for arg in argv:
        if skip or arg == "--out":
            skip = not skip
            continue
        if not arg.startswith("--out="):
            kept.append(arg)
    return kept


def _ms(seconds) -> str:
    return f"{seconds * 1e3:.3f}"


def shapes_table(products_by_network) -> list[str]:
    lines = ["| network | phase | op | operands (ᵀ: stored transposed) | MFLOP |",
             "|---|---|---|---|---:|"]
    for name, products in products_by_network.items():
        for product in products:
            lines.append(f"| {name} | {product.phase} | {product.op[6:]} | "
                         f"{product.describe()} | {product.flops / 1e6:.2f} |")
        totals = {phase: sum(p.flops for p in products if p.phase == phase)
                  for phase in ("forward", "backward")}
        lines.append(f"| {name} | **step** | {len(products)} calls | "
                     f"forward {totals['forward'] / 1e6:.2f} + backward "
                     f"{totals['backward'] / 1e6:.2f} | "
                     f"**{sum(totals.values()) / 1e6:.2f}** |")
    return lines


def floor_table(best, args, trainers) -> list[str]:
    header = ["network", "threads", "floor fwd ms", "floor bwd ms", "floor ms/step",
              "fastest block ms"]
    for name in trainers:
        header += [f"{name} ms/step", f"{name} / floor"]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    for name in args.networks:
        for threads in args.threads:
            fwd = best[name, threads, "forward"]
            bwd = best[name, threads, "backward"]
            floor = fwd + bwd
            row = [name, str(threads), _ms(fwd), _ms(bwd), f"**{_ms(floor)}**",
                   _ms(best[name, threads, "fastest block"])]
            for trainer in trainers:
                step = best[name, threads, trainer]
                row += [_ms(step), f"**{step / floor:.1f}x**"]
            lines.append("| " + " | ".join(row) + " |")
    return lines


def measure(args, built, products, trainers, X, y) -> dict:
    """Time the floor and the trainers, interleaved; keep each figure's fastest run.

    Returns ``{(network, threads, figure): seconds per step}`` for the figures
    ``"forward"``, ``"backward"`` (the floor's median blocks), ``"fastest block"``
    and each trainer's name.
    """
    best = {}
    def keep(key, seconds):
        best[key] = min(seconds, best.get(key, float("inf")))

    for repeat in range(args.repeats):
        for threads in args.threads:
            torch.set_num_threads(threads)
            for name in args.networks:
                times = time_floor(products[name], args.device, args.floor_steps,
                                   args.floor_blocks)
                figures = {phase: statistics.median(blocks) for phase, blocks in times.items()}
                figures["fastest block"] = min(map(sum, zip(*times.values())))
                for trainer, timer in TRAINERS:
                    if trainer in trainers:
                        figures[trainer] = timer(NETWORKS[name], built[name], X, y,
                                                 args.batch_size, args.device, args.warmup,
                                                 args.epochs)
                for figure, seconds in figures.items():
                    keep((name, threads, figure), seconds)
                print(f"  run {repeat + 1}, {threads} thread(s), {name}: "
                      + ", ".join(f"{figure} {_ms(seconds)}" for figure, seconds in figures.items())
                      + " ms/step", flush=True)
    return best


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    device_name = (torch.cuda.get_device_name(0) if args.device == "cuda"
                   else platform.processor() or platform.machine())
    header = [
        "### Setting",
        "",
        "- command: `" + " ".join(["python bench/speed.py --floor", *_without_out(argv)]) + "`",
        f"- device: {args.device} ({device_name}); torch {torch.__version__}, "
        f"skorch {skorch.__version__}, python {platform.python_version()}",
        f"- data: {args.rows:,} rows x {args.features} features, {args.classes} classes "
        f"(imbalanced, bench/speed.py's make_data), batch {args.batch_size}",
        f"- {args.repeats} interleaved run(s); per fit {args.warmup} warm-up + {args.epochs} "
        f"measured epoch(s), median; floor {args.floor_blocks} blocks x {args.floor_steps} "
        "steps per phase, median; each figure the fastest of its runs",
        f"- load average at start: {_loadavg()}",
    ]
    X, y = make_data(args.rows, args.features, args.classes)
    built, products = {}, {}
    for name in args.networks:
        built[name] = build_module(NETWORKS[name], X, y, args.device)
        products[name] = capture_products(built[name], X, y, args.batch_size, args.device)
        header.append("- " + network_legend(name, built[name], args.device))
    header.append("")
    print("\n".join(header), flush=True)
    trainers = [] if args.only_floor else [name for name, _ in TRAINERS]
    best = measure(args, built, products, trainers, X, y)
    lines = ["", f"### Matrix products of one step (batch {args.batch_size})", "",
             *shapes_table(products), "",
             f"### Step time against the floor ({args.device})", "",
             *floor_table(best, args, trainers), "",
             f"- load average at the end: {_loadavg()}"]
    if args.quick:
        lines.append("- (--quick smoke run: sizes too small for the figures to mean anything)")
    report = "\n".join(lines)
    print(report, flush=True)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write("\n".join(header) + report + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
