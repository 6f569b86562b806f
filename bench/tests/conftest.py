"""The benchmark scripts' tests share the suite's fixtures (``tests/conftest.py``)."""

from tests.conftest import one_torch_thread  # noqa: F401
