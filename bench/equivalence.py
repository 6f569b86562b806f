"""Before/after equivalence check of ``ImbalancedTorchClassifier``.

Runs a fixed matrix of small configurations -- samplers x losses x networks x
targets (binary, 3-class, multi-label with 3 labels) x ``train_split`` (None or
``ValidSplit(5, stratified=True)``), as a covering design rather than the full
product, plus extras (``sample_weight``, ``decision="prior"`` / ``"tuned"``,
``loss__drw_epoch``, ``partial_fit`` / warm-start continuation,
``max_epochs="auto"`` on a tiny table, a few combinations that must raise) --
and records, per configuration key, ``predict_proba`` and ``predict`` on fixed
held-out rows (and the history's ``train_loss``, shown for diagnosis only).

A configuration that raises is recorded as ``error: <message>``; it agrees with
the other side when both raised the same message.

Usage (the package is imported from ``PYTHONPATH``, so point it at the code to
check; ``skimb.__file__`` is printed first)::

    # baseline, on the committed code in a worktree
    git -C /work/main worktree add /work/baseline HEAD
    cd /work/baseline && PYTHONPATH=/work/baseline /work/main/.venv/bin/python \
        /work/main/bench/equivalence.py --save /work/equivalence_baseline.npz
    # after the refactor
    cd /work/main && PYTHONPATH=/work/main .venv/bin/python bench/equivalence.py \
        --compare /work/equivalence_baseline.npz

Options: ``--atol`` (default 1e-5) on max |delta proba|; ``--limit N`` runs
only the first N configurations (after ``--only``); ``--only SUBSTRING`` keeps
the keys containing it (repeatable: any of them); ``--list`` prints the keys;
``--allow-predict-flips`` does not fail on ``predict`` differences alone.
``--compare`` exits 1 when any configuration differs.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import make_classification, make_multilabel_classification
from torch import nn

N_TRAIN, N_TEST, N_FEATURES = 300, 60, 6
SAMPLERS = ("none", "under", "over", "sqrt", "progressive", "balanced_batch", "rus")
NETWORKS = ("mlp", "tabm", "user")
TARGETS = ("binary", "multiclass", "multilabel")
SPLITS = ("nosplit", "split")
#: Losses per target kind they support (bce/asl: binary or multi-label; the
#: multi-label losses are those of skimb.losses.multilabel_losses()).
LOSSES = {
    "binary": ("ce", "weighted_ce", "focal", "class_balanced", "ldam", "logit_adjusted",
               "balanced_softmax", "vs", "bce", "asl", "crl"),
    "multiclass": ("ce", "weighted_ce", "focal", "class_balanced", "ldam", "logit_adjusted",
                   "balanced_softmax", "vs", "crl"),
    "multilabel": ("ce", "bce", "focal", "asl", "crl"),
}
#: Configurations drawn per (target, loss) pair in the covering part.
PER_PAIR = 3
MAX_EPOCHS = 3


class TinyNet(nn.Module):
    """A user module: Linear-ReLU-Linear, sized by module__n_in / module__n_out."""

    def __init__(self, n_in=N_FEATURES, n_out=3, hidden=16):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, n_out))

    def forward(self, X):
        return self.body(X)


# -- data ------------------------------------------------------------------------------


def make_target_data(kind, n_train=N_TRAIN, n_test=N_TEST):
    """``(X_train, y_train, X_test)`` of one target kind, from fixed seeds."""
    n = n_train + n_test
    if kind == "binary":
        X, y = make_classification(n_samples=n, n_features=N_FEATURES, n_informative=4,
                                   n_redundant=0, weights=[0.85], class_sep=1.0,
                                   random_state=1)
    elif kind == "multiclass":
        X, y = make_classification(n_samples=n, n_features=N_FEATURES, n_informative=4,
                                   n_redundant=0, n_classes=3, weights=[0.7, 0.2, 0.1],
                                   class_sep=1.5, random_state=0)
    elif kind == "multilabel":
        X, y = make_multilabel_classification(n_samples=n, n_features=N_FEATURES, n_classes=3,
                                              n_labels=1, allow_unlabeled=True, random_state=2)
        # imbalance: keep label 2 on a third of its rows only
        rng = np.random.RandomState(2)
        y[:, 2] = y[:, 2] * (rng.rand(n) < 0.35)
        X = X.astype(np.float64)
    elif kind == "strings":
        X, y_int = make_classification(n_samples=n, n_features=N_FEATURES, n_informative=4,
                                       n_redundant=0, n_classes=3, weights=[0.7, 0.2, 0.1],
                                       class_sep=1.5, random_state=3)
        y = np.array(["dry", "ice", "wet"])[y_int]
    else:
        raise ValueError(kind)
    return X[:n_train], y[:n_train], X[n_train:]


def sample_weights(n, seed=5):
    """Non-uniform, positive per-row weights (0.25 .. 2), fixed."""
    return np.random.RandomState(seed).choice([0.25, 0.5, 1.0, 2.0], size=n)


# -- the matrix ------------------------------------------------------------------------


def _sampler_value(name):
    if name == "rus":
        from imblearn.under_sampling import RandomUnderSampler
        return RandomUnderSampler(random_state=0)
    return name


def _split_value(name):
    if name == "split":
        from skorch.dataset import ValidSplit
        return ValidSplit(5, stratified=True)
    return None


def _n_outputs(target, loss):
    if target == "binary":
        return 1 if loss in ("bce", "asl") else 2
    return 3


def config(key, target, sampler="none", loss="ce", network="mlp", split="nosplit", *,
           params=None, fit="fit", n_train=N_TRAIN, weights=False):
    """One configuration: a dict that :func:`run_config` turns into a fit."""
    return dict(key=key, target=target, sampler=sampler, loss=loss, network=network,
                split=split, params=dict(params or {}), fit=fit, n_train=n_train,
                weights=weights)


def _key(target, sampler, loss, network, split, extra=""):
    return "/".join([target, sampler, loss, network, split]) + (f"/{extra}" if extra else "")


def covering_configs():
    """``PER_PAIR`` configurations per valid (target, loss) pair, the sampler, the network
    and the split each cycling on its own counter, so every value of every axis recurs
    and meets many values of the others."""
    out = []
    i = 0
    for target in TARGETS:
        for loss in LOSSES[target]:
            for _ in range(PER_PAIR):
                sampler = SAMPLERS[i % len(SAMPLERS)]
                network = NETWORKS[(i // 2) % len(NETWORKS)]
                split = SPLITS[(i // 5) % len(SPLITS)]
                i += 1
                if target == "multilabel" and sampler == "rus":
                    sampler = "sqrt"  # imblearn samplers take single-label targets only
                if loss == "ldam" and network == "tabm":
                    network = "mlp"  # ldam needs the MLP's cosine head (see error_configs)
                key = _key(target, sampler, loss, network, split)
                while key in {c["key"] for c in out}:
                    key += "+"
                out.append(config(key, target, sampler, loss, network, split))
    return out


def extra_configs():
    """Options off the main axes."""
    split = dict(split="split")
    return [
        # sample_weight
        config("extra/sample_weight/multiclass/none/ce/mlp", "multiclass", weights=True),
        config("extra/sample_weight/multiclass/over/weighted_ce/tabm/split", "multiclass",
               "over", "weighted_ce", "tabm", weights=True, **split),
        config("extra/sample_weight/binary/rus/focal/user", "binary", "rus", "focal", "user",
               weights=True),
        config("extra/sample_weight/multilabel/under/bce/mlp/split", "multilabel", "under",
               "bce", weights=True, **split),
        # decisions
        config("extra/decision_prior/multiclass/none/ce/mlp", "multiclass",
               params=dict(decision="prior")),
        config("extra/decision_prior/binary/sqrt/weighted_ce/tabm", "binary", "sqrt",
               "weighted_ce", "tabm", params=dict(decision="prior", decision__tau=0.5)),
        config("extra/decision_prior/multilabel/none/bce/mlp", "multilabel", loss="bce",
               params=dict(decision="prior")),
        config("extra/decision_tuned/multiclass/none/ce/mlp/split", "multiclass",
               params=dict(decision="tuned"), **split),
        config("extra/decision_tuned/binary/under/focal/tabm/split", "binary", "under", "focal",
               "tabm", params=dict(decision="tuned"), **split),
        config("extra/decision_tuned/multilabel/none/asl/mlp/split", "multilabel", loss="asl",
               params=dict(decision="tuned"), **split),
        config("extra/decision_tuned/multiclass/none/ce/mlp/min_count", "multiclass",
               params=dict(decision="tuned", decision__min_count=1, decision__shrinkage=0),
               **split),
        # deferred re-weighting
        config("extra/drw2/multiclass/none/weighted_ce/mlp", "multiclass", loss="weighted_ce",
               params=dict(loss__drw_epoch=2)),
        config("extra/drw2/binary/over/weighted_ce/user/split", "binary", "over", "weighted_ce",
               "user", params=dict(loss__drw_epoch=2), **split),
        config("extra/drw2/multiclass/none/class_balanced/tabm", "multiclass",
               loss="class_balanced", network="tabm", params=dict(loss__drw_epoch=2)),
        # continuation
        config("extra/partial_fit/multiclass/under/ce/mlp", "multiclass", "under", fit="partial"),
        config("extra/partial_fit/multilabel/none/focal/tabm/split", "multilabel",
               loss="focal", network="tabm", fit="partial", **split),
        config("extra/warm_start/binary/sqrt/ldam/mlp", "binary", "sqrt", "ldam", fit="warm"),
        config("extra/partial_fit/multiclass/rus/vs/user/weights", "multiclass", "rus", "vs",
               "user", fit="partial", weights=True),
        # max_epochs="auto" (240 epochs) on a tiny table
        config("extra/auto_epochs/multiclass/none/ce/mlp/n60", "multiclass", n_train=60,
               params=dict(max_epochs="auto")),
        config("extra/auto_epochs/binary/balanced_batch/focal/tabm/split/n60", "binary",
               "balanced_batch", "focal", "tabm", n_train=60,
               params=dict(max_epochs="auto"), **split),
        # other parameters
        config("extra/default_network/multiclass/none/ce", "multiclass", network="default"),
        config("extra/strings/multiclass/sqrt/logit_adjusted/mlp", "strings", "sqrt",
               "logit_adjusted"),
        config("extra/sampler_params/multiclass/power/ce/mlp", "multiclass", "power",
               params=dict(sampler__q=0.25, sampler__max_per_class=100)),
        config("extra/loss_params/multiclass/none/focal/mlp", "multiclass", loss="focal",
               params=dict(loss__gamma=1.0)),
        config("extra/loss_params/multilabel/none/bce/mlp", "multilabel", loss="bce",
               params=dict(loss__pos_weight="auto")),
        config("extra/threshold/multilabel/none/ce/mlp", "multilabel",
               params=dict(threshold=0.3)),
        config("extra/batch_size/multiclass/over/crl/mlp", "multiclass", "over", "crl",
               params=dict(batch_size=64)),
    ]


def error_configs():
    """Combinations the library rejects: recorded as errors, must keep raising."""
    return [
        config("error/multiclass/none/bce/mlp", "multiclass", loss="bce"),
        config("error/multiclass/none/asl/mlp", "multiclass", loss="asl"),
        config("error/multilabel/none/weighted_ce/mlp", "multilabel", loss="weighted_ce"),
        config("error/multilabel/rus/ce/mlp", "multilabel", "rus"),
        config("error/multiclass/none/ldam/tabm", "multiclass", loss="ldam", network="tabm"),
        config("error/multiclass/none/ce/mlp/tuned_nosplit", "multiclass",
               params=dict(decision="tuned")),
    ]


def all_configs():
    configs = covering_configs() + extra_configs() + error_configs()
    keys = [c["key"] for c in configs]
    assert len(keys) == len(set(keys)), "duplicate configuration keys"
    return configs


# -- running ---------------------------------------------------------------------------


def _seed_everything(seed=0):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def build(cfg):
    from skimb import ImbalancedTorchClassifier

    params = dict(sampler=_sampler_value(cfg["sampler"]), loss=cfg["loss"],
                  train_split=_split_value(cfg["split"]), max_epochs=MAX_EPOCHS,
                  device="cpu", random_state=0)
    network = cfg["network"]
    if network == "mlp":
        params.update(module="mlp", module__hidden_units=(16,))
    elif network == "tabm":
        params.update(module="tabm", module__k=2, module__hidden_units=(16, 16))
    elif network == "user":
        params.update(module=TinyNet, module__n_in=N_FEATURES,
                      module__n_out=_n_outputs(cfg["target"], cfg["loss"]))
    elif network != "default":
        raise ValueError(network)
    params.update(cfg["params"])
    return ImbalancedTorchClassifier(**params)


def run_config(cfg):
    """``{"proba", "pred", "train_loss"}`` arrays, or ``{"error": message}``."""
    _seed_everything(0)
    try:
        X, y, X_test = make_target_data(cfg["target"], n_train=cfg["n_train"])
        fit_kw = {"sample_weight": sample_weights(len(X))} if cfg["weights"] else {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf = build(cfg)
            clf.fit(X, y, **fit_kw)
            if cfg["fit"] == "partial":
                clf.partial_fit(X, y, **fit_kw)
            elif cfg["fit"] == "warm":
                clf.set_params(warm_start=True)
                clf.fit(X, y, **fit_kw)
            proba = np.asarray(clf.predict_proba(X_test), dtype=np.float64)
            pred = np.asarray(clf.predict(X_test))
        losses = np.asarray([row.get("train_loss", np.nan) for row in clf.history],
                            dtype=np.float64)
        return {"proba": proba, "pred": pred, "train_loss": losses}
    except Exception as exc:  # noqa: BLE001 -- recorded, compared with the other side
        message = " ".join(f"{type(exc).__name__}: {exc}".split())
        return {"error": f"error: {message}"}


def select(configs, only=None, limit=None):
    if only:
        configs = [c for c in configs if any(s in c["key"] for s in only)]
    if limit is not None:
        configs = configs[:limit]
    return configs


def run_matrix(configs, verbose=True):
    """Run ``configs`` on one torch thread (restored after): the results must not depend on
    the machine's cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _run_matrix(configs, verbose)
    finally:
        torch.set_num_threads(threads)


