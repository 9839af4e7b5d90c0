"""Importing skgd without its compiled extensions: an error, or the NumPy loop."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from skgd import GDRegressor, MLPGDClassifier

# A child that imports skgd as if one extension had not been built (its
# module blocked in sys.modules), fits two estimators and prints their
# parameters and whether a compiled epoch was available.
CHILD = """
import json, sys
sys.modules["skgd.{module}"] = None
import numpy as np
from skgd import GDRegressor, MLPGDClassifier
from skgd.linear import _backend as linear_backend
from skgd.network import _backend as network_backend
rng = np.random.RandomState(0)
X = rng.normal(size=(60, 3))
y = X @ [1.0, -2.0, 0.5]
reg = GDRegressor(optimizer="adam", max_iter=3, tol=None, random_state=0).fit(X, y)
clf = MLPGDClassifier((4,), max_iter=3, tol=None, random_state=0).fit(X, y > 0)
print(json.dumps({{
    "linear": linear_backend.available(),
    "network": network_backend.available(),
    "coef": reg.coef_.tolist(),
    "first": clf.coefs_[0].ravel().tolist(),
}}))
"""

MODULES = ["linear._epoch", "network._epoch", "training._column_statistics"]


def _run(module, numpy_only):
    env = {k: v for k, v in os.environ.items() if k != "SKGD_NUMPY_ONLY"}
    if numpy_only:
        env["SKGD_NUMPY_ONLY"] = "1"
    return subprocess.run(
        [sys.executable, "-c", CHILD.format(module=module)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.mark.parametrize("module", MODULES)
def test_a_missing_extension_is_an_import_error_that_says_how_to_build_it(module):
    # It fell back to the NumPy loop without a word (2.1 times slower).
    child = _run(module, numpy_only=False)
    assert child.returncode != 0
    assert f"ImportError: skgd's compiled extension '{module}'" in child.stderr
    assert "pip install -e ." in child.stderr
    assert "SKGD_NUMPY_ONLY=1" in child.stderr


@pytest.mark.parametrize("module", MODULES)
def test_the_numpy_loop_on_request_takes_the_same_steps(module):
    child = _run(module, numpy_only=True)
    assert child.returncode == 0, child.stderr
    found = json.loads(child.stdout)
    assert found["linear"] == (module != "linear._epoch")
    assert found["network"] == (module != "network._epoch")
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 3))
    y = X @ [1.0, -2.0, 0.5]
    reg = GDRegressor(optimizer="adam", max_iter=3, tol=None, random_state=0)
    clf = MLPGDClassifier((4,), max_iter=3, tol=None, random_state=0)
    np.testing.assert_allclose(found["coef"], reg.fit(X, y).coef_, rtol=1e-10)
    np.testing.assert_allclose(
        found["first"], clf.fit(X, y > 0).coefs_[0].ravel(), rtol=1e-10
    )
