"""The augmentations (``skimb.augment``) called directly, checked against their definitions.

MixUp's ``lam ~ Beta(alpha, alpha)`` (Kolmogorov-Smirnov), its mixed rows, weights and
code columns; class-balanced partners; CutMix's boxes (area ``1 - lam``, rectangles,
every channel); SMOTE on the fly (a point on the segment to one of the k nearest
same-class training rows); Gaussian noise in units of each feature's spread; the
class-aware rates (``classes``, ``rate="rarity"``, multi-label rows by their rarest
label) and the parameter checks. The classifier-level checks are in ``test_in_the_fit.py``;
what every registered augmentation declares, and that the declarations are honoured, is in
``test_common.py``.

Most tests give every row its own class (``y = arange(n)``): the MixedTarget's ``y_b``
is then the partner's position in the batch.
"""

import re

import numpy as np
import pytest
import torch
from scipy import stats

from skimb import list_augmentations
from skimb.augment import (CutMix, GaussianNoise, MixUp, SmoteOnTheFly, check_augmentation,
                           make_augmentation)
from skimb.augment.smote import same_class_neighbours
from skimb.losses import ClassRectificationLoss, CrossEntropy, MixedTarget
from skimb.samplers import rarest_positive_label
from tests.augment.contexts import CPU, context, fitted

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# -- MixUp -------------------------------------------------------------------------------


@pytest.mark.parametrize("alpha", [0.2, 1.0])
def test_mixup_lam_is_beta_and_rows_and_weights_are_mixed_with_the_partner(alpha):
    n = 4000
    y = torch.arange(n)  # one class per row: y_b names the partner
    gen = torch.Generator().manual_seed(0)
    X, w = torch.randn(n, 3, generator=gen), torch.rand(n, generator=gen) + 0.5
    aug = fitted(MixUp(alpha=alpha), y.numpy())
    X_mix, target, w_mix = aug(X.clone(), y, w.clone())
    assert isinstance(target, MixedTarget)
    assert torch.equal(target.y_a, y)
    partner = target.y_b
    assert sorted(partner.tolist()) == list(range(n))  # "uniform": a permutation
    lam = target.lam.double().numpy()
    assert stats.kstest(lam, stats.beta(alpha, alpha).cdf).pvalue > 1e-3
    # a wrong alpha is told apart (the test has power)
    assert stats.kstest(lam, stats.beta(2 * alpha + 1, 2 * alpha + 1).cdf).pvalue < 1e-3
    lam64 = torch.from_numpy(lam)
    X64 = X.double()
    expected = lam64[:, None] * X64 + (1 - lam64[:, None]) * X64[partner]
    np.testing.assert_allclose(X_mix.double().numpy(), expected.numpy(), atol=2e-6)
    expected_w = lam64 * w.double() + (1 - lam64) * w.double()[partner]
    np.testing.assert_allclose(w_mix.double().numpy(), expected_w.numpy(), rtol=1e-6)


def test_mixup_without_weights_gives_none():
    y = torch.arange(50)
    _, _, w = fitted(MixUp(), y.numpy())(torch.randn(50, 2), y, None)
    assert w is None


def test_mixup_rate_zero_leaves_every_row_and_lam_one():
    n = 200
    y = torch.arange(n)
    X, w = torch.randn(n, 3), torch.rand(n)
    X_mix, target, w_mix = fitted(MixUp(rate=0.0), y.numpy())(X.clone(), y, w.clone())
    assert torch.equal(X_mix, X) and torch.equal(w_mix, w)
    assert torch.all(target.lam == 1.0)


def test_mixup_rows_of_unchosen_classes_are_unchanged():
    n = 400
    y = torch.arange(n)
    chosen_classes = list(range(0, n, 2))  # the even rows' classes
    X, w = torch.randn(n, 3), torch.rand(n) + 0.5
    aug = fitted(MixUp(alpha=1.0, classes=chosen_classes), y.numpy())
    X_mix, target, w_mix = aug(X.clone(), y, w.clone())
    odd = torch.arange(1, n, 2)
    even = torch.arange(0, n, 2)
    assert torch.all(target.lam[odd] == 1.0)
    assert torch.equal(X_mix[odd], X[odd]) and torch.equal(w_mix[odd], w[odd])
    # the chosen rows are mixed: lam < 1 and X moved (with alpha=1, lam = 1 has measure 0)
    moved = target.lam[even] < 1.0
    assert moved.float().mean() > 0.99
    partner = target.y_b[even]
    real = moved & (partner != even)
    assert not torch.any(torch.all(X_mix[even][real] == X[even][real], dim=1))


