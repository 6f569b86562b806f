"""Properties every loss has on every target form it declares, as checks on one loss setting.

``tests/losses/test_common.py`` runs them on every registered loss with its defaults; a family's
file runs them on its other settings. A form is ``"binary"`` (every loss), ``"multiclass"``
(unless the loss declares ``binary_only``) or ``"multilabel"`` (when it declares
``supports_multilabel``); the loss is fitted on imbalanced class counts (``COUNTS``) or label
positives (``POSITIVES``) and given logits of the width it declares (``output_width``).
"""

from __future__ import annotations

import copy
import pickle

import numpy as np
import torch

from skimb.losses import MixedTarget, loss_class, make_loss, output_probabilities
from tests.helpers import COUNTS
from tests.losses.reference import N_TRAIN, POSITIVES, floating_buffers

FORMS = ("binary", "multiclass", "multilabel")
#: The class (or label) counts each form is checked with.
SIZES = {"binary": (2,), "multiclass": (3, 7), "multilabel": (5,)}


def declares(name, form):
    """Whether loss ``name`` declares that it trains on targets of ``form``."""
    cls = loss_class(name)
    return (form == "binary" or (form == "multiclass" and not cls.binary_only)
            or (form == "multilabel" and cls.supports_multilabel))


def declared_forms(names):
    """``(name, form)`` for every form each of ``names`` declares."""
    return [(name, form) for name in names for form in FORMS if declares(name, form)]


def fitted(name, kwargs, form, n, positives=None, counts=None):
    """Loss ``name`` with ``kwargs``, given the statistics of ``n`` classes or labels."""
    loss = make_loss(name, dict(kwargs))
    if form == "multilabel":
        loss.set_label_counts(torch.as_tensor(POSITIVES[n] if positives is None else positives),
                              N_TRAIN)
    else:
        loss.set_class_counts(torch.as_tensor(COUNTS[n] if counts is None else counts))
    return loss


def width(loss, form, n):
    """The number of logits the loss takes for ``n`` classes or labels."""
    return n if form == "multilabel" else type(loss).output_width(n)


def random_batch(loss, form, n, rng, rows=30, scale=2.0, counts=None):
    """Logits of the loss's width, targets of the form (every class or label present and,
    for labels, absent in some row) and sample weights."""
    z = rng.normal(scale=scale, size=(rows, width(loss, form, n)))
    if form == "multilabel":
        y = (rng.random((rows, n)) < 0.3).astype(np.float64)
        y[np.arange(n), np.arange(n)] = 1.0
        y[rows - 1 - np.arange(n), np.arange(n)] = 0.0
    else:
        p = COUNTS[n] if counts is None else np.asarray(counts, dtype=np.float64)
        present = np.flatnonzero(p > 0)
        y = rng.choice(n, size=rows, p=p / p.sum())
        y[:len(present)] = present
    return z, y, rng.uniform(0.2, 2.0, size=rows)


def run(loss, z, y, s=None, dtype=torch.float64, device="cpu"):
    """The loss of a batch and its gradient with respect to the logits."""
    logits = torch.tensor(np.asarray(z), dtype=dtype, device=device, requires_grad=True)
    y = np.asarray(y)
    target = torch.as_tensor(y, device=device,
                             dtype=dtype if y.ndim == 2 else torch.long)
    sw = None if s is None else torch.as_tensor(np.asarray(s), dtype=dtype, device=device)
    out = loss(logits, target) if sw is None else loss(logits, target, sw)
    out.backward()
    return out, logits.grad


