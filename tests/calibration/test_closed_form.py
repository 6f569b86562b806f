"""The closed-form prior correction, piece by piece in float64: every loss's declared logit map
and log shift against its formula, every sampler's shift against its epoch shares, their
composition, deployment priors, the refusals of ``class_priors``, and extreme logits."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from imblearn.under_sampling import RandomUnderSampler

from skimb.calibration import (PriorCorrection, check_calibration, check_class_priors,
                               fit_prior_correction, sampler_log_shift)
from skimb.losses import (BalancedSoftmaxLoss, BinaryCrossEntropy, ClassBalancedLoss,
                          CrossEntropy, FocalLoss, LDAMLoss, LogitAdjustedLoss, VSLoss,
                          WeightedCrossEntropy, class_weights, list_losses, make_loss)
from skimb.samplers import ImblearnSampler, list_samplers, make_sampler

MASS = np.array([70.0, 22.5, 7.5])  # class masses (sums of sample weights)
COUNTS = np.array([60, 30, 10])  # rows per class
LOG_PI = np.log(MASS / MASS.sum())


def _fitted(loss, masses=MASS, epoch=0, n_epochs=10):
    loss.set_class_counts(torch.tensor(masses))
    loss.set_epoch(epoch, n_epochs)
    return loss


def _y(counts=COUNTS):
    return torch.repeat_interleave(torch.arange(len(counts)), torch.as_tensor(counts))


@pytest.mark.parametrize("loss, shift", [
    (CrossEntropy(), np.zeros(3)),
    (WeightedCrossEntropy(), np.log(MASS.sum() / (3 * MASS))),
    (WeightedCrossEntropy(weights="sqrt"), np.log(class_weights(MASS, "sqrt"))),
    (ClassBalancedLoss(beta=0.99), np.log(class_weights(MASS, "effective", 0.99))),
    (FocalLoss(alpha="balanced"), np.log(MASS.sum() / (3 * MASS))),
    (LDAMLoss(drw_epoch=2), np.log(class_weights(MASS, "effective", 0.9999))),
])
def test_class_weights_shift_by_their_log(loss, shift):
    np.testing.assert_allclose(_fitted(loss, epoch=5).log_prior_shift(), shift, rtol=1e-12)


def test_deferred_reweighting_shifts_only_once_the_weights_are_on():
    loss = _fitted(WeightedCrossEntropy(drw_epoch=0.5), epoch=4)
    np.testing.assert_array_equal(loss.log_prior_shift(), np.zeros(3))
    loss.set_epoch(5)
    np.testing.assert_allclose(loss.log_prior_shift(), np.log(MASS.sum() / (3 * MASS)))


@pytest.mark.parametrize("loss, scale, offset", [
    (LogitAdjustedLoss(tau=1.5), np.ones(3), 1.5 * LOG_PI),
    (BalancedSoftmaxLoss(), np.ones(3), np.log(MASS)),
    (VSLoss(gamma=0.3, tau=0.5), (MASS / MASS.max()) ** 0.3, 0.5 * LOG_PI),
    (LDAMLoss(s=20.0), np.full(3, 20.0), np.zeros(3)),
    (CrossEntropy(), np.ones(3), np.zeros(3)),
])
def test_logit_maps_are_what_the_cross_entropy_sees(loss, scale, offset):
    got_scale, got_offset = _fitted(loss).logit_map()
    np.testing.assert_allclose(got_scale, scale, rtol=1e-12)
    np.testing.assert_allclose(got_offset, offset, rtol=1e-12, atol=1e-15)


def test_binary_pos_weight_shifts_the_positive_class_and_label_weights_do_not():
    loss = BinaryCrossEntropy()
    loss.set_class_counts(torch.tensor([90.0, 10.0]))
    np.testing.assert_allclose(loss.log_prior_shift(), [0.0, np.log(9.0)])
    assert [a.tolist() for a in loss.logit_map()] == [[1.0], [0.0]]
    loss = BinaryCrossEntropy(label_weights="balanced")
    loss.set_label_counts(torch.tensor([50.0, 10.0, 1.0]), 100.0)
    np.testing.assert_allclose(loss.log_prior_shift(), np.log([1.0, 9.0, 99.0]))


def test_focal_multilabel_alpha_is_a_log_odds_shift():
    loss = FocalLoss(alpha=0.25)
    loss.set_label_counts(torch.tensor([5.0, 20.0]), 100.0)
    np.testing.assert_allclose(loss.log_prior_shift(), np.log(0.25 / 0.75) * np.ones(2))


@pytest.mark.parametrize("name", list_losses())
def test_every_loss_declares_a_shift_of_its_classes_and_a_map_of_its_outputs(name):
    loss = make_loss(name, {})
    binary = loss.binary_only
    masses = np.array([80.0, 20.0]) if binary else MASS
    loss.set_class_counts(torch.tensor(masses))
    scale, offset = loss.logit_map()
    assert scale.shape == offset.shape == (loss.output_width(len(masses)),)
    assert loss.log_prior_shift().shape == (len(masses),)
    assert np.isfinite(loss.log_prior_shift()).all()
    assert isinstance(loss.exact_prior_correction, bool)


@pytest.mark.parametrize("name", ["focal", "ldam", "crl", "cost_sensitive", "asl"])
def test_losses_without_a_closed_form_say_so(name):
    assert make_loss(name, {}).exact_prior_correction is False


def test_class_balanced_is_exact_on_cross_entropy_only():
    assert ClassBalancedLoss(base="ce").exact_prior_correction
    assert not ClassBalancedLoss(base="focal").exact_prior_correction


@pytest.mark.parametrize("name, shares", [
    ("none", COUNTS / COUNTS.sum()),
    ("under", np.full(3, 1 / 3)),
    ("over", np.full(3, 1 / 3)),
    ("balanced_batch", np.full(3, 1 / 3)),
    ("sqrt", np.sqrt(COUNTS) / np.sqrt(COUNTS).sum()),
    ("progressive", np.full(3, 1 / 3)),  # at the last epoch of its schedule
])
def test_sampler_shift_is_log_epoch_share_over_row_share(name, shares):
    sampler = make_sampler(name, {}).fit(_y(), 3, n_epochs=8)
    shift = sampler_log_shift(sampler, 7)
    np.testing.assert_allclose(shift, np.log(shares) - np.log(COUNTS / COUNTS.sum()),
                               atol=1e-12)
    if name == "none":
        assert not shift.any()  # exactly 0: the default stays the raw output


def test_progressive_shift_follows_its_schedule():
    sampler = make_sampler("progressive", {}).fit(_y(), 3, n_epochs=5)
    assert not sampler_log_shift(sampler, 0).any()
    assert sampler_log_shift(sampler, 4)[2] > sampler_log_shift(sampler, 2)[2] > 0


def test_a_cap_is_a_shift():
    sampler = make_sampler("none", {"max_per_class": 20}).fit(_y(), 3)
    shares = np.array([20, 20, 10]) / 50
    np.testing.assert_allclose(sampler_log_shift(sampler, 0),
                               np.log(shares) - np.log(COUNTS / COUNTS.sum()))


def test_imblearn_sampler_shift_comes_from_the_counts_it_returned():
    y = _y().numpy()
    adapter = ImblearnSampler(RandomUnderSampler()).fit(y, 3)
    assert not sampler_log_shift(adapter, 0).any()  # nothing resampled yet
    adapter.resample(np.zeros((len(y), 2), dtype=np.float32), y, None, seed=0)
    np.testing.assert_allclose(sampler_log_shift(adapter, 0),
                               np.log(1 / 3) - np.log(COUNTS / COUNTS.sum()))


def test_multilabel_sampler_shift_is_each_labels_log_odds_change():
    rng = np.random.default_rng(0)
    Y = (rng.random((400, 3)) < [0.5, 0.2, 0.05]).astype(np.int64)
    weight = rng.uniform(0.5, 2.0, 400)
    from skimb.samplers import rarest_positive_label
    classes = rarest_positive_label(Y)
    sampler = make_sampler("under", {}).fit(torch.from_numpy(classes), 4)
    shift = sampler_log_shift(sampler, 0, multilabel=True, y=Y, sampling_classes=classes,
                              sample_weight=weight)
    counts = np.bincount(classes, minlength=4)
    shares = sampler.epoch_class_shares(0).numpy()
    row = weight * (shares / counts)[classes]  # each row's weight in an epoch, in expectation
    rate = lambda w: (w @ Y) / w.sum()  # noqa: E731
    logit = lambda p: np.log(p) - np.log1p(-p)  # noqa: E731
    np.testing.assert_allclose(shift, logit(rate(row)) - logit(rate(weight)), rtol=1e-10)


def test_composition_adds_the_loss_and_sampler_shifts_and_the_priors_are_the_mass():
    loss = _fitted(WeightedCrossEntropy())
    sampler = make_sampler("sqrt", {}).fit(_y(), 3)
    correction = fit_prior_correction(loss, sampler, epoch=0, class_mass=MASS,
                                      total_mass=MASS.sum())
    np.testing.assert_allclose(correction.log_shift,
                               loss.log_prior_shift() + sampler_log_shift(sampler, 0))
    np.testing.assert_allclose(correction.train_priors, MASS / MASS.sum())
    assert correction.exact and correction.form == "softmax" and not correction.is_identity
    z = torch.randn(5, 3, dtype=torch.float64)
    expected = torch.log_softmax(z - torch.tensor(correction.log_shift), dim=1)
    torch.testing.assert_close(correction.log_proba(z), expected)


def test_correcting_a_reweighted_posterior_gives_the_data_posterior_back():
    """Bayes' rule: a posterior learned under class weights w, divided by w, is the data's."""
    rng = np.random.default_rng(1)
    true = rng.dirichlet(np.ones(3), size=20)
    weights = np.array([0.5, 2.0, 7.0])
    learned = true * weights / (true * weights).sum(axis=1, keepdims=True)
    correction = PriorCorrection(form="softmax", scale=np.ones(3), offset=np.zeros(3),
                                 log_shift=np.log(weights), train_priors=MASS / MASS.sum())
    np.testing.assert_allclose(correction.proba(torch.tensor(np.log(learned))), true,
                               rtol=1e-12)


def test_an_ensemble_averages_its_members_corrected_probabilities():
    correction = PriorCorrection(form="softmax", scale=np.ones(3), offset=np.zeros(3),
                                 log_shift=np.log([1.0, 2.0, 3.0]), train_priors=np.ones(3) / 3)
    members = torch.randn(4, 5, 3, dtype=torch.float64)
    each = [correction.proba(members[:, j]) for j in range(5)]
    np.testing.assert_allclose(correction.proba(members), np.mean(each, axis=0), rtol=1e-12)


def test_deployment_priors_follow_bayes_rule():
    correction = PriorCorrection(form="softmax", scale=np.ones(2), offset=np.zeros(2),
                                 log_shift=np.zeros(2), train_priors=np.array([0.9, 0.1]))
    z = torch.tensor([[np.log(0.6), np.log(0.4)]], dtype=torch.float64)
    new = np.array([0.5, 0.5])
    p = np.array([0.6, 0.4]) * new / np.array([0.9, 0.1])
    np.testing.assert_allclose(correction.proba(z, new), [p / p.sum()], rtol=1e-12)


def test_multilabel_deployment_priors_move_each_labels_log_odds():
    correction = PriorCorrection(form="multilabel", scale=np.ones(2), offset=np.zeros(2),
                                 log_shift=np.zeros(2), train_priors=np.array([0.2, 0.5]))
    z = torch.zeros(1, 2, dtype=torch.float64)  # P = 0.5 each
    p = correction.proba(z, np.array([0.5, 0.5]))
    np.testing.assert_allclose(p, [[0.8, 0.5]], rtol=1e-12)  # odds 1 * (1 / 0.25)


@pytest.mark.parametrize("form, width", [("softmax", 3), ("sigmoid", 1), ("multilabel", 3)])
def test_extreme_logits_give_finite_distributions(form, width):
    n = 2 if form == "sigmoid" else 3
    correction = PriorCorrection(form=form, scale=np.full(width, 30.0),
                                 offset=np.linspace(-5, 5, width), log_shift=np.log(np.arange(1, n + 1)),
                                 train_priors=np.full(n, 1 / n))
    z = torch.tensor([[3e38] * width, [-3e38] * width, [1e30, -1e30, 0.0][:width]],
                     dtype=torch.float32)
    for priors in (None, np.full(n, 1 / n)):
        log_p = correction.log_proba(z, priors)
        assert torch.isfinite(log_p).all() or form != "softmax"
        p = correction.proba(z, priors)
        assert np.isfinite(p).all() and (p >= 0).all() and (p <= 1).all()
        if form != "multilabel":
            np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)


def test_class_priors_are_checked_against_the_classes():
    assert check_class_priors(None, ["a", "b"]) is None
    np.testing.assert_allclose(check_class_priors([1, 3], ["a", "b"]), [0.25, 0.75])
    np.testing.assert_allclose(check_class_priors({"b": 1, "a": 1}, ["a", "b"]), [0.5, 0.5])
    with pytest.raises(ValueError, match=r"not among classes_ \['a', 'b'\]: \['c'\]"):
        check_class_priors({"a": 1, "c": 1}, ["a", "b"])
    with pytest.raises(ValueError, match=r"must give every class .*missing: \['b'\]"):
        check_class_priors({"a": 1}, ["a", "b"])
    with pytest.raises(ValueError, match=r"shape \(3,\).*2 classes"):
        check_class_priors([0.2, 0.3, 0.5], ["a", "b"])
    with pytest.raises(ValueError, match="finite and >= 0"):
        check_class_priors([-0.5, 1.5], ["a", "b"])
    with pytest.raises(ValueError, match="all 0"):
        check_class_priors([0, 0], ["a", "b"])
    with pytest.raises(ValueError, match="must be numbers"):
        check_class_priors(["x", "y"], ["a", "b"])
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        check_class_priors([0.5, 2.0], ["a", "b"], multilabel=True)
    np.testing.assert_allclose(check_class_priors([0.5, 0.1], ["a", "b"], multilabel=True),
                               [0.5, 0.1])


@pytest.mark.parametrize("value", ["auto", "Prior", 1, True])
def test_calibration_values_are_checked(value):
    with pytest.raises(ValueError, match="calibration must be 'prior' or None"):
        check_calibration(value)