def test_mixup_integer_leaves_and_code_columns_take_the_larger_share():
    n = 1000
    y = torch.arange(n)
    gen = torch.Generator().manual_seed(3)
    table = torch.randn(n, 4, generator=gen)
    table[:, 2] = torch.randint(0, 5, (n,), generator=gen).float()  # a code column
    tokens = torch.randint(0, 1000, (n, 3), generator=gen)
    # a table with a code column
    aug = fitted(MixUp(alpha=1.0), y.numpy(), discrete_columns=[2])
    X_mix, target, _ = aug(table.clone(), y)
    lam, partner = target.lam, target.y_b
    own = lam >= 0.5
    assert 0.3 < own.float().mean() < 0.7  # both cases occur
    np.testing.assert_array_equal(X_mix[:, 2].numpy(),
                                  torch.where(own, table[:, 2], table[partner, 2]).numpy())
    floats = [0, 1, 3]
    expected = lam[:, None] * table[:, floats] + (1 - lam[:, None]) * table[partner][:, floats]
    np.testing.assert_allclose(X_mix[:, floats].numpy(), expected.numpy(), atol=1e-6)
    # a dict input: integer (token) leaves keep the larger share's row, floats are mixed
    aug = fitted(MixUp(alpha=1.0), y.numpy())
    X_mix, target, _ = aug({"num": table.clone(), "tok": tokens.clone()}, y)
    lam, partner = target.lam, target.y_b
    assert X_mix["tok"].dtype == torch.int64
    np.testing.assert_array_equal(
        X_mix["tok"].numpy(), torch.where((lam >= 0.5)[:, None], tokens, tokens[partner]).numpy())
    expected = lam[:, None] * table + (1 - lam[:, None]) * table[partner]
    np.testing.assert_allclose(X_mix["num"].numpy(), expected.numpy(), atol=1e-6)


def test_mixup_mixes_multilabel_indicator_rows_with_one_lam_per_row():
    rng = np.random.default_rng(0)
    Y = (rng.random((300, 4)) < 0.3).astype(np.float32)
    Yt = torch.from_numpy(Y)
    X = torch.randn(300, 2)
    X_mix, target, _ = fitted(MixUp(alpha=1.0), Y)(X, Yt)
    assert target.lam.shape == (300,)
    assert torch.equal(target.y_a, Yt)
    # y_b is the partner's indicator row: some row of Y
    rows = {tuple(r) for r in Y.tolist()}
    assert all(tuple(r) in rows for r in target.y_b.tolist())


# -- partners ------------------------------------------------------------------------------


def _partner_class_share(partner_rule, y_batch, y_train, epochs=100):
    aug = MixUp(partner=partner_rule).fit(context(y_train), CPU)
    y = torch.as_tensor(y_batch)
    shares = []
    for seed in range(epochs):
        aug.start_epoch(seed)
        partner = aug.partners(y, balanced=partner_rule == "balanced")
        assert partner.min() >= 0 and partner.max() < len(y)
        shares.append(float((y[partner] == 1).float().mean()))
    return np.mean(shares), shares


def test_balanced_partners_are_drawn_inversely_to_the_class_counts():
    y = np.repeat([0, 1], [90, 10])
    share, _ = _partner_class_share("balanced", y, y)
    # per row 1/90 vs 1/10: 90/90 = 10/10 -> half the partners of class 1 (sd 0.005)
    assert abs(share - 0.5) < 0.03
    share, shares = _partner_class_share("uniform", y, y)
    assert np.allclose(shares, 0.1)  # a permutation: the batch's own shares
    # inverse to the *training* counts, not the batch's: a 50/50 batch of a 90/10 fit
    share, _ = _partner_class_share("balanced", np.repeat([0, 1], [50, 50]), y)
    assert abs(share - 0.9) < 0.03


def test_balanced_partner_reaches_the_mixed_target():
    y = np.repeat([0, 1], [90, 10])
    aug = fitted(MixUp(partner="balanced"), y)
    shares = []
    for seed in range(50):
        aug.start_epoch(seed)
        _, target, _ = aug(torch.randn(100, 2), torch.from_numpy(y))
        shares.append(float((target.y_b == 1).float().mean()))
    assert abs(np.mean(shares) - 0.5) < 0.04


# -- CutMix --------------------------------------------------------------------------------


