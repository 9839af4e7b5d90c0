"""Doctests see NumPy as ``np``, as the numpydoc examples assume."""

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _doctest_numpy(doctest_namespace):
    doctest_namespace["np"] = np


# Scripts that regenerate reference data need packages the tests do not.
collect_ignore_glob = ["tests/data/*"]