def _run_matrix(configs, verbose):
    results = {}
    start = time.perf_counter()
    for n, cfg in enumerate(configs, 1):
        t0 = time.perf_counter()
        results[cfg["key"]] = run_config(cfg)
        if verbose:
            status = results[cfg["key"]].get("error", "ok")
            print(f"[{n:3d}/{len(configs)}] {time.perf_counter() - t0:6.2f}s {cfg['key']}: "
                  f"{status[:100]}", flush=True)
    if verbose:
        print(f"{len(configs)} configurations in {time.perf_counter() - start:.1f}s", flush=True)
    return results


# -- saving and comparing ---------------------------------------------------------------


def save(path, results, meta=None):
    arrays, index = {}, {}
    for i, (key, res) in enumerate(results.items()):
        if "error" in res:
            index[key] = {"error": res["error"]}
            continue
        index[key] = {"id": i}
        for name in ("proba", "pred", "train_loss"):
            arrays[f"c{i}_{name}"] = res[name]
    arrays["__index__"] = np.array(json.dumps({"configs": index, "meta": meta or {}}))
    np.savez_compressed(path, **arrays)


def load(path):
    with np.load(path, allow_pickle=False) as data:
        index = json.loads(str(data["__index__"]))
        results = {}
        for key, entry in index["configs"].items():
            if "error" in entry:
                results[key] = {"error": entry["error"]}
            else:
                i = entry["id"]
                results[key] = {name: data[f"c{i}_{name}"]
                                for name in ("proba", "pred", "train_loss")}
    return results, index.get("meta", {})