def _box_checks(X, X_cut, target):
    """Every row: a rectangle of the partner's pixels (all channels), area 1 - lam."""
    n, _, height, width = X.shape
    checked = 0
    for i in range(n):
        j = int(target.y_b[i])
        lam = float(target.lam[i])
        inside = (X_cut[i] != X[i])
        assert torch.equal(inside[0], inside[1])  # the same box on every channel
        box = inside[0]
        if j == i:  # its own pixels pasted: nothing visible, but lam still says the box
            assert torch.equal(X_cut[i], X[i])
            continue
        assert torch.equal(X_cut[i][:, box], X[j][:, box])
        assert torch.equal(X_cut[i][:, ~box], X[i][:, ~box])
        rows_in, cols_in = box.any(dim=1), box.any(dim=0)
        assert torch.equal(box, rows_in[:, None] & cols_in[None, :])  # a rectangle
        if box.any():  # contiguous sides
            r, c = rows_in.nonzero().flatten(), cols_in.nonzero().flatten()
            assert r.max() - r.min() + 1 == len(r) and c.max() - c.min() + 1 == len(c)
        assert abs(box.float().mean().item() - (1.0 - lam)) < 1e-6
        checked += 1
    return checked


@pytest.mark.parametrize("alpha", [0.3, 1.0])
def test_cutmix_pastes_a_box_of_the_partner_of_area_one_minus_lam(alpha):
    n = 400
    y = torch.arange(n)
    X = torch.randn(n, 2, 8, 8, generator=torch.Generator().manual_seed(0))
    X_cut, target, w = fitted(CutMix(alpha=alpha), y.numpy())(X.clone(), y, torch.ones(n))
    assert isinstance(target, MixedTarget) and torch.equal(target.y_a, y)
    assert _box_checks(X, X_cut, target) > n - 10
    assert 0.0 < (target.lam < 1).float().mean()
    # box areas vary and cover the range: some rows got a real box, some none
    assert (target.lam < 0.9).any() and (target.lam > 0.5).any()
    # unit weights stay unit weights
    np.testing.assert_allclose(w.numpy(), 1.0, rtol=1e-6)


def test_cutmix_on_single_channel_rows_without_channel_dimension():
    n = 100
    y = torch.arange(n)
    X = torch.randn(n, 6, 5)
    X_cut, target, _ = fitted(CutMix(alpha=1.0), y.numpy())(X.clone(), y)
    _box_checks(X[:, None].expand(n, 2, 6, 5), X_cut[:, None].expand(n, 2, 6, 5), target)


def test_cutmix_unchosen_rows_are_unchanged():
    n = 200
    y = torch.arange(n)
    X = torch.randn(n, 1, 8, 8)
    X_cut, target, _ = fitted(CutMix(rate=0.0), y.numpy())(X.clone(), y)
    assert torch.equal(X_cut, X) and torch.all(target.lam == 1.0)
    odd = torch.arange(1, n, 2)
    X_cut, target, _ = fitted(CutMix(classes=list(range(0, n, 2))), y.numpy())(X.clone(), y)
    assert torch.equal(X_cut[odd], X[odd]) and torch.all(target.lam[odd] == 1.0)
    assert (target.lam[::2] < 1).any()


def test_cutmix_refuses_tables_and_dicts():
    for kind in ("table", "dict"):
        with pytest.raises(ValueError, match="cutmix.*tensor"):
            check_augmentation(CutMix(), loss=CrossEntropy, multilabel=False, input_kind=kind,
                               rows_known=True)
    check_augmentation(CutMix(), loss=CrossEntropy, multilabel=False, input_kind="tensor",
                       rows_known=True)


def test_mixing_augmentations_are_refused_with_losses_not_declaring_mixed_targets():
    for aug in (MixUp(), CutMix()):
        with pytest.raises(ValueError, match="supports_mixed_targets"):
            check_augmentation(aug, loss=ClassRectificationLoss, multilabel=False,
                               input_kind="tensor", rows_known=True)
        with pytest.raises(ValueError, match="supports_mixed_targets"):
            check_augmentation(aug, loss=torch.nn.CrossEntropyLoss, multilabel=False,
                               input_kind="tensor", rows_known=True)


# -- SMOTE on the fly ------------------------------------------------------------------------


def _knn_same_class(X, y, i, k):
    """The k nearest other rows of row i's class, in float64."""
    members = np.flatnonzero(y == y[i])
    others = members[members != i]
    d = np.linalg.norm(X[others].astype(np.float64) - X[i].astype(np.float64), axis=1)
    return others[np.argsort(d)[:k]]


