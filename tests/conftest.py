import pytest

from helpers import make_data


@pytest.fixture(scope="module")
def data():
    return make_data()
