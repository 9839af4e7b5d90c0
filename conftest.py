"""Doctests see NumPy as ``np``, as the numpydoc examples assume."""

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _doctest_numpy(doctest_namespace):
    doctest_namespace["np"] = np