def _segment_partner(x, moved, candidates, X, cols):
    """``(partner, u)`` with ``moved = x + u (X[partner] - x)`` on ``cols``, or None."""
    for p in candidates:
        d = X[p, cols] - x[cols]
        u = float(np.dot(moved[cols] - x[cols], d) / np.dot(d, d))
        if -1e-6 <= u <= 1 + 1e-6 and np.allclose(x[cols] + u * d, moved[cols], atol=1e-5):
            return p, u
    return None


def test_smote_moves_each_row_towards_one_of_its_k_nearest_same_class_rows():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], [80, 39, 1])
    X = (rng.normal(size=(120, 3)) + y[:, None]).astype(np.float32)
    k = 4
    aug = fitted(SmoteOnTheFly(k_neighbors=k, rate=1.0), y, X=torch.from_numpy(X))
    moved_any = 0
    for seed in range(3):
        aug.start_epoch(seed)
        rows = torch.randperm(120, generator=torch.Generator().manual_seed(seed))[:70]
        X_b, y_b, w_b = torch.from_numpy(X)[rows], torch.from_numpy(y)[rows], torch.rand(70)
        out, y_out, w_out = aug(X_b.clone(), y_b.clone(), w_b.clone(), rows)
        assert torch.equal(y_out, y_b) and torch.equal(w_out, w_b)  # labels, weights stay
        out = out.double().numpy()
        for b, i in enumerate(rows.tolist()):
            if y[i] == 2:  # a class with one training row: unchanged
                np.testing.assert_array_equal(out[b], X[i])
                continue
            if np.array_equal(out[b], X[i]):
                continue
            found = _segment_partner(X[i].astype(np.float64), out[b],
                                     _knn_same_class(X, y, i, k), X.astype(np.float64),
                                     [0, 1, 2])
            assert found is not None, f"row {i} left the segments to its {k} neighbours"
            moved_any += 1
    assert moved_any > 150  # rate=1: nearly every row of classes 0 and 1 moved


def test_smote_partners_are_spread_over_the_k_neighbours_and_the_gap_is_uniform():
    rng = np.random.default_rng(1)
    y = np.zeros(30, dtype=np.int64)
    X = rng.normal(size=(30, 2)).astype(np.float32)
    aug = fitted(SmoteOnTheFly(k_neighbors=3, rate=1.0), y, X=torch.from_numpy(X))
    rows = torch.zeros(3000, dtype=torch.long)  # row 0, many times
    out, _, _ = aug(torch.from_numpy(X)[rows], torch.from_numpy(y)[rows], None, rows)
    knn = _knn_same_class(X, y, 0, 3)
    found = [_segment_partner(X[0].astype(np.float64), o, knn, X.astype(np.float64), [0, 1])
             for o in out.double().numpy()]
    assert all(f is not None for f in found)
    partners = np.array([f[0] for f in found])
    gaps = np.array([f[1] for f in found])
    assert set(partners) == set(knn.tolist())
    counts = np.array([(partners == p).sum() for p in knn])
    assert counts.min() > 3000 / 3 * 0.85
    assert stats.kstest(gaps, "uniform").pvalue > 1e-3


def test_smote_code_columns_take_the_nearer_end():
    rng = np.random.default_rng(2)
    y = np.repeat([0, 1], [60, 40])
    X = rng.normal(size=(100, 4)).astype(np.float32)
    X[:, 3] = rng.integers(0, 6, size=100)
    aug = fitted(SmoteOnTheFly(k_neighbors=3, rate=1.0), y, X=torch.from_numpy(X),
                 discrete_columns=[3])
    rows = torch.arange(100)
    out, _, _ = aug(torch.from_numpy(X).clone(), torch.from_numpy(y), None, rows)
    out = out.double().numpy()
    near, far = 0, 0
    for i in range(100):
        if np.array_equal(out[i], X[i]):
            continue
        found = _segment_partner(X[i].astype(np.float64), out[i], _knn_same_class(X, y, i, 3),
                                 X.astype(np.float64), [0, 1, 2])
        assert found is not None
        p, u = found
        assert out[i, 3] == (X[p, 3] if u >= 0.5 else X[i, 3])
        near, far = near + (u < 0.5), far + (u >= 0.5)
    assert near > 10 and far > 10