def key_expects_error(key: str) -> bool:
    """Configurations under ``error/`` check a refusal; every other one must fit."""
    return key.startswith("error/")


def compare_one(key, before, after):
    """``(max |d proba|, predictions agree, max |d train_loss|, note)``; inf when not
    comparable."""
    if before is None:
        return np.inf, False, np.nan, "missing in the saved file"
    if "error" in after and not key_expects_error(key):
        return np.inf, False, np.nan, f"unexpected {after['error'][:70]!r}"
    if "error" not in after and key_expects_error(key):
        return np.inf, False, np.nan, "an expected error did not happen"
    if "error" in before or "error" in after:
        if before.get("error") == after.get("error"):
            return 0.0, True, 0.0, "same error"
        return np.inf, False, np.nan, (f"before {before.get('error', 'ok')[:70]!r} / "
                                       f"after {after.get('error', 'ok')[:70]!r}")
    pb, pa = before["proba"], after["proba"]
    if pb.shape != pa.shape:
        return np.inf, False, np.nan, f"proba shape {pb.shape} -> {pa.shape}"
    dp = float(np.max(np.abs(pb - pa))) if pb.size else 0.0
    same_pred = before["pred"].shape == after["pred"].shape and bool(
        np.array_equal(before["pred"], after["pred"]))
    lb, la = before["train_loss"], after["train_loss"]
    dl = float(np.nanmax(np.abs(lb - la))) if lb.shape == la.shape and lb.size else np.nan
    note = "" if lb.shape == la.shape else f"epochs {lb.size} -> {la.size}"
    return dp, same_pred, dl, note


