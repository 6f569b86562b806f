"""The index samplers (``skimb.samplers``), each against its definition: its quota, its class
frequencies, its schedule, its cap; and the registry. The properties every registered sampler
shares are in ``test_common.py``, the imbalanced-learn adapter in ``test_imblearn_adapter.py``.

Statistical checks use fixed generator seeds, so they are deterministic; their
tolerances are several standard deviations wide yet far tighter than the gap
between the strategy under test and the wrong alternatives (instance-balanced
vs class-balanced draws differ by >0.2 in class frequency here).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone

from skimb.samplers import (
    BalancedBatchSampler,
    EpochSampler,
    NoSampler,
    OverSampler,
    PowerSampler,
    ProgressiveSampler,
    SqrtSampler,
    UnderSampler,
    list_samplers,
    make_sampler,
)

COUNTS = np.array([5000, 1000, 100, 20])
N = int(COUNTS.sum())
C = len(COUNTS)


def _labels(counts, seed=0):
    """Encoded labels with ``counts[c]`` rows of class c, in shuffled order
    (so that row position and class are unrelated)."""
    y = np.repeat(np.arange(len(counts)), counts)
    np.random.default_rng(seed).shuffle(y)
    return torch.from_numpy(y).long()


@pytest.fixture(scope="module")
def y_imb():
    return _labels(COUNTS)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _bincount(y, idx, n_classes):
    return torch.bincount(y[idx], minlength=n_classes).numpy()


def _freqs(sampler, y, n_classes, epochs, batch_size=64, seed=0, epoch=None):
    """Pooled class frequencies over several epochs drawn from one generator."""
    g = _gen(seed)
    total = np.zeros(n_classes)
    for e in range(epochs):
        idx = sampler.epoch_indices(e if epoch is None else epoch, batch_size, g)
        total += _bincount(y, idx, n_classes)
    return total / total.sum()


# ---------------------------------------------------------------------------
# none
# ---------------------------------------------------------------------------


def test_none_is_a_permutation_every_epoch(y_imb):
    sampler = NoSampler().fit(y_imb, C)
    g = _gen(0)
    orders = []
    for epoch in range(3):
        idx = sampler.epoch_indices(epoch, 64, g)
        assert idx.dtype == torch.int64
        assert torch.equal(torch.sort(idx).values, torch.arange(N))
        orders.append(idx)
    # shuffled, and shuffled differently each epoch
    assert not torch.equal(orders[0], torch.arange(N))
    assert not torch.equal(orders[0], orders[1])
    assert not torch.equal(orders[1], orders[2])


# ---------------------------------------------------------------------------
# under
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "n_per_class, expected",
    [(None, [20, 20, 20, 20]), (60, [60, 60, 60, 20]), (1000, [1000, 1000, 100, 20]),
     (10**6, list(COUNTS))],
)
def test_under_draws_min_of_count_and_m_distinct_rows(y_imb, n_per_class, expected):
    sampler = UnderSampler(n_per_class=n_per_class).fit(y_imb, C)
    g = _gen(1)
    for epoch in range(3):
        idx = sampler.epoch_indices(epoch, 32, g)
        assert idx.dtype == torch.int64
        assert idx.numel() == sum(expected)
        assert torch.unique(idx).numel() == idx.numel(), "duplicate rows in one epoch"
        assert (idx >= 0).all() and (idx < N).all()
        assert _bincount(y_imb, idx, C).tolist() == expected


def test_under_output_is_shuffled_across_classes(y_imb):
    idx = UnderSampler().fit(y_imb, C).epoch_indices(0, 8, _gen(0))
    labels = y_imb[idx]
    # grouped-by-class output would have exactly C-1 label changes
    assert int((labels[1:] != labels[:-1]).sum()) > 2 * C


def test_under_covers_every_majority_row_across_epochs():
    y = _labels([200, 20], seed=3)
    sampler = UnderSampler().fit(y, 2)
    g = _gen(2)
    hits = torch.zeros(len(y), dtype=torch.long)
    n_epochs = 150
    for epoch in range(n_epochs):
        idx = sampler.epoch_indices(epoch, 16, g)
        hits += torch.bincount(idx, minlength=len(y))
    majority = y == 0
    assert (hits[majority] > 0).all(), "some majority rows never seen"
    # every minority row is taken every epoch (quota = its size)
    assert (hits[~majority] == n_epochs).all()
    # without replacement, each majority row is seen ~ n_epochs * 20 / 200 = 15 times;
    # a biased subset selection (e.g. always the same rows) would break this
    assert hits[majority].float().mean().item() == pytest.approx(15.0)
    assert hits[majority].max().item() < 40


# ---------------------------------------------------------------------------
# over / sqrt / power
# ---------------------------------------------------------------------------


def test_over_epoch_length_and_uniform_classes(y_imb):
    sampler = OverSampler().fit(y_imb, C)
    g = _gen(0)
    total = np.zeros(C)
    for epoch in range(5):
        idx = sampler.epoch_indices(epoch, 128, g)
        assert idx.numel() == N
        assert (idx >= 0).all() and (idx < N).all()
        total += _bincount(y_imb, idx, C)
    freqs = total / total.sum()
    # instance-balanced sampling would give 0.82/0.16/0.016/0.003
    np.testing.assert_allclose(freqs, np.full(C, 1 / C), atol=0.015)
    np.testing.assert_allclose(sampler.class_probabilities(0).numpy(), np.full(C, 1 / C))


def test_over_draws_rows_uniformly_within_a_class(y_imb):
    sampler = OverSampler().fit(y_imb, C)
    g = _gen(0)
    hits = torch.zeros(N, dtype=torch.long)
    for epoch in range(4):
        hits += torch.bincount(sampler.epoch_indices(epoch, 64, g), minlength=N)
    rare = (y_imb == 3).nonzero().flatten()
    # ~4 * 1530 / 20 = 306 draws per rare row; all rows used, none dominating
    assert (hits[rare] > 200).all() and (hits[rare] < 420).all()


@pytest.mark.parametrize(
    "sampler, q",
    [(SqrtSampler(), 0.5), (PowerSampler(), 0.5), (PowerSampler(q=0.25), 0.25),
     (PowerSampler(q=0.75), 0.75), (PowerSampler(q=1.0), 1.0), (PowerSampler(q=0.0), 0.0)],
    ids=["sqrt", "power-default", "power-0.25", "power-0.75", "power-1", "power-0"],
)
def test_power_class_frequencies_follow_counts_to_the_q(y_imb, sampler, q):
    sampler = clone(sampler).fit(y_imb, C)
    expected = COUNTS.astype(float) ** q / (COUNTS.astype(float) ** q).sum()
    np.testing.assert_allclose(sampler.class_probabilities(0).numpy(), expected, rtol=1e-12)
    g = _gen(5)
    total = np.zeros(C)
    for epoch in range(5):
        idx = sampler.epoch_indices(epoch, 64, g)
        assert idx.numel() == N
        total += _bincount(y_imb, idx, C)
    np.testing.assert_allclose(total / total.sum(), expected, atol=0.012)


def test_sqrt_differs_from_balanced_and_instance(y_imb):
    freqs = _freqs(SqrtSampler().fit(y_imb, C), y_imb, C, epochs=3)
    # sqrt: 0.605/0.271/0.086/0.038
    assert abs(freqs[0] - 0.25) > 0.2 and abs(freqs[0] - COUNTS[0] / N) > 0.1
    assert freqs[0] > freqs[1] > freqs[2] > freqs[3] > 0.02


@pytest.mark.parametrize("bad_q", [float("nan"), float("inf"), "half", None])
def test_power_rejects_non_finite_q(y_imb, bad_q):
    with pytest.raises(ValueError, match="q"):
        PowerSampler(q=bad_q).fit(y_imb, C)


# ---------------------------------------------------------------------------
# progressive
# ---------------------------------------------------------------------------


def test_progressive_probabilities_interpolate_instance_to_uniform(y_imb):
    T = 5
    sampler = ProgressiveSampler(n_epochs=T).fit(y_imb, C)
    instance = COUNTS / N
    uniform = np.full(C, 1 / C)
    for epoch in range(T):
        t = epoch / (T - 1)
        expected = (1 - t) * instance + t * uniform
        np.testing.assert_allclose(
            sampler.class_probabilities(epoch).numpy(), expected, rtol=1e-12, atol=1e-15
        )
    np.testing.assert_allclose(sampler.class_probabilities(0).numpy(), instance, rtol=1e-12)
    np.testing.assert_allclose(sampler.class_probabilities(T - 1).numpy(), uniform, rtol=1e-12)
    # after the schedule it stays class-balanced
    np.testing.assert_allclose(sampler.class_probabilities(3 * T).numpy(), uniform, rtol=1e-12)


def test_progressive_drawn_frequencies_follow_the_schedule(y_imb):
    T = 3
    sampler = ProgressiveSampler(n_epochs=T).fit(y_imb, C)
    for epoch in range(T):
        expected = sampler.class_probabilities(epoch).numpy()
        freqs = _freqs(sampler, y_imb, C, epochs=3, seed=epoch, epoch=epoch)
        np.testing.assert_allclose(freqs, expected, atol=0.015)
    # the rare class goes from ~0.3% of draws to ~25%
    first = _freqs(sampler, y_imb, C, epochs=2, epoch=0)
    last = _freqs(sampler, y_imb, C, epochs=2, epoch=T - 1)
    assert first[3] < 0.01 and last[3] > 0.22


def test_progressive_schedule_length_from_fit_unless_given(y_imb):
    uniform = np.full(C, 1 / C)
    from_fit = ProgressiveSampler().fit(y_imb, C, n_epochs=11)
    np.testing.assert_allclose(from_fit.class_probabilities(10).numpy(), uniform, rtol=1e-12)
    assert not np.allclose(from_fit.class_probabilities(9).numpy(), uniform, atol=1e-3)
    # its own n_epochs wins over the classifier's
    own = ProgressiveSampler(n_epochs=3).fit(y_imb, C, n_epochs=11)
    np.testing.assert_allclose(own.class_probabilities(2).numpy(), uniform, rtol=1e-12)


# ---------------------------------------------------------------------------
# balanced_batch
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [4, 7, 13, 64, 100, 255])
def test_balanced_batch_every_full_batch_is_balanced(y_imb, batch_size):
    sampler = BalancedBatchSampler().fit(y_imb, C)
    g = _gen(batch_size)
    for epoch in range(2):
        idx = sampler.epoch_indices(epoch, batch_size, g)
        assert idx.numel() == N
        assert (idx >= 0).all() and (idx < N).all()
        n_full = N // batch_size
        labels = y_imb[idx[: n_full * batch_size]].reshape(n_full, batch_size)
        per_batch = torch.stack(
            [torch.bincount(row, minlength=C) for row in labels]
        )
        spread = per_batch.max(dim=1).values - per_batch.min(dim=1).values
        assert int(spread.max()) <= 1
        assert (per_batch.sum(dim=1) == batch_size).all()
        # and the whole epoch holds every class equally often (to within one)
        epoch_counts = _bincount(y_imb, idx, C)
        assert epoch_counts.max() - epoch_counts.min() <= 1


def test_balanced_batch_start_class_is_random(y_imb):
    # with b=5 and C=4 one class gets 2 slots of the first batch; which one
    # must vary between epochs, or that class would be favoured every epoch
    sampler = BalancedBatchSampler().fit(y_imb, C)
    g = _gen(0)
    doubled = set()
    for epoch in range(20):
        first = _bincount(y_imb, sampler.epoch_indices(epoch, 5, g)[:5], C)
        doubled.add(int(first.argmax()))
    assert len(doubled) >= 3


def test_balanced_batch_uses_all_rows_of_small_class(y_imb):
    idx = BalancedBatchSampler().fit(y_imb, C).epoch_indices(0, 64, _gen(0))
    rare_rows = set((y_imb == 3).nonzero().flatten().tolist())
    assert set(idx[y_imb[idx] == 3].tolist()) == rare_rows


# ---------------------------------------------------------------------------
# max_per_class
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("batch_size", [7, 13, 64])
def test_balanced_batch_cap_gives_cap_rows_per_class(y_imb, batch_size):
    sampler = BalancedBatchSampler(max_per_class=50).fit(y_imb, C)
    g = _gen(batch_size)
    for epoch in range(3):
        idx = sampler.epoch_indices(epoch, batch_size, g)
        assert _bincount(y_imb, idx, C).tolist() == [50] * C


def test_none_with_cap_cuts_large_classes_without_duplicates(y_imb):
    sampler = NoSampler(max_per_class=300).fit(y_imb, C)
    g = _gen(0)
    first = sampler.epoch_indices(0, 64, g)
    second = sampler.epoch_indices(1, 64, g)
    for idx in (first, second):
        assert torch.unique(idx).numel() == idx.numel()
        assert _bincount(y_imb, idx, C).tolist() == [300, 300, 100, 20]
    # a different subset of the majority class each epoch
    assert set(first.tolist()) != set(second.tolist())


def test_under_cap_below_n_per_class(y_imb):
    sampler = UnderSampler(n_per_class=80, max_per_class=30).fit(y_imb, C)
    idx = sampler.epoch_indices(0, 16, _gen(0))
    assert _bincount(y_imb, idx, C).tolist() == [30, 30, 30, 20]


@pytest.mark.parametrize("bad", [0, -1, 1.5])
def test_invalid_n_per_class_raises(y_imb, bad):
    with pytest.raises(ValueError, match="n_per_class"):
        UnderSampler(n_per_class=bad).fit(y_imb, C)


# ---------------------------------------------------------------------------
# empty classes, refits
# ---------------------------------------------------------------------------


def test_empty_classes_do_not_shrink_balanced_targets():
    counts = [0, 400, 0, 90, 25]
    y = _labels(counts)
    # under: m is the smallest *present* class
    idx = UnderSampler().fit(y, 5).epoch_indices(0, 8, _gen(0))
    assert _bincount(y, idx, 5).tolist() == [0, 25, 0, 25, 25]
    # over: uniform over the present classes
    over = OverSampler().fit(y, 5)
    np.testing.assert_allclose(over.class_probabilities(0).numpy(), [0, 1 / 3, 0, 1 / 3, 1 / 3])
    # progressive: ends uniform over the present classes
    prog = ProgressiveSampler(n_epochs=2).fit(y, 5)
    np.testing.assert_allclose(prog.class_probabilities(1).numpy(), [0, 1 / 3, 0, 1 / 3, 1 / 3])
    # balanced_batch: batches of 6 hold 2 rows of each present class
    idx = BalancedBatchSampler().fit(y, 5).epoch_indices(0, 6, _gen(0))
    first = _bincount(y, idx[:6], 5)
    assert first.tolist() == [0, 2, 0, 2, 2]


def test_fit_uses_only_the_labels_it_is_given(y_imb):
    sampler = UnderSampler().fit(y_imb, C)
    assert sampler.class_counts_.tolist() == COUNTS.tolist()
    # refitting on another portion replaces the state entirely
    y_small = _labels([30, 12], seed=9)
    sampler.fit(y_small, 2)
    idx = sampler.epoch_indices(0, 8, _gen(0))
    assert int(idx.max()) < 42
    assert _bincount(y_small, idx, 2).tolist() == [12, 12]


def test_fit_accepts_numpy_labels():
    y = np.repeat([0, 1], [30, 6])
    idx = UnderSampler().fit(y, 2).epoch_indices(0, 4, _gen(0))
    assert np.bincount(y[idx.numpy()]).tolist() == [6, 6]


# ---------------------------------------------------------------------------
# registry: list_samplers / make_sampler
# ---------------------------------------------------------------------------

EXPECTED = {
    "none": NoSampler,
    "under": UnderSampler,
    "over": OverSampler,
    "sqrt": SqrtSampler,
    "power": PowerSampler,
    "progressive": ProgressiveSampler,
    "balanced_batch": BalancedBatchSampler,
}


def test_list_samplers_holds_the_contract_names():
    names = list_samplers()
    assert names == sorted(names)
    assert set(EXPECTED) <= set(names)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_make_sampler_by_name(name):
    sampler = make_sampler(name, {})
    assert type(sampler) is EXPECTED[name]
    assert make_sampler(name, {}) is not sampler  # fresh every time


def test_make_sampler_none_means_no_sampler():
    assert type(make_sampler(None, {})) is NoSampler


def test_make_sampler_unknown_name_lists_valid_names():
    with pytest.raises(ValueError) as info:
        make_sampler("undersample", {})
    message = str(info.value)
    assert "undersample" in message
    for name in list_samplers():
        assert name in message


@pytest.mark.parametrize("spec", [42, object(), ["under"]])
def test_make_sampler_rejects_other_objects(spec):
    with pytest.raises(ValueError):
        make_sampler(spec, {})


def test_make_sampler_routes_params(y_imb):
    power = make_sampler("power", {"q": 0.25, "max_per_class": 500})
    assert (power.q, power.max_per_class) == (0.25, 500)
    power.fit(y_imb, C)
    expected = COUNTS**0.25 / (COUNTS**0.25).sum()
    np.testing.assert_allclose(power.class_probabilities(0).numpy(), expected)
    under = make_sampler("under", {"n_per_class": 7}).fit(y_imb, C)
    assert _bincount(y_imb, under.epoch_indices(0, 4, _gen(0)), C).tolist() == [7] * C
    prog = make_sampler("progressive", {"n_epochs": 2}).fit(y_imb, C, n_epochs=50)
    np.testing.assert_allclose(prog.class_probabilities(1).numpy(), np.full(C, 1 / C))


@pytest.mark.parametrize(
    "name, params",
    [("over", {"q": 0.3}), ("sqrt", {"q": 0.3}), ("under", {"bogus": 1}),
     ("none", {"n_per_class": 3}), ("balanced_batch", {"n_epochs": 3})],
)
def test_make_sampler_invalid_param_raises(name, params):
    with pytest.raises(ValueError):
        make_sampler(name, params)


def test_make_sampler_clones_skimb_instance(y_imb):
    original = UnderSampler(n_per_class=5).fit(y_imb, C)
    before = original.get_params()
    made = make_sampler(original, {"max_per_class": 3})
    assert made is not original
    assert isinstance(made, UnderSampler)
    assert made.get_params() == {"n_per_class": 5, "max_per_class": 3}
    assert original.get_params() == before
    # the original keeps its own fitted state; the new one starts unfitted
    assert original.class_counts_.tolist() == COUNTS.tolist()
    assert not hasattr(made, "class_counts_")


def test_make_sampler_instance_invalid_param_raises():
    with pytest.raises(ValueError):
        make_sampler(OverSampler(), {"q": 0.5})


def test_epoch_sampler_base_is_abstract(y_imb):
    sampler = EpochSampler().fit(y_imb, C)
    with pytest.raises(NotImplementedError):
        sampler.epoch_indices(0, 8, _gen(0))