def test_smote_rows_of_unchosen_classes_stay():
    rng = np.random.default_rng(3)
    y = np.repeat([0, 1], [60, 20])
    X = rng.normal(size=(80, 2)).astype(np.float32)
    aug = fitted(SmoteOnTheFly(), y, X=torch.from_numpy(X))  # rate="rarity": class 0 at 0
    assert aug.class_rates_.tolist() == pytest.approx([0.0, 2 / 3])
    out, _, _ = aug(torch.from_numpy(X).clone(), torch.from_numpy(y), None, torch.arange(80))
    np.testing.assert_array_equal(out[:60].numpy(), X[:60])
    assert (out[60:] != torch.from_numpy(X[60:])).any(dim=1).sum() > 5


@pytest.mark.parametrize("params, y", [
    ({"rate": 0.0}, np.repeat([0, 1], [20, 10])),
    ({"classes": []}, np.repeat([0, 1], [20, 10])),
    ({"classes": "minority", "rate": 1.0}, np.repeat([0, 1], [29, 1])),
])
def test_smote_with_nothing_to_move_leaves_the_batch(params, y):
    X = torch.randn(len(y), 2)
    aug = fitted(SmoteOnTheFly(**params), y, X=X)
    out, y_out, _ = aug(X.clone(), torch.from_numpy(y), None, torch.arange(len(y)))
    assert torch.equal(out, X)


def test_smote_is_refused_for_multilabel_imblearn_rows_and_without_rows():
    smote = SmoteOnTheFly()
    with pytest.raises(ValueError, match="smote.*one label per row"):
        check_augmentation(smote, loss=CrossEntropy, multilabel=True, input_kind="table",
                           rows_known=True)
    with pytest.raises(ValueError, match="smote.*neighbours"):
        check_augmentation(smote, loss=CrossEntropy, multilabel=False, input_kind="table",
                           rows_known=False, why_rows_unknown="X is a torch Dataset.")
    with pytest.raises(ValueError, match="smote.*table or tensor"):
        check_augmentation(smote, loss=CrossEntropy, multilabel=False, input_kind="dict",
                           rows_known=True)
    y = np.repeat([0, 1], [10, 10])
    aug = fitted(SmoteOnTheFly(), y, X=torch.randn(20, 2))
    with pytest.raises(ValueError, match="positions"):
        aug(torch.randn(20, 2), torch.from_numpy(y), None, None)


@pytest.mark.parametrize("k", [1, 2, 5, 9])
def test_same_class_neighbours_never_returns_the_row_itself_even_with_duplicates(k):
    X = np.array([[0.0], [0.0], [0.0], [0.0], [0.0], [1.0], [1.0], [5.0], [0.0], [0.0], [3.0]])
    y = np.array([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2])
    rows, nb = same_class_neighbours(X, y, classes=[0, 1, 2], k=k)
    assert rows.tolist() == list(range(10))  # class 2 has one row: no neighbours
    assert nb.shape == (10, k)
    for row, found in zip(rows, nb):
        members = np.flatnonzero(y == y[row])
        valid = found[found >= 0]
        assert row not in valid
        assert len(valid) == min(k, len(members) - 1) == len(set(valid.tolist()))
        assert np.all(found[len(valid):] == -1)  # padding at the end
        assert set(valid.tolist()) <= set(members.tolist())
        # the nearest ones (distances as the float64 reference)
        d_all = np.sort(np.abs(X[members[members != row], 0] - X[row, 0]))[:len(valid)]
        np.testing.assert_allclose(np.sort(np.abs(X[valid, 0] - X[row, 0])), d_all)


def test_same_class_neighbours_many_duplicates_of_the_row_itself():
    X = np.zeros((12, 2))
    y = np.zeros(12, dtype=np.int64)
    rows, nb = same_class_neighbours(X, y, classes=[0], k=3)
    assert all(row not in found for row, found in zip(rows, nb))
    assert (nb >= 0).all()


# -- Gaussian noise ------------------------------------------------------------------------


def _spread(x):
    q25, q75 = np.percentile(x, [25, 75])
    iqr = (q75 - q25) / 1.3489795
    return iqr if iqr > 0 else x.std()