def compare(saved, results, atol, allow_predict_flips=False):
    rows, failures = [], 0
    for key, after in results.items():
        dp, same_pred, dl, note = compare_one(key, saved.get(key), after)
        bad = not dp <= atol or (not same_pred and not allow_predict_flips)
        failures += bad
        rows.append((key, dp, same_pred, dl, note, bad))
    width = max([len(r[0]) for r in rows] + [13])
    print(f"\n| {'configuration':<{width}} | max abs d proba | predict | max d train_loss | "
          f"ok | note |")
    print(f"|{'-' * (width + 2)}|----------------:|:-------:|-----------------:|:--:|------|")
    for key, dp, same_pred, dl, note, bad in rows:
        print(f"| {key:<{width}} | {dp:15.3g} | {'same' if same_pred else 'DIFF':^7} | "
              f"{dl:16.3g} | {'NO' if bad else 'ok'} | {note} |")
    not_run = sorted(set(saved) - set(results))
    print(f"\n{len(rows) - failures}/{len(rows)} configurations agree (atol={atol:g}); "
          f"{failures} differ" + (f"; {len(not_run)} saved configurations not run"
                                  if not_run else ""))
    return failures


def describe_skimb():
    import skimb

    root = Path(skimb.__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"],
                                capture_output=True, text=True, timeout=30).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "skimb"],
                               capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit, dirty = "", ""
    return {"skimb_file": skimb.__file__, "commit": commit, "skimb_dirty": bool(dirty),
            "torch": torch.__version__}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--save", metavar="FILE.npz")
    mode.add_argument("--compare", metavar="FILE.npz")
    mode.add_argument("--list", action="store_true", help="print the configuration keys")
    parser.add_argument("--atol", type=float, default=1e-5)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--only", action="append", default=None, metavar="SUBSTRING")
    parser.add_argument("--allow-predict-flips", action="store_true")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)

    configs = select(all_configs(), args.only, args.limit)
    if args.list:
        for cfg in configs:
            print(cfg["key"])
        print(f"{len(configs)} configurations")
        return 0
    meta = describe_skimb()
    print(f"skimb: {meta['skimb_file']} (commit {meta['commit'][:12] or '?'}"
          f"{', skimb/ modified' if meta['skimb_dirty'] else ''})", flush=True)
    results = run_matrix(configs, verbose=not args.quiet)
    if args.save:
        save(args.save, results, meta)
        n_err = sum("error" in r for r in results.values())
        print(f"saved {len(results)} configurations ({n_err} recorded errors) to {args.save}")
        return 0
    saved, saved_meta = load(args.compare)
    print(f"comparing with {args.compare} (saved from {saved_meta.get('skimb_file')}, "
          f"commit {saved_meta.get('commit', '?')[:12]})")
    failures = compare(saved, results, args.atol, args.allow_predict_flips)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
