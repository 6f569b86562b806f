"""CategoricalEncoding against its definition: each column's one-hot vector, or its own table."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from skimb.networks import CategoricalEncoding

N_LEVELS = [3, 40, 2, 20, 17, 5]  # with max_one_hot=16: one-hot 0, 2, 5; embedded 1, 3, 4


def random_levels(n_rows, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.stack([torch.randint(0, n, (n_rows,), generator=generator) for n in N_LEVELS],
                       dim=1)


def test_one_hot_columns_then_embedded_columns_in_column_order():
    encoding = CategoricalEncoding(N_LEVELS, max_one_hot=16, d_embedding=4)
    levels = random_levels(50)
    out = encoding(levels)
    one_hot = [i for i, n in enumerate(N_LEVELS) if n <= 16]
    embedded = [i for i, n in enumerate(N_LEVELS) if n > 16]
    expected_one_hot = torch.cat([F.one_hot(levels[:, i], N_LEVELS[i]).float() for i in one_hot],
                                 dim=1)
    width = expected_one_hot.shape[1]
    assert encoding.width == width + 4 * len(embedded) == out.shape[1]
    torch.testing.assert_close(out[:, :width], expected_one_hot, rtol=0, atol=0)
    # an embedded column's block depends on that column's level only: rows with the same level
    # in column 3 share its block whatever the other columns hold, and different levels differ
    block = out[:, width + 4:width + 8].detach()
    for level in levels[:, 3].unique():
        rows = block[levels[:, 3] == level]
        assert torch.equal(rows, rows[:1].expand_as(rows))
    assert len(torch.unique(block, dim=0)) == len(levels[:, 3].unique())


def test_each_embedded_column_has_its_own_levels():
    """Level 0 of two embedded columns are different parameters: training one leaves the other."""
    encoding = CategoricalEncoding([30, 30], max_one_hot=16, d_embedding=3)
    before = encoding(torch.tensor([[0, 0]])).detach()
    encoding(torch.tensor([[0, 5]]))[:, :3].sum().backward()  # column 0's block only
    with torch.no_grad():
        for parameter in encoding.parameters():
            parameter -= parameter.grad
    after = encoding(torch.tensor([[0, 0]])).detach()
    assert not torch.equal(after[:, :3], before[:, :3])
    torch.testing.assert_close(after[:, 3:], before[:, 3:], rtol=0, atol=0)


@pytest.mark.parametrize("max_one_hot", [0, 2, 16, 100])
def test_width_and_gradients_whatever_the_split(max_one_hot):
    encoding = CategoricalEncoding(N_LEVELS, max_one_hot=max_one_hot, d_embedding=2)
    out = encoding(random_levels(8, seed=1))
    n_one_hot = sum(n for n in N_LEVELS if n <= max_one_hot)
    assert out.shape == (8, n_one_hot + 2 * sum(n > max_one_hot for n in N_LEVELS))
    assert out.shape[1] == encoding.width
    assert out.requires_grad == any(n > max_one_hot for n in N_LEVELS)


def test_no_columns_gives_an_empty_block():
    encoding = CategoricalEncoding([])
    assert encoding(torch.zeros((4, 0), dtype=torch.long)).shape == (4, 0)


def test_double_precision_module_stays_double():
    encoding = CategoricalEncoding([3, 40], max_one_hot=16).double()
    assert encoding(torch.tensor([[1, 2]])).dtype == torch.float64


def test_bad_parameters_are_value_errors():
    with pytest.raises(ValueError, match="module__max_one_hot"):
        CategoricalEncoding([3], max_one_hot=-1)
    with pytest.raises(ValueError, match="module__d_cat_embedding"):
        CategoricalEncoding([3], d_embedding=np.float64(2.0))