def test_noise_has_the_scaled_spread_of_each_feature():
    rng = np.random.default_rng(0)
    n = 20000
    X = np.c_[rng.normal(0, 2, n),                      # spread 2
              rng.standard_t(2, n) * 10,                # heavy tails: IQR, not std
              (rng.random(n) < 0.05).astype(float),     # IQR 0: the std
              rng.integers(0, 4, n).astype(float),      # a code column
              rng.normal(100, 0.01, n)].astype(np.float32)
    scale = 0.5
    aug = fitted(GaussianNoise(scale=scale), np.zeros(n, dtype=np.int64), X=torch.from_numpy(X),
                 discrete_columns=[3])
    Xt, y = torch.from_numpy(X), torch.zeros(n, dtype=torch.long)
    out, y_out, w = aug(Xt.clone(), y, None)
    assert torch.equal(y_out, y) and w is None
    diff = out.double().numpy() - X.astype(np.float64)
    for j in (0, 1, 2, 4):
        expected = scale * _spread(X[:, j].astype(np.float64))
        assert diff[:, j].std() == pytest.approx(expected, rel=0.03), j
        assert abs(diff[:, j].mean()) < 4 * expected / np.sqrt(n) + 1e-6
        assert stats.kstest(diff[:, j] / expected, "norm").pvalue > 1e-4 or j == 4
    assert np.all(diff[:, 3] == 0)  # codes untouched
    assert scale * _spread(X[:, 1].astype(np.float64)) < 0.7 * scale * X[:, 1].std()


def test_noise_leaves_integer_leaves_and_unchosen_rows_alone():
    rng = np.random.default_rng(1)
    n = 500
    y = np.repeat([0, 1], [400, 100])
    num = torch.from_numpy(rng.normal(size=(n, 3)).astype(np.float32))
    tok = torch.from_numpy(rng.integers(0, 50, size=(n, 2)))
    aug = GaussianNoise(scale=1.0, classes="minority")
    aug.fit(context(y, X={"num": num, "tok": tok}), CPU)
    aug.start_epoch(0)
    assert aug.spread_["tok"] is None
    out, y_out, _ = aug({"num": num.clone(), "tok": tok.clone()}, torch.from_numpy(y))
    assert torch.equal(out["tok"], tok) and out["tok"].dtype == torch.int64
    assert torch.equal(out["num"][:400], num[:400])  # the majority is not chosen
    assert (out["num"][400:] != num[400:]).all()
    assert torch.equal(y_out, torch.from_numpy(y))


def test_noise_scale_zero_changes_nothing():
    X = torch.randn(100, 3)
    y = np.zeros(100, dtype=np.int64)
    out, _, _ = fitted(GaussianNoise(scale=0.0), y, X=X)(X.clone(), torch.from_numpy(y))
    assert torch.equal(out, X)


# -- class-aware rates ------------------------------------------------------------------------


COUNTS = torch.tensor([500, 200, 50, 50])
LABELS = ["a", "b", "c", "d"]


@pytest.mark.parametrize("rate, classes, expected", [
    (0.7, "all", [0.7, 0.7, 0.7, 0.7]),
    (0.7, "minority", [0, 0, 0.7, 0.7]),
    (0.7, "not minority", [0.7, 0.7, 0, 0]),
    (0.7, "not majority", [0, 0.7, 0.7, 0.7]),
    (0.7, ["b", "d"], [0, 0.7, 0, 0.7]),
    ("rarity", "all", [0, 0.6, 0.9, 0.9]),
    ("rarity", "minority", [0, 0, 0.9, 0.9]),
    ("rarity", ["a", "b"], [0, 0.6, 0, 0]),
    (0.0, "all", [0, 0, 0, 0]),
    (1, "all", [1, 1, 1, 1]),
])
def test_class_rates_follow_the_definition(rate, classes, expected):
    rates = GaussianNoise(rate=rate, classes=classes).rates_for_counts(COUNTS, LABELS)
    np.testing.assert_allclose(rates.numpy(), expected, atol=1e-6)


def test_absent_classes_get_rate_zero_and_minority_is_among_present_classes():
    counts = torch.tensor([100, 0, 30])
    rates = GaussianNoise(rate=1.0, classes="minority").rates_for_counts(counts, [0, 1, 2])
    assert rates.tolist() == [0.0, 0.0, 1.0]
    rates = GaussianNoise(rate=1.0).rates_for_counts(counts, [0, 1, 2])
    assert rates.tolist() == [1.0, 0.0, 1.0]


@pytest.mark.parametrize("rate, classes", [("rarity", "all"), (0.3, "not majority")])
def test_the_share_of_augmented_rows_per_class_is_its_rate(rate, classes):
    y = np.repeat([0, 1, 2, 3], COUNTS.tolist())
    X = torch.randn(len(y), 2)
    aug = fitted(GaussianNoise(scale=1.0, rate=rate, classes=classes), y, X=X,
                 classes=LABELS)
    rates = aug.class_rates_.double().numpy()
    y_batch = torch.from_numpy(np.repeat([0, 1, 2, 3], 2000))
    changed = np.zeros(4)
    epochs = 5
    for seed in range(epochs):
        aug.start_epoch(seed)
        X_b = torch.randn(len(y_batch), 2)
        out, _, _ = aug(X_b.clone(), y_batch)
        moved = (out != X_b).any(dim=1).numpy()
        changed += np.bincount(y_batch.numpy(), weights=moved, minlength=4)
    n = 2000 * epochs
    share = changed / n
    tolerance = 4.5 * np.sqrt(rates * (1 - rates) / n) + 1e-9
    assert np.all(np.abs(share - rates) <= tolerance), (share, rates)


