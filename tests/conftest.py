import pytest
import torch

from tests.helpers import make_data


@pytest.fixture(scope="module")
def data():
    return make_data()


@pytest.fixture(scope="module")
def one_torch_thread():
    """One intra-op thread for a test module of tiny fits: faster, immune to CPU contention
    from other processes, and bit-for-bit reproducible. Use it with
    ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