def check_extreme_logits(name, kwargs, form, weighted, bounded=False):
    """Logits of magnitude 1e3 in float32, half the targets confidently wrong: a finite loss
    (large unless ``bounded``, a pure triplet loss) and finite non-zero gradients, equal to
    the same loss computed in float64 on the same logits; the confidently right rows alone
    stay finite."""
    rng = np.random.default_rng(31)
    for n in SIZES[form]:
        loss = fitted(name, kwargs, form, n)
        rows, w = 40, width(loss, form, n)
        z = (rng.choice([-1.0, 1.0], size=(rows, w)) * 1e3
             * rng.uniform(0.5, 1.0, (rows, w))).astype(np.float32)
        if form == "multilabel":
            y = (z > 0).astype(np.float64)
            flip = rng.random(y.shape) < 0.5
            y[flip] = 1.0 - y[flip]
        elif w == 1:
            y = (z[:, 0] > 0).astype(int)
            y[: rows // 2] = 1 - y[: rows // 2]  # half disagree with the sign
        else:
            y = z.argmax(axis=1)
            y[: rows // 2] = z[: rows // 2].argmin(axis=1)  # half disagree with the argmax
        s = rng.uniform(0.5, 2.0, size=rows) if weighted else None
        out, grad = run(loss, z, y, s, dtype=torch.float32)
        assert out.dtype == torch.float32 and grad.dtype == torch.float32
        assert torch.isfinite(out) and torch.isfinite(grad).all(), (n, out)
        if not bounded:
            assert out.item() > 1.0, (n, out)  # the disagreeing rows cost a lot
        assert grad.abs().sum() > 0
        out64, grad64 = run(loss, z.astype(np.float64), y, s)
        np.testing.assert_allclose(out.item(), out64.item(), rtol=2e-5)
        if not bounded:  # a pure triplet loss's gradients at saturation are float32 rounding
            np.testing.assert_allclose(grad.numpy(), grad64.numpy(), rtol=1e-4,
                                       atol=1e-5 * grad64.abs().max().item())
        half = slice(rows // 2, None)
        agree = (z > 0).astype(np.float64) if form == "multilabel" else y[half]
        out, grad = run(loss, z[half], agree[half] if form == "multilabel" else agree,
                        None, dtype=torch.float32)
        assert torch.isfinite(out) and torch.isfinite(grad).all()


def check_zero_weight_removes_rows(name, kwargs, form):
    """Rows of sample weight 0 (the hardest ones, had they counted) change nothing: the loss
    is that of the other rows, their gradient is 0, and the weights do matter."""
    for n in SIZES[form]:
        loss = fitted(name, kwargs, form, n)
        z, y, s = random_batch(loss, form, n, np.random.default_rng(41 + n), rows=40)
        drop = np.zeros(len(y), dtype=bool)
        drop[[0, 3, 7, 12, 20, 39]] = True  # rows of the rare classes among them
        if form == "multilabel":
            z[drop] = np.where(y[drop] > 0, -6.0, 6.0)
        s[drop] = 0.0
        out, grad = run(loss, z, y, s)
        kept, kept_grad = run(loss, z[~drop], y[~drop], s[~drop])
        np.testing.assert_allclose(out.item(), kept.item(), rtol=1e-10, err_msg=str(n))
        assert torch.all(grad[torch.as_tensor(drop)] == 0), n
        np.testing.assert_allclose(grad[torch.as_tensor(~drop)].numpy(), kept_grad.numpy(),
                                   rtol=1e-8, atol=1e-14)
        uniform = run(loss, z, y, np.ones(len(y)))[0].item()
        assert abs(uniform - out.item()) > 1e-6


def check_buffers_follow_dtype_and_device(name, kwargs, form):
    """The statistics are buffers (no parameters) in the state dict; ``float()``,
    ``double()`` and ``to()`` move every floating one, the loss follows, and a refit
    restores float64 buffers at full precision."""
    n = SIZES[form][0]
    loss = fitted(name, kwargs, form, n)
    z, y, s = random_batch(loss, form, n, np.random.default_rng(50), rows=24, scale=1.0)
    expected = run(loss, z, y, s)[0].item()
    names = {key for key, _ in loss.named_buffers()}
    assert "class_counts" in names and names <= set(loss.state_dict())
    assert list(loss.parameters()) == []
    floating = set(floating_buffers(loss))

    single = loss.float()
    assert single is loss
    assert all(v.dtype == torch.float32 for v in floating_buffers(single).values())
    assert single.class_counts.dtype == torch.float32  # a floating buffer of masses
    out32 = run(single, z.astype(np.float32), y, s, dtype=torch.float32)[0]
    assert out32.dtype == torch.float32
    np.testing.assert_allclose(out32.item(), expected, rtol=1e-5)

    double = single.double()
    assert all(v.dtype == torch.float64 for v in floating_buffers(double).values())
    assert set(floating_buffers(double)) == floating
    # the buffers went through float32: equal up to its rounding
    np.testing.assert_allclose(run(double, z, y, s)[0].item(), expected, rtol=1e-6)
    refit = fitted(name, kwargs, form, n)  # the same statistics given again
    if form == "multilabel":
        double.set_label_counts(refit.class_counts, N_TRAIN)
    else:
        double.set_class_counts(refit.class_counts)
    assert all(v.dtype == torch.float64 for v in floating_buffers(double).values())
    np.testing.assert_allclose(run(double, z, y, s)[0].item(), expected, rtol=1e-12)

    moved = double.to("meta")
    assert moved is loss
    assert all(v.device.type == "meta" for _, v in moved.named_buffers())


def check_on_cuda(name, kwargs, form):
    """On a CUDA device: the buffers move, the loss and its gradient are those on the CPU,
    and a refit keeps the device."""
    n = SIZES[form][-1]
    loss = fitted(name, kwargs, form, n)
    z, y, s = random_batch(loss, form, n, np.random.default_rng(51), rows=64)
    expected, expected_grad = run(loss, z, y, s)
    loss = loss.to("cuda")
    assert all(v.device.type == "cuda" for _, v in loss.named_buffers())
    out, grad = run(loss, z, y, s, device="cuda")
    assert out.device.type == "cuda" and grad.device.type == "cuda"
    np.testing.assert_allclose(out.item(), expected.item(), rtol=1e-9)
    np.testing.assert_allclose(grad.cpu().numpy(), expected_grad.numpy(), rtol=1e-7,
                               atol=1e-13)
    if form == "multilabel":
        loss.set_label_counts(torch.as_tensor(POSITIVES[n]), N_TRAIN)
    else:
        loss.set_class_counts(torch.as_tensor(COUNTS[n]))
    assert all(v.device.type == "cuda" for _, v in loss.named_buffers())


def check_empty_class_stays_finite(name, kwargs, form, bounded=False):
    """A class (label) without training rows (positives): finite statistics, finite loss
    and gradients; a class without rows has its logit pushed down (unless ``bounded``)."""
    if form == "multilabel":
        cases = [np.array([120, 0, 9, 2, 1])]
    elif form == "binary":
        cases = [np.array([0, 12]), np.array([12, 0])]
    else:
        cases = [np.array([40, 0, 10]), np.array([100, 30, 0, 8, 0, 5, 2])]
    rng = np.random.default_rng(60)
    for counts in cases:
        n = len(counts)
        if form == "multilabel":
            loss = fitted(name, kwargs, form, n, positives=counts)
        else:
            loss = fitted(name, kwargs, form, n, counts=counts)
        for key, value in loss.named_buffers():
            assert torch.isfinite(value.double()).all(), (key, value)
        z, y, _ = random_batch(loss, form, n, rng, counts=None if form == "multilabel"
                               else counts)
        for s in (None, rng.uniform(0.5, 2.0, size=len(y))):
            out, grad = run(loss, z, y, s)
            assert torch.isfinite(out) and torch.isfinite(grad).all(), (counts, out)
            if form != "multilabel" and z.shape[1] > 1 and not bounded:
                for empty in np.flatnonzero(counts == 0):
                    assert grad[:, empty].sum() > 0


def check_probabilities(name, kwargs, form):
    """``probabilities`` (and ``output_probabilities``) of a raw output: one column per
    class, rows summing to 1, or the sigmoid of every label's output."""
    rng = np.random.default_rng(22)
    for n in SIZES[form] + ((1, 2) if form == "multilabel" else ()):
        loss = fitted(name, kwargs, form, n,
                      positives=rng.integers(1, 50, size=n) if form == "multilabel" else None)
        output = torch.tensor(rng.normal(scale=4.0, size=(9, width(loss, form, n))))
        for probs in (loss.probabilities(output),
                      output_probabilities(loss, output, multilabel=form == "multilabel")):
            assert probs.shape == (9, n) and probs.dtype == torch.float64
            assert torch.all((probs >= 0) & (probs <= 1))
            if form == "multilabel":
                np.testing.assert_allclose(probs.numpy(), 1 / (1 + np.exp(-output.numpy())),
                                           rtol=1e-12)
            else:
                np.testing.assert_allclose(probs.sum(dim=1).numpy(), 1.0, rtol=1e-12)


def check_mixed_targets(name, kwargs, form):
    """A :class:`MixedTarget` gives each row ``lam * l(z, y_a) + (1 - lam) * l(z, y_b)``
    when the loss declares ``supports_mixed_targets``, and a ``ValueError`` otherwise."""
    n = SIZES[form][0]
    loss = fitted(name, kwargs, form, n)
    rng = np.random.default_rng(70)
    z, y_a, s = random_batch(loss, form, n, rng, rows=12, scale=4.0)
    _, y_b, _ = random_batch(loss, form, n, rng, rows=12)
    logits = torch.tensor(z)
    as_target = (lambda y: torch.tensor(y)) if form == "multilabel" else torch.as_tensor
    y_a, y_b, sw = as_target(y_a), as_target(y_b), torch.tensor(s)
    lam = torch.tensor(rng.random(12))
    if not loss.supports_mixed_targets:
        try:
            loss(logits, MixedTarget(y_a, y_b, lam), sample_weight=sw)
        except ValueError as err:
            assert "mixed targets" in str(err)
        else:
            raise AssertionError(f"{name} took mixed targets it does not declare")
        return
    rows_a, rows_b = loss.per_sample(logits, y_a), loss.per_sample(logits, y_b)
    expected = ((lam * rows_a + (1 - lam) * rows_b) * sw).sum() / sw.sum()
    got = loss(logits, MixedTarget(y_a, y_b, lam), sample_weight=sw)
    np.testing.assert_allclose(got.item(), expected.item(), rtol=1e-12)
    same = loss(logits, MixedTarget(y_a, y_a, lam), sample_weight=sw)
    np.testing.assert_allclose(same.item(), loss(logits, y_a, sample_weight=sw).item(),
                               rtol=1e-12)


def check_copies(name, kwargs, form):
    """A fitted loss deep-copied or pickled: the same buffers and the same loss, and the
    copy's buffers are its own."""
    n = SIZES[form][0]
    loss = fitted(name, kwargs, form, n)
    z, y, s = random_batch(loss, form, n, np.random.default_rng(80))
    expected = run(loss, z, y, s)[0].item()
    for other in (copy.deepcopy(loss), pickle.loads(pickle.dumps(loss))):
        assert type(other) is type(loss) and other.multilabel == loss.multilabel
        for (key, value), (other_key, other_value) in zip(loss.named_buffers(),
                                                         other.named_buffers()):
            assert key == other_key and torch.equal(value, other_value), key
            assert value.numel() == 0 or value.data_ptr() != other_value.data_ptr()
        assert run(other, z, y, s)[0].item() == expected


def check_target_dtypes_agree(name, kwargs):
    """A multi-label target in float32, int64 or bool gives the loss of float64 0/1."""
    loss = fitted(name, kwargs, "multilabel", 5)
    z, y, s = random_batch(loss, "multilabel", 5, np.random.default_rng(23))
    expected = run(loss, z, y, s)[0].item()
    logits, sw = torch.tensor(z), torch.tensor(s)
    for dtype in (torch.float32, torch.long, torch.bool):
        got = loss(logits, torch.tensor(y).to(dtype), sw).item()
        np.testing.assert_allclose(got, expected, rtol=1e-12, err_msg=str(dtype))


def check_a_row_of_weight_two_counts_as_the_row_twice(name, kwargs):
    """Class masses (sums of sample weights, floats) and the row counts of the rows
    repeated as often as their weight give the same buffers and the same loss."""
    n = 2 if loss_class(name).binary_only else 3
    form = "binary" if n == 2 else "multiclass"
    rng = np.random.default_rng(1)
    y = rng.integers(0, n, size=40)
    y[:n] = np.arange(n)
    weight = rng.integers(1, 4, size=40)  # 1, 2 or 3
    masses = np.bincount(y, weights=weight.astype(float), minlength=n)  # floats
    repeated = np.bincount(np.repeat(y, weight), minlength=n)  # ints
    by_mass = fitted(name, kwargs, form, n, counts=masses)
    by_rows = fitted(name, kwargs, form, n, counts=repeated)
    assert by_mass.class_counts.dtype == by_rows.class_counts.dtype == torch.float64
    assert by_mass.class_counts.tolist() == repeated.tolist()
    _same_buffers(by_mass, by_rows)
    z, y, s = random_batch(by_mass, form, n, np.random.default_rng(0), rows=24)
    assert run(by_mass, z, y, s)[0].item() == run(by_rows, z, y, s)[0].item()


def check_a_class_of_mass_zero_is_a_class_of_no_rows(name, kwargs):
    """A class whose rows all have weight 0 (mass 0.0) is a class without rows."""
    n = 2 if loss_class(name).binary_only else 3
    form = "binary" if n == 2 else "multiclass"
    counts = [40, 0, 10] if n == 3 else [40, 0]
    by_mass = fitted(name, kwargs, form, n, counts=torch.tensor(counts, dtype=torch.float64))
    by_rows = fitted(name, kwargs, form, n, counts=torch.tensor(counts))
    _same_buffers(by_mass, by_rows)
    for key, value in by_rows.named_buffers():
        assert torch.isfinite(value).all(), key


def _same_buffers(a, b):
    buffers_b = dict(b.named_buffers())
    for key, value in a.named_buffers():
        if key != "class_counts":
            assert torch.equal(value, buffers_b[key]), key


def check_every_property(name, kwargs, form, bounded=False):
    """Every check above on one setting of a loss and one target form it declares."""
    assert declares(name, form), (name, form)
    for weighted in (False, True):
        check_extreme_logits(name, kwargs, form, weighted, bounded=bounded)
    check_zero_weight_removes_rows(name, kwargs, form)
    check_buffers_follow_dtype_and_device(name, kwargs, form)
    check_empty_class_stays_finite(name, kwargs, form, bounded=bounded)
    check_probabilities(name, kwargs, form)
    check_mixed_targets(name, kwargs, form)
    check_copies(name, kwargs, form)
    if form == "multilabel":
        check_target_dtypes_agree(name, kwargs)
    if torch.cuda.is_available():
        check_on_cuda(name, kwargs, form)