def test_multilabel_rows_are_augmented_by_their_rarest_positive_label():
    rng = np.random.default_rng(0)
    Y = (rng.random((4000, 3)) < [0.6, 0.3, 0.05]).astype(np.float32)
    Y[:50] = [1, 1, 0]  # some rows with ties broken by the counts
    sampling = rarest_positive_label(Y.astype(np.int64))
    aug = fitted(GaussianNoise(scale=1.0, rate="rarity"), Y.astype(np.int64),
                 X=torch.randn(4000, 2))
    Yt = torch.from_numpy(Y)
    np.testing.assert_array_equal(aug.row_classes(Yt).numpy(), sampling)
    counts = np.bincount(sampling, minlength=4)
    np.testing.assert_allclose(aug.class_rates_.numpy(), 1 - counts / counts.max(), atol=1e-6)
    changed, seen = np.zeros(4), np.zeros(4)
    for seed in range(5):
        aug.start_epoch(seed)
        X_b = torch.randn(4000, 2)
        out, y_out, _ = aug(X_b.clone(), Yt)
        assert torch.equal(y_out, Yt)
        moved = (out != X_b).any(dim=1).numpy()
        changed += np.bincount(sampling, weights=moved, minlength=4)
        seen += counts
    rates = aug.class_rates_.double().numpy()
    tolerance = 4.5 * np.sqrt(rates * (1 - rates) / seen) + 1e-9
    assert np.all(np.abs(changed / seen - rates) <= tolerance)


def test_multilabel_label_ties_go_to_the_lower_label_as_the_samplers_do():
    Y = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 1], [0, 1, 0], [1, 0, 0], [0, 0, 0]])
    aug = fitted(MixUp(), Y)
    np.testing.assert_array_equal(aug.row_classes(torch.from_numpy(Y)).numpy(),
                                  rarest_positive_label(Y))


# -- parameter checks ----------------------------------------------------------------------


@pytest.mark.parametrize("make, name", [
    (lambda: MixUp(rate=1.5), "rate"),
    (lambda: MixUp(rate=-0.1), "rate"),
    (lambda: MixUp(rate="rare"), "rate"),
    (lambda: MixUp(rate=True), "rate"),
    (lambda: MixUp(rate=None), "rate"),
    (lambda: GaussianNoise(classes="majority"), "classes"),
    (lambda: MixUp(alpha=0), "alpha"),
    (lambda: MixUp(alpha=-1.0), "alpha"),
    (lambda: MixUp(alpha=float("inf")), "alpha"),
    (lambda: MixUp(alpha="big"), "alpha"),
    (lambda: CutMix(alpha=0.0), "alpha"),
    (lambda: MixUp(partner="nearest"), "partner"),
    (lambda: CutMix(partner="x"), "partner"),
    (lambda: GaussianNoise(scale=-0.1), "scale"),
    (lambda: GaussianNoise(scale=float("nan")), "scale"),
    (lambda: SmoteOnTheFly(k_neighbors=0), "k_neighbors"),
    (lambda: SmoteOnTheFly(k_neighbors=2.5), "k_neighbors"),
    (lambda: SmoteOnTheFly(k_neighbors=True), "k_neighbors"),
])
def test_bad_parameters_are_refused_naming_them(make, name):
    aug = make()
    with pytest.raises(ValueError, match=name):
        aug.fit(context(np.repeat([0, 1], 5), X=torch.randn(10, 2)), CPU)
    with pytest.raises(ValueError, match=name):
        make_augmentation(aug.name, {name: getattr(aug, name)})


def test_classes_naming_unknown_labels_is_refused():
    with pytest.raises(ValueError, match=r"classes=\['z'\].*\['z'\]"):
        MixUp(classes=["z"]).fit(context(np.array([0, 1, 1]), classes=["a", "b"]), CPU)


