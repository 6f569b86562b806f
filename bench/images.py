"""Long-tailed images: losses x augmentations x samplers on scikit-learn's digits, and a CV choice.

Usage::

    python bench/images.py                                   # full run: about 35 min, 2 cores
    python bench/images.py --seeds 0 1 --ratios 20 --no-cv   # part of it
    python bench/images.py --quick                           # smoke run, seconds

Data: ``sklearn.datasets.load_digits`` (1,797 8x8 grey images, 174-183 per
digit), pixels 0..16 scaled to [0, 1], float32 arrays of shape (n, 1, 8, 8).
For every seed:

* a **balanced test set** of ``TEST_PER_CLASS`` (50) images of every digit,
  the first 50 of a seeded permutation of the digit's images;
* from the remaining images (124 to 133 per digit), a **long-tailed training
  set** with the exponential profile of Cui et al. (2019) and Cao et al. (2019):
  the class of rank ``r`` (0 = head, ``C - 1`` = tail) keeps
  ``n_r = round(N_MAX * ratio ** (-r / (C - 1)))`` images, ``N_MAX = 120``, so
  ``max / min`` is the imbalance ratio exactly (120 / 12 and 120 / 6). Which
  digit gets which rank is **shuffled per seed** (a seeded permutation of the
  ten digits), so the mean over seeds does not hinge on one digit being rare.
  For one seed the training sets of the different ratios are nested: every
  digit's rows are one seeded permutation, of which the first ``n_r`` are kept.

Model: ``SmallCNN``, two 3x3 convolutions (16 and 32 channels, ReLU), a 2x2
max-pooling and a head, ``nn.Linear`` or, for LDAM (``cosine=True``),
``skimb.modules.CosineLinear``. ``ImbalancedTorchClassifier`` with its default
recipe (AdamW, lr 2e-3 decayed to 0 on a cosine, gradient clipping, no
validation split, the last epoch kept), a fixed ``--epochs`` budget (60) and
batch 64, ``random_state`` = the seed.

The grid: losses ``ce``, ``weighted_ce``, ``focal``, ``ldam`` (with DRW,
``loss__drw_epoch=2/3``), ``logit_adjusted`` and ``balanced_softmax``;
``augment`` None, ``"mixup"`` (its defaults: alpha 0.2, partner "uniform",
every row) and ``"smote"`` (its defaults: 5 same-class neighbours in pixel
space, rate "rarity"); samplers ``"none"`` and ``"sqrt"``: 36 settings, each
fitted on every seed and ratio and scored on the balanced test set (macro-F1,
balanced accuracy, and the mean F1 of the three rarest classes, ``tail F1``).

The CV choice (unless ``--no-cv``): on every seed and each ratio of
``--cv-ratios``, ``GridSearchCV(scoring="f1_macro", cv=StratifiedKFold(3,
shuffle=True, random_state=seed))`` over the same 36 settings on the training
rows only (with ``--cv-epochs`` epochs); the refitted best model is scored on
the test set and compared with plain CE (sampler none, loss ce, augment None),
paired by seed.

The partner comparison (unless ``--no-partner``): mixup with
``augment__partner="balanced"`` for the 12 mixup settings, on the ratios of
``--partner-ratios``, against the grid's ``"uniform"`` ones.

Everything runs in this process, one fit at a time, with ``--threads`` (1)
torch threads. ``--rows-out`` writes one CSV row per fit (written as the run
goes, so a long run that is stopped keeps what it has); ``--out`` writes the
markdown report, which is also printed.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import statistics
import sys
import time
from itertools import product

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.metrics import balanced_accuracy_score, f1_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from torch import nn

import skorch

import skimb
from skimb import ImbalancedTorchClassifier
from skimb.modules import CosineLinear

N_CLASSES = 10
TEST_PER_CLASS = 50
N_MAX = 120
RATIOS = (10, 20)
SEEDS = (0, 1, 2, 3, 4)
EPOCHS = 60
BATCH_SIZE = 64
N_TAIL = 3   # the rarest classes averaged in "tail F1"

LOSSES = ("ce", "weighted_ce", "focal", "ldam", "logit_adjusted", "balanced_softmax")
AUGMENTS = (None, "mixup", "smote")
SAMPLERS = ("none", "sqrt")
#: Extra parameters each loss needs (LDAM: the cosine head and deferred re-weighting).
LOSS_PARAMS = {"ldam": {"loss__drw_epoch": 2 / 3, "module__cosine": True}}
BASELINE = ("none", "ce", None)   # (sampler, loss, augment): plain cross-entropy

#: ``--quick``: a few settings covering every loss, both samplers and both augmentations.
QUICK_SETTINGS = (("none", "ce", None), ("none", "weighted_ce", None), ("none", "focal", None),
                  ("sqrt", "ldam", "mixup"), ("none", "logit_adjusted", "smote"),
                  ("sqrt", "balanced_softmax", None))
QUICK_CV_SETTINGS = (("none", "ce", None), ("none", "logit_adjusted", None))

ROW_FIELDS = ("phase", "ratio", "seed", "sampler", "loss", "augment", "partner",
              "macro_f1", "balanced_accuracy", "tail_f1", "fit_s",
              "cv_f1", "chosen")
TABLE_COLUMNS = ("sampler", "loss", "augment")


# -- data -------------------------------------------------------------------------------

def long_tailed_counts(ratio: float, n_max: int = N_MAX, n_classes: int = N_CLASSES):
    """Images kept per class rank: ``round(n_max * ratio ** (-r / (C - 1)))``, r = 0 .. C-1.

    >>> long_tailed_counts(20).tolist()
    [120, 86, 62, 44, 32, 23, 16, 12, 8, 6]
    >>> long_tailed_counts(10).tolist()
    [120, 93, 72, 56, 43, 33, 26, 20, 15, 12]
    """
    ranks = np.arange(n_classes)
    return np.round(n_max * float(ratio) ** (-ranks / (n_classes - 1))).astype(np.int64)


def load_images():
    """The digits as float32 ``(1797, 1, 8, 8)`` images in [0, 1], and their labels."""
    digits = load_digits()
    X = (digits.images / 16.0).astype(np.float32)[:, None]
    return X, digits.target.astype(np.int64)


def make_split(seed: int, ratio: float, images=None, n_max: int = N_MAX,
               test_per_class: int = TEST_PER_CLASS):
    """``(X_train, y_train, X_test, y_test, order)`` of one seed and imbalance ratio.

    ``order[r]`` is the digit of rank ``r`` (0: the head, most images; the last:
    the tail). The test set holds ``test_per_class`` images of every digit; the
    training set ``long_tailed_counts(ratio, n_max)[r]`` images of digit ``order[r]``.
    """
    X, y = images if images is not None else load_images()
    rng = np.random.default_rng(seed)
    shuffled = [rng.permutation(np.flatnonzero(y == c)) for c in range(N_CLASSES)]
    test = np.sort(np.concatenate([rows[:test_per_class] for rows in shuffled]))
    pools = [rows[test_per_class:] for rows in shuffled]
    order = rng.permutation(N_CLASSES)
    counts = long_tailed_counts(ratio, n_max)
    if any(len(pools[order[r]]) < counts[r] for r in range(N_CLASSES)):
        raise ValueError(f"n_max={n_max} needs more images per digit than remain "
                         f"after the test set ({min(len(p) for p in pools)}).")
    kept = np.sort(np.concatenate([pools[order[r]][:counts[r]] for r in range(N_CLASSES)]))
    return X[kept], y[kept], X[test], y[test], order


# -- model ------------------------------------------------------------------------------

class SmallCNN(nn.Module):
    """Conv 3x3 (16) - ReLU - conv 3x3 (32) - ReLU - max-pool 2x2 - linear or cosine head."""

    def __init__(self, n_classes: int = N_CLASSES, channels: int = 16, cosine: bool = False):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, channels, 3, padding=1), nn.ReLU(),
            nn.Conv2d(channels, 2 * channels, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2), nn.Flatten())                       # (batch, 2C * 4 * 4)
        width = 2 * channels * 4 * 4
        self.head = CosineLinear(width, n_classes) if cosine else nn.Linear(width, n_classes)

    def forward(self, X):
        return self.head(self.features(X))


def setting_params(sampler, loss, augment, partner=None):
    """The classifier parameters of one setting."""
    params = {"sampler": sampler, "loss": loss, "augment": augment, **LOSS_PARAMS.get(loss, {})}
    if partner is not None:
        params["augment__partner"] = partner
    return params


def make_classifier(seed, epochs, batch_size=BATCH_SIZE, **params):
    return ImbalancedTorchClassifier(module=SmallCNN, max_epochs=epochs, batch_size=batch_size,
                                     random_state=seed, **params)


def scores(y_test, y_pred, order):
    tail = order[-N_TAIL:]
    return {
        "macro_f1": f1_score(y_test, y_pred, average="macro", zero_division=0),
        "balanced_accuracy": balanced_accuracy_score(y_test, y_pred),
        "tail_f1": f1_score(y_test, y_pred, labels=tail, average="macro", zero_division=0),
    }


def setting_name(sampler, loss, augment):
    return f"{sampler} / {loss} / {augment or '-'}"


# -- runs -------------------------------------------------------------------------------

class Rows:
    """The per-fit rows, kept in memory and appended to a CSV file as they come."""

    def __init__(self, path=None):
        self.rows = []
        self._file = None
        if path:
            self._file = open(path, "w", newline="", encoding="utf-8")
            self._writer = csv.DictWriter(self._file, fieldnames=ROW_FIELDS)
            self._writer.writeheader()
            self._file.flush()

    def add(self, **row):
        row = {key: row.get(key, "") for key in ROW_FIELDS}
        self.rows.append(row)
        if self._file:
            self._writer.writerow({key: ("" if value is None else value)
                                   for key, value in row.items()})
            self._file.flush()
        return row

    def close(self):
        if self._file:
            self._file.close()


def fit_and_score(split, seed, epochs, sampler, loss, augment, partner=None):
    X_train, y_train, X_test, y_test, order = split
    start = time.perf_counter()
    clf = make_classifier(seed, epochs, **setting_params(sampler, loss, augment, partner))
    clf.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    return {**scores(y_test, clf.predict(X_test), order), "fit_s": seconds}


def run_cv(split, seed, epochs, settings, n_folds):
    """GridSearchCV over ``settings`` on the training rows; the refitted choice on the test set."""
    X_train, y_train, X_test, y_test, order = split
    grid = [{key: [value] for key, value in setting_params(*s).items()} for s in settings]
    search = GridSearchCV(make_classifier(seed, epochs), grid, scoring="f1_macro",
                          cv=StratifiedKFold(n_folds, shuffle=True, random_state=seed),
                          refit=True, n_jobs=1, error_score="raise")
    start = time.perf_counter()
    search.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    best = search.best_params_
    chosen = (best["sampler"], best["loss"], best["augment"])
    result = {**scores(y_test, search.best_estimator_.predict(X_test), order),
              "fit_s": seconds, "cv_f1": search.best_score_, "chosen": setting_name(*chosen)}
    return chosen, result


# -- report -----------------------------------------------------------------------------

def mean_std(values):
    values = [float(v) for v in values]
    if not values:
        return float("nan"), float("nan")
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def fmt(values):
    mean, std = mean_std(values)
    return f"{mean:.3f} ± {std:.3f}"


def _select(rows, **where):
    return [r for r in rows if all(r[key] == value for key, value in where.items())]


def results_table(rows, settings, ratios, phase="grid"):
    """One line per setting: macro-F1, balanced accuracy and tail F1, mean ± std, per ratio."""
    head = ["sampler", "loss", "augment"]
    for ratio in ratios:
        head += [f"macro-F1 @{ratio}", f"bal. acc. @{ratio}", f"tail F1 @{ratio}"]
    lines = ["| " + " | ".join(head) + " |",
             "|" + "---|" * 3 + "---:|" * (3 * len(ratios))]
    for sampler, loss, augment in settings:
        cells = [sampler, loss, augment or "-"]
        for ratio in ratios:
            sel = _select(rows, phase=phase, ratio=ratio, sampler=sampler, loss=loss,
                          augment=augment)
            cells += [fmt(r["macro_f1"] for r in sel), fmt(r["balanced_accuracy"] for r in sel),
                      fmt(r["tail_f1"] for r in sel)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def counts_table(ratios, seeds, images):
    lines = ["| ratio | training images per class rank (head → tail) | total | max / min "
             "| test images per digit |", "|---:|---|---:|---:|---|"]
    for ratio in ratios:
        counts = long_tailed_counts(ratio)
        _, y_train, _, y_test, order = make_split(seeds[0], ratio, images)
        per_digit = np.bincount(y_train, minlength=N_CLASSES)
        assert sorted(per_digit.tolist()) == sorted(counts.tolist())
        test = sorted(set(np.bincount(y_test, minlength=N_CLASSES).tolist()))
        lines.append(f"| {ratio} | {', '.join(map(str, counts))} | {counts.sum()} | "
                     f"{counts.max() / counts.min():g} | {', '.join(map(str, test))} "
                     f"(every digit) |")
    lines.append("")
    lines.append("Digit of each rank, head → tail, per seed (the same for every ratio): "
                 + "; ".join(f"seed {s}: {''.join(map(str, make_split(s, ratios[0], images)[4]))}"
                             for s in seeds) + ".")
    return lines


def cv_section(rows, ratios, seeds):
    lines = []
    for ratio in ratios:
        cv = _select(rows, phase="cv", ratio=ratio)
        if not cv:
            continue
        base = {r["seed"]: r for r in _select(rows, phase="grid", ratio=ratio,
                                               sampler=BASELINE[0], loss=BASELINE[1],
                                               augment=BASELINE[2])}
        lines += [f"### Ratio {ratio}", "",
                  "| seed | CV choice (sampler / loss / augment) | CV macro-F1 | test macro-F1 "
                  "| plain CE test macro-F1 | difference |", "|---:|---|---:|---:|---:|---:|"]
        diffs = []
        for r in sorted(cv, key=lambda r: r["seed"]):
            b = base.get(r["seed"])
            diff = None if b is None else r["macro_f1"] - b["macro_f1"]
            if diff is not None:
                diffs.append(diff)
            lines.append(f"| {r['seed']} | {r['chosen']} | {r['cv_f1']:.3f} | {r['macro_f1']:.3f} "
                         f"| {'' if b is None else format(b['macro_f1'], '.3f')} "
                         f"| {'' if diff is None else format(diff, '+.3f')} |")
        cv_mean, cv_std = mean_std(r["macro_f1"] for r in cv)
        ce = [base[r["seed"]]["macro_f1"] for r in cv if r["seed"] in base]
        ce_mean, ce_std = mean_std(ce)
        d_mean, d_std = mean_std(diffs)
        lines += ["",
                  f"- CV choice: test macro-F1 {cv_mean:.3f} ± {cv_std:.3f}; plain CE "
                  f"{ce_mean:.3f} ± {ce_std:.3f} (mean ± std over {len(cv)} seeds).",
                  f"- Difference {cv_mean - ce_mean:+.3f}; paired by seed {d_mean:+.3f} ± "
                  f"{d_std:.3f}. Exceeds one std of plain CE ({ce_std:.3f}): "
                  f"**{'yes' if cv_mean - ce_mean > ce_std else 'no'}**; exceeds the larger "
                  f"std of the two ({max(cv_std, ce_std):.3f}): "
                  f"**{'yes' if cv_mean - ce_mean > max(cv_std, ce_std) else 'no'}**; "
                  f"the paired difference exceeds its own std: "
                  f"**{'yes' if d_mean > d_std else 'no'}**.",
                  f"- CV search time per seed: {fmt(r['fit_s'] for r in cv)} s.", ""]
    return lines


def partner_section(rows, ratios):
    lines = []
    for ratio in ratios:
        balanced = _select(rows, phase="partner", ratio=ratio)
        if not balanced:
            continue
        lines += [f"### Ratio {ratio}", "",
                  "| sampler | loss | macro-F1, partner uniform | macro-F1, partner balanced "
                  "| paired difference (balanced − uniform) |", "|---|---|---:|---:|---:|"]
        all_diffs = []
        keys = sorted({(r["sampler"], r["loss"]) for r in balanced},
                      key=lambda k: (SAMPLERS.index(k[0]) if k[0] in SAMPLERS else 9,
                                     LOSSES.index(k[1]) if k[1] in LOSSES else 9))
        for sampler, loss in keys:
            bal = {r["seed"]: r["macro_f1"] for r in
                   _select(balanced, sampler=sampler, loss=loss)}
            uni = {r["seed"]: r["macro_f1"] for r in
                   _select(rows, phase="grid", ratio=ratio, sampler=sampler, loss=loss,
                           augment="mixup")}
            diffs = [bal[s] - uni[s] for s in bal if s in uni]
            all_diffs += diffs
            lines.append(f"| {sampler} | {loss} | {fmt(uni.values())} | {fmt(bal.values())} "
                         f"| {fmt(diffs) if diffs else ''} |")
        d_mean, d_std = mean_std(all_diffs)
        wins = sum(d > 0 for d in all_diffs)
        lines += ["", f"- Over all {len(all_diffs)} (setting, seed) pairs: balanced − uniform "
                  f"= {d_mean:+.3f} ± {d_std:.3f}; balanced better in {wins} of "
                  f"{len(all_diffs)}.",
                  ""]
    return lines


def ranking_lines(rows, settings, ratios):
    lines = []
    for ratio in ratios:
        means = []
        for s in settings:
            sel = _select(rows, phase="grid", ratio=ratio, sampler=s[0], loss=s[1], augment=s[2])
            if sel:
                means.append((mean_std(r["macro_f1"] for r in sel)[0], s))
        if not means:
            continue
        means.sort(key=lambda m: -m[0])
        base = [m for m, s in means if s == BASELINE]
        top = ", ".join(f"{setting_name(*s)} {m:.3f}" for m, s in means[:3])
        lines.append(f"- Ratio {ratio}: best mean macro-F1 {top}"
                     + (f"; plain CE {base[0]:.3f}, rank "
                        f"{[s for _, s in means].index(BASELINE) + 1} of {len(means)}."
                        if base else "."))
        for group, values, index in (("loss", LOSSES, 1), ("augment", AUGMENTS, 2),
                                     ("sampler", SAMPLERS, 0)):
            parts = []
            for value in values:
                sel = [m for m, s in means if s[index] == value]
                if sel:
                    parts.append(f"{value or '-'} {statistics.fmean(sel):.3f}")
            lines.append(f"  - mean over the other factors, by {group}: " + ", ".join(parts))
    return lines


# -- command line -----------------------------------------------------------------------

def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=None,
                        help=f"seeds (default {' '.join(map(str, SEEDS))})")
    parser.add_argument("--ratios", type=float, nargs="+", default=None,
                        help=f"imbalance ratios (default {' '.join(map(str, RATIOS))})")
    parser.add_argument("--epochs", type=int, default=None,
                        help=f"epochs per fit (default {EPOCHS})")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--cv-epochs", type=int, default=None,
                        help="epochs per fit inside the CV search (default: --epochs)")
    parser.add_argument("--cv-folds", type=int, default=3)
    parser.add_argument("--cv-ratios", type=float, nargs="+", default=None,
                        help="ratios the CV choice runs on (default: all of --ratios)")
    parser.add_argument("--no-cv", action="store_true", help="skip the CV choice")
    parser.add_argument("--partner-ratios", type=float, nargs="+", default=None,
                        help="ratios of the mixup partner comparison (default: the largest ratio)")
    parser.add_argument("--no-partner", action="store_true",
                        help="skip the mixup partner comparison")
    parser.add_argument("--no-grid", action="store_true",
                        help="skip the 36-setting grid (plain CE is still fitted, for the CV "
                             "comparison)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 1 seed, 2 epochs, a few settings, a 2-candidate CV")
    parser.add_argument("--out", default=None, help="also write the markdown report here")
    parser.add_argument("--rows-out", default=None, help="write one CSV row per fit here")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds = args.seeds or [0]
        args.epochs = args.epochs or 2
        args.cv_folds = 2
    args.seeds = args.seeds or list(SEEDS)
    args.ratios = [_number(r) for r in (args.ratios or RATIOS)]
    args.epochs = args.epochs or EPOCHS
    args.cv_epochs = args.cv_epochs or args.epochs
    args.cv_ratios = [] if args.no_cv else [_number(r) for r in (args.cv_ratios or args.ratios)]
    args.partner_ratios = ([] if args.no_partner else
                           [_number(r) for r in (args.partner_ratios or [max(args.ratios)])])
    return args


def _number(value):
    value = float(value)
    return int(value) if value.is_integer() else value


def main(argv=None):
    """Run the benchmark; return ``{"markdown", "rows", "settings", "ratios", "seeds"}``."""
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    settings = list(QUICK_SETTINGS if args.quick else product(SAMPLERS, LOSSES, AUGMENTS))
    settings = [(s, l, a) for s, l, a in settings]
    settings.sort(key=lambda s: (LOSSES.index(s[1]), AUGMENTS.index(s[2]), SAMPLERS.index(s[0])))
    cv_settings = list(QUICK_CV_SETTINGS if args.quick else settings)
    grid_settings = [BASELINE] if args.no_grid else settings
    mixup_settings = [s for s in settings if s[2] == "mixup"]
    images = load_images()
    command = list(argv) if argv is not None else sys.argv[1:]
    all_ratios = sorted(set(args.ratios) | set(args.cv_ratios) | set(args.partner_ratios))

    header = [
        "# Long-tailed digits: losses × augmentations × samplers",
        "",
        f"- command: `python bench/images.py {' '.join(command)}`",
        f"- machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, "
        f"torch {torch.__version__} (CPU, {torch.get_num_threads()} thread), skorch "
        f"{skorch.__version__}, skimb {getattr(skimb, '__version__', '?')}, "
        f"python {platform.python_version()}",
        f"- data: `load_digits`, pixels / 16; per seed a balanced test set of {TEST_PER_CLASS} "
        f"images per digit and a long-tailed training set, "
        f"n_r = round({N_MAX} · ratio^(−r/9)), "
        f"digit order shuffled per seed",
        f"- model: SmallCNN (conv 16, conv 32, max-pool, linear head; CosineLinear head for "
        f"ldam), default recipe, {args.epochs} epochs, batch {args.batch_size}",
        f"- seeds {', '.join(map(str, args.seeds))}; ratios {', '.join(map(str, args.ratios))}; "
        f"CV choice on ratios {', '.join(map(str, args.cv_ratios)) or 'none'} "
        f"({len(cv_settings)} candidates, {args.cv_folds} folds, {args.cv_epochs} epochs); "
        f"mixup partner comparison on ratios {', '.join(map(str, args.partner_ratios)) or 'none'}",
        "",
    ]
    print("\n".join(header), flush=True)
    rows = Rows(args.rows_out)
    started = time.perf_counter()
    try:
        for seed in args.seeds:
            for ratio in all_ratios:
                split = make_split(seed, ratio, images)
                done = []
                if ratio in args.ratios or ratio in args.cv_ratios:
                    for s in (grid_settings if ratio in args.ratios else [BASELINE]):
                        result = fit_and_score(split, seed, args.epochs, *s)
                        rows.add(phase="grid", ratio=ratio, seed=seed, sampler=s[0], loss=s[1],
                                 augment=s[2], partner="uniform" if s[2] == "mixup" else None,
                                 **result)
                        done.append(result["fit_s"])
                    print(f"seed {seed} ratio {ratio}: {len(done)} fits, "
                          f"{statistics.fmean(done):.2f} s/fit "
                          f"({time.perf_counter() - started:.0f} s so far)", flush=True)
                if ratio in args.partner_ratios:
                    for s in mixup_settings:
                        if (ratio not in args.ratios or args.no_grid):
                            result = fit_and_score(split, seed, args.epochs, *s)
                            rows.add(phase="grid", ratio=ratio, seed=seed, sampler=s[0],
                                     loss=s[1], augment=s[2], partner="uniform", **result)
                        result = fit_and_score(split, seed, args.epochs, *s, partner="balanced")
                        rows.add(phase="partner", ratio=ratio, seed=seed, sampler=s[0],
                                 loss=s[1], augment=s[2], partner="balanced", **result)
                    print(f"seed {seed} ratio {ratio}: partner comparison done "
                          f"({time.perf_counter() - started:.0f} s so far)", flush=True)
                if ratio in args.cv_ratios:
                    chosen, result = run_cv(split, seed, args.cv_epochs, cv_settings,
                                            args.cv_folds)
                    rows.add(phase="cv", ratio=ratio, seed=seed, sampler=chosen[0],
                             loss=chosen[1], augment=chosen[2], **result)
                    print(f"seed {seed} ratio {ratio}: CV chose {setting_name(*chosen)} "
                          f"(cv {result['cv_f1']:.3f}, test {result['macro_f1']:.3f}, "
                          f"{result['fit_s']:.0f} s; "
                          f"{time.perf_counter() - started:.0f} s so far)",
                          flush=True)
    finally:
        rows.close()
    total = time.perf_counter() - started
    data = rows.rows

    fits = [r["fit_s"] for r in data if r["phase"] in ("grid", "partner")]
    lines = ["## Training and test sets", ""] + counts_table(all_ratios, args.seeds, images)
    table_ratios = [r for r in args.ratios]
    lines += ["", "## Test scores per setting", "",
              f"Mean ± std over {len(args.seeds)} seed(s). sampler / loss / augment; "
              f"`tail F1`: the mean F1 of the {N_TAIL} rarest classes.", ""]
    lines += results_table(data, grid_settings, table_ratios)
    lines += ["", "## Summary", ""] + ranking_lines(data, grid_settings, table_ratios)
    if args.cv_ratios:
        lines += ["", "## The CV choice against plain CE", "",
                  f"`GridSearchCV(scoring='f1_macro', cv=StratifiedKFold({args.cv_folds}, "
                  f"shuffle=True, random_state=seed))` over {len(cv_settings)} settings on "
                  f"the training rows, {args.cv_epochs} epochs per fit; the refitted choice "
                  f"scored on the test set.", ""]
        lines += cv_section(data, args.cv_ratios, args.seeds)
    if args.partner_ratios:
        lines += ["## MixUp partner: uniform against balanced", ""]
        lines += partner_section(data, args.partner_ratios)
    lines += ["## Cost", "",
              f"- {len(fits)} single fits, median {statistics.median(fits):.2f} s per fit "
              f"(min {min(fits):.2f}, max {max(fits):.2f}); whole run {total / 60:.1f} min."
              if fits else f"- whole run {total / 60:.1f} min."]
    if args.quick:
        lines.append("- (--quick smoke run: 2 epochs, the numbers mean nothing)")
    report = "\n".join(lines)
    print("\n" + report, flush=True)
    markdown = "\n".join(header) + "\n" + report + "\n"
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(markdown)
    return {"markdown": markdown, "rows": data, "settings": grid_settings,
            "ratios": table_ratios, "seeds": list(args.seeds)}


if __name__ == "__main__":
    main()