def test_make_augmentation_refusals_and_copies():
    with pytest.raises(ValueError, match="Unknown augmentation 'blur'.*"
                                         + re.escape(", ".join(list_augmentations()))):
        make_augmentation("blur", {})
    with pytest.raises(ValueError, match="augment__.*augment=None"):
        make_augmentation(None, {"alpha": 0.3})
    with pytest.raises(ValueError, match="augment must be"):
        make_augmentation(42, {})
    with pytest.raises(ValueError, match="alpha"):  # an unknown parameter is named
        make_augmentation("noise", {"alpha": 0.3})
    original = MixUp(alpha=0.3)
    made = make_augmentation(original, {"alpha": 0.6})
    assert made is not original and made.alpha == 0.6 and original.alpha == 0.3
    assert make_augmentation(None, {}) is None


def test_draws_are_reproducible_per_epoch_seed():
    y = torch.arange(100)
    aug = fitted(MixUp(alpha=1.0), y.numpy())
    X = torch.randn(100, 3)
    aug.start_epoch(7)
    a = aug(X, y)
    aug.start_epoch(7)
    b = aug(X, y)
    aug.start_epoch(8)
    c = aug(X, y)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1].lam, b[1].lam)
    assert not torch.equal(a[1].lam, c[1].lam)


def test_release_drops_the_generators_and_smote_tables():
    y = np.repeat([0, 1], [30, 10])
    aug = fitted(SmoteOnTheFly(), y, X=torch.randn(40, 2))
    assert {"generator_", "rng_", "pool_", "neighbours_"} <= set(vars(aug))
    aug.release()
    assert not {"generator_", "rng_", "pool_", "pool_index_", "neighbours_",
                "n_neighbours_"} & set(vars(aug))
    assert aug.class_rates_.tolist() == pytest.approx([0.0, 2 / 3])


# -- rows of weight 0 count for nothing ------------------------------------------------------


def test_rows_of_weight_zero_are_left_out_of_the_class_counts_and_rates():
    y = np.r_[np.zeros(60), np.ones(60)].astype(np.int64)
    weights = np.r_[np.ones(60), np.ones(20), np.zeros(40)]
    aug = fitted(MixUp(rate="rarity"), y, weights=weights)
    assert aug.class_counts_.tolist() == [60, 20]
    assert aug.class_rates_.tolist() == pytest.approx([0.0, 1 - 20 / 60])


def test_mixup_never_mixes_a_row_of_weight_zero_or_with_one():
    n = 64
    y = torch.arange(n)
    weights = torch.ones(n)
    weights[::4] = 0.0
    X = torch.randn(n, 3)
    aug = fitted(MixUp(alpha=1.0), np.arange(n), weights=weights.numpy())
    out, target, w = aug(X.clone(), y, weights)
    partner = target.y_b
    untouched = (weights == 0) | (weights[partner] == 0)
    assert untouched.any() and (~untouched).any()
    assert torch.all(target.lam[untouched] == 1.0)
    torch.testing.assert_close(out[untouched], X[untouched], rtol=0, atol=0)
    torch.testing.assert_close(w[untouched], weights[untouched], rtol=0, atol=0)
    assert torch.all(w[weights == 0] == 0)
    assert (target.lam[~untouched] < 1).all()


def test_smote_neither_moves_nor_moves_towards_rows_of_weight_zero():
    rng = np.random.default_rng(0)
    weighted = rng.normal(size=(3, 2))        # the class's three rows that train
    far = 1e4 + rng.normal(size=(6, 2))       # six of weight 0, far away
    X = torch.from_numpy(np.r_[weighted, far]).float()
    y = np.zeros(9, dtype=np.int64)
    weights = np.r_[np.ones(3), np.zeros(6)]
    aug = fitted(SmoteOnTheFly(k_neighbors=5, rate=1.0), y, X=X, weights=weights)
    rows = torch.arange(9)
    for epoch in range(20):
        aug.start_epoch(epoch)
        moved, _, _ = aug(X.clone(), torch.zeros(9, dtype=torch.long), torch.from_numpy(weights),
                          rows=rows)
        assert moved[:3].abs().max() < 10              # towards the other two weighted rows only
        torch.testing.assert_close(moved[3:], X[3:], rtol=0, atol=0)  # not moved


def test_noise_spread_is_that_of_the_rows_that_train():
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(0, 1, (2000, 1)), rng.normal(0, 1000, (2000, 1))].astype(np.float32)
    weights = np.r_[np.ones(2000), np.zeros(2000)]
    aug = fitted(GaussianNoise(scale=1.0), np.zeros(4000, dtype=np.int64),
                 X=torch.from_numpy(X), weights=weights)
    assert aug.spread_.item() == pytest.approx(_spread(X[:2000, 0].astype(np.float64)), rel=1e-5)
